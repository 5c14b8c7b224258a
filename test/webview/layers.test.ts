// The Layers tab in headless Chromium with the production HTML and CSP, on
// the corpus GPT-2 whose layers 1-3 started as copies of layer 0 and were
// then trained apart (ONNX export and safetensors checkpoint). The host's
// side is played by the real analysis worker (dist/analysisWorker.js): the
// tab asks only once shown, shows progress, lists the families, and its
// heatmap cells carry the distances PyTorch measured when the corpus was
// made (manifest `training.relative_l2_layer0_vs_i`, read here, never from
// the code under test). A cell (click or keyboard) selects both tensors in
// the graph or module tree. Try tying writes the variant with the real tie,
// runs the inference check against it in the page and shows its cost, equal
// to what `weight-sharing check` measures on the same inputs.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLayers, runTie } from '../../extension/analysis/run';
import { openModel } from '../../extension/model/registry';
import type { LayersPayload, TieOutcome } from '../../extension/protocol';
import { scanModels } from '../../extension/sharing/scan';
import { DEFAULT_MIN_BYTES } from '../../extension/sharing/types';
import { packGraphPayload } from '../../extension/view/packedPayload';
import { buildGraphPayload } from '../../extension/view/payload';
import { RESULTS, ROOT, WebviewHarness, type ThemeName, type WebviewPage } from './harness';
import { CORPUS, modelRef, openModelPage, rootUrlOf } from './inferenceSupport';

const WORKER = path.join(ROOT, 'dist', 'analysisWorker.js');
const ONNX = 'gpt2-trained-neardup.onnx';
const CHECKPOINT = 'gpt2-trained-neardup.safetensors';

const manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as Array<{ file: string; training?: { relative_l2_layer0_vs_i: Record<string, number> } }>;
/** "h.0~h.2.mlp.c_fc.weight" → layer 0 against layer 2 of role mlp.c_fc.weight, as PyTorch measured it. */
const reference = Object.entries(manifest.find((e) => e.file === ONNX)!.training!.relative_l2_layer0_vs_i).map(([key, value]) => {
  const m = /^h\.0~h\.(\d+)\.(.+)$/.exec(key);
  assert.ok(m, `manifest key ${key}`);
  return { layer: Number(m[1]), role: m[2]!, value };
});

let harness: WebviewHarness;
let tiedDir: string;
before(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  tiedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-layers-'));
  harness = await WebviewHarness.start({ serve: { tied: tiedDir } });
});
after(async () => {
  await harness?.close();
  fs.rmSync(tiedDir, { recursive: true, force: true });
});

async function showModel(file: string, theme: ThemeName): Promise<WebviewPage> {
  const model = await openModel(path.join(CORPUS, file));
  const payload = buildGraphPayload(model, await scanModels([model], { minBytes: DEFAULT_MIN_BYTES }));
  const page = await harness.open({ theme, title: file, width: 1400, height: 1000 });
  await page.showModel({ type: 'model', graph: packGraphPayload(payload), settings: { collapseThreshold: 2000, minBytes: DEFAULT_MIN_BYTES } });
  return page;
}

const layersRequests = async (page: WebviewPage) => (await page.posted()).filter((m) => m.type === 'request' && m.method === 'layers').length;

/** Opens the tab, answers its request with the worker's analysis, and waits for the list. */
async function openLayersTab(page: WebviewPage, file: string): Promise<LayersPayload> {
  assert.equal(await layersRequests(page), 0, 'nothing is asked before the tab is shown');
  await page.page.click('#tab-layers');
  await page.page.waitForSelector('#layers-status', { state: 'visible' });
  // Progress as the host posts it, while the worker runs.
  await page.post({ type: 'layersProgress', message: 'Comparing attn.c_attn.weight across 4 layers (family 3 of 12)…', fraction: 0.25 });
  await page.page.waitForFunction(() => /family 3 of 12.*\(25%\)/.test(document.querySelector('#layers-status')?.textContent ?? ''));
  const payload = await runLayers(WORKER, { path: path.join(CORPUS, file) });
  await page.reply('layers', payload);
  await page.page.waitForSelector('#layers-families li.ly-family');
  return payload;
}

/** The family's heatmap, opened if it is closed. */
async function heatmapOf(page: WebviewPage, role: string) {
  const item = page.page.locator(`#layers-families li.ly-family[data-role="${role}"]`);
  const head = item.locator('.ly-family-head');
  if (await head.getAttribute('aria-expanded') !== 'true') await head.click();
  const grid = item.locator('.ly-heatmap');
  await grid.waitFor({ state: 'visible' });
  return grid;
}

