// Runs fuzz inputs through the real code and sorts out how each ended.
//
// Each input is a folder of files under os.tmpdir() (the mutated model and
// whatever stays beside it), opened in a worker thread (worker.ts: openModel,
// scanModels, sometimes applySharing). Workers are reused across inputs and
// replaced after a failure and every `recycleEvery` inputs. Every
// `cliEvery`-th input also goes through `node dist/cli.js scan` in a child
// process. Classes:
//   ok           opened and scanned (and applied);
//   rejected     a ModelFormatError / ApplyError / AtomicWriteError whose
//                message names a file of the input; the CLI: exit 2 with one
//                `weight-sharing: ...` line naming it;
//   crash        any other exception (TypeError, RangeError, ...), a message
//                that names no file of the input, a reader result that breaks
//                the ModelFile contract, a worker that dies, an unhandled
//                rejection; the CLI: an exit code other than 0/1/2, a stack
//                trace or more than one line on stderr, a JavaScript engine
//                message passed off as the error;
//   hang         no answer within `hangMs` (the worker is terminated), and
//                again on a fresh worker (a busy machine can stall one run);
//   over-memory  the worker's heap limit (resourceLimits), a Buffer
//                allocation over `memoryMb` asked for, more than `memoryMb`
//                of ArrayBuffers still held after the input, or the workers'
//                share of the process RSS growing by more than `memoryMb`
//                (the inputs in flight are re-run alone at the end).
// A failure is minimized (delta debugging on the mutated file's fields and
// bytes while the same failure reproduces) and kept with a JSON note.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadSeeds, makeCase, pickSeed, REPO, type FuzzCase, type Reader } from './corpus';
import { dropChildren, mixSeed, parsePb, Rng, type PbMsg } from './mutators';
import type { Stage, WorkerReply, WorkerRequest } from './worker';

export type FailureClass = 'crash' | 'hang' | 'over-memory';
export type OutcomeClass = 'ok' | 'rejected' | FailureClass;

export interface Outcome {
  cls: OutcomeClass;
  via: 'worker' | 'cli';
  stage?: Stage;
  name?: string;
  message?: string;
  stack?: string;
  /** How the harness saw it: "worker exited with code 7", "3 lines on stderr", ... */
  detail?: string;
  opened?: boolean;
  applied?: boolean;
  ms: number;
}

/** Internal: an input in flight when the process's RSS went over the limit; re-run alone later. */
interface Suspect { cls: 'suspect'; ms: number }

export const CLI_PATH = path.join(REPO, 'dist/cli.js');
const WORKER_PATH = path.join(__dirname, 'worker.ts');
const MB = 1024 * 1024;

export interface HarnessLimits {
  /** An input taking longer is a hang (ms). */
  hangMs: number;
  /** Heap limit per worker and allocation / retention / RSS-growth limit (MiB). */
  memoryMb: number;
  /** Replace a worker after this many inputs. */
  recycleEvery: number;
}

export const DEFAULT_LIMITS: HarnessLimits = { hangMs: 10_000, memoryMb: 512, recycleEvery: 1000 };

export function isFailure(o: { cls: string }): boolean {
  return o.cls === 'crash' || o.cls === 'hang' || o.cls === 'over-memory';
}

// --- worker slots -------------------------------------------------------------

/** One worker thread, reused for input after input. */
export class WorkerSlot {
  private worker?: Worker;
  private ready?: Promise<Worker>;
  private served = 0;
  private stderrTail = '';
  /** Ends the input in flight (the RSS watchdog). */
  abort?: (o: Outcome | Suspect) => void;

  constructor(private readonly limits: HarnessLimits) {}

