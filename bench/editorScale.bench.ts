// Opening a big export in a real VS Code (issue 11): code-server and
// Chromium through the e2e harness. It opens a corpus model, then a
// generated 50,000-operator export with dynamo-style flat names whose module
// paths are only in each node's `pkg.torch.onnx.name_scopes`. Printed: the
// time from Quick Open to the graph being interactive for each, the nodes
// drawn collapsed, and the time to expand all. The targets: open
// within 2x the corpus model, a few hundred nodes collapsed, and expand all
// within 3x that open time. Figures only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { BenchContext } from './context';
import { openFile, skipReason, startSession, webviewFrame } from '../test/e2e/harness';
import { DT, floatRaw, graph, scopedNode, tensorProto, valueInfo, writeModel, type Msg } from '../test/unit/model/onnx/onnxBuilder';

const CORPUS_MODEL = 'bert-tiny-mlm-trained.onnx';
const LAYERS = 1000;
const OPS_PER_LAYER = 50;

/** A chain of LAYERS x OPS_PER_LAYER operators named node_OP_K; layer 0's and the last layer's weights are byte-identical. */
function writeDynamoStyle(dir: string): string {
  const nodes: Msg[] = [];
  const inits: Msg[] = [];
  let prev = 'x';
  let k = 0;
  for (let l = 0; l < LAYERS; l++) {
    const module = `encoder.layer.${l}`;
    const w = `${module}.weight`;
    const seed = l === LAYERS - 1 ? 0 : l;
    inits.push(tensorProto(w, DT.FLOAT, [16, 16]).bytes(9, floatRaw(Array.from({ length: 256 }, (_, i) => Math.sin(i + seed * 257)))));
    for (let j = 0; j < OPS_PER_LAYER; j++) {
      const op = j === 0 ? 'MatMul' : j % 3 === 0 ? 'Add' : 'Relu';
      const name = `node_${op}_${k++}`;
      const out = `${name}_out`;
      const inputs = op === 'MatMul' ? [prev, w] : op === 'Add' ? [prev, prev] : [prev];
      const scopes = `['', 'encoder', '${module}', '${module}.${j < 25 ? 'attn' : 'mlp'}', '${name}']`;
      nodes.push(scopedNode(op, inputs, [out], name, { 'pkg.torch.onnx.name_scopes': scopes }));
      prev = out;
    }
  }
  return writeModel(dir, 'dynamo-50k.onnx', graph({
    nodes, initializers: inits,
    inputs: [valueInfo('x', DT.FLOAT, [1, 16])],
    outputs: [valueInfo(prev, DT.FLOAT, [1, 16])],
  }));
}

interface ViewProbe { weightSharingView?: { app: { timings: { interactive?: number }; view?: { expandAll(): void; cy: { nodes(): { length: number }; one(e: string, f: () => void): void } } } } }

/** Quick Open to interactive graph (s), and what it draws. */
async function openTimed(page: Page, name: string): Promise<{ seconds: number; drawn: number }> {
  const t0 = performance.now();
  await openFile(page, name);
  for (;;) {
    // The visible webview is the previous editor's until the new one shows; its title is the file name.
    const { frame } = await webviewFrame(page);
    const title = await frame.evaluate(() => document.title).catch(() => '');
    if (title === name) {
      await frame.waitForFunction(() => (window as unknown as ViewProbe).weightSharingView?.app.timings.interactive !== undefined, undefined, { timeout: 300_000 });
      const drawn = await frame.evaluate(() => (window as unknown as ViewProbe).weightSharingView!.app.view!.cy.nodes().length);
      return { seconds: (performance.now() - t0) / 1000, drawn };
    }
    await page.waitForTimeout(200);
  }
}

export default async function editorScale(ctx: BenchContext): Promise<void> {
  const skip = skipReason();
  if (skip) { ctx.log(`skipped: ${skip}`); return; }
  const s = await startSession({ files: [CORPUS_MODEL] });
  try {
    const file = writeDynamoStyle(s.workspace);
    ctx.log(`generated ${path.basename(file)}: ${LAYERS * OPS_PER_LAYER} operators, ${(fs.statSync(file).size / 1e6).toFixed(1)} MB, scopes only in name_scopes`);
    const corpus = await openTimed(s.page, CORPUS_MODEL);
    ctx.log(`${CORPUS_MODEL}: open ${corpus.seconds.toFixed(1)} s, ${corpus.drawn} nodes drawn`);
    const big = await openTimed(s.page, path.basename(file));
    ctx.log(`${path.basename(file)}: open ${big.seconds.toFixed(1)} s (${(big.seconds / corpus.seconds).toFixed(2)}x the corpus model; target <= 2x), ${big.drawn} nodes drawn collapsed`);
    const { frame } = await webviewFrame(s.page);
    const all = await frame.evaluate(() => new Promise<{ ms: number; drawn: number }>((resolve) => {
      const view = (window as unknown as ViewProbe).weightSharingView!.app.view!;
      const t = performance.now();
      view.expandAll();
      view.cy.one('render', () => requestAnimationFrame(() => resolve({ ms: performance.now() - t, drawn: view.cy.nodes().length })));
    }));
    ctx.log(`expand all: ${(all.ms / 1000).toFixed(1)} s to paint ${all.drawn} nodes (${(all.ms / 1000 / big.seconds).toFixed(2)}x the open time; target <= 3x)`);
    ctx.record('editorScale', { corpus, big, expandAll: all });
  } finally {
    await s.close();
  }
}