const cell = (grid: Awaited<ReturnType<typeof heatmapOf>>, i: number, j: number) => grid.locator(`.ly-cell[data-i="${i}"][data-j="${j}"]`);

async function selectedTensorItems(page: WebviewPage, names: string[]): Promise<{ selected: string[]; wanted: string[] }> {
  const wanted: string[] = [];
  for (const n of names) {
    const item = await page.weightItemOf(n);
    assert.ok(item, `${n} is drawn`);
    wanted.push(item);
  }
  return { selected: await page.selectedIds(), wanted };
}

for (const [file, theme] of [[ONNX, 'dark'], [ONNX, 'light'], [CHECKPOINT, 'light']] as const) {
  test(`${file} (${theme}): the Layers tab lists the families; the heatmap holds PyTorch's distances; cells select both tensors`, async () => {
    const page = await showModel(file, theme);
    const payload = await openLayersTab(page, file);
    const prefix = file === ONNX ? 'm.transformer.h' : 'transformer.h';

    // Every family is listed once, with the note on random matrices.
    assert.equal(await page.page.locator('#layers-families li.ly-family').count(), payload.families.length);
    assert.equal(payload.families.length, 12);
    assert.match(await page.page.locator('#layers-summary').innerText(), new RegExp(`12 families of same-role tensors across 4 blocks of ${prefix.replace(/\./g, '\\.')}`));
    assert.match(await page.page.locator('#layers-legend').innerText(), /independent random matrices sit near 1\.41/i);

    for (const r of reference) {
      const grid = await heatmapOf(page, r.role);
      const value = Number(await cell(grid, 0, r.layer).getAttribute('data-rel-l2'));
      assert.ok(Math.abs(value - r.value) <= 2e-5, `${r.role} 0↔${r.layer}: ${value} vs PyTorch's ${r.value}`);
      assert.equal(Number(await cell(grid, r.layer, 0).getAttribute('data-rel-l2')), value, 'symmetric');
      assert.equal(await cell(grid, 0, r.layer).innerText(), value.toFixed(2), 'the cell prints its value');
    }

    // Hover: the tooltip gives both distances and the two names.
    const attn = await heatmapOf(page, 'attn.c_attn.weight');
    await cell(attn, 0, 2).hover();
    const tip = page.page.locator('#layers-tooltip');
    await tip.waitFor({ state: 'visible' });
    const tipText = await tip.innerText();
    const want = reference.find((r) => r.role === 'attn.c_attn.weight' && r.layer === 2)!.value;
    assert.match(tipText, /layers 0 ↔ 2/);
    assert.match(tipText, new RegExp(`rel L2\\s+${want.toFixed(4).replace('.', '\\.')}`));
    assert.match(tipText, /centred cos\s+-?\d\.\d{4}/);
    assert.ok(tipText.includes(`${prefix}.0.attn.c_attn.weight`) && tipText.includes(`${prefix}.2.attn.c_attn.weight`), tipText);

    // A click selects both tensors in the graph or the module tree.
    await cell(attn, 0, 2).click();
    let s = await selectedTensorItems(page, [`${prefix}.0.attn.c_attn.weight`, `${prefix}.2.attn.c_attn.weight`]);
    assert.ok(s.wanted.every((w) => s.selected.includes(w)), `selected ${s.selected.join(', ')}; wanted ${s.wanted.join(', ')}`);
    assert.equal(await cell(attn, 0, 2).getAttribute('aria-selected'), 'true');
    await page.screenshot(`layers-${file.replace(/\./g, '-')}-${theme}`);

    // The keyboard: arrows move between cells, Enter selects.
    await cell(attn, 0, 2).focus();
    await page.page.keyboard.press('ArrowDown');
    await page.page.keyboard.press('ArrowRight');
    assert.equal(await page.page.evaluate(() => (document.activeElement as HTMLElement).dataset.layers), '1,3');
    await page.page.keyboard.press('Enter');
    s = await selectedTensorItems(page, [`${prefix}.1.attn.c_attn.weight`, `${prefix}.3.attn.c_attn.weight`]);
    assert.ok(s.wanted.every((w) => s.selected.includes(w)), `selected ${s.selected.join(', ')}; wanted ${s.wanted.join(', ')}`);
    assert.ok(!s.selected.includes((await page.weightItemOf(`${prefix}.0.attn.c_attn.weight`))!), 'the earlier pair is no longer selected');
    assert.equal(await cell(attn, 0, 2).getAttribute('aria-selected'), 'false');

    assert.equal(await layersRequests(page), 1, 'asked once');
    assert.deepEqual(page.pageErrors, []);
    assert.deepEqual(await page.cspViolations(), []);
    if (file === ONNX && theme === 'dark') {
      await page.setTheme('high-contrast');
      await page.screenshot('layers-gpt2-trained-neardup-onnx-high-contrast');
    }
    await page.close();
  });
}

