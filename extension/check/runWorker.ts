// The worker thread `check` runs models in (budget.ts), so that a run over
// its time or memory budget can be stopped: onnxruntime-web's WASM runs
// synchronously and nothing on its own thread could interrupt it. One worker
// serves a process's runs in turn (the runtime compiles once); the parent
// terminates it when a run goes over budget and starts a fresh one.
import { parentPort } from 'node:worker_threads';
import { createSession, firstSessionCreateMs, loadRuntime, runSession } from './runner';
import type { RunRequest, RunReply } from './budget';

const port = parentPort;
if (!port) throw new Error('check worker: not started as a worker thread');

port.on('message', (req: RunRequest) => {
  void (async (): Promise<RunReply> => {
    try {
      const { importMs } = await loadRuntime();
      const loaded = await createSession(req.path, { externalData: req.externalData, opsets: req.opsets, trustedRoots: req.trustedRoots });
      try {
        const { outputs, runMs } = await runSession(loaded, req.feeds);
        return { id: req.id, ok: true, outputs, createMs: loaded.createMs, runMs, externalData: loaded.externalData, importMs, firstSessionMs: firstSessionCreateMs() };
      } finally {
        await loaded.release();
      }
    } catch (err) {
      const e = err as Error & { model?: string; stage?: string; reason?: string; hint?: string };
      return { id: req.id, ok: false, name: e.name, message: e.message, model: e.model, stage: e.stage, reason: e.reason, hint: e.hint };
    }
  })().then((reply) => port.postMessage(reply));
});
