// End-to-end harness: a real VS Code (code-server) with the built extension,
// driven through Debian's Chromium by playwright-core. Installs what it needs
// on a fresh machine through scripts/codeServer.mjs (shared with `npm start`)
// and works in a temporary copy of the corpus, so outputs land there.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test as nodeTest } from 'node:test';
import { chromium, type Browser, type Frame, type FrameLocator, type Locator, type Page } from 'playwright-core';
import type { CodeServer } from '../../scripts/codeServer.mjs' with { 'resolution-mode': 'import' };

// scripts/codeServer.mjs is an ES module (npm start runs it without a build);
// these tests compile as CommonJS, so it is loaded with import().
const codeServer = () => import('../../scripts/codeServer.mjs');

export const root = path.join(__dirname, '..', '..');
export const resultsDir = path.join(root, 'test-results');
export const corpusDir = path.join(root, 'test', 'fixtures', 'corpus');

export interface Session {
  server: CodeServer;
  browser: Browser;
  page: Page;
  workspace: string;
  timings: Record<string, number>;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Workbench colour theme, e.g. 'Default Light Modern'. */
  theme?: string;
  settings?: Record<string, unknown>;
  /** Files of the corpus to copy into the workspace (default: all of it); `gguf/NAME` for other fixture folders. */
  files?: string[];
  width?: number;
  height?: number;
}

const log = (msg: string) => process.stderr.write(`[e2e] ${msg}\n`);

async function timed<T>(timings: Record<string, number>, name: string, run: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await run();
  } finally {
    timings[name] = (Date.now() - t0) / 1000;
    log(`${name}: ${timings[name].toFixed(1)} s`);
  }
}

/** Builds the extension, installs code-server if needed, starts it and a browser on a fresh workspace. */
export async function startSession(options: SessionOptions = {}): Promise<Session> {
  const timings: Record<string, number> = {};
  const { buildExtension, chromiumPath, ensureCodeServer, startCodeServer } = await codeServer();
  await timed(timings, 'install (code-server, chromium)', () => ensureCodeServer());
  await timed(timings, 'build', () => buildExtension());
  fs.mkdirSync(resultsDir, { recursive: true });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-e2e-'));
  const workspace = path.join(tmp, 'models');
  const stateDir = path.join(tmp, 'state');
  fs.mkdirSync(workspace, { recursive: true });
  for (const name of options.files ?? fs.readdirSync(corpusDir)) {
    if (name === 'generate') continue;
    // A bare name is a corpus file; `gguf/x.gguf` is another fixture folder's file.
    const from = name.includes('/') ? path.join(corpusDir, '..', name) : path.join(corpusDir, name);
    fs.cpSync(from, path.join(workspace, path.basename(name)), { recursive: true });
  }

  const server = await timed(timings, 'code-server start', () => startCodeServer({
    workspace,
    stateDir,
    logFile: path.join(tmp, 'code-server.log'),
    settings: {
      'workbench.colorTheme': options.theme ?? 'Default Dark Modern',
      'window.commandCenter': false,
      'editor.minimap.enabled': false,
      'workbench.editor.enablePreview': false,
      'explorer.confirmDragAndDrop': false,
      'files.simpleDialog.enable': true,
      // Keep notifications from the gallery (offline) out of screenshots.
      'extensions.ignoreRecommendations': true,
      ...options.settings,
    },
  }));
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--no-sandbox', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--enable-unsafe-webgpu',
    ],
  });
  const context = await browser.newContext({ viewport: { width: options.width ?? 1440, height: options.height ?? 900 } });
  const page = await context.newPage();
  await timed(timings, 'workbench load', async () => {
    await page.goto(server.workspaceUrl);
    await page.locator('div.monaco-workbench').waitFor({ timeout: 60_000 });
    // The explorer lists the workspace once the file service is up.
    await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
  });

  let closed = false;
  return {
    server, browser, page, workspace, timings,
    async close() {
      if (closed) return;
      closed = true;
      await browser.close().catch(() => undefined);
      await server.stop();
      if (!process.env.WEIGHT_SHARING_E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
      else log(`kept ${tmp}`);
    },
  };
}

