// The extension in a real VS Code (code-server + Chromium): opens a corpus
// model in the custom editor and checks what the user would see.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Session, openFile, screenshot, skipReason, startSession, webview } from './harness';

const MODEL = 'bert-tiny-mlm-trained.onnx';

describe('model editor in code-server', { skip: skipReason(), timeout: 15 * 60_000 }, () => {
  let s: Session;

  before(async () => {
    s = await startSession({ theme: 'Default Dark Modern' });
  }, { timeout: 12 * 60_000 });

  after(async () => {
    await s?.close();
  });

  test('opens the model in the custom editor', async () => {
    const t0 = Date.now();
    await openFile(s.page, MODEL);
    const tab = s.page.locator('.tabs-container .tab', { hasText: MODEL });
    await tab.waitFor();
    const frame = webview(s.page);
    await frame.locator('#app').waitFor({ timeout: 30_000 });
    process.stderr.write(`[e2e] editor frame up after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    await s.page.waitForTimeout(1500);
    await screenshot(s.page, 'e2e-open-model');
    assert.equal(await tab.count(), 1);
  });
});
