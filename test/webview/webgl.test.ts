// Cytoscape's WebGL renderer in the webview (issue 11): which renderer each
// setting picks, and that WebGL, where chosen, draws the graph, times its
// paints and picks what is clicked. Headless Chromium's WebGL2 is
// SwiftShader, a software rasteriser: 'auto' must keep the canvas there.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type cytoscape from 'cytoscape';
import { packGraphPayload } from '../../extension/view/packedPayload';
import type { GraphRendererSetting } from '../../extension/protocol';
import { DEFAULT_MIN_BYTES } from '../../extension/sharing/types';
import type { WebglSupport } from '../../webview/webgl.js' with { 'resolution-mode': 'import' };
import { RESULTS, WebviewHarness, type ThemeName, type WebviewPage } from './harness';
import { syntheticTransformer } from './synthetic';

type ViewWindow = { weightSharingView: { app: { view: { cy: cytoscape.Core } } } };

// The webview's modules are ES modules.
const webglModule = import('../../webview/webgl.js');

test('chooseRenderer: auto takes WebGL only for a large graph on a GPU; the setting forces either', async () => {
  const { chooseRenderer, LARGE_GRAPH_ITEMS } = await webglModule;
  const gpu: WebglSupport = { available: true, software: false, renderer: 'ANGLE (NVIDIA)' };
  const soft: WebglSupport = { available: true, software: true, renderer: 'SwiftShader' };
  const none: WebglSupport = { available: false, software: false, renderer: 'none' };
  const large = LARGE_GRAPH_ITEMS + 1;
  const webgl = (setting: GraphRendererSetting, items: number, support: WebglSupport) => chooseRenderer(setting, items, () => support).webgl;
  assert.equal(webgl('auto', large, gpu), true);
  assert.equal(webgl('auto', LARGE_GRAPH_ITEMS, gpu), false, 'a small graph draws fine on the canvas');
  assert.equal(webgl('auto', large, soft), false, 'software WebGL is slower than the canvas');
  assert.equal(webgl('auto', large, none), false);
  assert.equal(webgl('webgl', 10, soft), true);
  assert.equal(webgl('webgl', large, none), false, 'no WebGL2: the canvas, whatever the setting');
  assert.equal(webgl('canvas', large, gpu), false);
  assert.match(chooseRenderer('auto', large, () => soft).why, /software-rendered \(SwiftShader\)/);
  // The probe creates WebGL contexts: not run when the answer does not need it.
  let probed = 0;
  const probe = () => { probed++; return gpu; };
  chooseRenderer('canvas', large, probe);
  chooseRenderer('auto', 10, probe);
  assert.equal(probed, 0);
});

let harness: WebviewHarness;
const graph = syntheticTransformer({ operators: 20_000, scoped: true });
const payload = packGraphPayload(graph);

before(async () => {
  fs.mkdirSync(RESULTS, { recursive: true });
  harness = await WebviewHarness.start();
});
after(async () => {
  await harness?.close();
});

async function open(renderer: GraphRendererSetting, theme: ThemeName = 'dark'): Promise<WebviewPage> {
  const page = await harness.open({ theme, title: graph.fileName });
  await page.showModel({ type: 'model', graph: payload, settings: { collapseThreshold: 1000, minBytes: DEFAULT_MIN_BYTES, renderer } }, { timeout: 120_000 });
  return page;
}

const webglCanvases = (page: WebviewPage) => page.page.locator('canvas[data-id$="-webgl"]').count();
const status = (page: WebviewPage) => page.page.evaluate(() => {
  const s = document.querySelector('#status-line')!;
  return { text: s.textContent ?? '', title: s.getAttribute('title') ?? '' };
});

/**
 * Of the WebGL canvas's pixels, how many are painted and how many are
 * within 40 of `rgb` in each channel, read in the frame cytoscape has just
 * drawn (before the browser may clear the drawing buffer).
 */
function pixelsNear(page: WebviewPage, rgb: [number, number, number]): Promise<{ painted: number; near: number; all: number }> {
  return page.page.evaluate((want) => new Promise<{ painted: number; near: number; all: number }>((resolve) => {
    const cy = (window as unknown as ViewWindow).weightSharingView.app.view.cy;
    const canvas = document.querySelector('canvas[data-id$="-webgl"]') as HTMLCanvasElement;
    cy.one('render', () => {
      const gl = canvas.getContext('webgl2')!;
      const px = new Uint8Array(canvas.width * canvas.height * 4);
      gl.readPixels(0, 0, canvas.width, canvas.height, gl.RGBA, gl.UNSIGNED_BYTE, px);
      let near = 0;
      let painted = 0;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3]! > 0) painted++;
        if (Math.abs(px[i]! - want[0]) <= 40 && Math.abs(px[i + 1]! - want[1]) <= 40 && Math.abs(px[i + 2]! - want[2]) <= 40) near++;
      }
      resolve({ painted, near, all: px.length / 4 });
    });
    cy.style().update(); // a frame to read
  }), rgb);
}

