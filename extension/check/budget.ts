// Runs `check`'s model runs under a time and a memory budget. A model can
// ask for anything (an Expand to [20000, 20000], a Loop of 10^12 trips): the
// run happens in a worker thread (runWorker.ts) while this thread watches
// the clock and the process's resident memory (onnxruntime's WASM memory
// counts there), and stops the worker when either budget is spent, saying
// which one and what to change.
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/startWorker';
import type { OpsetImport } from '../model/types';
import type { PathTrust } from '../io/safePath';
import type { TensorValue } from './tensorProto';
import { InferenceError } from './runner';

export interface RunBudget {
  /** Wall seconds one model's session and run may take (default 120). */
  timeoutSeconds?: number;
  /** Resident bytes the process may reach while a model runs (default 4 GB). */
  maxMemoryBytes?: number;
}

export const DEFAULT_TIMEOUT_SECONDS = 120;
export const DEFAULT_MAX_MEMORY = 4e9;

export interface RunRequest extends PathTrust {
  id: number;
  path: string;
  externalData: string[];
  opsets: { opsets: OpsetImport[] };
  feeds: TensorValue[];
}

export type RunReply =
  | { id: number; ok: true; outputs: TensorValue[]; createMs: number; runMs: number; externalData: string[]; importMs: number; firstSessionMs?: number }
  | { id: number; ok: false; name: string; message: string; model?: string; stage?: string; reason?: string; hint?: string };

export type RunResultOk = Extract<RunReply, { ok: true }>;

/** A run stopped because it went over a budget. */
export class BudgetError extends Error {
  constructor(readonly model: string, readonly budget: 'time' | 'memory', message: string) {
    super(`${model}: ${message}`);
    this.name = 'BudgetError';
  }
}

function startCheckWorker(): Worker {
  return startWorker(__filename, 'checkWorker.js', path.join(__dirname, 'runWorker.ts'));
}

let worker: Worker | undefined;
let nextId = 1;

function current(): Worker {
  if (!worker) {
    worker = startCheckWorker();
    // An idle worker must not keep the process alive.
    worker.unref();
    worker.on('exit', () => { worker = undefined; });
  }
  return worker;
}

const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;

/** Runs one model on `feeds` in the worker, within `budget`. */
export function runWithinBudget(req: Omit<RunRequest, 'id'>, budget: RunBudget = {}): Promise<RunResultOk> {
  const timeout = (budget.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  const maxMemory = budget.maxMemoryBytes ?? DEFAULT_MAX_MEMORY;
  const w = current();
  const id = nextId++;
  return new Promise<RunResultOk>((resolve, reject) => {
    const began = Date.now();
    const stop = (err: Error) => {
      cleanup();
      // The run cannot be interrupted inside the worker: end the worker; the next run starts a fresh one.
      worker = undefined;
      void w.terminate();
      reject(err);
    };
    const watch = setInterval(() => {
      const rss = process.memoryUsage().rss;
      if (rss > maxMemory) {
        stop(new BudgetError(req.path, 'memory', `stopped: the run took the process over ${gb(maxMemory)} of memory (${gb(rss)}); raise the budget with --max-memory BYTES if the model really needs it, or give smaller inputs (--batch, --sequence)`));
      } else if (Date.now() - began > timeout) {
        stop(new BudgetError(req.path, 'time', `stopped: the run took over ${timeout / 1000} s; raise the budget with --timeout SECONDS if the model really needs it, or give smaller inputs (--batch, --sequence)`));
      }
    }, 50);
    const onMessage = (reply: RunReply) => {
      if (reply.id !== id) return;
      cleanup();
      if (reply.ok) resolve(reply);
      else if (reply.name === 'InferenceError' && reply.model && reply.reason) reject(new InferenceError(reply.model, reply.stage === 'run' ? 'run' : 'load', reply.reason, reply.hint));
      else reject(Object.assign(new Error(reply.message), { name: reply.name }));
    };
    const onExit = (code: number) => { cleanup(); reject(new Error(`${req.path}: the inference worker stopped (exit ${code})`)); };
    const cleanup = () => {
      clearInterval(watch);
      w.off('message', onMessage);
      w.off('exit', onExit);
      w.unref();
    };
    w.ref();
    w.on('message', onMessage);
    w.on('exit', onExit);
    w.postMessage({ ...req, id } satisfies RunRequest);
  });
}
