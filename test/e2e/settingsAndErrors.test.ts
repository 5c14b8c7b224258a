// The extension under a light theme with a raised diagnostics threshold, and
// a model the reader rejects: the setting silences the Problems entry, the
// broken file shows the reader's error in the editor (never a blank page).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe } from 'node:test';
import { type Session, hoverWeight, openFile, readmeScreenshot, screenshot, skipReason, startSession, webview, webviewFrame, stepsWithScreenshots } from './harness';

const MODEL = 'bert-tiny-mlm-trained.onnx';
const BROKEN = 'broken-truncated.onnx';

describe('settings and unreadable models in code-server (light theme)', { skip: skipReason(), timeout: 15 * 60_000 }, () => {
  let s: Session;

  before(async () => {
    s = await startSession({
      theme: 'Default Light Modern',
      files: [MODEL],
      // Above the pair's 256 kB saving: no Problems entry for it.
      settings: { 'weightSharing.diagnostics.minBytes': 300_000 },
    });
    // A real model cut short in the middle of its weights.
    const bytes = fs.readFileSync(path.join(s.workspace, MODEL));
    fs.writeFileSync(path.join(s.workspace, BROKEN), bytes.subarray(0, Math.floor(bytes.length / 2)));
  }, { timeout: 12 * 60_000 });

  after(async () => {
    await s?.close();
  });

  const test = stepsWithScreenshots('e2e', () => s?.page);

  test('the model editor in the light theme, its group selected', async () => {
    await openFile(s.page, MODEL);
    const group = webview(s.page).locator('#groups li.group', { hasText: 'onnx::MatMul_377' });
    await group.waitFor({ timeout: 120_000 });
    // The first view selects and frames the largest group: this one.
    assert.equal(await group.getAttribute('aria-selected'), 'true', 'the largest group is selected when the model opens');
    const { frame } = await webviewFrame(s.page);
    const selected = await frame.evaluate(() => window.weightSharingView!.app.view!.cy.nodes(':selected').length);
    assert.ok(selected >= 2, `the pair and its readers selected (${selected})`);
    await group.click();
    assert.notEqual(await group.getAttribute('aria-selected'), 'true', 'a click clears the selection');
    await group.click();
    assert.equal(await group.getAttribute('aria-selected'), 'true', 'and a second click selects it again');
    await group.click();
    // The README picture: the graph around the copy, its tooltip, no explorer.
    await frame.evaluate(() => window.weightSharingView!.app.view!.cy.zoom(1));
    await s.page.keyboard.press('Control+B');
    const tooltip = await hoverWeight(s.page, 'onnx::MatMul_377');
    assert.match(await tooltip.innerText(), /transposed/);
    await readmeScreenshot(s.page, 'model-editor-light');
    await s.page.keyboard.press('Control+B');
    await s.page.mouse.move(5, 300);
  });

  test('weightSharing.diagnostics.minBytes above the saving leaves the Problems panel empty', async () => {
    await s.page.keyboard.press('Control+Shift+M');
    const panel = s.page.locator('.markers-panel');
    await panel.waitFor();
    // The scan is done (the group list is drawn), so diagnostics were published.
    await s.page.waitForTimeout(1000);
    assert.equal(await panel.locator('.monaco-list-row', { hasText: 'transposed copy' }).count(), 0);
    assert.match(await s.page.locator('.markers-panel-container, .markers-panel').first().innerText(), /No problems have been detected/);
    await screenshot(s.page, 'e2e-settings-no-problems');
    await s.page.keyboard.press('Control+Shift+M');
  });

  test('a truncated model shows the reader error in the editor', async () => {
    await openFile(s.page, BROKEN);
    const error = webview(s.page).locator('#load-error');
    await error.waitFor({ timeout: 30_000 });
    const text = await error.innerText();
    assert.match(text, /could not be opened/);
    assert.ok(text.includes(BROKEN), `names the file: ${text}`);
    assert.match(text, /onnx/i);
    await screenshot(s.page, 'e2e-load-error');
  });

  test('fixing the file on disk reloads the editor', async () => {
    // Replace the broken file with the whole model: the open editor rescans.
    const tmp = path.join(s.workspace, `.${BROKEN}.tmp`);
    fs.copyFileSync(path.join(s.workspace, MODEL), tmp);
    fs.renameSync(tmp, path.join(s.workspace, BROKEN));
    const group = webview(s.page).locator('#groups li.group', { hasText: 'onnx::MatMul_377' });
    await group.waitFor({ timeout: 30_000 });
    assert.equal(await webview(s.page).locator('#load-error').count(), 0);
    await screenshot(s.page, 'e2e-reloaded');
  });

  test('a changed collapse setting reaches the open graph (scopes drawn as boxes)', async () => {
    await s.page.locator('.tabs-container .tab', { hasText: MODEL }).first().click();
    const { frame } = await webviewFrame(s.page);
    const before = await frame.evaluate(() => window.weightSharingView!.counts());
    // Under the threshold the graph is drawn flat; past it, name scopes get boxes
    // (a graph this small still fits the webview's budget and stays expanded).
    assert.equal(before.boxes ?? 0, 0, `flat at first: ${JSON.stringify(before)}`);
    // Workspace settings, as a user editing .vscode/settings.json would.
    fs.mkdirSync(path.join(s.workspace, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(s.workspace, '.vscode', 'settings.json'), JSON.stringify({ 'weightSharing.graph.collapseThreshold': 20 }));
    await frame.waitForFunction(() => (window.weightSharingView?.counts().boxes ?? 0) > 0, undefined, { timeout: 30_000 });
    const after = await frame.evaluate(() => window.weightSharingView!.counts());
    assert.equal(after.drawingOperators, before.drawingOperators, 'the same operators, now in scope boxes');
    assert.ok(before.drawingOperators > 100, JSON.stringify(before));
    await screenshot(s.page, 'e2e-collapsed-by-setting');
  });

  test('weightSharing.graph.renderer "webgl" redraws the open graph with WebGL; "canvas" goes back', async () => {
    const { frame } = await webviewFrame(s.page);
    assert.equal((await frame.evaluate(() => window.weightSharingView!.counts())).webgl, 0, 'a small graph: the canvas under auto');
    const settingsFile = path.join(s.workspace, '.vscode', 'settings.json');
    const write = (renderer: string) => fs.writeFileSync(settingsFile, JSON.stringify({ 'weightSharing.graph.collapseThreshold': 20, 'weightSharing.graph.renderer': renderer }));
    write('webgl');
    await frame.waitForFunction(() => window.weightSharingView?.counts().webgl === 1, undefined, { timeout: 30_000 });
    assert.equal(await frame.locator('canvas[data-id$="-webgl"]').count(), 1, 'cytoscape draws into a WebGL canvas');
    assert.match(await frame.locator('#status-line').textContent() ?? '', / · WebGL$/);
    await screenshot(s.page, 'e2e-webgl-by-setting');
    write('canvas');
    await frame.waitForFunction(() => window.weightSharingView?.counts().webgl === 0, undefined, { timeout: 30_000 });
    // (cytoscape would leave an unused WebGL canvas in every later view of the page)
    assert.equal(await frame.locator('canvas[data-id$="-webgl"]').count(), 0);
  });
});
