// A worker thread from the bundle (dist/NAME.js beside the running bundle)
// or, running from sources under tsx (the tests), the source with tsx's
// CommonJS hook registered inside the worker: `--import tsx` in execArgv does
// not reach a worker's entry file on Node 20.
import * as path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `bundled`: file name in dist/; `source`: the entry's .ts path, for runs from sources (the caller's __dirname tells which). */
export function startWorker(callerFile: string, bundled: string, source: string, options: WorkerOptions = {}): Worker {
  if (!callerFile.endsWith('.ts')) return new Worker(path.join(path.dirname(callerFile), bundled), options);
  const boot = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(source)});`;
  return new Worker(boot, { ...options, eval: true });
}
