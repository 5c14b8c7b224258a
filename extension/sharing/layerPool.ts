// Splits a family's sums across worker threads by element range and adds the
// parts up (every sum in layerSums.ts is additive over disjoint ranges).
// Small jobs run on the calling thread: a worker costs a start-up.
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../util/startWorker';
import { cancelled } from '../util/cancelled';
import { computeSums, type SumsJob, type SumsRequest, type SumsResult } from './layerSums';
import type { FilterJob, FilterJobFinding } from './filters';
import type { LayersWorkerJob, LayersWorkerReply } from './layersWorker';

/** Elements per member below which a range is not worth a thread. */
export const MIN_ELEMENTS_PER_THREAD = 1 << 20;

export class SumsPool {
  private readonly workers: Worker[] = [];
  private closed = false;

  /** `threads`: the most threads one job uses (default: the machine's parallelism, at most 8). */
  constructor(
    private readonly threads = Math.min(8, os.availableParallelism()),
    private readonly signal?: AbortSignal,
    private readonly minPerThread = MIN_ELEMENTS_PER_THREAD,
  ) {
    signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  async run(job: SumsRequest, total: number): Promise<SumsResult> {
    const parts = Math.max(1, Math.min(this.threads, Math.floor(total / this.minPerThread)));
    if (parts === 1) return computeSums({ ...job, from: 0, to: total }, () => this.signal?.aborted === true);
    const bufferBytes = Math.floor(job.bufferBytes / parts);
    const results = await Promise.all(Array.from({ length: parts }, (_, p) => {
      const from = Math.floor((total * p) / parts), to = Math.floor((total * (p + 1)) / parts);
      return this.onWorker(p, { ...job, bufferBytes, from, to });
    }));
    const [first, ...rest] = results;
    for (const r of rest) {
      add(first!.sum, r.sum);
      add(first!.dot, r.dot);
      if (first!.sketch && r.sketch) add(first!.sketch, r.sketch);
      if (first!.pairSums && r.pairSums) add(first!.pairSums, r.pairSums);
    }
    return first!;
  }

  /** The filters job on the pool's first worker. */
  filters(job: FilterJob): Promise<FilterJobFinding[]> {
    return this.onWorker(0, job) as Promise<FilterJobFinding[]>;
  }

  private onWorker(index: number, job: SumsJob): Promise<SumsResult>;
  private onWorker(index: number, job: LayersWorkerJob): Promise<SumsResult | FilterJobFinding[]>;
  private onWorker(index: number, job: LayersWorkerJob): Promise<SumsResult | FilterJobFinding[]> {
    if (this.closed) return Promise.reject(cancelled());
    const worker = (this.workers[index] ??= startWorker(__filename, 'layersWorker.js', path.join(__dirname, 'layersWorker.ts')));
    return new Promise<SumsResult | FilterJobFinding[]>((resolve, reject) => {
      const done = () => { worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit); };
      const onMessage = (reply: LayersWorkerReply) => { done(); if (reply.ok) resolve(reply.result); else reject(new Error(reply.error)); };
      const onError = (err: Error) => { done(); reject(err); };
      const onExit = () => { done(); reject(this.closed ? cancelled() : new Error('a layers worker stopped')); };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(job);
    });
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

function add(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
}