  private start(): Promise<Worker> {
    // The tsx CommonJS hook, registered inside the worker: `execArgv: ['--import', 'tsx']` does not reach a worker's own entry file on node 20.
    const boot = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(WORKER_PATH)});`;
    const w = new Worker(boot, {
      eval: true,
      execArgv: [],
      workerData: { memoryMb: this.limits.memoryMb },
      resourceLimits: { maxOldGenerationSizeMb: this.limits.memoryMb, maxYoungGenerationSizeMb: 64 },
      stdout: true,
      stderr: true,
    });
    w.on('error', () => undefined); // reported through the run's own listener; never uncaught here
    w.stdout.resume();
    w.stderr.on('data', (d: Buffer) => { this.stderrTail = (this.stderrTail + d.toString('utf8')).slice(-4000); });
    this.served = 0;
    this.stderrTail = '';
    return new Promise<Worker>((resolve, reject) => {
      const onReady = (m: unknown) => {
        if ((m as { ready?: boolean }).ready) { w.off('message', onReady); w.off('exit', onExit); resolve(w); }
      };
      const onExit = (code: number) => reject(new Error(`fuzz worker exited with code ${code} before it was ready: ${this.stderrTail}`));
      w.on('message', onReady);
      w.once('exit', onExit);
    });
  }

  private async ensure(): Promise<Worker> {
    if (!this.worker) {
      this.ready = this.start();
      this.worker = await this.ready;
    }
    return this.worker;
  }

  /** Drops the worker (terminating it); the next input starts a fresh one. An input in flight ends as cancelled. */
  discard(): void {
    const w = this.worker;
    this.worker = undefined;
    this.ready = undefined;
    if (w) {
      w.removeAllListeners('message');
      w.removeAllListeners('exit');
      void w.terminate().catch(() => undefined);
    }
  }

  async run(req: Omit<WorkerRequest, 'id'>): Promise<Outcome | Suspect> {
    const w = await this.ensure();
    const id = ++this.served;
    const t0 = performance.now();
    const limits = this.limits;
    return new Promise((resolve) => {
      let done = false;
      const finish = (o: Outcome | Suspect, kill: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        this.abort = undefined;
        if (kill || (o.cls !== 'ok' && o.cls !== 'rejected') || this.served >= limits.recycleEvery) this.discard();
        resolve(o);
      };
      const onMessage = (m: WorkerReply) => {
        if (m.id !== id) return;
        finish(fromReply(m, limits), false);
      };
      const onError = (e: Error & { code?: string }) => {
        const oom = e.code === 'ERR_WORKER_OUT_OF_MEMORY';
        finish({
          cls: oom ? 'over-memory' : 'crash', via: 'worker', name: e.name, message: e.message, stack: e.stack,
          detail: oom ? `worker heap over ${limits.memoryMb} MiB (resourceLimits)` : `uncaught in the worker${this.stderrTail ? `; stderr: ${this.stderrTail.slice(-500)}` : ''}`,
          ms: performance.now() - t0,
        }, true);
      };
      const onExit = (code: number) => {
        finish({ cls: 'crash', via: 'worker', detail: `worker exited with code ${code} mid-input${this.stderrTail ? `; stderr: ${this.stderrTail.slice(-500)}` : ''}`, ms: performance.now() - t0 }, true);
      };
      const timer = setTimeout(() => finish({ cls: 'hang', via: 'worker', detail: `no answer within ${limits.hangMs} ms (worker terminated)`, ms: performance.now() - t0 }, true), limits.hangMs);
      this.abort = (o) => finish(o, true);
      w.on('message', onMessage);
      w.on('error', onError);
      w.once('exit', onExit);
      w.postMessage({ ...req, id } satisfies WorkerRequest);
    });
  }

  get busy(): boolean {
    return this.abort !== undefined;
  }

  close(): void {
    this.abort?.({ cls: 'suspect', ms: 0 });
    this.discard();
  }
}

function fromReply(m: WorkerReply, limits: HarnessLimits): Outcome {
  const base = { via: 'worker' as const, stage: m.stage, name: m.name, message: m.message, stack: m.stack, opened: m.opened, applied: m.applied, ms: m.ms };
  if (m.bigAlloc) return { ...base, cls: 'over-memory', detail: `asked for a ${m.bigAlloc.bytes}-byte Buffer (limit ${limits.memoryMb} MiB)`, stack: m.bigAlloc.stack };
  if (m.arrayBuffers > limits.memoryMb * MB) return { ...base, cls: 'over-memory', detail: `${Math.round(m.arrayBuffers / MB)} MiB of ArrayBuffers still held after the input` };
  if (m.outcome === 'crash' && (m.name === 'ModelFormatError' || m.name === 'ApplyError' || m.name === 'AtomicWriteError')) {
    return { ...base, cls: 'crash', detail: 'the error message names no file of the input' };
  }
  return { ...base, cls: m.outcome };
}

// --- the CLI ---------------------------------------------------------------------

/** V8 and node messages that mean a bug, not a diagnosis, when they are the whole error line. */
const ENGINE_MESSAGE = /Cannot read properties of|is not a function|is not iterable|is not a constructor|Cannot destructure|Invalid array length|Invalid typed array length|Maximum call stack size exceeded|Array buffer allocation failed|Cannot convert a BigInt|Cannot mix BigInt|The value of "[^"]+" is out of range|Reduce of empty array|internal:/;

/** `node dist/cli.js scan TARGET` in a child process (heap limited like the workers); `cli`: another script, for the harness's own tests. */
export function runCli(target: string, caseDir: string, limits: HarnessLimits, args: string[] = [], cli = CLI_PATH): Promise<Outcome> {
  const t0 = performance.now();
  const env = { ...process.env };
  delete env.WEIGHT_SHARING_DEBUG;
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${limits.memoryMb}`, cli, 'scan', ...args, target], { cwd: caseDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let hung = false;
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => { if (stderr.length < 65536) stderr += d.toString('utf8'); });
    const timer = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, limits.hangMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      const o = (cls: OutcomeClass, detail: string): Outcome => ({ cls, via: 'cli', name: 'cli', message: stderr.trim().split('\n')[0]?.slice(0, 500), stack: stderr.slice(0, 4000), detail, ms });
      if (hung) return resolve(o('hang', `cli scan gave no answer within ${limits.hangMs} ms`));
      if (/heap out of memory|Allocation failed/.test(stderr)) return resolve(o('over-memory', `cli scan ran out of memory (exit ${code ?? signal})`));
      if (signal) return resolve(o('crash', `cli scan killed by ${signal}`));
      if (code !== 0 && code !== 1 && code !== 2) return resolve(o('crash', `cli scan exit code ${code}`));
      if (/^\s{4}at /m.test(stderr)) return resolve(o('crash', `cli scan printed a stack trace (exit ${code})`));
      if (code === 2) {
        const lines = stderr.split('\n').filter((l) => l.trim() !== '');
        if (lines.length !== 1) return resolve(o('crash', `cli scan printed ${lines.length} lines on stderr for one error`));
        if (!lines[0].startsWith('weight-sharing: ')) return resolve(o('crash', 'cli scan error line does not start with "weight-sharing: "'));
        if (!lines[0].includes(caseDir)) return resolve(o('crash', 'cli scan error names no file of the input'));
        if (ENGINE_MESSAGE.test(lines[0])) return resolve(o('crash', 'cli scan passed a JavaScript engine error off as its message'));
        return resolve(o('rejected', 'exit 2'));
      }
      resolve(o('ok', `exit ${code}`));
    });
  });
}

