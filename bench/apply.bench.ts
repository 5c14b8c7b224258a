// `weight-sharing apply` on the ~530 MB BERT-base-shaped model (drops the
// 94 MB transposed embedding copy, inserts one Transpose), against `cp` of
// the same file. Targets (issue 3): wall <= 2x cp, peak RSS <= 200 MB.
//
// Before every run (untimed) the previous output is removed and `sync`
// drains dirty pages, so no run pays for the previous run's writeback.
// apply fsyncs its output (atomic write); plain cp does not, so the durable
// equivalent `cp && sync FILE` is measured too.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { BenchContext } from './context';
import { fmtCpu, fmtMB, fmtSeconds, type Measured } from './measure';

const TARGET_RATIO = 2;
const TARGET_RSS_MB = 200;

export default async function applyBench(ctx: BenchContext): Promise<void> {
  const model = await ctx.bertModel();
  const rel = path.relative(ctx.root, model.path);
  const out = path.join(ctx.outDir, 'bert-base-shaped.shared.onnx');
  const copy = path.join(ctx.outDir, 'bert-base-shaped.cp.onnx');
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const clean = (file: string) => () => { fs.rmSync(file, { force: true }); spawnSync('sync'); };

  const first = ctx.runOnce(process.execPath, [ctx.cli, 'apply', rel, '-o', path.relative(ctx.root, out), '--json']);
  if (first.exitCode !== 0) {
    ctx.log(`apply CLI not usable (exit ${first.exitCode}): ${first.stderr.trim() || first.stdout.trim()}`);
    ctx.record('apply', { error: first.stderr.trim() });
    return;
  }
  const result = JSON.parse(first.stdout) as { bytesBefore: number; bytesAfter: number; verified: { ok: boolean }; applied: { kind: string }[] };
  ctx.log(`apply: ${result.applied.map((a) => a.kind).join(', ')}; ${(result.bytesBefore / 1e6).toFixed(1)} MB -> ${(result.bytesAfter / 1e6).toFixed(1)} MB; re-scan clean: ${result.verified.ok ? 'yes' : 'NO'}`);

  const apply = ctx.measure(process.execPath, [ctx.cli, 'apply', rel, '-o', path.relative(ctx.root, out)], { runs, warmup: 0, before: clean(out) });
  const cp = ctx.measure('cp', [rel, path.relative(ctx.root, copy)], { runs, warmup: 1, before: clean(copy) });
  const cpSync = ctx.measure('sh', ['-c', `cp '${rel}' '${path.relative(ctx.root, copy)}' && sync '${path.relative(ctx.root, copy)}'`], { runs, warmup: 0, before: clean(copy) });
  clean(copy)();

  const line = (label: string, m: Measured) => ctx.log(`${label.padEnd(10)} median ${fmtSeconds(m.medianWallSeconds)} wall, ${fmtMB(m.medianPeakRssMB)} peak RSS, ${fmtCpu(m)}`
    + ` (runs: ${m.runs.map((r) => r.wallSeconds.toFixed(3)).join(', ')} s)  [${m.command}]`);
  line('apply:', apply);
  line('cp:', cp);
  line('cp+sync:', cpSync);
  const ratio = apply.medianWallSeconds / cp.medianWallSeconds;
  const ratioSync = apply.medianWallSeconds / cpSync.medianWallSeconds;
  ctx.log(`ratio: apply takes ${ratio.toFixed(2)}x cp (target <= ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}), ${ratioSync.toFixed(2)}x cp+sync;`
    + ` peak RSS ${fmtMB(apply.maxPeakRssMB)} (target <= ${TARGET_RSS_MB} MB: ${apply.maxPeakRssMB === undefined ? 'unknown' : apply.maxPeakRssMB <= TARGET_RSS_MB ? 'met' : 'MISSED'})`);
  const summary = (m: Measured) => ({ command: m.command, medianWallSeconds: m.medianWallSeconds, medianPeakRssMB: m.medianPeakRssMB, maxPeakRssMB: m.maxPeakRssMB, medianCpuSeconds: m.medianCpuSeconds, runs: m.runs.map((r) => r.wallSeconds) });
  ctx.record('apply', { ...summary(apply), bytesBefore: result.bytesBefore, bytesAfter: result.bytesAfter });
  ctx.record('cp', summary(cp));
  ctx.record('cpSync', summary(cpSync));
  ctx.record('ratio', { cp: ratio, cpSync: ratioSync });
}
