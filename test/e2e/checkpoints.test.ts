// PyTorch checkpoints and GGUF files in a real VS Code (code-server +
// Chromium): each opens in the model editor as a module tree with its tie
// visible (one storage under two names; an output.weight llama.cpp re-creates
// from token_embd.weight), the GGUF header's facts in the Model tab, and
// Apply Sharing on a GGUF whose output.weight is a stored copy.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, beforeEach, describe } from 'node:test';
import { acceptQuickPick, acceptSaveDialog, notification, openFile, runCommand, screenshot, type Session, skipReason, startSession, stepsWithScreenshots, webview, webviewFrame } from './harness';

const BIN = 'gpt2-tiny.pytorch_model.bin';
const OMITTED = 'llama-tiny.omitted.gguf';
const COPIED = 'gpt2-tiny.output-copy.gguf';

describe('PyTorch checkpoints and GGUF in code-server', { skip: skipReason(), timeout: 15 * 60_000 }, () => {
  let s: Session;

  before(async () => {
    s = await startSession({ theme: 'Default Light Modern', files: [BIN, `gguf/${OMITTED}`, `gguf/${COPIED}`] });
  }, { timeout: 12 * 60_000 });

  after(async () => {
    await s?.close();
  });

  const test = stepsWithScreenshots('e2e-checkpoints', () => s?.page);

  beforeEach(async () => {
    await s?.page.keyboard.press('Escape');
    await s?.page.mouse.move(700, 890);
  });

  /** Whether each tensor is drawn in a group colour, and as not stored. */
  const drawn = async (names: string[]) => {
    const { frame } = await webviewFrame(s.page);
    return frame.evaluate((ids) => {
      const probe = window.weightSharingView!;
      const cy = probe.app.view!.cy;
      return {
        view: probe.app.view!.model.payload.view,
        tensors: ids.map((t) => {
          const item = probe.weightItemOf(t);
          const el = item ? cy.getElementById(item) : undefined;
          return { grouped: !!el?.hasClass('grouped'), unstored: !!el?.hasClass('unstored') };
        }),
      };
    }, names);
  };

  test('a torch.save checkpoint opens as a module tree: wte and lm_head, one storage, are one tied weight', async () => {
    await openFile(s.page, BIN);
    const view = webview(s.page);
    const tie = view.locator('#groups li.group', { hasText: 'lm_head.weight' }).filter({ hasText: 'transformer.wte.weight' });
    await tie.waitFor({ timeout: 120_000 });
    assert.match(await tie.innerText(), /tied/i);
    assert.match(await tie.innerText(), /already stored once/);
    const state = await drawn(['transformer.wte.weight', 'lm_head.weight']);
    assert.equal(state.view, 'modules');
    assert.ok(state.tensors.every((t) => t.grouped), JSON.stringify(state));
    await screenshot(s.page, 'e2e-checkpoints-bin');
  });

  test('a GGUF without output.weight: the name llama.cpp re-creates is drawn as not stored, tied to token_embd.weight; the header in the Model tab', async () => {
    await openFile(s.page, OMITTED);
    const view = webview(s.page);
    const tie = view.locator('#groups li.group', { hasText: 'token_embd.weight' }).filter({ hasText: 'output.weight' });
    await tie.waitFor({ timeout: 120_000 });
    assert.match(await tie.innerText(), /not stored/);
    const state = await drawn(['token_embd.weight', 'output.weight']);
    assert.equal(state.view, 'modules');
    assert.deepEqual(state.tensors, [{ grouped: true, unstored: false }, { grouped: true, unstored: true }]);
    await screenshot(s.page, 'e2e-checkpoints-gguf');
    await view.locator('#tab-model').click();
    const info = view.locator('.model-info');
    await info.waitFor();
    const text = await info.innerText();
    assert.match(text, /llama/);
    assert.match(text, /GGUF/);
    await screenshot(s.page, 'e2e-checkpoints-gguf-model-tab');
  });

  test('Apply Sharing on a GGUF whose output.weight is a stored copy writes NAME.shared.gguf; what GGUF cannot share is offered unselected, with why', async () => {
    const input = path.join(s.workspace, COPIED);
    const before = fs.statSync(input);
    const output = path.join(s.workspace, COPIED.replace(/\.gguf$/, '.shared.gguf'));
    await openFile(s.page, COPIED);
    await webview(s.page).locator('#groups li.group', { hasText: 'output.weight' }).first().waitFor({ timeout: 120_000 });
    await runCommand(s.page, 'Weight Sharing: Apply Sharing');
    const copy = s.page.locator('.quick-input-list .monaco-list-row', { hasText: 'output.weight' }).first();
    await copy.waitFor({ timeout: 30_000 });
    assert.equal(await copy.getAttribute('aria-checked'), 'true', 'the applicable group is pre-selected');
    const bias = s.page.locator('.quick-input-list .monaco-list-row', { hasText: 'ffn_up.bias' }).first();
    assert.equal(await bias.getAttribute('aria-checked'), 'false', 'what GGUF cannot share is not');
    assert.match(await bias.innerText(), /not applicable: GGUF has no way to store one tensor under two names/);
    await screenshot(s.page, 'e2e-checkpoints-gguf-pick');
    await acceptQuickPick(s.page);
    await acceptSaveDialog(s.page, path.basename(output));
    const done = notification(s.page, /Saved 256 kB/);
    await done.waitFor({ timeout: 60_000 });
    assert.ok(fs.existsSync(output), `${output} written`);
    assert.ok(fs.statSync(output).size <= before.size - 256_000);
    assert.equal(fs.statSync(input).mtimeMs, before.mtimeMs, 'input untouched');
    await done.locator('a.monaco-button, .monaco-button', { hasText: 'Open' }).first().click();
    await s.page.locator('.tabs-container .tab', { hasText: path.basename(output) }).waitFor({ timeout: 30_000 });
    const tie = webview(s.page).locator('#groups li.group', { hasText: 'output.weight' }).filter({ hasText: /tied/i });
    await tie.waitFor({ timeout: 60_000 });
    assert.match(await tie.innerText(), /not stored/);
    await screenshot(s.page, 'e2e-checkpoints-gguf-applied');
  });
});