// --- inputs on disk -----------------------------------------------------------------

export interface CasePaths {
  dir: string;
  target: string;
  output: string;
}

/** Writes an input's files into a fresh folder `dir/in/` and names where apply writes (`dir/out/`). */
export function writeCase(dir: string, c: Pick<FuzzCase, 'files' | 'target'>): CasePaths {
  fs.rmSync(dir, { recursive: true, force: true });
  const inDir = path.join(dir, 'in');
  for (const f of c.files) {
    const p = path.join(inDir, f.rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.bytes);
  }
  fs.mkdirSync(inDir, { recursive: true });
  const outDir = path.join(dir, 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const base = path.basename(c.target);
  const ext = /\.(onnx|safetensors)$/i.exec(base)?.[0];
  const output = path.join(outDir, ext ? `${base.slice(0, -ext.length)}.shared${ext}` : `${base}.shared`);
  return { dir, target: path.join(inDir, c.target), output };
}

// --- failures: signature, minimization, reproducers -----------------------------------

/** The first frame in the project's own code, e.g. `extension/model/onnx/reader.ts:123`. */
export function topFrame(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  const m = /(extension\/[\w/.-]+\.ts):(\d+)/.exec(stack);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** What makes two failures the same bug: class, where seen, error name, and the top project frame (or the message, numbers and paths blanked). */
export function signature(o: Outcome, caseDir: string): string {
  const msg = (o.message ?? o.detail ?? '').split(caseDir).join('<input>').replace(/\d+/g, '#').slice(0, 120);
  return [o.cls, o.via, o.name ?? '', topFrame(o.stack) ?? msg].join(' | ');
}

/** The part of the signature the minimizer keeps: class, where seen, error name, top frame. */
function sameFailure(a: Outcome, b: Outcome): boolean {
  if (a.cls !== b.cls || a.via !== b.via || (a.name ?? '') !== (b.name ?? '')) return false;
  const fa = topFrame(a.stack);
  return fa === undefined || fa === topFrame(b.stack);
}

export interface Minimized {
  case: FuzzCase;
  trials: number;
  before: number;
  after: number;
}

/**
 * Delta debugging on each mutated file: drop protobuf fields (ONNX) in
 * halving chunks, message by message from the largest, cut the end off in
 * halving steps, then remove byte chunks in halving sizes, keeping every
 * change under which the same failure reproduces. Stops after `budget`
 * trials or `timeMs`.
 */
export async function minimize(c: FuzzCase, failure: Outcome, reproduces: (c: FuzzCase) => Promise<Outcome>, budget: number, timeMs = 120_000): Promise<Minimized> {
  let cur = c;
  let trials = 0;
  const deadline = performance.now() + timeMs;
  const more = () => trials < budget && performance.now() < deadline;
  const sizeOf = (x: FuzzCase) => x.files.filter((f) => x.mutated.includes(f.rel)).reduce((n, f) => n + f.bytes.length, 0);
  const before = sizeOf(c);
  const tryBytes = async (rel: string, bytes: Uint8Array): Promise<boolean> => {
    if (!more()) return false;
    trials++;
    const next: FuzzCase = { ...cur, files: cur.files.map((f) => (f.rel === rel ? { rel, bytes } : f)) };
    const o = await reproduces(next);
    if (sameFailure(failure, o)) { cur = next; return true; }
    return false;
  };
  const bytesOf = (rel: string) => cur.files.find((f) => f.rel === rel)!.bytes;

  for (const rel of c.mutated) {
    if (!cur.files.some((f) => f.rel === rel)) continue; // removed: nothing to shrink
    // 1. ONNX: whole fields out (nodes, initializers, attributes, ...), one message at a time, largest first.
    if (c.reader === 'onnx' && rel.endsWith('.onnx')) {
      for (let k = 0; k < 300 && more(); k++) {
        const tree = parsePb(bytesOf(rel));
        const msgs: PbMsg[] = [tree.root, ...tree.nodes.filter((n) => n.msg && n.msg.children.length > 0).map((n) => n.msg!)]
          .sort((a, b) => (b.end - b.start) - (a.end - a.start));
        if (k >= msgs.length) break;
        const msg = msgs[k];
        const removed = new Set<(typeof msg.children)[number]>();
        for (let chunk = Math.ceil(msg.children.length / 2); chunk >= 1 && more(); chunk = chunk === 1 ? 0 : Math.ceil(chunk / 2)) {
          for (let i = 0; i < msg.children.length && more(); i += chunk) {
            const part = msg.children.slice(i, i + chunk).filter((n) => !removed.has(n));
            if (part.length === 0) continue;
            if (await tryBytes(rel, dropChildren(tree, msg, [...removed, ...part]))) for (const n of part) removed.add(n);
          }
        }
      }
    }
    // 2. Cut the end off, in halving steps.
    for (let step = bytesOf(rel).length >> 1; step >= 1 && more(); step >>= 1) {
      while (bytesOf(rel).length > step && more() && await tryBytes(rel, bytesOf(rel).subarray(0, bytesOf(rel).length - step)));
    }
    // 3. Remove chunks anywhere, in halving sizes.
    for (let chunk = bytesOf(rel).length >> 1; chunk >= 1 && more(); chunk >>= 1) {
      for (let at = 0; at < bytesOf(rel).length && more();) {
        const b = bytesOf(rel);
        if (!(await tryBytes(rel, Buffer.concat([b.subarray(0, at), b.subarray(at + chunk)])))) at += chunk;
      }
    }
  }
  return { case: cur, trials, before, after: sizeOf(cur) };
}

export interface FailureRecord {
  reader: Reader;
  index: number;
  caseSeed: number;
  source: string;
  mode: string;
  cls: FailureClass;
  via: 'worker' | 'cli';
  stage?: string;
  name?: string;
  message?: string;
  detail?: string;
  signature: string;
  ops: string[];
  /** Folder of the kept reproducer, when kept. */
  saved?: string;
  minimized?: { before: number; after: number; trials: number };
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9.]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'failure';
}

/** Writes the reproducer: `in/` (the minimized input, ready to open), `original/` (the mutated files before minimizing), note.json. */
export function saveReproducer(dir: string, original: FuzzCase, kept: FuzzCase, o: Outcome, rec: FailureRecord, caseDir: string, runSeed: number): void {
  fs.rmSync(dir, { recursive: true, force: true });
  for (const f of kept.files) {
    const p = path.join(dir, 'in', f.rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.bytes);
  }
  for (const f of original.files.filter((x) => original.mutated.includes(x.rel))) {
    const p = path.join(dir, 'original', f.rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, f.bytes);
  }
  const scrub = (s: string | undefined) => s?.split(caseDir).join('<input>');
  const note = {
    reader: rec.reader,
    class: o.cls,
    via: o.via,
    stage: o.stage,
    name: o.name,
    message: scrub(o.message),
    detail: scrub(o.detail),
    stack: scrub(o.stack)?.split('\n').slice(0, 14).join('\n'),
    signature: rec.signature,
    runSeed,
    index: rec.index,
    caseSeed: rec.caseSeed,
    source: rec.source,
    mode: rec.mode,
    target: kept.target,
    apply: kept.apply,
    mutated: original.mutated,
    mutations: original.ops,
    minimized: rec.minimized,
    replay: `node --import tsx test/fuzz/run.ts --replay ${path.relative(REPO, dir)}`,
    regenerate: `node --import tsx test/fuzz/run.ts ${rec.reader} ${rec.index + 1} --seed ${runSeed} --only ${rec.index}`,
  };
  fs.writeFileSync(path.join(dir, 'note.json'), `${JSON.stringify(note, null, 2)}\n`);
}

// --- the fuzz loop ---------------------------------------------------------------

export interface FuzzOptions {
  reader: Reader;
  count: number;
  seed: number;
  mode: 'structure' | 'generic' | 'both';
  jobs: number;
  limits: HarnessLimits;
  /** Every K-th input also through the CLI (0: never). */
  cliEvery: number;
  applyFraction: number;
  /** Where reproducers go (`<saveDir>/<reader>/...`); undefined: not kept. */
  saveDir?: string;
  minimize: boolean;
  /** Reproducers kept (and minimized) per distinct failure signature. */
  keepPerSignature: number;
  /** Minimizer trials per failure (hangs get a tenth: each costs the hang limit). */
  minimizeBudget: number;
  /** Wall-time limit per minimization (ms); hangs get three times as long. */
  minimizeMs: number;
  progressEvery: number;
  log: (line: string) => void;
  /** Run only this input index (regenerating a failure from its note). */
  only?: number;
  /** First input index (resuming a run: inputs `from` .. `from + count - 1`). */
  from?: number;
  /** Test hook: raise this fault on every `every`-th input that opens. */
  inject?: { kind: NonNullable<WorkerRequest['inject']>; every: number };
}

export interface ReaderStats {
  reader: Reader;
  inputs: number;
  ok: number;
  rejected: number;
  crashes: number;
  hangs: number;
  overMemory: number;
  /** Inputs that opened (reached the scan), applySharing runs (on inputs that opened) and those that wrote an output, CLI runs. */
  opened: number;
  applyRuns: number;
  applied: number;
  cliRuns: number;
  /** Times the RSS watchdog fired (each makes the inputs in flight suspects, re-run alone at the end). */
  rssEvents: number;
  /** Inputs the fuzzer itself failed on (a mutator bug): not run, not counted in `inputs`. */
  harnessErrors: number;
  structure: number;
  generic: number;
  /** ok / rejected / failed per mutation mode. */
  byMode: Record<'structure' | 'generic', { ok: number; rejected: number; failed: number }>;
  seeds: number;
  wallMs: number;
  failures: FailureRecord[];
  /** Distinct failure signatures and how often each was seen. */
  signatures: Record<string, number>;
  /** Why inputs were rejected: messages with paths, names and numbers blanked, and how often (the first 2,000 kinds). */
  rejections: Record<string, number>;
}

/** A rejection message reduced to its kind: the input's paths, quoted names and numbers blanked. */
export function rejectionKind(message: string, caseDir: string): string {
  return message.split(caseDir).join('<input>').replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, '…').replace(/\d+/g, '#').replace(/^<input>[^:]*: /, '').slice(0, 160);
}

