// The worker thread that opens and scans a model for the extension host, so
// the host's event loop never waits on a parse or a comparison. It answers
// one job (workerData) with progress messages and one result: a scan, the
// layers analysis (the Layers tab) or a tied variant (Try tying). The host
// cancels a scan or an analysis by terminating the thread, which stops a
// parse mid-way; a write is asked to stop ('abort') so it removes its temp
// files first.
import * as path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { openModel } from '../model/registry';
import type { ModelFile, TensorRef } from '../model/types';
import { totalSaving } from '../sharing/groups';
import { analyzeLayers } from '../sharing/layers';
import { sourceNamesOf } from '../sharing/layerSources';
import { scanModels } from '../sharing/scan';
import { tieLayers } from '../sharing/tie';
import type { ScanProgress, ScanReport } from '../sharing/types';
import { buildLayersPayload } from '../view/layersPayload';
import { packGraphPayload, transferablesOf } from '../view/packedPayload';
import { buildGraphPayload } from '../view/payload';
import { defaultCompanions } from './companions';
import type { AnalysisRequest, HostToWorker, JobProgress, LayersRequest, TieJobResult, TieRequest, WorkerJob, WorkerMessage } from './protocol';

const port = parentPort;
if (!port) throw new Error('analysis worker: not started as a worker thread');
const send = (m: WorkerMessage<unknown, JobProgress | ScanProgress>, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
const controller = new AbortController();
port.on('message', (m: HostToWorker) => { if (m?.type === 'abort') controller.abort(); });

async function scan(request: AnalysisRequest): Promise<void> {
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
  const payload = packGraphPayload(buildGraphPayload(model, report));
  // One message: structured cloning keeps the report's members pointing at the model's tensors. The payload's columns move without a copy.
  send({ type: 'done', result: { model, report, payload, millis: Date.now() - began } }, transferablesOf(payload));
}

/** The report as the model's views need it: its own groups and links; a companion checkpoint's own copies are not this model's findings. */
function focusOn(report: ScanReport, path: string): ScanReport {
  const groups = report.groups.filter((g) => g.members.some((m) => m.path === path));
  return { ...report, groups, bytesSaved: totalSaving(groups), provenance: report.provenance.filter((l) => l.path === path) };
}

async function layers(request: LayersRequest): Promise<void> {
  const began = Date.now();
  send({ type: 'progress', progress: { fraction: 0, message: 'Reading the model…' } });
  const model = await openModel(request.path, { trustedRoots: request.trustedRoots });
  const sourceNames = await checkpointNames(model, request);
  const { families } = await analyzeLayers(model, {
    signal: controller.signal,
    sourceNames,
    onFamily: (f, i, count, fraction) => send({ type: 'progress', progress: { fraction, message: `Comparing ${f.role} across ${f.members.length} layers (family ${i + 1} of ${count})…` } }),
  });
  send({ type: 'done', result: buildLayersPayload(families, Date.now() - began) });
}

/**
 * Names for an export's anonymous tensors from its checkpoint (the one the
 * editor scans it with). A checkpoint that does not open only
 * costs the names: the editor reports its problem where it scans it.
 */
async function checkpointNames(model: ModelFile, request: LayersRequest): Promise<Map<TensorRef, string> | undefined> {
  const companion = checkpointOf(request);
  if (!companion || !model.graph) return undefined;
  send({ type: 'progress', progress: { fraction: 0, message: `Naming tensors after ${path.basename(companion)}…` } });
  try {
    return await sourceNamesOf(model, await openModel(companion, { trustedRoots: request.trustedRoots }), controller.signal);
  } catch (err) {
    if (controller.signal.aborted) throw err;
    return undefined;
  }
}

function checkpointOf(request: LayersRequest | TieRequest): string | undefined {
  return request.checkpoint === null ? undefined : request.checkpoint ?? defaultCompanions(request.path)[0];
}

async function tie(request: TieRequest): Promise<void> {
  const r = await tieLayers(request.path, {
    layers: request.layers,
    to: request.to,
    roles: request.role === undefined ? undefined : new RegExp(`^${request.role.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`),
    output: request.output,
    force: request.force,
    // The same families the tab listed, named after the same checkpoint.
    checkpoint: checkpointOf(request),
    trustedRoots: request.trustedRoots,
    signal: controller.signal,
  });
  const result: TieJobResult = {
    output: r.output,
    bytesBefore: r.bytesBefore,
    bytesAfter: r.bytesAfter,
    families: r.families.length,
    tensorsDropped: r.families.reduce((n, f) => n + f.dropped.length, 0),
    skipped: r.skipped.map((s) => `${s.role}: ${s.reason}`),
  };
  send({ type: 'done', result });
}

function run(job: WorkerJob): Promise<void> {
  switch (job.job) {
    case 'scan': return scan(job);
    case 'layers': return layers(job);
    case 'tie': return tie(job);
  }
}

run(workerData as WorkerJob).catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  send({ type: 'error', name: e.name, message: e.message });
});
