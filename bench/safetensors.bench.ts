// `weight-sharing scan` on a Llama-2-7B-shaped safetensors checkpoint
// (bench/llamaSafetensors.ts: ~13.5 GB of F16, lm_head.weight an untied,
// byte-identical copy of model.embed_tokens.weight), against the peer: the
// numpy + sha256 script a user would write (bench/safetensors_peer.py).
// Targets: scan <= 3 s wall and <= 200 MB peak RSS, warm page cache.
//
// Both tools run once untimed first (that warms the page cache and checks the
// answer), then the timed runs. The bench says how much of the file the page
// cache held, since a file that does not fit makes every "warm" run read disk.
// A scan that fails or misses the duplicate is reported as a failure of our
// side after the peer has still been measured.
//
// Env: BENCH_SAFETENSORS_RUNS (default 3) and BENCH_SAFETENSORS_PEER_RUNS
// (default 2) set the timed runs; BENCH_PYTHON picks the peer's interpreter.
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { BenchContext } from './context';
import { ensureLlamaSafetensors } from './llamaSafetensors';
import { fmtCpu, fmtMB, fmtSeconds, type Measured, type RunFigure } from './measure';
import { findPython } from './python';

const TARGET_WALL_SECONDS = 3;
const TARGET_RSS_MB = 200;
const EMBED = 'model.embed_tokens.weight';
const LM_HEAD = 'lm_head.weight';
const PEER = path.join('bench', 'safetensors_peer.py');

interface ScanJson { groups: { kind: string; tensors: { name: string }[] }[] }
interface PeerJson { tensors?: number; duplicate_groups?: string[][]; bytes_saved?: number }

/** Bytes of `file` in the page cache (util-linux fincore), or undefined if unknown. */
function residentBytes(file: string): number | undefined {
  const res = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', file], { encoding: 'utf8' });
  const n = Number(res.stdout?.trim());
  return res.status === 0 && Number.isFinite(n) ? n : undefined;
}

function cacheLine(when: string, file: string, bytes: number): { residentBytes?: number; fraction?: number; line: string } {
  const resident = residentBytes(file);
  const total = `machine memory ${(os.totalmem() / 1e9).toFixed(1)} GB, file ${(bytes / 1e9).toFixed(1)} GB`;
  if (resident === undefined) return { line: `page cache ${when}: unknown (fincore from util-linux missing); ${total}` };
  const fraction = resident / bytes;
  const verdict = fraction >= 0.99 ? 'the file fits in the page cache'
    : `the file does NOT fit: ${((bytes - resident) / 1e9).toFixed(1)} GB of each warm run comes from disk`;
  return {
    residentBytes: resident,
    fraction,
    line: `page cache ${when}: ${(resident / 1e9).toFixed(2)} of ${(bytes / 1e9).toFixed(2)} GB resident (${(fraction * 100).toFixed(0)}%), ${verdict}; ${total}`,
  };
}

function summary(m: Measured, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    command: m.command,
    medianWallSeconds: m.medianWallSeconds,
    medianPeakRssMB: m.medianPeakRssMB,
    maxPeakRssMB: m.maxPeakRssMB,
    medianCpuSeconds: m.medianCpuSeconds,
    runs: m.runs.map((r) => ({ wallSeconds: r.wallSeconds, peakRssMB: r.peakRssMB, cpuSeconds: r.cpuSeconds, exitCode: r.exitCode })),
    ...extra,
  };
}

function runsLine(m: Measured): string {
  return m.runs.map((r) => r.wallSeconds.toFixed(2)).join(', ');
}

function firstLine(label: string, r: RunFigure): string {
  return `${label} first (untimed warm-up) run: ${fmtSeconds(r.wallSeconds)} wall, ${fmtMB(r.peakRssMB)} peak RSS`;
}

function hasPair(names: string[]): boolean {
  return names.includes(EMBED) && names.includes(LM_HEAD);
}