test('weightSharing.graph.renderer "webgl": WebGL draws the graph, paints are timed, clicks pick the node under them', { timeout: 240_000 }, async () => {
  const page = await open('webgl');
  // First paint was timed (showModel waits for it): WebGL frames emit 'render' too.
  assert.equal((await page.counts()).webgl, 1);
  assert.equal(await webglCanvases(page), 1, 'cytoscape drew into a WebGL canvas');
  const s = await status(page);
  assert.match(s.text, / · WebGL$/);
  assert.match(s.title, /WebGL renderer \(setting\), on .+/);

  // The WebGL canvas holds the drawing (the boxes cover much of it), and the
  // group focused at open in its colour (its shared edges; the focus tints its
  // members). The colour is the one cytoscape resolved for a member.
  const color = await page.page.evaluate(() => {
    const cy = (window as unknown as ViewWindow).weightSharingView.app.view.cy;
    const m = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(String(cy.nodes('.grouped').first().style('background-color')))!;
    return [Number(m[1]), Number(m[2]), Number(m[3])] as [number, number, number];
  });
  const px = await pixelsNear(page, color);
  assert.ok(px.painted > px.all / 10, `${px.painted} of ${px.all} pixels painted`);
  assert.ok(px.near > 100, `${px.near} pixels in the group's colour ${color}`);
  await page.screenshot('webgl-20k-dark');

  // A click goes through WebGL's picking: on a collapsed layer run, it opens it.
  const scope = await page.page.evaluate(() => {
    const cy = (window as unknown as ViewWindow).weightSharingView.app.view.cy;
    const n = cy.nodes('.scope').filter((e) => !e.hasClass('box')).first();
    cy.center(n);
    return n.id();
  });
  await page.page.waitForTimeout(100);
  const at = (await page.position(scope))!;
  await page.page.mouse.click(at.x, at.y);
  await page.page.waitForFunction((id) => (window as unknown as ViewWindow).weightSharingView.app.view.cy.getElementById(id).hasClass('box'), scope, { timeout: 30_000 });
  await page.screenshot('webgl-20k-dark-scope-opened');

  // Expand all: the windowed drawing works the same under WebGL.
  await page.page.evaluate(() => (window as unknown as { weightSharingView: { app: { view: { expandAll(): Promise<boolean> } } } }).weightSharingView.app.view.expandAll());
  const c = await page.counts();
  assert.ok(c.drawingNodes > 25_000 && c.nodes > 0 && c.nodes < 2000, JSON.stringify(c));
  await page.screenshot('webgl-20k-dark-expanded');
  assert.deepEqual(page.pageErrors, []);
  await page.close();

  const light = await open('webgl', 'light');
  assert.equal((await light.counts()).webgl, 1);
  await light.screenshot('webgl-20k-light');
  await light.close();
});

test('weightSharing.graph.renderer "auto" keeps the canvas where WebGL is software-rendered; "canvas" never creates a WebGL canvas', { timeout: 240_000 }, async () => {
  const auto = await open('auto');
  // The harness runs Chromium with --disable-gpu: its WebGL2 is SwiftShader.
  const renderer = await auto.page.evaluate(() => {
    const gl = document.createElement('canvas').getContext('webgl2')!;
    return String(gl.getParameter(gl.getExtension('WEBGL_debug_renderer_info')!.UNMASKED_RENDERER_WEBGL));
  });
  assert.match(renderer, /SwiftShader/);
  assert.equal((await auto.counts()).webgl, 0);
  assert.equal(await webglCanvases(auto), 0);
  const s = await status(auto);
  assert.match(s.title, /canvas renderer: WebGL here is software-rendered/);
  assert.doesNotMatch(s.text, /WebGL/);
  await auto.close();

  const canvas = await open('canvas');
  assert.equal((await canvas.counts()).webgl, 0);
  assert.equal(await webglCanvases(canvas), 0);
  assert.match((await status(canvas)).title, /canvas renderer \(setting\)/);
  await canvas.close();
});
