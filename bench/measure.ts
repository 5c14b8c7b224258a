// Runs a command and measures its wall time (hrtime around the child) and
// peak resident memory (GNU time's %M: the child's maxrss from wait4, which
// Node's child_process does not expose).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

export const GNU_TIME = '/usr/bin/time';

export function haveGnuTime(): boolean {
  if (!fs.existsSync(GNU_TIME)) return false;
  const res = spawnSync(GNU_TIME, ['-f', '%M', '-o', '/dev/null', 'true']);
  return res.status === 0;
}

export interface RunFigure {
  wallSeconds: number;
  /** Peak RSS of the child in MB (10^6 bytes); undefined without GNU time. */
  peakRssMB?: number;
  /** User + system CPU seconds of the child (GNU time); less sensitive than wall time to a busy machine. */
  cpuSeconds?: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Measured {
  command: string;
  runs: RunFigure[];
  medianWallSeconds: number;
  medianPeakRssMB?: number;
  maxPeakRssMB?: number;
  medianCpuSeconds?: number;
}

export interface MeasureOptions {
  /** Timed runs (median reported). */
  runs?: number;
  /** Untimed runs first (warm page cache, JIT-free startup is not a thing here). */
  warmup?: number;
  cwd?: string;
  /** Run before each run, untimed (e.g. remove the previous output). */
  before?: () => void;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(cmd: string, args: string[]): string {
  return [cmd, ...args].map(quote).join(' ');
}

export function runOnce(cmd: string, args: string[], cwd?: string): RunFigure {
  const gnu = haveGnuTime();
  const rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}-${Date.now()}.txt`);
  const [file, argv] = gnu ? [GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args]] : [cmd, args];
  const start = process.hrtime.bigint();
  const res = spawnSync(file, argv, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  let peakRssMB: number | undefined;
  let cpuSeconds: number | undefined;
  if (gnu && fs.existsSync(rssFile)) {
    // GNU time writes its own note ("Command exited with non-zero status") before the figures.
    const [kb, user, sys] = (fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
    fs.rmSync(rssFile, { force: true });
    if (Number.isFinite(kb)) peakRssMB = (kb! * 1024) / 1e6;
    if (Number.isFinite(user) && Number.isFinite(sys)) cpuSeconds = user! + sys!;
  }
  if (res.error) throw new Error(`${commandLine(cmd, args)}: ${res.error.message}`);
  return { wallSeconds, peakRssMB, cpuSeconds, exitCode: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function measure(cmd: string, args: string[], options: MeasureOptions = {}): Measured {
  const runs: RunFigure[] = [];
  for (let i = 0; i < (options.warmup ?? 1); i++) {
    options.before?.();
    runOnce(cmd, args, options.cwd);
  }
  for (let i = 0; i < (options.runs ?? 3); i++) {
    options.before?.();
    runs.push(runOnce(cmd, args, options.cwd));
  }
  const rss = runs.map((r) => r.peakRssMB).filter((v): v is number => v !== undefined);
  return {
    command: commandLine(cmd, args),
    runs,
    medianWallSeconds: median(runs.map((r) => r.wallSeconds)),
    medianPeakRssMB: rss.length ? median(rss) : undefined,
    maxPeakRssMB: rss.length ? Math.max(...rss) : undefined,
    medianCpuSeconds: runs.every((r) => r.cpuSeconds !== undefined) ? median(runs.map((r) => r.cpuSeconds!)) : undefined,
  };
}

export function fmtSeconds(s: number): string {
  return s < 10 ? `${s.toFixed(3)} s` : `${s.toFixed(1)} s`;
}

export function fmtMB(mb: number | undefined): string {
  return mb === undefined ? 'n/a (no GNU time)' : `${mb.toFixed(0)} MB`;
}

export function fmtCpu(m: Measured): string {
  return m.medianCpuSeconds === undefined ? 'cpu n/a' : `${m.medianCpuSeconds.toFixed(2)} s cpu`;
}
