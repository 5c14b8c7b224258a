// Runs one job of the analysis worker (open and scan a model, the layers
// analysis, a tied variant) in a worker thread and resolves with its result.
// Aborting a read-only job terminates the thread at once, wherever the parse
// or scan is: nothing keeps reading the file. A job that writes is asked to
// stop instead, so its temp files are removed before the thread ends.
import { Worker } from 'node:worker_threads';
import type { LayersPayload } from '../protocol';
import type { ScanProgress } from '../sharing/types';
import type { AnalysisRequest, AnalysisResult, HostToWorker, JobProgress, LayersRequest, TieJobResult, TieRequest, WorkerJob, WorkerMessage } from './protocol';

export interface RunJobOptions<P extends JobProgress = JobProgress> {
  signal?: AbortSignal;
  onProgress?: (p: P) => void;
}

export type RunAnalysisOptions = RunJobOptions<ScanProgress>;

/** An error from the worker, rebuilt with its name (ModelFormatError, AbortError) and message. */
export class AnalysisError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** How long a writing job may take to clean up after an abort before its thread is ended anyway. */
const CLEANUP_MS = 10_000;

function runJob<R, P extends JobProgress>(workerFile: string, job: WorkerJob, options: RunJobOptions<P>, writes: boolean): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    if (options.signal?.aborted) { reject(new AnalysisError('AbortError', 'cancelled')); return; }
    const worker = new Worker(workerFile, { workerData: job });
    let settled = false;
    let cleanup: ReturnType<typeof setTimeout> | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (cleanup) clearTimeout(cleanup);
      void worker.terminate();
      fn();
    };
    const cancelled = () => reject(new AnalysisError('AbortError', 'cancelled'));
    const onAbort = () => {
      if (!writes) { finish(cancelled); return; }
      worker.postMessage({ type: 'abort' } satisfies HostToWorker);
      cleanup = setTimeout(() => finish(cancelled), CLEANUP_MS);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: WorkerMessage<R, P>) => {
      if (m.type === 'progress') { if (!settled) options.onProgress?.(m.progress); }
      else if (m.type === 'done') finish(() => resolve(m.result));
      else finish(() => reject(new AnalysisError(m.name, m.message)));
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) => finish(() => reject(new AnalysisError('Error', `${job.path}: the analysis stopped unexpectedly (worker exit ${code})`))));
  });
}

/** Opens and scans a model. `workerFile`: the bundled worker (dist/analysisWorker.js). */
export function runAnalysis(workerFile: string, request: AnalysisRequest, options: RunAnalysisOptions = {}): Promise<AnalysisResult> {
  return runJob<AnalysisResult, ScanProgress>(workerFile, { job: 'scan', ...request }, options, false);
}

/** How alike the layers of a model are, per family (the Layers tab). */
export function runLayers(workerFile: string, request: LayersRequest, options: RunJobOptions = {}): Promise<LayersPayload> {
  return runJob<LayersPayload, JobProgress>(workerFile, { job: 'layers', ...request }, options, false);
}

/** Writes a tied variant (Try tying); an abort removes the partial output. */
export function runTie(workerFile: string, request: TieRequest, options: RunJobOptions = {}): Promise<TieJobResult> {
  return runJob<TieJobResult, JobProgress>(workerFile, { job: 'tie', ...request }, options, true);
}