export async function fuzzReader(opts: FuzzOptions): Promise<ReaderStats> {
  const t0 = performance.now();
  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), `wsi-fuzz-${opts.reader}-`));
  // Removed on the way out, also when the process is stopped (run.ts turns SIGINT / SIGTERM into an exit).
  const cleanup = () => fs.rmSync(tmpRoot, { recursive: true, force: true });
  process.once('exit', cleanup);
  const stats: ReaderStats = {
    reader: opts.reader, inputs: 0, ok: 0, rejected: 0, crashes: 0, hangs: 0, overMemory: 0, opened: 0, applyRuns: 0, applied: 0, cliRuns: 0, rssEvents: 0, harnessErrors: 0,
    structure: 0, generic: 0, byMode: { structure: { ok: 0, rejected: 0, failed: 0 }, generic: { ok: 0, rejected: 0, failed: 0 } },
    seeds: 0, wallMs: 0, failures: [], signatures: {}, rejections: {},
  };
  const slots = Array.from({ length: Math.max(1, opts.jobs) }, () => new WorkerSlot(opts.limits));
  /** Indices of inputs in flight when the RSS went over (regenerated later: their bytes are not held meanwhile). */
  const suspects: number[] = [];
  const kept = new Map<string, number>();
  let watchdog: NodeJS.Timeout | undefined;
  try {
    const seeds = await loadSeeds(opts.reader, path.join(tmpRoot, 'seeds'));
    stats.seeds = seeds.length;
    // RSS watchdog: the memory of the workers (the process's RSS less this thread's own heap and
    // buffers) growing by more than the limit over its lowest point, plus an allowance for each
    // worker's heap, makes every input in flight a suspect. The lowest point is then taken afresh:
    // memory a terminated worker leaves with the allocator must not make suspects of the inputs after.
    let floor = Infinity;
    watchdog = setInterval(() => {
      const m = process.memoryUsage();
      const workers = m.rss - m.heapTotal - m.external;
      floor = Math.min(floor, workers);
      if (workers > floor + (slots.length * 160 + opts.limits.memoryMb) * MB) {
        for (const s of slots) s.abort?.({ cls: 'suspect', ms: 0 });
        stats.rssEvents++;
        floor = Infinity;
      }
    }, 100);
    watchdog.unref();

    const indices = opts.only !== undefined ? [opts.only] : Array.from({ length: opts.count }, (_, i) => (opts.from ?? 0) + i);
    const caseAt = (index: number): FuzzCase => {
      const caseSeed = mixSeed(opts.seed, opts.reader, index);
      const rng = new Rng(caseSeed);
      return makeCase(pickSeed(rng, seeds), rng, index, caseSeed, { mode: opts.mode, applyFraction: opts.applyFraction, cliEvery: opts.cliEvery });
    };
    let next = 0;
    let lastProgress = 0;
    const count = (o: Outcome, c: FuzzCase) => {
      stats.inputs++;
      if (c.mode === 'structure') stats.structure++; else stats.generic++;
      const m = stats.byMode[c.mode];
      if (o.cls === 'ok') m.ok++; else if (o.cls === 'rejected') m.rejected++; else m.failed++;
      if (o.opened) stats.opened++;
      if (o.opened && c.apply) stats.applyRuns++;
      if (o.applied) stats.applied++;
      if (o.cls === 'ok') stats.ok++;
      else if (o.cls === 'rejected') stats.rejected++;
      else if (o.cls === 'crash') stats.crashes++;
      else if (o.cls === 'hang') stats.hangs++;
      else stats.overMemory++;
      if (opts.progressEvery > 0 && stats.inputs - lastProgress >= opts.progressEvery) {
        lastProgress = stats.inputs;
        const s = (performance.now() - t0) / 1000;
        opts.log(`[${opts.reader}] ${stats.inputs}/${indices.length}  ok ${stats.ok}  rejected ${stats.rejected}  crash ${stats.crashes}  hang ${stats.hangs}  over-memory ${stats.overMemory}  ${(stats.inputs / s).toFixed(1)}/s`);
      }
    };

    const onFailure = async (slot: WorkerSlot, c: FuzzCase, o: Outcome, caseDir: string) => {
      const sig = signature(o, caseDir);
      stats.signatures[sig] = (stats.signatures[sig] ?? 0) + 1;
      const rec: FailureRecord = {
        reader: opts.reader, index: c.index, caseSeed: c.caseSeed, source: c.source, mode: c.mode, cls: o.cls as FailureClass, via: o.via,
        stage: o.stage, name: o.name, message: o.message?.split(caseDir).join('<input>').slice(0, 400), detail: o.detail?.split(caseDir).join('<input>'), signature: sig, ops: c.ops,
      };
      stats.failures.push(rec);
      opts.log(`[${opts.reader}] ${o.cls.toUpperCase()} input ${c.index} (${c.source}; ${c.ops.slice(0, 3).join('; ')}): ${rec.name ?? ''} ${rec.message ?? ''} ${rec.detail ?? ''}`.trim());
      if (!opts.saveDir || (kept.get(sig) ?? 0) >= opts.keepPerSignature) return;
      kept.set(sig, (kept.get(sig) ?? 0) + 1);
      let keptCase = c;
      if (opts.minimize) {
        let trial = 0;
        const budget = o.cls === 'hang' ? Math.max(3, Math.floor(opts.minimizeBudget / 20)) : opts.minimizeBudget;
        const m = await minimize(c, o, async (x) => {
          const paths = writeCase(path.join(tmpRoot, `min-${c.index}-${trial++}`), x);
          try {
            const r = await runOne(slot, o.via === 'cli' ? x : { ...x, cli: false }, paths, o.via === 'cli', opts);
            return r.cls === 'suspect' ? { cls: 'over-memory', via: 'worker', ms: r.ms } : r;
          } finally {
            fs.rmSync(paths.dir, { recursive: true, force: true });
          }
        }, budget, o.cls === 'hang' ? 3 * opts.minimizeMs : opts.minimizeMs);
        keptCase = m.case;
        rec.minimized = { before: m.before, after: m.after, trials: m.trials };
      }
      const dir = path.join(opts.saveDir, opts.reader, `${o.cls}-${slug(`${o.name ?? ''}-${topFrame(o.stack) ?? o.detail ?? ''}`)}-${c.index}`);
      saveReproducer(dir, c, keptCase, o, rec, caseDir, opts.seed);
      rec.saved = dir;
      opts.log(`[${opts.reader}]   kept ${path.relative(REPO, dir)}${rec.minimized ? ` (minimized ${rec.minimized.before} -> ${rec.minimized.after} bytes in ${rec.minimized.trials} trials)` : ''}`);
    };

    const process1 = async (slot: WorkerSlot, c: FuzzCase) => {
      const paths = writeCase(path.join(tmpRoot, `w${slots.indexOf(slot)}-${c.index}`), c);
      try {
        let o = await runOne(slot, c, paths, false, opts, stats);
        if (o.cls === 'hang') {
          // Confirmed on a fresh worker before it counts: a busy machine can stall one run.
          const again = await runOne(slot, c, paths, false, opts);
          if (again.cls !== 'hang') {
            opts.log(`[${opts.reader}] input ${c.index}: no answer within ${opts.limits.hangMs} ms once, then ${again.cls} in ${Math.round(again.ms)} ms: not counted as a hang`);
            o = again;
          }
        }
        if (o.cls === 'suspect') { suspects.push(c.index); return; }
        count(o, c);
        if (o.cls === 'rejected' && o.message) {
          const kind = `${o.via === 'cli' ? 'cli: ' : ''}${rejectionKind(o.message, paths.dir)}`;
          if (stats.rejections[kind] !== undefined || Object.keys(stats.rejections).length < 2000) stats.rejections[kind] = (stats.rejections[kind] ?? 0) + 1;
        }
        if (isFailure(o)) await onFailure(slot, c, o, paths.dir);
      } finally {
        fs.rmSync(paths.dir, { recursive: true, force: true });
      }
    };

    await Promise.all(slots.map(async (slot) => {
      while (next < indices.length) {
        const index = indices[next++];
        try {
          await process1(slot, caseAt(index));
        } catch (e) {
          // A bug in the fuzzer itself (not in the code under test): counted and shown, and the run goes on.
          stats.harnessErrors++;
          if (stats.harnessErrors <= 5) opts.log(`[${opts.reader}] HARNESS ERROR on input ${index} (seed ${opts.seed}): ${e instanceof Error ? e.stack : String(e)}`);
        }
      }
    }));

    // Inputs in flight when the RSS went over: each alone now, against its own baseline.
    if (suspects.length) opts.log(`[${opts.reader}] re-running ${suspects.length} input(s) in flight when the workers' memory went over the limit (${stats.rssEvents} time(s)), one at a time`);
    clearInterval(watchdog);
    const solo = slots[0];
    for (const index of suspects) {
      const c = caseAt(index);
      const paths = writeCase(path.join(tmpRoot, `solo-${c.index}`), c);
      const sample = () => { const m = process.memoryUsage(); return m.rss - m.heapTotal - m.external; };
      let base = sample();
      const dog = setInterval(() => {
        const rss = sample();
        base = Math.min(base, rss);
        if (rss > base + opts.limits.memoryMb * MB) solo.abort?.({ cls: 'over-memory', via: 'worker', detail: `process RSS grew by more than ${opts.limits.memoryMb} MiB while this input ran alone`, ms: 0 });
      }, 50);
      try {
        const o = await runOne(solo, c, paths, false, opts, stats);
        const out: Outcome = o.cls === 'suspect' ? { cls: 'over-memory', via: 'worker', detail: 'RSS limit', ms: 0 } : o;
        count(out, c);
        if (isFailure(out)) await onFailure(solo, c, out, paths.dir);
      } finally {
        clearInterval(dog);
        fs.rmSync(paths.dir, { recursive: true, force: true });
      }
    }
  } finally {
    if (watchdog) clearInterval(watchdog);
    for (const s of slots) s.close();
    cleanup();
    process.off('exit', cleanup);
  }
  stats.wallMs = performance.now() - t0;
  return stats;
}

