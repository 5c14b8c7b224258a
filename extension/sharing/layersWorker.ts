// Worker thread entry (dist/layersWorker.js): computes one range's sums of a
// family for layerPool.ts and sends them back, buffers transferred; or the
// near-identical filters of a model's tensors (filters.ts).
import { parentPort } from 'node:worker_threads';
import { runFilterJob, type FilterJob, type FilterJobFinding } from './filters';
import { computeSums, type SumsJob, type SumsResult } from './layerSums';

export type LayersWorkerJob = SumsJob | FilterJob;
export type LayersWorkerReply = { ok: true; result: SumsResult | FilterJobFinding[] } | { ok: false; error: string };

parentPort!.on('message', (job: LayersWorkerJob) => {
  let reply: LayersWorkerReply;
  let transfer: ArrayBuffer[] = [];
  try {
    if (job.kind === 'filters') reply = { ok: true, result: runFilterJob(job) };
    else {
      const r = computeSums(job);
      reply = { ok: true, result: r };
      transfer = [r.sum, r.dot, r.sketch, r.pairSums].filter((a) => a !== undefined).map((a) => a.buffer as ArrayBuffer);
    }
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply, transfer);
});
