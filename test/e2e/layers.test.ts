// The model editor's Layers tab in a real VS Code (code-server + Chromium),
// on the corpus GPT-2 whose layers 1-3 started as copies of layer 0 and were
// then trained apart: the tab asks the host (the analysis worker) only once
// shown, lists the 12 families, and its heatmap holds the distance PyTorch
// measured when the corpus was made (manifest, never the code under test).
// A cell's hover card and click (both tensors selected in the graph), then
// Try tying: the host writes NAME.tied.onnx beside the model and the webview
// runs the inference check (WASM or WebGPU) to show what tying costs. Then a
// live switch to the light theme through the theme picker: the heatmap is
// repainted, not left in dark colours. Screenshots in test-results/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe } from 'node:test';
import { type Session, corpusDir, openFile, screenshot, skipReason, startSession, webview, webviewFrame, stepsWithScreenshots } from './harness';

const MODEL = 'gpt2-trained-neardup.onnx';
const TIED = 'gpt2-trained-neardup.tied.onnx';
const ROLE = 'attn.c_attn.weight';
/** The ONNX export's names for the blocks' tensors. */
const tensorOf = (layer: number) => `m.transformer.h.${layer}.${ROLE}`;

// PyTorch's relative L2 of layer 0 against layer 1, recorded when the corpus was made.
const manifest = JSON.parse(fs.readFileSync(path.join(corpusDir, 'manifest.json'), 'utf8')) as Array<{ file: string; training?: { relative_l2_layer0_vs_i: Record<string, number> } }>;
const expected01 = manifest.find((e) => e.file === MODEL)!.training!.relative_l2_layer0_vs_i[`h.0~h.1.${ROLE}`]!;