describe('Try tying in the page, measured by the inference check (WASM)', () => {
  for (const theme of ['dark', 'light'] as const) {
    test(`blocks 1,2,3 tied to block 0 (${theme}): the request, the bytes saved, the cost equal to \`weight-sharing check\` on the same inputs`, async () => {
      const input = path.join(CORPUS, ONNX);
      const urlOf = rootUrlOf(harness.origin, { tied: tiedDir });
      const page = await openModelPage(harness, input, { theme, urlOf, width: 1400, height: 1000 });
      await openLayersTab(page, ONNX);
      const blocks = page.page.locator('#tie-blocks input');
      await blocks.fill('1,2,3');
      await page.page.click('#tie-run');

      const output = path.join(tiedDir, `${theme}.tied.onnx`);
      const written = await runTie(WORKER, { path: input, layers: [1, 2, 3], to: 0, output, force: true });
      const outcome: TieOutcome = {
        output, fileName: path.basename(output), bytesBefore: written.bytesBefore, bytesAfter: written.bytesAfter,
        families: written.families, tensorsDropped: written.tensorsDropped, skipped: written.skipped,
        compareWith: await modelRef(output, urlOf),
      };
      const request = await page.reply('tieLayers', outcome);
      assert.ok(request.type === 'request' && request.method === 'tieLayers');
      assert.deepEqual(request.layers, [1, 2, 3]);
      assert.equal(request.to, 0);
      assert.equal(request.role, undefined);

      const saved = page.page.locator('#tie-saved');
      await saved.waitFor();
      assert.equal(Number(await saved.getAttribute('data-bytes')), written.bytesBefore - written.bytesAfter);
      // Bytes saved of the bytes before, as a share the test works out itself.
      const share = ((100 * (written.bytesBefore - written.bytesAfter)) / written.bytesBefore).toFixed(1);
      assert.ok(Number(share) > 40, `tying 3 of 4 blocks saves most of the weights (${share}%)`);
      assert.match(await saved.innerText(), new RegExp(`^\\d+ kB of \\d+(\\.\\d)? MB \\(${share.replace('.', '\\.')}%\\)$`));

      // The cost, once the check has run both models on test_data_set_0.
      const row = page.page.locator('#tie-cost .ly-cost-row');
      await row.first().waitFor({ timeout: 120_000 });
      const shown = await row.evaluateAll((rows) => rows.map((r) => ({ output: (r as HTMLElement).dataset.output!, relL2: Number((r as HTMLElement).dataset.relL2), top1: Number((r as HTMLElement).dataset.top1) })));
      // check exits 1 when the outputs differ, which a lossy variant's do: its JSON is still the answer.
      const run = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'check', input, output, '--inputs', path.join(CORPUS, 'gpt2-trained-neardup.test_data_set_0'), '--json'], { encoding: 'utf8' });
      assert.equal(run.status, 1, run.stderr);
      const cli = JSON.parse(run.stdout) as { comparison: { outputs: Array<{ name: string; relL2: number; top1Agreement: number }> } };
      assert.equal(shown.length, cli.comparison.outputs.length);
      for (const o of cli.comparison.outputs) {
        const s = shown.find((x) => x.output === o.name);
        assert.ok(s, `output ${o.name} shown`);
        assert.ok(Math.abs(s.relL2 - o.relL2) <= 1e-4, `${o.name}: rel L2 ${s.relL2} vs check's ${o.relL2}`);
        assert.ok(Math.abs(s.top1 - o.top1Agreement) <= 1e-9, `${o.name}: top-1 ${s.top1} vs check's ${o.top1Agreement}`);
        assert.ok(s.relL2 > 0.1, 'tying layers that were trained apart costs something');
      }
      assert.match(await page.page.locator('#tie-cost').innerText(), /rel L2[\s\S]*top-1[\s\S]*\d+\.\d%/);
      // A lossy variant's differences are its point: no FAIL goes to the Problems panel.
      const outcomes = (await page.posted()).filter((m) => m.type === 'inferenceOutcome');
      const last = outcomes[outcomes.length - 1];
      assert.ok(last?.type === 'inferenceOutcome' && last.outcome.status === 'ran', JSON.stringify(last));
      assert.deepEqual(page.pageErrors, []);
      assert.deepEqual(await page.cspViolations(), []);
      await page.screenshot(`layers-tie-cost-${theme}`);
      await page.close();
    });
  }
});