/**
 * Opens the quick input with `keys` and returns its input box. Keystrokes
 * can be lost while focus moves into a webview, so it retries.
 */
async function quickInput(page: Page, keys: string): Promise<Locator> {
  const input = page.locator('.quick-input-widget input');
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press(keys);
    try {
      await input.waitFor({ state: 'visible', timeout: 3000 });
      return input;
    } catch (err) {
      if (attempt >= 4) throw err;
      // Give focus back to the workbench (not a webview) and try again.
      await page.locator('.statusbar').click({ position: { x: 600, y: 5 } }).catch(() => undefined);
    }
  }
}

/** Opens a workspace file by name through Quick Open (Ctrl+P). */
export async function openFile(page: Page, name: string): Promise<void> {
  const input = await quickInput(page, 'Control+P');
  await input.fill(name);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
}

/**
 * Opens a model by Quick Open and waits until its graph is interactive.
 * Resolves with the seconds that took and the nodes drawn. The visible
 * webview stays the previous editor's until the new one shows, so it waits
 * for the one titled with the file's name.
 */
export async function openModelEditor(page: Page, name: string, timeout = 300_000): Promise<{ seconds: number; drawn: number; frame: Frame }> {
  const t0 = performance.now();
  await openFile(page, name);
  for (;;) {
    const { frame } = await webviewFrame(page);
    const title = await frame.evaluate(() => document.title).catch(() => '');
    if (title === name) {
      await frame.waitForFunction(() => window.weightSharingView?.app.timings.interactive !== undefined, undefined, { timeout });
      const drawn = await frame.evaluate(() => window.weightSharingView!.counts().drawingNodes);
      return { seconds: (performance.now() - t0) / 1000, drawn, frame };
    }
    if (performance.now() - t0 > timeout) throw new Error(`no webview titled ${name} after ${timeout} ms`);
    await page.waitForTimeout(200);
  }
}

/** Runs a command from the palette by its title. */
export async function runCommand(page: Page, title: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const input = await quickInput(page, 'Control+Shift+P');
    try {
      await input.fill(`>${title}`, { timeout: 5000 });
      // Wait until the list has settled on the command, then run it with Enter
      // (a click can land on a row that is being re-rendered).
      const focused = page.locator('.quick-input-list .monaco-list-row.focused', { hasText: title });
      await focused.waitFor({ timeout: 20_000 });
      await input.press('Enter', { timeout: 5000 });
      break;
    } catch (err) {
      // A webview that takes focus late (after a click on its tab) closes the
      // palette under us: open it again. Anything else is a real failure.
      if (attempt >= 2 || (await input.isVisible())) throw err;
      log(`the command palette closed before '${title}' ran; opening it again`);
    }
  }
  await page.locator('.quick-input-widget', { hasText: title }).waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
}

/** The document inside the visible custom editor's webview. */
export function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready:visible').frameLocator('#active-frame');
}

/**
 * The webview's document as a Frame (for evaluate), and where its viewport
 * sits on the page (to turn its coordinates into page coordinates).
 */
export async function webviewFrame(page: Page): Promise<{ frame: Frame; offset: { x: number; y: number } }> {
  const inner = page.frameLocator('iframe.webview.ready:visible').locator('#active-frame');
  await inner.waitFor({ timeout: 30_000 });
  const handle = await inner.elementHandle();
  const frame = await handle?.contentFrame();
  const box = await handle?.boundingBox();
  if (!frame || !box) throw new Error('the webview frame has no content');
  return { frame, offset: { x: box.x, y: box.y } };
}

/**
 * Centres the graph on a weight tensor and moves the mouse over it; returns
 * the webview's tooltip (visible).
 */