describe('the Layers tab in code-server (dark, then light)', { skip: skipReason(), timeout: 20 * 60_000 }, () => {
  let s: Session;

  before(async () => {
    s = await startSession({
      theme: 'Default Dark Modern',
      // The export keeps its weights in NAME.onnx.data; the test data set is what
      // the inference check feeds both models to measure the tie's cost.
      files: [MODEL, `${MODEL}.data`, 'gpt2-trained-neardup.test_data_set_0'],
    });
  }, { timeout: 12 * 60_000 });

  after(async () => {
    await s?.close();
  });

  const test = stepsWithScreenshots('e2e-layers', () => s?.page);

  /** The family's heatmap, opened if it is closed (only the first two open by themselves). */
  async function heatmapOf(role: string) {
    const item = webview(s.page).locator(`#layers-families li.ly-family[data-role="${role}"]`);
    const head = item.locator('.ly-family-head');
    if (await head.getAttribute('aria-expanded') !== 'true') await head.click();
    const grid = item.locator('.ly-heatmap');
    await grid.waitFor({ state: 'visible', timeout: 10_000 });
    return grid;
  }
  const cellOf = (grid: Awaited<ReturnType<typeof heatmapOf>>, i: number, j: number) => grid.locator(`.ly-cell[data-i="${i}"][data-j="${j}"]`);

  /**
   * Scrolls the tab's view so that `selector` is at its top. By hand, not
   * scrollIntoView: that also scrolls VS Code's frames around the webview,
   * shifting the whole editor in the screenshot.
   */
  async function scrollToTop(selector: string): Promise<void> {
    await webview(s.page).locator(selector).evaluate((e) => {
      const box = e.closest('vscode-panel-view')!;
      box.scrollTop += e.getBoundingClientRect().top - box.getBoundingClientRect().top;
    });
  }

  /** The heatmap in view with a cell's hover card showing (for the screenshots). */
  async function showHeatmapWithTooltip(): Promise<void> {
    const grid = await heatmapOf(ROLE);
    await scrollToTop(`#layers-families li.ly-family[data-role="${ROLE}"]`);
    // Enter the cell from outside, so the page sees a fresh mouseenter.
    await s.page.mouse.move(5, 300);
    await cellOf(grid, 0, 2).hover();
    await webview(s.page).locator('#layers-tooltip').waitFor({ state: 'visible', timeout: 5_000 });
  }

  /** Try tying… from its heading to the cost, at the top of the tab's view (for the screenshots). */
  async function showTieSection(): Promise<void> {
    await s.page.mouse.move(5, 300);
    await scrollToTop('#layers-tie');
  }

  test('the Layers tab lists 12 families; the heatmap holds PyTorch\'s distance; hover shows the card; a click selects both tensors', async () => {
    await openFile(s.page, MODEL);
    const view = webview(s.page);
    await view.locator('#side-panel').waitFor({ timeout: 120_000 });
    // The analysis runs only once the tab is shown (never at model load).
    await view.locator('#tab-layers').click();
    assert.equal(await view.locator('#tab-layers').getAttribute('aria-selected'), 'true');
    const families = view.locator('#layers-families li.ly-family');
    await families.first().waitFor({ timeout: 120_000 });
    assert.equal(await families.count(), 12, 'the 12 families of same-role tensors of the 4 blocks');

    // Layer 0 against layer 1: the worker's distance is PyTorch's (manifest rounds to 5 digits).
    const grid = await heatmapOf(ROLE);
    const value = Number(await cellOf(grid, 0, 1).getAttribute('data-rel-l2'));
    assert.ok(Math.abs(value - expected01) <= 2e-5, `${ROLE} 0↔1: ${value} vs PyTorch's ${expected01}`);

    // The hover card names both layers and gives the distance.
    await cellOf(grid, 0, 1).hover();
    const tip = view.locator('#layers-tooltip');
    await tip.waitFor({ state: 'visible', timeout: 5_000 });
    assert.match(await tip.innerText(), /layers 0 ↔ 1/);
    // Fixed to the webview's viewport beside the cell, never cut off by its edges.
    const fits = await tip.evaluate((t) => {
      const r = t.getBoundingClientRect();
      return r.left >= 0 && r.top >= 0 && r.right <= window.innerWidth && r.bottom <= window.innerHeight;
    });
    assert.ok(fits, 'the hover card lies inside the webview');

    // A click selects both tensors in the graph (its weight items, as drawn).
    await cellOf(grid, 0, 1).click();
    assert.equal(await cellOf(grid, 0, 1).getAttribute('aria-selected'), 'true');
    const { frame } = await webviewFrame(s.page);
    const sel = await frame.evaluate((names) => {
      const probe = window.weightSharingView!;
      return {
        wanted: names.map((n) => probe.weightItemOf(n)),
        selected: probe.app.view!.cy.nodes(':selected').map((n) => n.id()),
      };
    }, [tensorOf(0), tensorOf(1)]);
    assert.ok(sel.wanted.every((w) => w && sel.selected.includes(w)), `selected ${sel.selected.join(', ')}; wanted ${sel.wanted.join(', ')}`);

    await showHeatmapWithTooltip();
    await screenshot(s.page, 'e2e-layers-heatmap-dark');
  });

  test('Try tying blocks 1,2,3: NAME.tied.onnx written beside the model, bytes saved, the cost measured by the inference check', async () => {
    const view = webview(s.page);
    await s.page.mouse.move(5, 300);
    await view.locator('#tie-blocks input').fill('1,2,3');
    const t0 = Date.now();
    await view.locator('#tie-run').click();
    // A fresh workspace has no tied variant yet: no "replace it?" modal.
    const saved = view.locator('#tie-saved');
    await saved.waitFor({ timeout: 120_000 });
    const output = path.join(s.workspace, TIED);
    assert.ok(fs.existsSync(output), `${TIED} written beside the model`);
    const bytes = Number(await saved.getAttribute('data-bytes'));
    assert.ok(bytes > 0, `saves ${bytes} bytes`);

    // The check runs the model and the variant on test_data_set_0 in the
    // webview: slow on WASM with two busy cores.
    const cost = view.locator('#tie-cost');
    await cost.waitFor({ timeout: 180_000 });
    process.stderr.write(`[e2e] tie to its cost: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const rows = await cost.locator('.ly-cost-row').evaluateAll((trs) => trs.map((r) => ({
      output: (r as HTMLElement).dataset.output, relL2: Number((r as HTMLElement).dataset.relL2), top1: Number((r as HTMLElement).dataset.top1),
    })));
    // No rows: the check failed, and the box says why.
    assert.ok(rows.length > 0, `cost rows shown: ${await cost.innerText()}`);
    for (const r of rows) {
      assert.ok(r.relL2 > 0.1, `${r.output}: tying layers that were trained apart costs something (rel L2 ${r.relL2})`);
      assert.ok(r.top1 >= 0 && r.top1 <= 1, `${r.output}: top-1 agreement ${r.top1} is a fraction`);
    }
    await showTieSection();
    await screenshot(s.page, 'e2e-layers-tie-dark');
  });

  test('switched to the light theme, the open tab repaints its heatmap and keeps the tie\'s cost', async () => {
    const view = webview(s.page);
    const cell = cellOf(await heatmapOf(ROLE), 0, 1);
    const darkFill = await cell.evaluate((c) => getComputedStyle(c).backgroundColor);
    // The workbench's own theme picker (Ctrl+K Ctrl+T, "Preferences: Color
    // Theme"), as a user switches themes. Not through the palette: there
    // "Browse Color Themes in Marketplace" sorts first.
    const input = s.page.locator('.quick-input-widget input');
    for (let attempt = 0; ; attempt++) {
      // From the workbench, not the webview (where the chord can be lost).
      await s.page.locator('.statusbar').click({ position: { x: 600, y: 5 } });
      await s.page.keyboard.press('Control+K');
      await s.page.keyboard.press('Control+T');
      try {
        await s.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Default Light Modern' }).first().waitFor({ timeout: 5_000 });
        break;
      } catch (err) {
        if (attempt >= 2) throw err;
        await s.page.keyboard.press('Escape');
      }
    }
    await input.fill('Default Light Modern');
    // "Browse Additional Color Themes…" stays first: step down to the theme.
    const light = s.page.locator('.quick-input-list .monaco-list-row.focused', { hasText: 'Default Light Modern' });
    for (let step = 0; step < 5 && !(await light.isVisible()); step++) {
      await input.press('ArrowDown');
      await s.page.waitForTimeout(200);
    }
    await light.waitFor({ timeout: 5_000 });
    await input.press('Enter');
    await s.page.locator('.monaco-workbench.vs').waitFor({ timeout: 20_000 });
    // VS Code gives the webview's body the new class; the tab follows it.
    const { frame } = await webviewFrame(s.page);
    await frame.waitForFunction(() => document.body.classList.contains('vscode-light'), undefined, { timeout: 20_000 });
    await frame.waitForFunction(([sel, before]) => {
      const c = document.querySelector(sel);
      return !!c && getComputedStyle(c).backgroundColor !== before;
    }, [`#layers-families li.ly-family[data-role="${ROLE}"] .ly-cell[data-i="0"][data-j="1"]`, darkFill] as const, { timeout: 10_000 })
      .catch(() => { throw new Error(`the heatmap kept its dark colours (${darkFill}) after the switch to the light theme`); });
    assert.equal(await view.locator('#tie-cost .ly-cost-row').count() > 0, true, 'the cost stays shown');

    await showHeatmapWithTooltip();
    await screenshot(s.page, 'e2e-layers-heatmap-light');
    await showTieSection();
    await screenshot(s.page, 'e2e-layers-tie-light');
  });
});
