// The worker thread that opens and scans a model for the extension host, so
// the host's event loop never waits on a parse or a comparison. It answers
// one request (workerData) with progress messages and one result; the host
// cancels by terminating the thread, which stops a parse mid-way.
import { parentPort, workerData } from 'node:worker_threads';
import { openModel } from '../model/registry';
import { scanModels } from '../sharing/scan';
import { buildGraphPayload } from '../view/payload';
import type { AnalysisRequest, WorkerMessage } from './protocol';

const port = parentPort;
if (!port) throw new Error('analysis worker: not started as a worker thread');
const send = (m: WorkerMessage) => port.postMessage(m);

async function run(request: AnalysisRequest): Promise<void> {
  const began = Date.now();
  send({ type: 'progress', progress: { phase: 'open', fraction: 0, message: 'Reading the model…' } });
  const model = await openModel(request.path);
  send({ type: 'progress', progress: { phase: 'compare', fraction: 0, message: `Comparing ${model.tensors.length} weight tensors…` } });
  const report = await scanModels([model], { minBytes: request.minBytes, onProgress: (progress) => send({ type: 'progress', progress }) });
  const payload = buildGraphPayload(model, report);
  // One message: structured cloning keeps the report's members pointing at the model's tensors.
  send({ type: 'done', result: { model, report, payload, millis: Date.now() - began } });
}

run(workerData as AnalysisRequest).catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  send({ type: 'error', name: e.name, message: e.message });
});
