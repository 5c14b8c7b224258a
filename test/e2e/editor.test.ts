// The extension in a real VS Code (code-server + Chromium), driven the way a
// user would: open a corpus model in the custom editor, read the Problems
// panel, the outline and its hovers, the report, and run Apply Sharing from
// the palette. Each step saves a screenshot in test-results/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, beforeEach, describe } from 'node:test';
import { acceptQuickPick, acceptSaveDialog, hoverWeight, notification, openFile, readmeScreenshot, runCommand, screenshot, type Session, skipReason, startSession, stepsWithScreenshots, webview, webviewFrame } from './harness';

const MODEL = 'bert-tiny-mlm-trained.onnx';
const COPY = 'onnx::MatMul_377';
const KEPT = 'm.bert.embeddings.word_embeddings.weight';
const SENTENCE = `${COPY} is a transposed copy of ${KEPT}: 256 kB can be shared`;

describe('model editor in code-server', { skip: skipReason(), timeout: 15 * 60_000 }, () => {
  let s: Session;

  before(async () => {
    s = await startSession({ theme: 'Default Dark Modern' });
  }, { timeout: 12 * 60_000 });

  after(async () => {
    await s?.close();
  });

  const test = stepsWithScreenshots('e2e', () => s?.page);

  beforeEach(async () => {
    // Close whatever a previous step left open (quick input, menus, hovers).
    await s?.page.keyboard.press('Escape');
    await s?.page.keyboard.press('Escape');
    // Park the mouse away from the graph so no tooltip covers what comes next.
    await s?.page.mouse.move(700, 890);
  });

  const focusModelTab = async () => {
    await s.page.locator('.tabs-container .tab', { hasText: MODEL }).first().click();
  };

  test('opens the model: the graph with the transposed pair highlighted, the group listed with its bytes', async () => {
    const t0 = Date.now();
    await openFile(s.page, MODEL);
    const tab = s.page.locator('.tabs-container .tab', { hasText: MODEL });
    await tab.waitFor();
    const view = webview(s.page);
    const group = view.locator('#groups li.group', { hasText: COPY });
    await group.waitFor({ timeout: 120_000 });
    process.stderr.write(`[e2e] graph and groups shown ${((Date.now() - t0) / 1000).toFixed(1)} s after opening\n`);
    const text = (await group.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /transposed/i);
    assert.ok(text.replace(/\s/g, '').includes(KEPT), `kept tensor listed: ${text}`);
    assert.match(text, /1000×64/);
    assert.match(text, /64×1000/);
    assert.equal(await group.locator('.saved').getAttribute('data-bytes'), '256000');
    assert.match(await group.locator('.saved').innerText(), /saves 256 kB/);

    // Both members drawn in the group's colour with highlighted edges.
    const { frame } = await webviewFrame(s.page);
    const drawn = await frame.evaluate(([kept, copy]) => {
      const probe = window.weightSharingView!;
      const cy = probe.app.view!.cy;
      return [kept, copy].map((t) => {
        const item = probe.weightItemOf(t);
        const el = item ? cy.getElementById(item) : undefined;
        return { item, drawnAs: item ? probe.drawnFor(item) : null, grouped: !!el?.hasClass('grouped'), shared: el ? el.connectedEdges('.shared').length : 0 };
      });
    }, [KEPT, COPY]);
    for (const d of drawn) {
      assert.ok(d.item, 'a weight item');
      assert.equal(d.drawnAs, d.item, 'drawn as itself');
      assert.ok(d.grouped, `${d.item} highlighted`);
      assert.ok(d.shared >= 1, `${d.item} has a highlighted edge`);
    }
    const counts = await frame.evaluate(() => window.weightSharingView!.counts());
    assert.ok(counts.operators > 100, `operators drawn: ${JSON.stringify(counts)}`);
    await screenshot(s.page, 'e2e-open-model');
  });

  test('hovering a weight in the graph shows its tooltip', async () => {
    const tooltip = await hoverWeight(s.page, COPY);
    const card = await tooltip.innerText();
    for (const want of [COPY, 'float32', '64×1000', '256,000 B', 'transposed']) {
      assert.ok(card.includes(want), `tooltip shows ${want}: ${card}`);
    }
    await screenshot(s.page, 'e2e-graph-tooltip');
    // The README picture: the same view without the explorer.
    await s.page.keyboard.press('Control+B');
    await hoverWeight(s.page, COPY);
    await readmeScreenshot(s.page, 'model-editor-dark');
    await s.page.keyboard.press('Control+B');
    await s.page.mouse.move(5, 300);
  });

  test('the Problems panel shows the transposed copy as a warning', async () => {
    await s.page.keyboard.press('Control+Shift+M');
    const row = s.page.locator('.markers-panel .monaco-list-row', { hasText: SENTENCE });
    await row.waitFor({ timeout: 30_000 });
    assert.equal(await row.locator('.codicon-warning, .codicon-marker-warning, [class*="warning"]').count() > 0, true, 'warning icon');
    await screenshot(s.page, 'e2e-problems');
    // The entry's code ('transposed') leads to the group: clear the selection, follow the link, the group is selected again.
    const group = webview(s.page).locator('#groups li.group', { hasText: 'onnx::MatMul_377' });
    if (await group.getAttribute('aria-selected') === 'true') await group.click();
    assert.notEqual(await group.getAttribute('aria-selected'), 'true');
    await row.locator('.monaco-link', { hasText: 'transposed' }).click();
    await group.and(webview(s.page).locator('[aria-selected="true"]')).waitFor({ timeout: 20_000 });
    await screenshot(s.page, 'e2e-problems-reveal');
    await s.page.keyboard.press('Control+Shift+M');
  });

  test('the outline lists tensors, marks the pair, hovers show dtype, shape, bytes, statistics and group, and a lens leads to the group', async () => {
    await focusModelTab();
    await runCommand(s.page, 'Weight Sharing: Open Model Outline');
    const editor = s.page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-lines', { hasText: `Model outline: ${MODEL}` }).waitFor({ timeout: 30_000 });
    // A code lens on the group's line applies that group.
    await editor.locator('.codelens-decoration', { hasText: 'Apply sharing for this group (saves 256 kB)' }).waitFor({ timeout: 20_000 });
    // Find the copy's own row (name padded by spaces) and bring it into view.
    await s.page.keyboard.press('Control+F');
    await s.page.keyboard.type(`  ${COPY}  `);
    await s.page.keyboard.press('Enter');
    await s.page.keyboard.press('Escape');
    const line = editor.locator('.view-line', { hasText: `${COPY}  ` }).filter({ hasText: 'float32' }).first();
    await line.waitFor();
    const box = await line.boundingBox();
    assert.ok(box);
    await s.page.mouse.move(box.x + 60, box.y + box.height / 2);
    // The hover fills in as providers answer: wait for the statistics line.
    const hover = s.page.locator('.monaco-hover:visible', { hasText: COPY }).filter({ hasText: ' std ' }).first();
    await hover.waitFor({ timeout: 20_000 });
    const text = await hover.innerText();
    assert.match(text, /float32/);
    assert.match(text, /\[64, 1000\]/);
    assert.match(text, /256 kB \(256,000 bytes\)/);
    assert.match(text, /min .* max .* mean .* std/);
    assert.match(text, /transposed copy of m\.bert\.embeddings\.word_embeddings\.weight/);
    // Let the hover finish fading in, so the screenshot shows it, not the text beneath.
    await s.page.waitForTimeout(400);
    await screenshot(s.page, 'e2e-outline-hover');
    await s.page.mouse.move(5, 400);
    // The outline's diagnostic offers the quick fix. VS Code shows quick fixes
    // of a read-only document in the Problems panel (Ctrl+. on the marker).
    await s.page.keyboard.press('Control+Shift+M');
    const marker = s.page.locator('.markers-panel .monaco-list-row', { hasText: SENTENCE }).last();
    await marker.waitFor({ timeout: 20_000 });
    // One finding, one entry: while the outline is open it carries the finding (with its quick fix), the model file does not.
    await s.page.waitForTimeout(500);
    assert.equal(await s.page.locator('.markers-panel .monaco-list-row', { hasText: SENTENCE }).count(), 1, 'one Problems entry for the finding');
    await marker.hover();
    // The row gets a light bulb once its code actions are computed.
    await marker.locator('.markers-panel-action-quickfix').waitFor({ timeout: 20_000 });
    await marker.click();
    await s.page.keyboard.press('Control+.');
    const fix = s.page.locator('.action-widget, .context-view', { hasText: 'Apply sharing for this group' }).first();
    await fix.waitFor({ timeout: 20_000 });
    await screenshot(s.page, 'e2e-outline-quickfix');
    await s.page.keyboard.press('Escape');
    await s.page.keyboard.press('Control+Shift+M');
    // The group's row also leads to the group in the model editor: with its selection cleared, the lens selects it again.
    await focusModelTab();
    const group = webview(s.page).locator('#groups li.group', { hasText: COPY });
    if (await group.getAttribute('aria-selected') === 'true') await group.click();
    await s.page.locator('.tabs-container .tab', { hasText: `${MODEL}.outline` }).first().click();
    // Back to the top, where the group's row is (the search above scrolled to the copy's row).
    await s.page.keyboard.press('Control+Home');
    await editor.locator('.codelens-decoration a', { hasText: 'Show in model editor' }).first().click();
    await group.and(webview(s.page).locator('[aria-selected="true"]')).waitFor({ timeout: 20_000 });
  });

  test('Show Sharing Report opens the scan rendered; its Markdown source is one command away', async () => {
    await focusModelTab();
    await runCommand(s.page, 'Weight Sharing: Show Sharing Report');
    await s.page.locator('.tabs-container .tab.active', { hasText: 'Preview' }).waitFor({ timeout: 30_000 });
    const preview = webview(s.page);
    await preview.locator('h1', { hasText: `Weight sharing report: ${MODEL}` }).waitFor({ timeout: 30_000 });
    const row = preview.locator('tr', { hasText: 'transposed' }).first();
    assert.deepEqual((await row.locator('td').allInnerTexts()).slice(1, 4), ['transposed', '256 kB', 'yes']);
    await screenshot(s.page, 'e2e-report');
    await runCommand(s.page, 'Markdown: Show Source');
    const editor = s.page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-lines', { hasText: `# Weight sharing report: ${MODEL}` }).waitFor({ timeout: 30_000 });
  });

  test('the side panel buttons reach the host and get replies', async () => {
    await focusModelTab();
    const view = webview(s.page);
    await view.locator('.actions', { hasText: 'Outline' }).getByText('Outline', { exact: true }).click();
    // The outline opens (or comes to the front) beside the model…
    await s.page.locator('.tabs-container .tab.active', { hasText: `${MODEL}.outline` }).waitFor({ timeout: 30_000 });
    // …and the webview got the reply to its request.
    await focusModelTab();
    await view.locator('#status-line', { hasText: 'Open outline: done' }).waitFor({ timeout: 10_000 });
    await screenshot(s.page, 'e2e-webview-request');
  });

  test('Apply Sharing from the palette writes a smaller copy and never touches the input', async () => {
    const input = path.join(s.workspace, MODEL);
    const before = fs.statSync(input);
    const output = path.join(s.workspace, MODEL.replace(/\.onnx$/, '.shared.onnx'));
    await focusModelTab();
    await runCommand(s.page, 'Weight Sharing: Apply Sharing');
    // The multi-select quick pick: the lossless group is pre-selected.
    const item = s.page.locator('.quick-input-list .monaco-list-row', { hasText: COPY }).first();
    await item.waitFor({ timeout: 30_000 });
    assert.equal(await item.getAttribute('aria-checked'), 'true', 'lossless group pre-selected');
    await screenshot(s.page, 'e2e-apply-pick');
    await acceptQuickPick(s.page);
    // The save dialog (VS Code's simple dialog in the browser) proposes NAME.shared.onnx.
    assert.ok((await acceptSaveDialog(s.page, path.basename(output))).endsWith(path.basename(output)));
    const done = notification(s.page, /Saved 256 kB/);
    await done.waitFor({ timeout: 60_000 });
    await screenshot(s.page, 'e2e-apply-done');
    assert.ok(fs.existsSync(output), `${output} written`);
    const out = fs.statSync(output);
    assert.ok(out.size < before.size - 250_000, `output ${out.size} bytes vs input ${before.size}`);
    const after = fs.statSync(input);
    assert.equal(after.mtimeMs, before.mtimeMs, 'input untouched');
    assert.equal(after.size, before.size);

    // "Open" shows the written model in the editor: read back, nothing left to share.
    await done.locator('a.monaco-button, .monaco-button', { hasText: 'Open' }).first().click();
    await s.page.locator('.tabs-container .tab', { hasText: path.basename(output) }).waitFor({ timeout: 30_000 });
    // The embedding is now stored once and read twice (through an inserted Transpose): tied, no copy left.
    const tied = webview(s.page).locator('#groups li.group', { hasText: KEPT }).filter({ hasText: /tied/i });
    await tied.waitFor({ timeout: 60_000 });
    assert.match(await tied.innerText(), /already stored once/);
    assert.equal(await webview(s.page).locator('#groups li.group', { hasText: /transposed/i }).count(), 0);
    await screenshot(s.page, 'e2e-apply-opened');
    // Tied weights are Information in the Problems panel.
    await s.page.keyboard.press('Control+Shift+M');
    const info = s.page.locator('.markers-panel .monaco-list-row', { hasText: `${KEPT} is tied: one 256 kB weight read by 2 node inputs` });
    await info.waitFor({ timeout: 20_000 });
    assert.ok(await info.locator('.codicon-info, [class*="info"]').count() > 0, 'an Information entry');
    await screenshot(s.page, 'e2e-apply-tied-info');
    await s.page.keyboard.press('Control+Shift+M');
  });

  test('Apply from the side panel: its summary stays in the panel, Compare side by side draws the copy, and Open there opens it', async () => {
    await s.page.locator('.tabs-container .tab', { hasText: MODEL }).filter({ hasNotText: '.shared' }).first().click();
    const view = webview(s.page);
    await view.locator('.actions').getByText('Apply sharing…', { exact: true }).click();
    // The panel names its groups: no quick pick, straight to where to save (the earlier copy exists: a fresh name).
    const output = path.join(s.workspace, MODEL.replace(/\.onnx$/, '.shared-2.onnx'));
    await acceptSaveDialog(s.page, path.basename(output));
    const box = view.locator('#apply-result');
    await box.locator('h2', { hasText: 'Applied: saved 256 kB' }).waitFor({ timeout: 60_000 });
    assert.ok(fs.existsSync(output), `${output} written`);
    assert.match(await box.innerText(), new RegExp(`${path.basename(output).replace(/\./g, '\\.')}\\s+is [\\d.]+ kB`));
    assert.match(await box.locator('details.applied').innerText(), /Applied \(1\)/);
    await screenshot(s.page, 'e2e-apply-summary');
    // Side by side: the host scans the copy and the webview draws it beside the model, the inserted Transpose and the dropped copy marked.
    await box.locator('#compare-applied').click();
    const legend = view.locator('#compare-legend');
    await legend.waitFor({ timeout: 60_000 });
    assert.match(await legend.innerText(), /1 inserted\s+0 rewired\s+1 not stored/);
    await screenshot(s.page, 'e2e-compare');
    await view.locator('#compare-close').click();
    await box.locator('#open-applied').click();
    await s.page.locator('.tabs-container .tab', { hasText: path.basename(output) }).waitFor({ timeout: 30_000 });
  });
});
