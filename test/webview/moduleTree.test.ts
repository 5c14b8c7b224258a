// A checkpoint (no operator graph) in the model editor's webview: the module
// tree drawn from the real safetensors reader and scan, every parameter a
// weight node in its module, the duplicated embedding highlighted and
// framed first, the tie config.json makes drawn as a not-stored name.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../../extension/model/registry';
import { scanModels } from '../../extension/sharing/scan';
import { packGraphPayload } from '../../extension/view/packedPayload';
import { buildGraphPayload } from '../../extension/view/payload';
import type { GraphPayload } from '../../extension/protocol';
import { DEFAULT_MIN_BYTES } from '../../extension/sharing/types';
import { RESULTS, WebviewHarness, type ThemeName, type WebviewPage } from './harness';

const corpus = path.join(__dirname, '../fixtures/corpus');
const manifest = JSON.parse(fs.readFileSync(path.join(corpus, 'manifest.json'), 'utf8')) as Array<{ file: string; facts?: { tensors?: number } }>;

let harness: WebviewHarness;
before(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  harness = await WebviewHarness.start();
});
after(async () => {
  await harness?.close();
});

async function show(target: string, theme: ThemeName): Promise<{ page: WebviewPage; payload: GraphPayload }> {
  const model = await openModel(path.join(corpus, target));
  const payload = buildGraphPayload(model, await scanModels([model], { minBytes: DEFAULT_MIN_BYTES }));
  const page = await harness.open({ theme, title: target });
  await page.showModel({ type: 'model', graph: packGraphPayload(payload), settings: { collapseThreshold: 2000, minBytes: DEFAULT_MIN_BYTES } });
  return { page, payload };
}

const selectedIds = (page: WebviewPage) => page.selectedIds();

for (const theme of ['dark', 'light'] as const) {
  test(`gpt2-tiny-untied.safetensors (${theme}): module tree, the wte/lm_head copy highlighted and framed first`, async () => {
    const { page, payload } = await show('gpt2-tiny-untied.safetensors', theme);
    assert.equal(payload.view, 'modules');
    const c = await page.counts();
    // Every stored tensor is a weight node (none is folded: none is that small).
    const tensors = manifest.find((e) => e.file === 'gpt2-tiny-untied.safetensors')!.facts!.tensors!;
    assert.equal(c.weights, tensors);
    assert.equal(c.operators, payload.nodes.length, 'one node per module');
    // The first view selects the largest group: the embedding and its copy.
    assert.equal(payload.groups[0]!.kind, 'exact');
    const wte = await page.weightItemOf('transformer.wte.weight');
    const head = await page.weightItemOf('lm_head.weight');
    const selected = await selectedIds(page);
    assert.ok(wte && head && selected.includes(wte) && selected.includes(head), `selected: ${selected.join(', ')}`);
    // Both are on screen at a readable zoom.
    for (const id of [wte!, head!]) {
      const p = await page.position(id);
      assert.ok(p && p.x > 0 && p.y > 0, `${id} is on screen`);
    }
    const text = await page.page.locator('#status-line').textContent();
    assert.match(text ?? '', /modules/);
    assert.deepEqual(page.pageErrors, []);
    assert.deepEqual(await page.cspViolations(), []);
    await page.screenshot(`module-tree-untied-${theme}`);
    await page.close();
  });
}

test('gpt2-tiny-hf/: the lm_head that config.json ties is drawn as a not-stored name in the tie\'s colour', async () => {
  const { page, payload } = await show('gpt2-tiny-hf', 'dark');
  const tie = payload.groups.find((g) => g.kind === 'tied' && g.tiedBy === 'config');
  assert.ok(tie, 'a config tie');
  assert.deepEqual(tie.tensorIds, ['transformer.wte.weight', 'lm_head.weight']);
  const head = await page.weightItemOf('lm_head.weight');
  assert.ok(head);
  const classes = await page.page.evaluate((id) => {
    const cy = (window as unknown as { weightSharingView: { app: { view: { cy: import('cytoscape').Core } } } }).weightSharingView.app.view.cy;
    return cy.getElementById(id).classes();
  }, head);
  assert.ok(classes.includes('unstored') && classes.includes('grouped'), classes.join(' '));
  // The Model tab shows what config.json says.
  const modelTab = await page.page.locator('text=tie_word_embeddings').count();
  assert.ok(modelTab > 0);
  await page.screenshot('module-tree-hf-config-tie');
  await page.close();
});

test('an ONNX export scanned with its checkpoint: tensors carry their source parameter; the Model tab says how many', async () => {
  const model = await openModel(path.join(corpus, 'gpt2-tiny-dynamo.onnx'));
  const checkpoint = await openModel(path.join(corpus, 'gpt2-tiny-untied.safetensors'));
  const report = await scanModels([model, checkpoint], { minBytes: DEFAULT_MIN_BYTES });
  const payload = buildGraphPayload(model, report);
  const sourced = payload.tensors.filter((t) => t.source);
  assert.equal(sourced.length, report.provenance.length);
  assert.ok(sourced.every((t) => t.source!.name === t.name.replace(/^m\./, '') || t.name === 'm.lm_head.weight'));
  const page = await harness.open({ theme: 'dark', title: 'provenance' });
  await page.showModel({ type: 'model', graph: packGraphPayload(payload), settings: { collapseThreshold: 2000, minBytes: DEFAULT_MIN_BYTES } });
  await page.page.locator('[role="tab"]', { hasText: 'Model' }).first().click();
  const text = await page.page.locator('dl.totals').last().innerText();
  assert.match(text, new RegExp(`${sourced.length} of ${payload.tensors.length} tensors come from gpt2-tiny-untied\\.safetensors`));
  assert.ok(await page.page.locator('#compare-checkpoint').count() > 0, 'the Compare with checkpoint… button');
  await page.screenshot('provenance-model-tab');
  await page.close();
});
