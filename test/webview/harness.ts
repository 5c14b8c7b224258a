// Runs the built webview (dist/webview.js + media/) in headless Chromium,
// served by a local http server with the production HTML and CSP from
// extension/view/html.ts, and a stub of acquireVsCodeApi that records what
// the page posts. VS Code's theme is emulated the way VS Code does it: CSS
// variables on <html> and a class on <body>. Reused by the inference panel
// tests (issue 5).
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { makeNonce, renderWebviewHtml } from '../../extension/view/html';
import type { HostToWebview, WebviewToHost } from '../../extension/protocol';

export const ROOT = join(__dirname, '..', '..');
export const RESULTS = join(ROOT, 'test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export type ThemeName = 'light' | 'dark' | 'high-contrast';

const MIME: Record<string, string> = {
  '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.map': 'application/json', '.json': 'application/json', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.onnx': 'application/octet-stream', '.data': 'application/octet-stream', '.ttf': 'font/ttf', '.woff2': 'font/woff2',
};

/** Colours close to VS Code's Light Modern / Dark Modern / High Contrast themes. */
const THEMES: Record<ThemeName, { bodyClass: string; vars: Record<string, string> }> = {
  light: {
    bodyClass: 'vscode-light',
    vars: {
      'editor-background': '#ffffff', 'editor-foreground': '#3b3b3b', foreground: '#3b3b3b',
      descriptionForeground: '#717171', 'panel-border': '#e5e5e5', focusBorder: '#005fb8',
      'editorWidget-background': '#f8f8f8', 'editorWidget-border': '#e5e5e5', 'sideBar-background': '#f8f8f8',
      'list-hoverBackground': '#f2f2f2', 'list-activeSelectionBackground': '#e8e8e8', 'list-activeSelectionForeground': '#000000',
      'editorHoverWidget-background': '#f8f8f8', 'editorHoverWidget-border': '#c8c8c8', 'widget-shadow': 'rgba(0,0,0,0.16)',
      'button-background': '#005fb8', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0258a8',
      'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b', 'button-secondaryHoverBackground': '#cccccc',
      'input-background': '#ffffff', 'input-foreground': '#3b3b3b', 'input-border': '#cecece', 'input-placeholderForeground': '#767676',
      'badge-background': '#cccccc', 'badge-foreground': '#3b3b3b', 'panelTitle-activeForeground': '#3b3b3b',
      'panelTitle-activeBorder': '#005fb8', 'panelTitle-inactiveForeground': '#3b3b3b', 'panel-background': '#f8f8f8',
      errorForeground: '#f85149', 'editor-selectionBackground': '#add6ff', 'progressBar-background': '#005fb8',
      'dropdown-background': '#ffffff', 'dropdown-foreground': '#3b3b3b', 'dropdown-border': '#cecece', 'dropdown-listBackground': '#ffffff',
    },
  },
  dark: {
    bodyClass: 'vscode-dark',
    vars: {
      'editor-background': '#1f1f1f', 'editor-foreground': '#cccccc', foreground: '#cccccc',
      descriptionForeground: '#9d9d9d', 'panel-border': '#2b2b2b', focusBorder: '#0078d4',
      'editorWidget-background': '#202020', 'editorWidget-border': '#313131', 'sideBar-background': '#181818',
      'list-hoverBackground': '#2a2d2e', 'list-activeSelectionBackground': '#04395e', 'list-activeSelectionForeground': '#ffffff',
      'editorHoverWidget-background': '#202020', 'editorHoverWidget-border': '#454545', 'widget-shadow': 'rgba(0,0,0,0.36)',
      'button-background': '#0078d4', 'button-foreground': '#ffffff', 'button-hoverBackground': '#026ec1',
      'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc', 'button-secondaryHoverBackground': '#3c3c3c',
      'input-background': '#313131', 'input-foreground': '#cccccc', 'input-border': '#3c3c3c', 'input-placeholderForeground': '#989898',
      'badge-background': '#616161', 'badge-foreground': '#f8f8f8', 'panelTitle-activeForeground': '#cccccc',
      'panelTitle-activeBorder': '#0078d4', 'panelTitle-inactiveForeground': '#9d9d9d', 'panel-background': '#181818',
      errorForeground: '#f85149', 'editor-selectionBackground': '#264f78', 'progressBar-background': '#0078d4',
      'dropdown-background': '#313131', 'dropdown-foreground': '#cccccc', 'dropdown-border': '#3c3c3c', 'dropdown-listBackground': '#1f1f1f',
    },
  },
  'high-contrast': {
    bodyClass: 'vscode-high-contrast',
    vars: {
      'editor-background': '#000000', 'editor-foreground': '#ffffff', foreground: '#ffffff',
      descriptionForeground: '#ffffff', 'panel-border': '#6fc3df', focusBorder: '#f38518', contrastBorder: '#6fc3df',
      'editorWidget-background': '#0c141f', 'editorWidget-border': '#6fc3df', 'sideBar-background': '#000000',
      'list-hoverBackground': '#000000', 'list-activeSelectionBackground': '#000000', 'list-activeSelectionForeground': '#ffffff',
      'editorHoverWidget-background': '#0c141f', 'editorHoverWidget-border': '#6fc3df', 'widget-shadow': 'rgba(0,0,0,0)',
      'button-background': '#000000', 'button-foreground': '#ffffff', 'button-border': '#6fc3df',
      'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff',
      'input-background': '#000000', 'input-foreground': '#ffffff', 'input-border': '#6fc3df',
      'badge-background': '#000000', 'badge-foreground': '#ffffff', 'panelTitle-activeForeground': '#ffffff',
      'panelTitle-activeBorder': '#6fc3df', 'panelTitle-inactiveForeground': '#ffffff', 'panel-background': '#000000',
      errorForeground: '#f48771', 'editor-selectionBackground': '#ffffff', 'progressBar-background': '#6fc3df',
      'dropdown-background': '#000000', 'dropdown-foreground': '#ffffff', 'dropdown-border': '#6fc3df', 'dropdown-listBackground': '#000000',
    },
  },
};

const FONT_VARS = {
  'font-family': '"DejaVu Sans", system-ui, sans-serif',
  'font-size': '13px',
  'font-weight': 'normal',
  'editor-font-family': '"DejaVu Sans Mono", monospace',
};

/** JavaScript that applies a theme the way VS Code's webview host does. */
export function themeScript(name: ThemeName): string {
  const t = THEMES[name];
  const vars = { ...FONT_VARS, ...t.vars };
  return `(() => {
    const vars = ${JSON.stringify(vars)};
    const root = document.documentElement;
    for (const [k, v] of Object.entries(vars)) root.style.setProperty('--vscode-' + k, v);
    const apply = () => { document.body.classList.remove('vscode-light','vscode-dark','vscode-high-contrast'); document.body.classList.add(${JSON.stringify(t.bodyClass)}); };
    if (document.body) apply(); else document.addEventListener('readystatechange', () => { if (document.body) apply(); }, { once: true });
  })();`;
}

/** Stub of the VS Code webview API, plus a record of CSP violations. */
function preludeFor(theme: ThemeName): string {
  return `
    window.__posted = [];
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
    });
    let state;
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => { window.__posted.push(JSON.parse(JSON.stringify(m))); },
      getState: () => state,
      setState: (s) => { state = s; },
    });
    ${themeScript(theme)}
  `;
}

export class WebviewHarness {
  private constructor(readonly browser: Browser, private readonly server: Server, readonly origin: string) {}

  /**
   * `args`: extra Chromium switches (the inference tests add
   * `--enable-unsafe-webgpu` for the SwiftShader WebGPU adapter). `serve`:
   * extra folders served read-only under `/<prefix>/` (models written by a
   * test, e.g. a shared copy in a temp folder).
   */
  static async start(o: { args?: string[]; serve?: Record<string, string> } = {}): Promise<WebviewHarness> {
    const webviewJs = join(ROOT, 'dist', 'webview.js');
    if (!existsSync(webviewJs)) throw new Error(`${webviewJs} is missing: run \`npm run build\` first`);
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/' || url.pathname === '/index.html') {
        const theme = (url.searchParams.get('theme') ?? 'dark') as ThemeName;
        const nonce = makeNonce();
        const origin = `http://${req.headers.host}`;
        const html = renderWebviewHtml({
          cspSource: origin, nonce, scriptUri: `${origin}/dist/webview.js`, styleUri: `${origin}/media/webview.css`,
          title: url.searchParams.get('title') ?? 'model.onnx', preludeScript: preludeFor(theme in THEMES ? theme : 'dark'),
        });
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(html);
        return;
      }
      if (url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      // Static files under dist/, media/ and the test fixtures only.
      const rel = normalize(decodeURIComponent(url.pathname)).replace(/^[/\\]+/, '');
      const [prefix, ...restParts] = rel.split(sep);
      const extraDir = o.serve?.[prefix];
      if (extraDir !== undefined) {
        const extraFile = join(extraDir, ...restParts);
        if (!extraFile.startsWith(extraDir + sep) || !existsSync(extraFile) || !statSync(extraFile).isFile()) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': MIME[extname(extraFile)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
        res.end(readFileSync(extraFile));
        return;
      }
      const allowed = ['dist', 'media', join('test', 'fixtures')].some((d) => rel === d || rel.startsWith(d + sep));
      const file = join(ROOT, rel);
      if (!allowed || !file.startsWith(ROOT + sep) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(readFileSync(file));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-gpu', ...(o.args ?? [])],
    });
    return new WebviewHarness(browser, server, `http://127.0.0.1:${port}`);
  }

  /** Opens the webview page; resolves once it has posted `ready`. */
  async open(o: { theme?: ThemeName; width?: number; height?: number; title?: string } = {}): Promise<WebviewPage> {
    const context = await this.browser.newContext({ viewport: { width: o.width ?? 1400, height: o.height ?? 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const wp = new WebviewPage(page);
    const q = new URLSearchParams({ theme: o.theme ?? 'dark', title: o.title ?? 'model.onnx' });
    await page.goto(`${this.origin}/?${q}`);
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'ready'));
    return wp;
  }

  async close(): Promise<void> {
    await this.browser.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export class WebviewPage {
  readonly consoleErrors: string[] = [];
  readonly pageErrors: string[] = [];

  constructor(readonly page: Page) {
    page.on('console', (m: ConsoleMessage) => {
      if (m.type() === 'error' || m.type() === 'warning') this.consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => this.pageErrors.push(e.message));
  }

  /** Delivers a host message the way VS Code does: a window message event. */
  async post(msg: HostToWebview): Promise<void> {
    await this.page.evaluate((m) => window.postMessage(m, '*'), msg as unknown as Record<string, unknown>);
  }

  /** Posts the model and waits until the graph has painted. */
  async showModel(msg: Extract<HostToWebview, { type: 'model' }>, o: { timeout?: number } = {}): Promise<void> {
    await this.post(msg);
    await this.page.waitForFunction(() => {
      const w = window as unknown as { weightSharingView?: { app: { timings: { interactive?: number } } } };
      return w.weightSharingView?.app.timings.interactive !== undefined;
    }, undefined, { timeout: o.timeout ?? 30_000 });
  }

  /**
   * Waits for the page's first unanswered request for `method` and answers
   * it as the host would; resolves with the request.
   */
  async reply(method: string, result: unknown, o: { timeout?: number } = {}): Promise<Extract<WebviewToHost, { type: 'request' }>> {
    const handle = await this.page.waitForFunction((m) => {
      const w = window as unknown as { __posted: Array<{ type: string; method?: string; id?: number }>; __answered?: Set<number> };
      const answered = (w.__answered ??= new Set());
      return w.__posted.find((p) => p.type === 'request' && p.method === m && !answered.has(p.id!)) ?? null;
    }, method, { timeout: o.timeout ?? 30_000 });
    const request = await handle.jsonValue() as Extract<WebviewToHost, { type: 'request' }>;
    await this.page.evaluate((id) => (window as unknown as { __answered: Set<number> }).__answered.add(id), request.id);
    await this.post({ type: 'reply', id: request.id, ok: true, result });
    return request;
  }

  async posted(): Promise<WebviewToHost[]> {
    return this.page.evaluate(() => (window as unknown as { __posted: WebviewToHost[] }).__posted);
  }

  async cspViolations(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
  }

  async counts(): Promise<Record<string, number>> {
    return this.page.evaluate(() => (window as unknown as { weightSharingView: { counts(): Record<string, number> } }).weightSharingView.counts());
  }

  async timings(): Promise<Record<string, number>> {
    return this.page.evaluate(() => ({ ...(window as unknown as { weightSharingView: { app: { timings: Record<string, number> } } }).weightSharingView.app.timings }));
  }

  /** Page coordinates of a drawn element, or null. */
  async position(id: string): Promise<{ x: number; y: number } | null> {
    return this.page.evaluate((i) => (window as unknown as { weightSharingView: { pagePosition(id: string): { x: number; y: number } | null } }).weightSharingView.pagePosition(i), id);
  }

  /** Pans a drawn node to the middle of the view, as scrolling to it would; false when it is not drawn. */
  async centre(id: string): Promise<boolean> {
    return this.page.evaluate((i) => (window as unknown as { weightSharingView: { centre(id: string): boolean } }).weightSharingView.centre(i), id);
  }

  async drawnFor(itemId: string): Promise<string | null> {
    return this.page.evaluate((i) => (window as unknown as { weightSharingView: { drawnFor(id: string): string | null } }).weightSharingView.drawnFor(i), itemId);
  }

  async weightItemOf(tensorId: string): Promise<string | null> {
    return this.page.evaluate((i) => (window as unknown as { weightSharingView: { weightItemOf(id: string): string | null } }).weightSharingView.weightItemOf(i), tensorId);
  }

  /** Ids of the selected cytoscape nodes. */
  async selectedIds(): Promise<string[]> {
    return this.page.evaluate(() => {
      const w = window as unknown as { weightSharingView: { app: { view: { cy: { nodes(sel: string): { map(f: (n: { id(): string }) => string): string[] } } } } } };
      return w.weightSharingView.app.view.cy.nodes(':selected').map((n) => n.id());
    });
  }

  async setTheme(name: ThemeName): Promise<void> {
    // What VS Code does on a theme switch: new variables on <html>, a new body class.
    await this.page.evaluate(({ vars, cls }) => {
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(`--vscode-${k}`, v);
      document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
      document.body.classList.add(cls);
    }, { vars: { ...FONT_VARS, ...THEMES[name].vars }, cls: THEMES[name].bodyClass });
    await this.page.waitForTimeout(100);
  }

  async screenshot(name: string): Promise<string> {
    const path = join(RESULTS, `${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  async close(): Promise<void> {
    await this.page.context().close();
  }
}
