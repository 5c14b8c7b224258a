// `weight-sharing layers` (how alike the layers are, per family) on the
// ~530 MB BERT-base-shaped ONNX model (12 layers) and on a ~4.5 GB
// 20-layer Llama-shaped safetensors checkpoint (bench/llamaSafetensors.ts,
// LLAMA_20L), against the peer: the numpy script a user would write for the
// same matrices (bench/layers_peer.py, a Gram matrix over column chunks).
// Targets: BERT <= 1 s / 150 MB, 20 layers <= 10 s / 200 MB, warm page cache.
//
// Both tools run once untimed first (page cache, and the answers: every
// family of ours must be the peer's, exact entries equal to 1e-9, sketched
// ones within 5 of their stated standard deviations), then the timed runs.
//
// Env: BENCH_LAYERS_RUNS (default 3), BENCH_LAYERS_PEER_RUNS (default 1);
// BENCH_PYTHON picks the peer's interpreter.
import * as path from 'node:path';
import type { BenchContext } from './context';
import { ensureLlamaSafetensors, LLAMA_20L } from './llamaSafetensors';
import { fmtCpu, fmtMB, fmtSeconds, type Measured } from './measure';
import { findPython } from './python';

const PEER = path.join('bench', 'layers_peer.py');

interface Family {
  role: string;
  stack: string;
  shape: number[];
  members: string[];
  relL2: number[][];
  estimate?: { relL2RelativeStd: number; exactPairs: Array<[number, number]> };
}

interface Case { label: string; file: string; bytes: number; target: { wallSeconds: number; peakRssMB: number } }

/** How far our matrices are from the peer's: exact entries as absolute differences, sketched ones in standard deviations. */
function agreement(ours: Family[], peer: Family[]): { line: string; ok: boolean } {
  let exactWorst = 0;
  let sketchWorst = 0;
  let missing = 0;
  for (const f of ours) {
    const p = peer.find((q) => q.role === f.role && q.stack === f.stack && q.shape.join() === f.shape.join());
    if (!p || p.members.join() !== f.members.join()) { missing++; continue; }
    const exact = new Set((f.estimate?.exactPairs ?? []).map(([i, j]) => `${i},${j}`));
    f.relL2.forEach((row, i) => row.forEach((v, j) => {
      const want = p.relL2[i]![j]!;
      if (!f.estimate || i === j || exact.has(`${Math.min(i, j)},${Math.max(i, j)}`)) exactWorst = Math.max(exactWorst, Math.abs(v - want));
      else if (want > 0) sketchWorst = Math.max(sketchWorst, Math.abs(v - want) / want / f.estimate.relL2RelativeStd);
    }));
  }
  const sketched = ours.filter((f) => f.estimate).length;
  const ok = missing === 0 && ours.length === peer.length && exactWorst < 1e-9 && sketchWorst < 5;
  return {
    ok,
    line: `answers: ${ours.length} families (peer ${peer.length}${missing ? `, ${missing} not matched` : ''}), ${sketched} sketched;`
      + ` exact entries within ${exactWorst.toExponential(1)} of the peer's`
      + (sketched ? `, sketched ones within ${sketchWorst.toFixed(2)} std` : '') + (ok ? '' : '  <- DISAGREE'),
  };
}

function line(label: string, m: Measured): string {
  return `${label} median ${fmtSeconds(m.medianWallSeconds)} wall, ${fmtMB(m.medianPeakRssMB)} peak RSS, ${fmtCpu(m)}`
    + ` over ${m.runs.length} runs (runs: ${m.runs.map((r) => r.wallSeconds.toFixed(2)).join(', ')} s)`;
}