export default async function safetensorsBench(ctx: BenchContext): Promise<void> {
  const model = await ensureLlamaSafetensors(ctx.outDir, ctx.log);
  const rel = path.relative(ctx.root, model.path);
  ctx.log(`model: ${rel}, ${(model.bytes / 1e9).toFixed(2)} GB`
    + (model.writeSeconds === undefined ? ' (reused)' : `, written in ${model.writeSeconds.toFixed(1)} s`));
  ctx.record('model', { path: rel, bytes: model.bytes, writeSeconds: model.writeSeconds });
  const runs = Number(process.env.BENCH_SAFETENSORS_RUNS ?? 3);
  const peerRuns = Number(process.env.BENCH_SAFETENSORS_PEER_RUNS ?? 2);
  const ourArgs = [ctx.cli, 'scan', rel, '--json'];

  // Warm-up: each tool once, untimed; the answers are checked here.
  let ourFailure: string | undefined;
  const ourFirst = ctx.runOnce(process.execPath, ourArgs);
  let ourFound = false;
  if (ourFirst.exitCode !== 0) {
    ourFailure = `our scan failed (exit ${ourFirst.exitCode}): ${ourFirst.stderr.trim() || ourFirst.stdout.trim()}`;
  } else {
    try {
      const report = JSON.parse(ourFirst.stdout) as ScanJson;
      ourFound = report.groups.some((g) => g.kind === 'exact' && hasPair(g.tensors.map((t) => t.name)));
      ctx.log(`scan found the ${LM_HEAD} / ${EMBED} copy: ${ourFound ? 'yes' : 'NO (wrong answer)'};`
        + ` groups: ${report.groups.map((g) => `${g.kind} (${g.tensors.map((t) => t.name).join(', ')})`).join('; ') || 'none'}`);
      if (!ourFound) ourFailure = `our scan did not report ${LM_HEAD} and ${EMBED} as an exact duplicate`;
    } catch (err) {
      ourFailure = `our scan's --json output is not JSON: ${(err as Error).message}`;
    }
  }
  if (ourFailure) ctx.log(`OUR SIDE FAILED: ${ourFailure}`);
  else ctx.log(firstLine('scan', ourFirst));

  const { python, tried } = findPython();
  let peerFirst: RunFigure | undefined;
  let peerFound = false;
  if (!python) {
    ctx.log(`peer skipped: no Python with numpy (${tried.join('; ')}).`
      + ' Install Debian\'s: apt-get update && apt-get install -y python3-numpy (or set BENCH_PYTHON)');
    ctx.record('peer', { error: 'no python3 with numpy' });
  } else {
    ctx.log(`peer: ${python.executable} (Python ${python.version}, numpy ${python.numpy})`);
    peerFirst = ctx.runOnce(python.executable, [PEER, rel]);
    if (peerFirst.exitCode !== 0) {
      ctx.log(`peer failed (exit ${peerFirst.exitCode}): ${peerFirst.stderr.trim()}`);
      ctx.record('peer', { error: peerFirst.stderr.trim() });
      peerFirst = undefined;
    } else {
      const out = JSON.parse(peerFirst.stdout.trim().split('\n').pop() ?? '{}') as PeerJson;
      peerFound = (out.duplicate_groups ?? []).some(hasPair);
      ctx.log(`peer found the copy: ${peerFound ? 'yes' : 'NO'}; ${out.tensors ?? '?'} tensors,`
        + ` duplicate groups: ${(out.duplicate_groups ?? []).map((g) => g.join(' = ')).join('; ') || 'none'}`);
      ctx.log(firstLine('peer', peerFirst));
    }
  }

  const cacheWarm = cacheLine('after the warm-up runs', model.path, model.bytes);
  ctx.log(cacheWarm.line);

  let scan: Measured | undefined;
  if (ourFirst.exitCode === 0) {
    // A wrong answer is still timed; a scan that errors out is not.
    scan = ctx.measure(process.execPath, ourArgs, { runs, warmup: 0 });
    ctx.log(`scan:  median ${fmtSeconds(scan.medianWallSeconds)} wall, ${fmtMB(scan.medianPeakRssMB)} peak RSS, ${fmtCpu(scan)}`
      + ` over ${runs} runs (runs: ${runsLine(scan)} s)  [${scan.command}]`);
    ctx.log(`       targets: <= ${TARGET_WALL_SECONDS} s ${scan.medianWallSeconds <= TARGET_WALL_SECONDS ? 'met' : 'MISSED'},`
      + ` <= ${TARGET_RSS_MB} MB ${scan.maxPeakRssMB === undefined ? 'unknown' : scan.maxPeakRssMB <= TARGET_RSS_MB ? 'met' : 'MISSED'}`);
    ctx.record('scan', summary(scan, {
      foundDuplicate: ourFound,
      error: ourFailure,
      targets: { wallSeconds: TARGET_WALL_SECONDS, peakRssMB: TARGET_RSS_MB },
    }));
  } else {
    ctx.record('scan', { command: `node ${ourArgs.map((a) => path.relative(ctx.root, a) || a).join(' ')}`, error: ourFailure, exitCode: ourFirst.exitCode });
  }

  let peer: Measured | undefined;
  if (python && peerFirst) {
    peer = ctx.measure(python.executable, [PEER, rel], { runs: peerRuns, warmup: 0 });
    ctx.log(`peer:  median ${fmtSeconds(peer.medianWallSeconds)} wall, ${fmtMB(peer.medianPeakRssMB)} peak RSS, ${fmtCpu(peer)}`
      + ` over ${peerRuns} runs (runs: ${runsLine(peer)} s)  [${peer.command}]`);
    ctx.log('       (the peer\'s RSS counts the memmap pages it hashed, file-backed and shared with the page cache)');
    ctx.record('peer', summary(peer, {
      python: python.executable, pythonVersion: python.version, numpy: python.numpy, foundDuplicate: peerFound,
      firstRun: { wallSeconds: peerFirst.wallSeconds, peakRssMB: peerFirst.peakRssMB },
    }));
  }

  const cacheAfter = cacheLine('after the timed runs', model.path, model.bytes);
  ctx.log(cacheAfter.line);
  ctx.record('pageCache', {
    memoryBytes: os.totalmem(),
    fileBytes: model.bytes,
    afterWarmup: cacheWarm.residentBytes,
    afterTimed: cacheAfter.residentBytes,
    fits: cacheWarm.fraction === undefined ? undefined : cacheWarm.fraction >= 0.99,
  });

  if (scan && peer) {
    const wall = peer.medianWallSeconds / scan.medianWallSeconds;
    const rss = scan.medianPeakRssMB && peer.medianPeakRssMB ? peer.medianPeakRssMB / scan.medianPeakRssMB : undefined;
    ctx.log(`ratio: scan is ${wall.toFixed(1)}x faster${rss ? ` and uses ${rss.toFixed(1)}x less memory` : ''} than the peer`);
    ctx.record('ratio', { wall, rss });
  } else {
    ctx.log(`ratio: n/a (${scan ? 'peer not measured' : 'our scan did not run'})`);
  }
  if (ourFailure) throw new Error(`${ourFailure} (the peer was ${peer ? 'measured' : 'not measured'}; see above)`);
}
