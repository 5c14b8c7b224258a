// Worker thread entry (dist/layersWorker.js): computes one range's sums of a
// family for layerPool.ts and sends them back, buffers transferred.
import { parentPort } from 'node:worker_threads';
import { computeSums, type SumsJob, type SumsResult } from './layerSums';

export type LayersWorkerReply = { ok: true; result: SumsResult } | { ok: false; error: string };

parentPort!.on('message', (job: SumsJob) => {
  let reply: LayersWorkerReply;
  try {
    reply = { ok: true, result: computeSums(job) };
  } catch (err) {
    reply = { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const transfer = reply.ok ? [reply.result.sum, reply.result.dot, reply.result.sketch, reply.result.pairSums].filter((a) => a !== undefined).map((a) => a.buffer as ArrayBuffer) : [];
  parentPort!.postMessage(reply, transfer);
});
