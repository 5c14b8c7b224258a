// The worker thread that opens and scans a model for the extension host, so
// the host's event loop never waits on a parse or a comparison. It answers
// one request (workerData) with progress messages and one result; the host
// cancels by terminating the thread, which stops a parse mid-way.
import { parentPort, workerData } from 'node:worker_threads';
import { openModel } from '../model/registry';
import { totalSaving } from '../sharing/groups';
import { scanModels } from '../sharing/scan';
import type { ScanReport } from '../sharing/types';
import { buildGraphPayload } from '../view/payload';
import type { AnalysisRequest, WorkerMessage } from './protocol';

const port = parentPort;
if (!port) throw new Error('analysis worker: not started as a worker thread');
const send = (m: WorkerMessage) => port.postMessage(m);

async function run(request: AnalysisRequest): Promise<void> {
  const began = Date.now();
  send({ type: 'progress', progress: { phase: 'open', fraction: 0, message: 'Reading the model…' } });
  const trust = { trustedRoots: request.trustedRoots };
  const model = await openModel(request.path, trust);
  const companions = [];
  for (const c of request.companions ?? []) {
    // A checkpoint that cannot be read only costs the names it would give.
    try { companions.push(await openModel(c, trust)); } catch (e) { model.warnings.push(`checkpoint ${c} not compared: ${(e as Error).message}`); }
  }
  send({ type: 'progress', progress: { phase: 'compare', fraction: 0, message: `Comparing ${model.tensors.length} weight tensors…` } });
  const scanned = await scanModels([model, ...companions], { minBytes: request.minBytes, ...trust, onProgress: (progress) => send({ type: 'progress', progress }) });
  const report = companions.length ? focusOn(scanned, model.path) : scanned;
  const payload = buildGraphPayload(model, report);
  // One message: structured cloning keeps the report's members pointing at the model's tensors.
  send({ type: 'done', result: { model, report, payload, millis: Date.now() - began } });
}

/** The report as the model's views need it: its own groups and links; a companion checkpoint's own copies are not this model's findings. */
function focusOn(report: ScanReport, path: string): ScanReport {
  const groups = report.groups.filter((g) => g.members.some((m) => m.path === path));
  return { ...report, groups, bytesSaved: totalSaving(groups), provenance: report.provenance.filter((l) => l.path === path) };
}

run(workerData as AnalysisRequest).catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  send({ type: 'error', name: e.name, message: e.message });
});
