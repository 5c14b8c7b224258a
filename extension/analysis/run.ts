// Runs one analysis (open, scan, build the view payload) in a worker thread
// and resolves with its result. Aborting terminates the thread at once,
// wherever the parse or scan is: nothing keeps reading the file.
import { Worker } from 'node:worker_threads';
import type { ScanProgress } from '../sharing/types';
import type { AnalysisRequest, AnalysisResult, WorkerMessage } from './protocol';

export interface RunAnalysisOptions {
  signal?: AbortSignal;
  onProgress?: (p: ScanProgress) => void;
}

/** An error from the worker, rebuilt with its name (ModelFormatError, AbortError) and message. */
export class AnalysisError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** `workerFile`: the bundled worker (dist/analysisWorker.js). */
export function runAnalysis(workerFile: string, request: AnalysisRequest, options: RunAnalysisOptions = {}): Promise<AnalysisResult> {
  return new Promise<AnalysisResult>((resolve, reject) => {
    if (options.signal?.aborted) { reject(new AnalysisError('AbortError', 'cancelled')); return; }
    const worker = new Worker(workerFile, { workerData: request });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = () => finish(() => reject(new AnalysisError('AbortError', 'cancelled')));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') { if (!settled) options.onProgress?.(m.progress); }
      else if (m.type === 'done') finish(() => resolve(m.result));
      else finish(() => reject(new AnalysisError(m.name, m.message)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new AnalysisError('Error', `${request.path}: the analysis stopped unexpectedly (worker exit ${code})`))));
  });
}