export async function hoverWeight(page: Page, tensorId: string): Promise<Locator> {
  const tooltip = webview(page).locator('#tooltip');
  for (let attempt = 0; ; attempt++) {
    // Positions are read fresh each time: a layout change (the sidebar
    // toggled) resizes the webview under the graph.
    const { frame, offset } = await webviewFrame(page);
    const item = await frame.evaluate((t) => {
      const probe = window.weightSharingView!;
      const id = probe.weightItemOf(t);
      if (!id) return null;
      const cy = probe.app.view!.cy;
      cy.resize();
      cy.center(cy.getElementById(id));
      return id;
    }, tensorId);
    if (!item) throw new Error(`${tensorId} is not drawn as a weight`);
    const pos = await frame.evaluate((id) => window.weightSharingView!.pagePosition(id), item);
    if (!pos) throw new Error(`${item} has no position`);
    // Enter the node from outside it, so the graph sees a fresh mouseover.
    await page.mouse.move(offset.x + 5, offset.y + 200);
    await page.mouse.move(offset.x + pos.x, offset.y + pos.y, { steps: 5 });
    try {
      await tooltip.waitFor({ state: 'visible', timeout: 5_000 });
      return tooltip;
    } catch (err) {
      if (attempt >= 2) throw err;
      await page.waitForTimeout(500);
    }
  }
}

/**
 * Accepts the open quick pick (Enter on its own text box: a webview that
 * takes focus late would get a bare key press, and the pick stay open).
 */
export async function acceptQuickPick(page: Page): Promise<void> {
  await page.locator('.quick-input-widget .quick-input-box input').press('Enter', { timeout: 10_000 });
}

/**
 * Waits for VS Code's save dialog (the simple one in the browser) to propose
 * a path ending in `fileName`, accepts it, and returns the proposed path.
 */
export async function acceptSaveDialog(page: Page, fileName: string): Promise<string> {
  const proposed = await page.waitForFunction((want) => {
    const el = document.querySelector<HTMLInputElement>('.quick-input-widget input');
    return el && el.value.endsWith(want) ? el.value : null;
  }, fileName, { timeout: 20_000 });
  const value = await proposed.jsonValue() as string;
  await acceptQuickPick(page);
  return value;
}

export function notification(page: Page, text: string | RegExp): Locator {
  return page.locator('.notifications-toasts .notification-toast', { hasText: text });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const file = path.join(resultsDir, `${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${path.relative(root, file)}`);
  return file;
}

/**
 * A screenshot for the README: always in test-results/, and also in
 * media/screenshots/ (committed) when WEIGHT_SHARING_UPDATE_SCREENSHOTS=1.
 */
export async function readmeScreenshot(page: Page, name: string): Promise<string> {
  const file = await screenshot(page, name);
  if (process.env.WEIGHT_SHARING_UPDATE_SCREENSHOTS === '1') {
    const dir = path.join(root, 'media', 'screenshots');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(file, path.join(dir, `${name}.png`));
    log(`updated media/screenshots/${name}.png`);
  }
  return file;
}

/**
 * `test` whose failure leaves a screenshot of what the page showed
 * (`test-results/PREFIX-FAILED-name.png`).
 */
export function stepsWithScreenshots(prefix: string, page: () => Page | undefined) {
  return (name: string, fn: () => Promise<void>) => nodeTest(name, async () => {
    try {
      await fn();
    } catch (err) {
      const p = page();
      if (p) await screenshot(p, `${prefix}-FAILED-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`).catch(() => undefined);
      throw err;
    }
  });
}

export function skipReason(): string | undefined {
  if (process.env.WEIGHT_SHARING_SKIP_E2E) return 'WEIGHT_SHARING_SKIP_E2E is set';
  if (process.platform !== 'linux') return 'the e2e recipe (Debian chromium, apt-get) is Linux-only';
  return undefined;
}
