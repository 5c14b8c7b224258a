// `weight-sharing scan` on a Llama-2-7B-shaped PyTorch zip checkpoint
// (bench/llamaZip.ts: ~13.5 GB of float16 in 291 stored, 64-byte aligned
// records, ZIP64 offsets; lm_head.weight a byte-identical copy of
// model.embed_tokens.weight on its own storage). Targets: <= 3 s wall and
// <= 200 MB peak RSS, warm page cache. One untimed run first warms the cache
// and checks the answer. No peer: torch is not installed here (torch.load
// with weights_only and a hash per tensor would be the one to compare with).
//
// Env: BENCH_PYTORCH_RUNS (default 3).
import * as path from 'node:path';
import type { BenchContext } from './context';
import { ensureLlamaZip } from './llamaZip';
import { fmtCpu, fmtMB, fmtSeconds } from './measure';

const TARGET_WALL_SECONDS = 3;
const TARGET_RSS_MB = 200;

interface ScanJson { groups: { kind: string; tensors: { name: string }[] }[] }

export default async function pytorchBench(ctx: BenchContext): Promise<void> {
  const model = await ensureLlamaZip(ctx.outDir, ctx.log);
  const rel = path.relative(ctx.root, model.path);
  ctx.log(`model: ${rel}, ${(model.bytes / 1e9).toFixed(2)} GB, ${model.tensors} tensors`
    + (model.writeSeconds === undefined ? ' (reused)' : `, written in ${model.writeSeconds.toFixed(1)} s`));
  ctx.record('model', { path: rel, bytes: model.bytes, tensors: model.tensors, writeSeconds: model.writeSeconds });
  const args = [ctx.cli, 'scan', rel, '--json'];
  const first = ctx.runOnce(process.execPath, args);
  if (first.exitCode !== 0) throw new Error(`scan failed (exit ${first.exitCode}): ${first.stderr.trim() || first.stdout.trim()}`);
  const report = JSON.parse(first.stdout) as ScanJson;
  const found = report.groups.some((g) => g.kind === 'exact' && ['lm_head.weight', 'model.embed_tokens.weight'].every((n) => g.tensors.some((t) => t.name === n)));
  ctx.log(`scan found the lm_head.weight / model.embed_tokens.weight copy: ${found ? 'yes' : 'NO (wrong answer)'}`);
  ctx.log(`first (untimed warm-up) run: ${fmtSeconds(first.wallSeconds)} wall, ${fmtMB(first.peakRssMB)} peak RSS`);
  const runs = Number(process.env.BENCH_PYTORCH_RUNS ?? 3);
  const scan = ctx.measure(process.execPath, args, { runs, warmup: 0 });
  ctx.log(`scan:  median ${fmtSeconds(scan.medianWallSeconds)} wall, ${fmtMB(scan.medianPeakRssMB)} peak RSS, ${fmtCpu(scan)}`
    + ` over ${runs} runs (runs: ${scan.runs.map((r) => r.wallSeconds.toFixed(2)).join(', ')} s)  [${scan.command}]`);
  ctx.log(`       targets: <= ${TARGET_WALL_SECONDS} s ${scan.medianWallSeconds <= TARGET_WALL_SECONDS ? 'met' : 'MISSED'},`
    + ` <= ${TARGET_RSS_MB} MB ${scan.maxPeakRssMB === undefined ? 'unknown' : scan.maxPeakRssMB <= TARGET_RSS_MB ? 'met' : 'MISSED'}`);
  ctx.record('scan', {
    command: scan.command, medianWallSeconds: scan.medianWallSeconds, medianPeakRssMB: scan.medianPeakRssMB, maxPeakRssMB: scan.maxPeakRssMB,
    medianCpuSeconds: scan.medianCpuSeconds, runs: scan.runs.map((r) => ({ wallSeconds: r.wallSeconds, peakRssMB: r.peakRssMB })), foundDuplicate: found,
    targets: { wallSeconds: TARGET_WALL_SECONDS, peakRssMB: TARGET_RSS_MB },
  });
  if (!found) throw new Error('the scan did not report lm_head.weight and model.embed_tokens.weight as an exact copy');
}
