// The inference check in a real VS Code (code-server + Chromium with
// --enable-unsafe-webgpu): open a model, Apply Sharing, press "Run Inference
// Check" in the notification, and read PASS and the backend in the model
// editor's Inference tab; a model onnxruntime rejects shows the reason and
// hint in the panel and an Error in the Problems panel. Screenshots in
// test-results/.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, beforeEach, describe } from 'node:test';
import { acceptQuickPick, acceptSaveDialog, notification, openFile, runCommand, screenshot, type Session, skipReason, startSession, stepsWithScreenshots, webview } from './harness';

const MODEL = 'bert-tiny-mlm-trained.onnx';
const REJECTED = 'gpt2-tiny.onnx';

describe('inference check in code-server', { skip: skipReason(), timeout: 15 * 60_000 }, () => {
  let s: Session;

  before(async () => {
    s = await startSession({
      theme: 'Default Dark Modern',
      files: [MODEL, 'bert-tiny-mlm-trained.test_data_set_0', REJECTED],
    });
  }, { timeout: 12 * 60_000 });

  after(async () => {
    await s?.close();
  });

  const test = stepsWithScreenshots('e2e-inference', () => s?.page);

  beforeEach(async () => {
    await s?.page.keyboard.press('Escape');
    await s?.page.keyboard.press('Escape');
  });

  test('Apply Sharing, then "Run Inference Check": PASS against the test data and the shared copy, with the backend named', async () => {
    await openFile(s.page, MODEL);
    await webview(s.page).locator('#groups li.group').first().waitFor({ timeout: 60_000 });
    await s.page.locator('.tabs-container .tab', { hasText: MODEL }).first().click();
    await runCommand(s.page, 'Weight Sharing: Apply Sharing');
    const item = s.page.locator('.quick-input-list .monaco-list-row').first();
    await item.waitFor({ timeout: 30_000 });
    await acceptQuickPick(s.page);
    const output = path.join(s.workspace, MODEL.replace(/\.onnx$/, '.shared.onnx'));
    await acceptSaveDialog(s.page, path.basename(output));
    const done = notification(s.page, /Saved/);
    await done.waitFor({ timeout: 60_000 });
    assert.ok(fs.existsSync(output));
    const t0 = Date.now();
    await done.locator('.monaco-button', { hasText: 'Run Inference Check' }).first().click();

    // The model's editor shows its Inference tab and runs the check there.
    const panel = webview(s.page);
    await panel.locator('#inf-status').waitFor({ state: 'visible', timeout: 30_000 });
    await screenshot(s.page, 'e2e-inference-running');
    const verdict = panel.locator('#inf-verdict');
    await verdict.waitFor({ timeout: 180_000 });
    const seconds = (Date.now() - t0) / 1000;
    process.stderr.write(`[e2e] inference check from the button to the verdict: ${seconds.toFixed(1)} s\n`);
    assert.equal(await verdict.innerText(), 'PASS');
    const backend = await panel.locator('#inf-ran-on').innerText();
    process.stderr.write(`[e2e] backend: ${backend}\n`);
    assert.match(backend, /^(WebGPU · .+|WASM \(1 thread\) · .+)$/);
    const report = panel.locator('#inf-report');
    const against = await report.locator('.inf-comparison').evaluateAll((uls) => uls.map((ul) => (ul as HTMLElement).dataset.against));
    assert.deepEqual(against, ['reference', 'model']);
    assert.match(await report.innerText(), /PASS against\s+bert-tiny-mlm-trained\.shared\.onnx/);
    assert.match(await panel.locator('#tab-inference').getAttribute('aria-selected') ?? '', /true/);
    await screenshot(s.page, 'e2e-inference-pass');
  });

  test('a model onnxruntime rejects: reason and hint in the panel, an Error in the Problems panel', async () => {
    await openFile(s.page, REJECTED);
    await s.page.locator('.tabs-container .tab', { hasText: REJECTED }).first().waitFor({ timeout: 30_000 });
    await webview(s.page).locator('#groups').waitFor({ timeout: 60_000 });
    await runCommand(s.page, 'Weight Sharing: Run Inference Check');
    const panel = webview(s.page);
    const error = panel.locator('#inf-error');
    await error.waitFor({ timeout: 180_000 });
    assert.match(await panel.locator('#inf-error-reason').innerText(), /Unrecognized attribute: num_outputs for operator Split/);
    assert.match(await panel.locator('#inf-error-hint').innerText(), /opset 18/);
    await screenshot(s.page, 'e2e-inference-rejected');
    await s.page.keyboard.press('Control+Shift+M');
    const marker = s.page.locator('.markers-panel .monaco-list-row', { hasText: /onnxruntime-web rejected the model/ });
    await marker.first().waitFor({ timeout: 30_000 });
    await screenshot(s.page, 'e2e-inference-problems');
  });
});