/** One input: the worker (open, scan, maybe apply), then for CLI inputs the CLI too. `cliOnly`: the minimizer of a CLI failure. */
async function runOne(slot: WorkerSlot, c: FuzzCase, paths: CasePaths, cliOnly: boolean, opts: FuzzOptions, stats?: ReaderStats): Promise<Outcome | Suspect> {
  if (cliOnly) return runCli(paths.target, paths.dir, opts.limits);
  const inject = opts.inject && c.index % opts.inject.every === 0 ? opts.inject.kind : undefined;
  const o = await slot.run({ target: paths.target, caseDir: paths.dir, applyOutput: c.apply ? paths.output : undefined, inject });
  if (o.cls === 'suspect' || isFailure(o) || !c.cli) return o;
  if (stats) stats.cliRuns++;
  const co = await runCli(paths.target, paths.dir, opts.limits);
  return isFailure(co) ? co : o;
}

/** Runs a kept reproducer again: its `in/` folder, as the note says it failed. */
export async function replay(dir: string, limits: HarnessLimits = DEFAULT_LIMITS): Promise<Outcome> {
  const note = JSON.parse(fs.readFileSync(path.join(dir, 'note.json'), 'utf8')) as { target: string; apply?: boolean; via?: string };
  const inDir = path.join(dir, 'in');
  const files: FuzzCase['files'] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      if (fs.statSync(p).isDirectory()) walk(p); else files.push({ rel: path.relative(inDir, p), bytes: fs.readFileSync(p) });
    }
  };
  walk(inDir);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-fuzz-replay-'));
  const slot = new WorkerSlot(limits);
  try {
    const paths = writeCase(tmp, { files, target: note.target });
    if (note.via === 'cli') return await runCli(paths.target, paths.dir, limits);
    const o = await slot.run({ target: paths.target, caseDir: paths.dir, applyOutput: note.apply ? paths.output : undefined });
    return o.cls === 'suspect' ? { cls: 'over-memory', via: 'worker', ms: o.ms } : o;
  } finally {
    slot.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function formatTable(all: readonly ReaderStats[]): string {
  const head = ['reader', 'inputs', 'ok', 'rejected', 'crashes', 'hangs', 'over-memory', 'opened', 'applied', 'cli runs', 'inputs/s', 'wall'];
  const rows = all.map((s) => [
    s.reader, s.inputs, s.ok, s.rejected, s.crashes, s.hangs, s.overMemory, s.opened, `${s.applied}/${s.applyRuns}`, s.cliRuns,
    (s.inputs / Math.max(0.001, s.wallMs / 1000)).toFixed(1), formatWall(s.wallMs),
  ].map(String));
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function formatWall(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${(ms / 1000).toFixed(1)} s`;
}
