// The model editor's webview in headless Chromium (the test harness:
// production HTML and CSP, the built dist/webview.js): first paint and time
// until interactive for a 5,000-operator synthetic transformer (issue 4's
// target: first paint under 2 s), what expanding costs afterwards, a corpus
// model, and dagre against the layered layout on the same drawing. Figures
// only, no assertions on time.
import * as path from 'node:path';
import type { BenchContext } from './context';
import { WebviewHarness, type WebviewPage } from '../test/webview/harness';
import { syntheticTransformer } from '../test/webview/synthetic';
import type { GraphPayload, ViewSettings } from '../extension/protocol';
import { openOnnx } from '../extension/model/onnx/reader';
import { scanModels } from '../extension/sharing/scan';
import { buildGraphPayload } from '../extension/view/payload';
import { packGraphPayload } from '../extension/view/packedPayload';
import { untilPainted, type Painted } from '../test/webview/paint';

const TARGET_FIRST_PAINT_MS = 2000;

interface Opened {
  /** Message received → graph on screen (ms). */
  firstPaint: number;
  /** Message received → main thread free after the first paint (ms). */
  interactive: number;
  /** Node: postMessage sent → interactive (includes structured-clone of the payload). */
  wall: number;
  modelMs: number;
  buildMs: number;
  layoutMs: number;
  drawn: number;
}

async function open(h: WebviewHarness, graph: GraphPayload, settings: ViewSettings): Promise<{ page: WebviewPage; figures: Opened }> {
  const page = await h.open({ theme: 'dark', title: graph.fileName });
  const t0 = performance.now();
  await page.showModel({ type: 'model', graph: packGraphPayload(graph), settings });
  const wall = performance.now() - t0;
  const t = await page.timings();
  const c = await page.counts();
  return {
    page,
    figures: {
      firstPaint: t.firstPaint - t.received, interactive: t.interactive - t.received, wall,
      modelMs: t.modelMs, buildMs: t.buildMs, layoutMs: t.layoutMs, drawn: c.drawingNodes,
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => `${Math.round(x)} ms`;

export default async function webviewBench(ctx: BenchContext): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? 3);
  const h = await WebviewHarness.start();
  try {
    const graph = syntheticTransformer({ operators: 5000 });
    const settings: ViewSettings = { collapseThreshold: 1000, minBytes: 1024 };
    ctx.log(`synthetic graph: ${graph.nodes.length} operators, ${graph.tensors.length} weights, scoped names (/model/encoder/layer.N/...)`);

    const figures: Opened[] = [];
    let last: WebviewPage | undefined;
    for (let i = 0; i < runs; i++) {
      await last?.close();
      const o = await open(h, graph, settings);
      figures.push(o.figures);
      last = o.page;
    }
    const fp = median(figures.map((f) => f.firstPaint));
    const ti = median(figures.map((f) => f.interactive));
    ctx.log(`first paint: median ${ms(fp)} (runs: ${figures.map((f) => Math.round(f.firstPaint)).join(', ')} ms); target < ${TARGET_FIRST_PAINT_MS} ms ${fp < TARGET_FIRST_PAINT_MS ? 'met' : 'MISSED'}`);
    ctx.log(`interactive: median ${ms(ti)}; from postMessage in Node (payload cloning included): ${ms(median(figures.map((f) => f.wall)))}`);
    const f0 = figures[0];
    ctx.log(`  of which: view model ${ms(f0.modelMs)}, elements ${ms(f0.buildMs)}, layout ${ms(f0.layoutMs)}; ${f0.drawn} nodes drawn (collapsed by scope)`);

    // Interaction on the open page: expand one layer, then everything.
    const page = last!;
    const expandOne = await page.page.evaluate(() => {
      const view = (window as unknown as { weightSharingView: { app: { view: { expand(id: string): void; counts(): Record<string, number> } } } }).weightSharingView.app.view;
      const t = performance.now();
      view.expand('s:|/model/encoder/layer.3');
      return { ms: performance.now() - t, drawn: view.counts().drawingNodes, held: view.counts().nodes };
    });
    ctx.log(`expand one layer: ${ms(expandOne.ms)} (layout and redraw, ${expandOne.drawn} nodes)`);
    const expandAll = await page.page.evaluate(untilPainted('expandAll()')) as Painted;
    ctx.log(`expand all: ${ms(expandAll.ms)} to paint ${expandAll.drawn} nodes (every operator and weight; cytoscape holds the ${expandAll.held} near the view)`);
    await page.close();

    // Why not dagre for this drawing: the same collapsed view laid out by dagre.
    const dagre = await open(h, graph, { ...settings, layout: 'dagre' });
    ctx.log(`same drawing with dagre: layout ${ms(dagre.figures.layoutMs)}, first paint ${ms(dagre.figures.firstPaint)} (the layered layout: ${ms(f0.layoutMs)})`);
    await dagre.page.close();

    // The same graph with dynamo-style names (no scopes): collapsed into runs of operators.
    const flat = syntheticTransformer({ operators: 5000, scoped: false });
    const u = await open(h, flat, settings);
    ctx.log(`same graph without name scopes: first paint ${ms(u.figures.firstPaint)}, ${u.figures.drawn} nodes drawn (runs of 100 operators)`);
    await u.page.close();

    // A real model from the corpus, drawn whole.
    const file = path.join(ctx.root, 'test/fixtures/corpus/bert-tiny-mlm-trained.onnx');
    const model = await openOnnx(file);
    const bert = buildGraphPayload(model, await scanModels([model]));
    const b = await open(h, bert, settings);
    ctx.log(`bert-tiny-mlm-trained.onnx (${bert.nodes.length} operators, drawn whole): first paint ${ms(b.figures.firstPaint)}, layout ${ms(b.figures.layoutMs)}`);
    await b.page.close();

    ctx.record('synthetic5000', {
      operators: graph.nodes.length, firstPaintMs: Math.round(fp), interactiveMs: Math.round(ti),
      runs: figures.map((f) => ({ firstPaint: Math.round(f.firstPaint), interactive: Math.round(f.interactive), layout: Math.round(f.layoutMs) })),
      drawn: f0.drawn, expandOneMs: Math.round(expandOne.ms), expandAllMs: Math.round(expandAll.ms), expandAllDrawn: expandAll.drawn,
      dagreLayoutMs: Math.round(dagre.figures.layoutMs), targetMs: TARGET_FIRST_PAINT_MS,
      unscopedFirstPaintMs: Math.round(u.figures.firstPaint),
    });
    ctx.record('bertTiny', { firstPaintMs: Math.round(b.figures.firstPaint), layoutMs: Math.round(b.figures.layoutMs) });
  } finally {
    await h.close();
  }
}

/** Standalone run without bench/run.ts: `npx tsx -e "require('./bench/webview.bench.ts').run()"`. */
export async function run(): Promise<void> {
  const unavailable = (what: string) => () => { throw new Error(`${what} is only available under bench/run.ts`); };
  const results: Record<string, unknown> = {};
  await webviewBench({
    root: path.join(__dirname, '..'), outDir: path.join(__dirname, 'out'), cli: path.join(__dirname, '..', 'dist', 'cli.js'),
    bertModel: unavailable('bertModel'), measure: unavailable('measure'), runOnce: unavailable('runOnce'),
    log: (line) => console.log(`  ${line}`),
    record: (key, value) => { results[key] = value; },
  });
  console.log(JSON.stringify(results, null, 2));
}
