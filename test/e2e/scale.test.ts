// Exports of the dynamo exporter in code-server (issue 11): node names carry
// no module path (node_view_24), so the scopes drawn must come from each
// node's `pkg.torch.onnx.name_scopes`. A corpus export shows its GPT-2
// blocks as boxes; a generated 50,000-operator one opens collapsed to a few
// hundred nodes and expands all. Times are printed, not asserted: the
// editorScale bench measures them against their targets.
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { writeDynamoExport } from './dynamoExport';
import { untilPainted, type Painted } from '../webview/paint';
import { type Session, openModelEditor, screenshot, skipReason, startSession, stepsWithScreenshots } from './harness';

const CORPUS_DYNAMO = 'gpt2-trained-neardup.onnx';
const CORPUS_OTHER = 'bert-tiny-mlm-trained.onnx';
const BIG = 'dynamo-50k.onnx';

/** Labels of the scope boxes drawn (collapsed or open). */
const scopeLabels = (): string[] => window.weightSharingView!.app.view!.cy.nodes().filter((n) => n.id().startsWith('s:') || n.id().startsWith('r:')).map((n) => String(n.data('label')));

describe('dynamo exports in code-server: scopes from name_scopes, a 50,000-operator graph', { skip: skipReason(), timeout: 15 * 60_000 }, () => {
  let s: Session;
  let corpusSeconds = 0;

  before(async () => {
    // A low collapse threshold: the corpus export's 155 operators start in their scope boxes.
    s = await startSession({ files: [CORPUS_DYNAMO, `${CORPUS_DYNAMO}.data`, CORPUS_OTHER], settings: { 'weightSharing.graph.collapseThreshold': 100 } });
    writeDynamoExport(s.workspace, BIG);
  }, { timeout: 12 * 60_000 });

  after(async () => {
    await s?.close();
  });

  const test = stepsWithScreenshots('e2e-scale', () => s?.page);

  test(`${CORPUS_DYNAMO}: flat node names, GPT-2's blocks drawn as boxes named after the exporter's module paths`, async () => {
    const { frame } = await openModelEditor(s.page, CORPUS_DYNAMO);
    const names = await frame.evaluate(() => window.weightSharingView!.app.view!.model.payload.nodes.map((n) => n.name));
    assert.ok(names.every((n) => !n.includes('/') && !n.includes('.')), 'node names carry no module path');
    const labels = await frame.evaluate(scopeLabels);
    for (const block of ['h.0', 'h.1', 'h.2', 'h.3']) assert.ok(labels.some((l) => l.endsWith(block)), `a box for ${block}: ${labels.join(', ')}`);
    // Closing and opening a block: its modules, again from name_scopes, framed.
    // (A string: tsx would name the inner functions with a helper the page lacks.)
    const children = await frame.evaluate(`(() => {
      const view = window.weightSharingView.app.view;
      const block = view.cy.nodes().filter((n) => n.id().startsWith('s:') && String(n.data('label')).endsWith('h.1'))[0].id();
      const childLabels = () => view.cy.getElementById(block).children().map((n) => String(n.data('label')));
      view.collapse(block);
      const closed = childLabels();
      view.expand(block);
      return { closed, open: childLabels() };
    })()`) as { closed: string[]; open: string[] };
    assert.deepEqual(children.closed, [], 'closed, h.1 draws nothing inside');
    assert.ok(children.open.some((l) => l.endsWith('attn')) && children.open.some((l) => l.endsWith('mlp')), `h.1 holds attn and mlp: ${children.open.join(', ')}`);
    await screenshot(s.page, 'e2e-dynamo-scopes');
  });

  test(`${BIG}: drawn collapsed in a few hundred nodes, its 1,000 layers in runs; expand all draws every operator`, async () => {
    corpusSeconds = (await openModelEditor(s.page, CORPUS_OTHER)).seconds;
    const big = await openModelEditor(s.page, BIG);
    const counts = await big.frame.evaluate(() => window.weightSharingView!.counts());
    assert.equal(counts['model.operators'], 50_000);
    assert.ok(big.drawn <= 400, `collapsed: ${big.drawn} nodes drawn`);
    const labels = await big.frame.evaluate(scopeLabels);
    assert.ok(labels.some((l) => /^layer\.0 – layer\.99/.test(l)), `the layers in runs: ${labels.slice(0, 12).join(', ')}`);
    await screenshot(s.page, 'e2e-dynamo-50k-collapsed');
    const all = await big.frame.evaluate(untilPainted('expandAll()')) as Painted;
    assert.ok(all.drawn >= 50_000, `expanded: ${all.drawn} nodes drawn`);
    assert.ok(all.held > 0 && all.held < 2000, `cytoscape holds the ${all.held} near the view`);
    // In VS Code's webview too, the layout ran in a worker (a blob worker: its resource URIs are another origin).
    assert.equal(await big.frame.evaluate('window.weightSharingView.app.view.layouts.lastRanIn'), 'worker');
    console.log(`# ${CORPUS_OTHER} open ${corpusSeconds.toFixed(1)} s; ${BIG} open ${big.seconds.toFixed(1)} s (${(big.seconds / corpusSeconds).toFixed(2)}x), expand all ${(all.ms / 1000).toFixed(1)} s (${(all.ms / 1000 / big.seconds).toFixed(2)}x the open)`);
    await screenshot(s.page, 'e2e-dynamo-50k-expanded');
  });
});
