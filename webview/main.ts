// Entry point of the model editor's webview (bundled to dist/webview.js).
import { unpackGraphPayload, type HostToWebview, type ViewMessage } from '../extension/protocol.js';
import { App } from './app.js';
import { Host } from './host.js';
import { registerToolkit } from './toolkit.js';
import { mountInference } from './inference/index.js';
import { TAB_ID as INFERENCE_TAB } from './inference/panel.js';
import { mountLayers } from './layers/index.js';

/** Read-only hooks for the webview tests and the benchmark. */
export interface ViewProbe {
  app: App;
  counts(): Record<string, number>;
  /** Page coordinates of the centre of a drawn node or edge, or null. */
  pagePosition(id: string): { x: number; y: number } | null;
  /** Pans a drawn node to the middle of the view (cytoscape holds it then); false when it is not drawn. */
  centre(id: string): boolean;
  /** Id drawn for an item (itself or its collapsed scope). */
  drawnFor(itemId: string): string | null;
  weightItemOf(tensorId: string): string | null;
}

declare global {
  interface Window {
    weightSharingView?: ViewProbe;
  }
}

const root = document.getElementById('app') ?? document.body;
const host = new Host();

function fail(message: string): void {
  host.log('error', message);
  app.showError(`The view failed: ${message}`);
}

registerToolkit();
const app = new App(root, host);
const inference = mountInference(host);
const layers = mountLayers(host, {
  selectTensors: (ids) => app.selectTensors(ids),
  measure: (variant, onStatus) => inference.measureAgainst(variant, onStatus),
  showInference: () => app.panel?.tabs.activate(INFERENCE_TAB),
});
app.onGroupSelected = () => layers.clearSelection();
window.addEventListener('error', (e) => fail(e.message));
window.addEventListener('unhandledrejection', (e) => fail(e.reason instanceof Error ? e.reason.message : String(e.reason)));
window.addEventListener('message', (e: MessageEvent<HostToWebview>) => {
  const data = e.data;
  if (!data || typeof data !== 'object' || typeof data.type !== 'string') return;
  try {
    const began = performance.now();
    const msg: ViewMessage = data.type === 'model' ? { ...data, graph: unpackGraphPayload(data.graph) } : data;
    if (msg.type === 'model') app.timings.unpackMs = performance.now() - began;
    if (inference.handle(msg) || layers.handle(msg)) return;
    app.handle(msg);
    if (msg.type === 'model') {
      // Only graphs run: a checkpoint's module tree has no inference tab.
      if (msg.graph.view === 'graph') inference.attach(app.panel?.tabs);
      layers.attach(app.panel?.tabs);
    }
  } catch (err) {
    fail(err instanceof Error ? `${err.message}` : String(err));
  }
});

window.weightSharingView = {
  app,
  counts: () => {
    const view = app.view;
    if (!view) return {};
    return { ...view.counts(), ...prefixed(view.model.stats) };
  },
  pagePosition: (id) => {
    const view = app.view;
    if (!view) return null;
    const el = view.cy.getElementById(id);
    if (el.empty()) return null;
    const box = view.cy.container()!.getBoundingClientRect();
    const bb = el.renderedBoundingBox();
    return { x: box.left + (bb.x1 + bb.x2) / 2, y: box.top + (bb.y1 + bb.y2) / 2 };
  },
  centre: (id) => app.view?.centreOn(id) ?? false,
  drawnFor: (itemId) => app.view?.drawnFor(itemId) ?? null,
  weightItemOf: (tensorId) => app.view?.model.weightOfTensor.get(tensorId) ?? null,
};

function prefixed(stats: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats)) out[`model.${k}`] = Number(v);
  return out;
}

host.post({ type: 'ready' });