export default async function layersBench(ctx: BenchContext): Promise<void> {
  const bert = await ctx.bertModel();
  const big = await ensureLlamaSafetensors(ctx.outDir, ctx.log, LLAMA_20L);
  const cases: Case[] = [
    { label: 'BERT-base (12 layers)', file: bert.path, bytes: bert.bytes, target: { wallSeconds: 1, peakRssMB: 150 } },
    { label: 'Llama-shaped, 20 layers', file: big.path, bytes: big.bytes, target: { wallSeconds: 10, peakRssMB: 200 } },
  ];
  const runs = Number(process.env.BENCH_LAYERS_RUNS ?? 3);
  const peerRuns = Number(process.env.BENCH_LAYERS_PEER_RUNS ?? 1);
  const { python, tried } = findPython();
  if (!python) ctx.log(`peer skipped: no Python with numpy (${tried.join('; ')}); apt-get install -y python3-numpy or set BENCH_PYTHON`);
  else ctx.log(`peer: ${python.executable} (Python ${python.version}, numpy ${python.numpy})`);

  const failures: string[] = [];
  for (const c of cases) {
    const rel = path.relative(ctx.root, c.file);
    ctx.log(`-- ${c.label}: ${rel}, ${(c.bytes / 1e9).toFixed(2)} GB`);
    const args = [ctx.cli, 'layers', rel, '--json'];
    const first = ctx.runOnce(process.execPath, args);
    if (first.exitCode !== 0) {
      failures.push(`${c.label}: layers failed (exit ${first.exitCode}): ${first.stderr.trim()}`);
      ctx.log(`OUR SIDE FAILED: ${failures.at(-1)}`);
      continue;
    }
    const ours = (JSON.parse(first.stdout) as { models: Array<{ families: Family[] }> }).models[0]!.families;
    let peerFamilies: Family[] | undefined;
    if (python) {
      const p = ctx.runOnce(python.executable, [PEER, rel]);
      if (p.exitCode === 0) peerFamilies = (JSON.parse(p.stdout) as { families: Family[] }).families;
      else ctx.log(`peer failed (exit ${p.exitCode}): ${p.stderr.trim().split('\n').pop()}`);
    }
    if (peerFamilies) {
      const a = agreement(ours, peerFamilies);
      ctx.log(a.line);
      if (!a.ok) failures.push(`${c.label}: our matrices disagree with the peer's`);
    }
    const m = ctx.measure(process.execPath, args, { runs, warmup: 0 });
    ctx.log(line('layers:', m));
    const met = (ok: boolean | undefined) => (ok === undefined ? 'unknown' : ok ? 'met' : 'MISSED');
    ctx.log(`       targets: <= ${c.target.wallSeconds} s ${met(m.medianWallSeconds <= c.target.wallSeconds)},`
      + ` <= ${c.target.peakRssMB} MB ${met(m.maxPeakRssMB === undefined ? undefined : m.maxPeakRssMB <= c.target.peakRssMB)}`);
    const record: Record<string, unknown> = {
      file: rel, bytes: c.bytes, target: c.target, families: ours.length, sketched: ours.filter((f) => f.estimate).length,
      ours: { command: m.command, medianWallSeconds: m.medianWallSeconds, medianPeakRssMB: m.medianPeakRssMB, maxPeakRssMB: m.maxPeakRssMB, medianCpuSeconds: m.medianCpuSeconds },
    };
    if (python && peerFamilies) {
      const p = ctx.measure(python.executable, [PEER, rel], { runs: peerRuns, warmup: 0 });
      ctx.log(line('peer:  ', p));
      ctx.log(`ratio: ${(p.medianWallSeconds / m.medianWallSeconds).toFixed(1)}x faster`
        + (m.medianPeakRssMB && p.medianPeakRssMB ? `, ${(p.medianPeakRssMB / m.medianPeakRssMB).toFixed(1)}x less memory` : '') + ' than the peer');
      record.peer = { command: p.command, medianWallSeconds: p.medianWallSeconds, medianPeakRssMB: p.medianPeakRssMB, medianCpuSeconds: p.medianCpuSeconds };
    }
    ctx.record(c.label, record);
  }
  if (failures.length) throw new Error(failures.join('; '));
}
