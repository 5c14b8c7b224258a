// The layout worker: lays out one request at a time (layoutWire.ts) off the
// page's thread, telling how far it got at most every PROGRESS_MS. The page
// cancels a job by terminating the worker. Bundled to a string that the page
// starts as a blob worker (scripts/build.mjs, `?worker` imports).
import { buffersOf, layOutEncoded, type LayoutReply, type LayoutRequest } from './layoutWire.js';

const PROGRESS_MS = 100;

const post = (m: LayoutReply) => (self as unknown as Worker).postMessage(m, buffersOf(m));

self.onmessage = (e: MessageEvent<LayoutRequest>) => {
  const r = e.data;
  let last = performance.now();
  try {
    const { x, y } = layOutEncoded(r, (placed, total) => {
      const now = performance.now();
      if (now - last < PROGRESS_MS) return;
      last = now;
      post({ job: r.job, kind: 'progress', placed, total });
    });
    post({ job: r.job, kind: 'done', x, y });
  } catch (err) {
    post({ job: r.job, kind: 'failed', message: err instanceof Error ? err.message : String(err) });
  }
};
