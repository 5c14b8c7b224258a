// A safetensors checkpoint in a real VS Code (code-server + Chromium): the
// module tree with the duplicated embedding highlighted and listed, the
// finding in Problems, Apply Sharing writing a smaller copy beside it, and
// the copy reopening with the dropped name as a recorded tie.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, beforeEach, describe } from 'node:test';
import { acceptQuickPick, acceptSaveDialog, notification, openFile, runCommand, screenshot, type Session, skipReason, startSession, stepsWithScreenshots, webview, webviewFrame } from './harness';

const MODEL = 'gpt2-tiny-untied.safetensors';
const KEPT = 'transformer.wte.weight';
const COPY = 'lm_head.weight';

describe('safetensors in code-server', { skip: skipReason(), timeout: 15 * 60_000 }, () => {
  let s: Session;

  before(async () => {
    s = await startSession({ theme: 'Default Light Modern', files: [MODEL, 'gpt2-tiny-hf'] });
  }, { timeout: 12 * 60_000 });

  after(async () => {
    await s?.close();
  });

  const test = stepsWithScreenshots('e2e-safetensors', () => s?.page);

  beforeEach(async () => {
    await s?.page.keyboard.press('Escape');
    await s?.page.mouse.move(700, 890);
  });

  test('opens the checkpoint as a module tree: the wte/lm_head copy highlighted, framed and listed', async () => {
    await openFile(s.page, MODEL);
    const view = webview(s.page);
    const group = view.locator('#groups li.group', { hasText: COPY }).filter({ hasText: KEPT });
    await group.waitFor({ timeout: 120_000 });
    assert.match(await group.locator('.saved').innerText(), /saves 256 kB/);
    assert.match(await group.innerText(), /exact/i);
    const { frame } = await webviewFrame(s.page);
    const state = await frame.evaluate(([kept, copy]) => {
      const probe = window.weightSharingView!;
      const cy = probe.app.view!.cy;
      return {
        view: probe.app.view!.model.payload.view,
        members: [kept, copy].map((t) => {
          const item = probe.weightItemOf(t);
          const el = item ? cy.getElementById(item) : undefined;
          return { grouped: !!el?.hasClass('grouped'), selected: !!el?.selected() };
        }),
      };
    }, [KEPT, COPY]);
    assert.equal(state.view, 'modules');
    for (const m of state.members) {
      assert.ok(m.grouped, 'drawn in the group colour');
      assert.ok(m.selected, 'the first view frames the largest group');
    }
    await screenshot(s.page, 'e2e-safetensors-open');
  });

  test('Problems lists the copy as a warning', async () => {
    await s.page.keyboard.press('Control+Shift+M');
    const row = s.page.locator('.markers-panel .monaco-list-row', { hasText: `${COPY} is an exact copy of ${KEPT}: 256 kB can be shared` });
    await row.waitFor({ timeout: 30_000 });
    await screenshot(s.page, 'e2e-safetensors-problems');
    await s.page.keyboard.press('Control+Shift+M');
  });

  test('Apply Sharing writes NAME.shared.safetensors, smaller, the input untouched; the copy reopens with the tie recorded', async () => {
    const input = path.join(s.workspace, MODEL);
    const before = fs.statSync(input);
    const output = path.join(s.workspace, MODEL.replace(/\.safetensors$/, '.shared.safetensors'));
    await s.page.locator('.tabs-container .tab', { hasText: MODEL }).first().click();
    await runCommand(s.page, 'Weight Sharing: Apply Sharing');
    const item = s.page.locator('.quick-input-list .monaco-list-row', { hasText: COPY }).first();
    await item.waitFor({ timeout: 30_000 });
    assert.equal(await item.getAttribute('aria-checked'), 'true', 'lossless group pre-selected');
    await acceptQuickPick(s.page);
    await acceptSaveDialog(s.page, path.basename(output));
    const done = notification(s.page, /Saved 257 kB|Saved 256 kB/);
    await done.waitFor({ timeout: 60_000 });
    assert.match(await done.innerText(), /restore/, 'the note says how to get the full checkpoint back');
    await screenshot(s.page, 'e2e-safetensors-apply-done');
    assert.ok(fs.existsSync(output), `${output} written`);
    assert.ok(fs.statSync(output).size < before.size - 250_000);
    const after = fs.statSync(input);
    assert.equal(after.mtimeMs, before.mtimeMs, 'input untouched');

    await done.locator('a.monaco-button, .monaco-button', { hasText: 'Open' }).first().click();
    await s.page.locator('.tabs-container .tab', { hasText: path.basename(output) }).waitFor({ timeout: 30_000 });
    const tie = webview(s.page).locator('#groups li.group', { hasText: COPY }).filter({ hasText: /tied/i });
    await tie.waitFor({ timeout: 60_000 });
    assert.match(await tie.innerText(), /not stored/);
    await screenshot(s.page, 'e2e-safetensors-apply-opened');
  });
});
