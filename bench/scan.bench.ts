// `weight-sharing scan` on the ~530 MB BERT-base-shaped model, against the
// peer: optimum's duplicate-weight detection (bench/optimum_peer.py) run by
// Debian's Python with python3-onnx. Targets (issue 2): scan <= 0.5 s wall
// and <= 150 MB peak RSS on the 2-core machine.
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { BenchContext } from './context';
import { fmtCpu, fmtMB, fmtSeconds, type Measured } from './measure';

const PYTHON = '/usr/bin/python3';
const TARGET_WALL_SECONDS = 0.5;
const TARGET_RSS_MB = 150;

interface ScanJson { groups: { kind: string; tensors: { name: string }[] }[] }

export default async function scanBench(ctx: BenchContext): Promise<void> {
  const model = await ctx.bertModel();
  const rel = path.relative(ctx.root, model.path);
  const runs = Number(process.env.BENCH_RUNS ?? 5);

  let scan: Measured | undefined;
  // Untimed first run: warms the page cache and checks the answer.
  const first = ctx.runOnce(process.execPath, [ctx.cli, 'scan', rel, '--json']);
  if (first.exitCode !== 0) {
    ctx.log(`scan CLI not usable yet (exit ${first.exitCode}): ${first.stderr.trim()}`);
    ctx.record('scan', { error: first.stderr.trim() });
  } else {
    const report = JSON.parse(first.stdout) as ScanJson;
    const found = report.groups.some((g) => g.kind === 'transposed'
      && g.tensors.some((t) => t.name === 'bert.embeddings.word_embeddings.weight')
      && g.tensors.some((t) => t.name === 'onnx::MatMul_1591'));
    ctx.log(`scan found the transposed embedding copy: ${found ? 'yes' : 'NO (wrong answer)'}; groups: ${report.groups.map((g) => g.kind).join(', ') || 'none'}`);
    scan = ctx.measure(process.execPath, [ctx.cli, 'scan', rel], { runs, warmup: 0 });
    ctx.log(`scan:  median ${fmtSeconds(scan.medianWallSeconds)} wall, ${fmtMB(scan.medianPeakRssMB)} peak RSS, ${fmtCpu(scan)} over ${runs} runs`
      + ` (runs: ${scan.runs.map((r) => r.wallSeconds.toFixed(3)).join(', ')} s)  [${scan.command}]`);
    ctx.log(`       targets: <= ${TARGET_WALL_SECONDS} s ${scan.medianWallSeconds <= TARGET_WALL_SECONDS ? 'met' : 'MISSED'},`
      + ` <= ${TARGET_RSS_MB} MB ${scan.maxPeakRssMB === undefined ? 'unknown' : scan.maxPeakRssMB <= TARGET_RSS_MB ? 'met' : 'MISSED'}`);
    ctx.record('scan', summary(scan, { foundTransposedPair: found }));
  }

  const check = spawnSync(PYTHON, ['-c', 'import onnx, numpy']);
  if (check.status !== 0) {
    ctx.log(`peer skipped: ${PYTHON} cannot import onnx and numpy. Install Debian's packages:`
      + ' apt-get update && apt-get install -y python3-onnx python3-numpy');
    ctx.record('peer', { error: 'python3-onnx / python3-numpy missing' });
    return;
  }
  const peerRuns = Number(process.env.BENCH_PEER_RUNS ?? 3);
  const peer = ctx.measure(PYTHON, [path.join('bench', 'optimum_peer.py'), rel], { runs: peerRuns, warmup: 0 });
  const peerOut = JSON.parse(peer.runs[0]?.stdout ?? '{}') as { transposed_pairs?: string[][] };
  ctx.log(`peer:  median ${fmtSeconds(peer.medianWallSeconds)} wall, ${fmtMB(peer.medianPeakRssMB)} peak RSS, ${fmtCpu(peer)} over ${peerRuns} runs`
    + ` (found ${peerOut.transposed_pairs?.length ?? 0} transposed pair)  [${peer.command}]`);
  ctx.record('peer', summary(peer, { transposedPairs: peerOut.transposed_pairs }));

  if (scan) {
    const wall = peer.medianWallSeconds / scan.medianWallSeconds;
    const rss = scan.medianPeakRssMB && peer.medianPeakRssMB ? peer.medianPeakRssMB / scan.medianPeakRssMB : undefined;
    ctx.log(`ratio: scan is ${wall.toFixed(1)}x faster${rss ? ` and uses ${rss.toFixed(1)}x less memory` : ''} than the peer`);
    ctx.record('ratio', { wall, rss });
  }
}

function summary(m: Measured, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    command: m.command,
    medianWallSeconds: m.medianWallSeconds,
    medianPeakRssMB: m.medianPeakRssMB,
    maxPeakRssMB: m.maxPeakRssMB,
    medianCpuSeconds: m.medianCpuSeconds,
    runs: m.runs.map((r) => ({ wallSeconds: r.wallSeconds, peakRssMB: r.peakRssMB, exitCode: r.exitCode })),
    ...extra,
  };
}
