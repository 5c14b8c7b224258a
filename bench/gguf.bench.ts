// `weight-sharing scan` on a Llama-2-7B-shaped Q8_0 GGUF (bench/llamaGguf.ts:
// about 7.2 GB, output.weight a byte copy of token_embd.weight).
// Targets: <= 3 s wall and <= 200 MB peak RSS, warm page cache: one untimed
// run first (it warms the cache and checks the answer), then timed runs.
// Env: BENCH_GGUF_RUNS (default 3).
import * as path from 'node:path';
import type { BenchContext } from './context';
import { ensureLlamaGguf } from './llamaGguf';
import { fmtCpu, fmtMB, fmtSeconds } from './measure';

const TARGET_WALL_SECONDS = 3;
const TARGET_RSS_MB = 200;

interface ScanJson { groups: { kind: string; tensors: { name: string }[] }[]; bytesRead?: number }

export default async function ggufBench(ctx: BenchContext): Promise<void> {
  const model = await ensureLlamaGguf(ctx.outDir, ctx.log);
  const rel = path.relative(ctx.root, model.path);
  ctx.log(`model: ${rel}, ${(model.bytes / 1e9).toFixed(2)} GB, ${model.tensors} tensors, header ${(model.headerBytes / 1e6).toFixed(2)} MB`
    + (model.writeSeconds === undefined ? ' (reused)' : `, written in ${model.writeSeconds.toFixed(1)} s`));
  ctx.record('model', { path: rel, bytes: model.bytes, headerBytes: model.headerBytes, tensors: model.tensors, writeSeconds: model.writeSeconds });
  const args = [ctx.cli, 'scan', rel, '--json'];
  const first = ctx.runOnce(process.execPath, args);
  if (first.exitCode !== 0) throw new Error(`scan failed (exit ${first.exitCode}): ${first.stderr.trim() || first.stdout.trim()}`);
  const report = JSON.parse(first.stdout) as ScanJson;
  const found = report.groups.some((g) => g.kind === 'exact' && ['token_embd.weight', 'output.weight'].every((n) => g.tensors.some((t) => t.name === n)));
  ctx.log(`scan found the output.weight / token_embd.weight copy: ${found ? 'yes' : 'NO (wrong answer)'}; first (untimed) run ${fmtSeconds(first.wallSeconds)}, ${fmtMB(first.peakRssMB)}`);
  const runs = Number(process.env.BENCH_GGUF_RUNS ?? 3);
  const scan = ctx.measure(process.execPath, args, { runs, warmup: 0 });
  ctx.log(`scan:  median ${fmtSeconds(scan.medianWallSeconds)} wall, ${fmtMB(scan.medianPeakRssMB)} peak RSS, ${fmtCpu(scan)} over ${runs} runs`
    + ` (runs: ${scan.runs.map((r) => r.wallSeconds.toFixed(2)).join(', ')} s)  [${scan.command}]`);
  ctx.log(`       targets: <= ${TARGET_WALL_SECONDS} s ${scan.medianWallSeconds <= TARGET_WALL_SECONDS ? 'met' : 'MISSED'},`
    + ` <= ${TARGET_RSS_MB} MB ${scan.maxPeakRssMB === undefined ? 'unknown' : scan.maxPeakRssMB <= TARGET_RSS_MB ? 'met' : 'MISSED'}`);
  ctx.record('scan', {
    command: scan.command, medianWallSeconds: scan.medianWallSeconds, medianPeakRssMB: scan.medianPeakRssMB, maxPeakRssMB: scan.maxPeakRssMB,
    medianCpuSeconds: scan.medianCpuSeconds, runs: scan.runs.map((r) => ({ wallSeconds: r.wallSeconds, peakRssMB: r.peakRssMB })),
    foundCopy: found, targets: { wallSeconds: TARGET_WALL_SECONDS, peakRssMB: TARGET_RSS_MB },
  });
  if (!found) throw new Error('the scan did not report output.weight and token_embd.weight as an exact copy');
}
