// The fuzzer's worker thread: runs one input at a time through the real code
// (openModel, then scanModels with minBytes 0, then for some inputs
// applySharing to a temporary output) and says how it ended. Started by
// harness.ts, which enforces the time limit and the heap limit from outside.
//
// Buffer allocations over the memory limit are refused here (and reported as
// over-memory) rather than made: a corrupt length must never reach them.
import { parentPort, workerData } from 'node:worker_threads';
import { openModel } from '../../extension/model/registry';
import { scanModels } from '../../extension/sharing/scan';
import { applySharing } from '../../extension/sharing/apply';
import { ModelFormatError, storedRanges, type ModelFile } from '../../extension/model/types';

export interface WorkerRequest {
  id: number;
  /** Absolute path to open. */
  target: string;
  /** Every path a message may name lies under this folder. */
  caseDir: string;
  /** Output for applySharing, when it runs. */
  applyOutput?: string;
  /** Test hook: a fault to raise after a successful open (proves the harness sees each kind). */
  inject?: 'type-error' | 'hang' | 'alloc' | 'heap' | 'rss' | 'exit' | 'reject-unnamed' | 'unhandled';
}

export type Stage = 'open' | 'scan' | 'apply' | 'check';

export interface WorkerReply {
  id: number;
  outcome: 'ok' | 'rejected' | 'crash';
  stage: Stage;
  /** Error name and message (crash and rejected). */
  name?: string;
  message?: string;
  stack?: string;
  /** Set when a Buffer allocation over the limit was asked for (whatever the code then did with the refusal). */
  bigAlloc?: { bytes: number; stack: string };
  /** The input opened (it reached the scan). */
  opened: boolean;
  /** applySharing wrote an output. */
  applied: boolean;
  arrayBuffers: number;
  heapUsed: number;
  ms: number;
}

const LIMIT_BYTES: number = (workerData as { memoryMb: number }).memoryMb * 1024 * 1024;

/** Refuses Buffer allocations over the limit, remembering the first one asked for. */
class AllocationLimit extends RangeError {
  constructor(bytes: number) {
    super(`fuzz harness: refused a ${bytes}-byte Buffer allocation (over the ${LIMIT_BYTES}-byte limit)`);
    this.name = 'AllocationLimit';
  }
}
let bigAlloc: WorkerReply['bigAlloc'];
for (const key of ['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const) {
  const original = Buffer[key] as (size: number, ...rest: unknown[]) => Buffer;
  (Buffer as unknown as Record<string, unknown>)[key] = function patched(this: unknown, size: number, ...rest: unknown[]): Buffer {
    if (typeof size === 'number' && size > LIMIT_BYTES) {
      bigAlloc ??= { bytes: size, stack: new Error().stack ?? '' };
      throw new AllocationLimit(size);
    }
    return original.call(this, size, ...rest);
  };
}

const REJECTIONS = new Set(['ModelFormatError', 'ApplyError', 'AtomicWriteError']);

/** Contract checks on what a reader returned for an input it accepted. */
function checkModel(m: ModelFile): string | undefined {
  if (!Array.isArray(m.tensors) || !Array.isArray(m.files) || m.files.length === 0) return 'model has no tensor list or no files';
  for (const t of m.tensors) {
    const where = `tensor ${JSON.stringify(t.id)}`;
    if (!Number.isSafeInteger(t.byteLength) || t.byteLength < 0) return `${where}: byteLength ${t.byteLength} is not a non-negative integer`;
    if (!Number.isSafeInteger(t.elementCount) || t.elementCount < 0) return `${where}: elementCount ${t.elementCount} is not a non-negative integer`;
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) return `${where}: shape ${JSON.stringify(t.shape)} is not a list of non-negative integers`;
    const ranges = storedRanges(t.data);
    if (ranges) {
      let total = 0;
      for (const r of ranges) {
        if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0) return `${where}: byte range ${r.offset}+${r.length} is not two non-negative integers`;
        total += r.length;
      }
      if (total !== t.byteLength) return `${where}: byte ranges hold ${total} bytes, byteLength says ${t.byteLength}`;
    }
  }
  return undefined;
}

class InvariantError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Invariant';
  }
}

async function run(req: WorkerRequest): Promise<WorkerReply> {
  const t0 = performance.now();
  bigAlloc = undefined;
  let stage: Stage = 'open';
  let opened = false;
  let applied = false;
  const reply = (outcome: WorkerReply['outcome'], e?: unknown): WorkerReply => {
    const mem = process.memoryUsage();
    const r: WorkerReply = { id: req.id, outcome, stage, opened, applied, arrayBuffers: mem.arrayBuffers, heapUsed: mem.heapUsed, ms: performance.now() - t0 };
    if (bigAlloc) r.bigAlloc = bigAlloc;
    if (e !== undefined) {
      r.name = e instanceof Error ? e.name : typeof e;
      r.message = e instanceof Error ? e.message : String(e);
      if (e instanceof Error) r.stack = e.stack;
    }
    return r;
  };
  try {
    const model = await openModel(req.target);
    opened = true;
    stage = 'check';
    const problem = checkModel(model);
    if (problem) throw new InvariantError(problem);
    stage = 'scan';
    if (req.inject) await inject(req.inject, req.target);
    const report = await scanModels([model], { minBytes: 0 });
    if (!Number.isFinite(report.bytesSaved) || report.bytesSaved < 0) throw new InvariantError(`scan: bytesSaved is ${report.bytesSaved}`);
    if (req.applyOutput) {
      stage = 'apply';
      const r = await applySharing(req.target, { output: req.applyOutput, minBytes: 0 });
      applied = r.output !== undefined;
    }
    return reply('ok');
  } catch (e) {
    // Bad input is one of the project's error classes with a message that names the file.
    const name = e instanceof Error ? e.name : '';
    const message = e instanceof Error ? e.message : '';
    const rejected = REJECTIONS.has(name) && message.includes(req.caseDir) && !bigAlloc;
    return reply(rejected ? 'rejected' : 'crash', e);
  }
}

async function inject(kind: NonNullable<WorkerRequest['inject']>, target: string): Promise<void> {
  switch (kind) {
    case 'type-error': throw new TypeError("Cannot read properties of undefined (reading 'dims')");
    case 'hang': for (;;) { /* a reader stuck in a loop */ }
    case 'alloc': Buffer.alloc(2 ** 31); return;
    case 'heap': { const keep: number[][] = []; for (;;) keep.push(new Array<number>(1 << 16).fill(1)); }
    case 'rss': {
      // Memory the heap limit does not see: 400 MiB of touched Buffers, each under the allocation limit, held a while.
      const keep: Buffer[] = [];
      for (let i = 0; i < 8; i++) keep.push(Buffer.alloc(50 << 20, 1));
      await new Promise((r) => setTimeout(r, 1500));
      keep.length = 0;
      return;
    }
    case 'exit': process.exit(7);
    case 'reject-unnamed': throw new ModelFormatError('somewhere-else.onnx', 'onnx', 'bad');
    case 'unhandled': void Promise.reject(new Error(`unhandled rejection while reading ${target}`)); await new Promise((r) => setTimeout(r, 50)); return;
  }
}

parentPort!.on('message', (req: WorkerRequest) => {
  void run(req).then((r) => parentPort!.postMessage(r));
});
parentPort!.postMessage({ ready: true });
