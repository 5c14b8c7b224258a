// Which cytoscape renderer draws the graph, and what its WebGL mode needs
// from us. Cytoscape (3.31+) draws with WebGL when `renderer.webgl` is set;
// it reads a few things only from its internals, which this module alone
// touches.
import type cytoscape from 'cytoscape';
import type { GraphRendererSetting } from '../extension/protocol.js';
import { toRgb } from './colors.js';

/** What this webview's WebGL2 is: none, a software rasteriser, or a GPU. */
export interface WebglSupport {
  available: boolean;
  /** A software rasteriser (SwiftShader, llvmpipe), by the renderer's name. */
  software: boolean;
  /** The renderer the browser names, for the status line's tooltip. */
  renderer: string;
}

export interface RendererChoice {
  webgl: boolean;
  /** Why, in a few words: shown beside the status line. */
  why: string;
}

/** Past this many items a graph is large: cytoscape pans it as a texture, and 'auto' takes WebGL on a GPU. */
export const LARGE_GRAPH_ITEMS = 1500;

export function webglSupport(): WebglSupport {
  const canvas = document.createElement('canvas');
  const gl = canvas.getContext('webgl2');
  if (!gl) return { available: false, software: false, renderer: 'none' };
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  // By name: Chromium's SwiftShader context does not set failIfMajorPerformanceCaveat.
  const software = /swiftshader|llvmpipe|softpipe|software|basic render/i.test(renderer);
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return { available: true, software, renderer };
}

/**
 * 'auto' draws large graphs with WebGL on a GPU. On a software rasteriser
 * WebGL was slower than the canvas renderer here (BENCHMARKS.md, "Cytoscape's
 * WebGL renderer"), so auto keeps the canvas there; 'webgl' forces it.
 * `probe` runs only when the answer depends on it (it creates a WebGL context).
 */
export function chooseRenderer(setting: GraphRendererSetting, items: number, probe: () => WebglSupport): RendererChoice {
  if (setting === 'canvas') return { webgl: false, why: 'canvas renderer (setting)' };
  if (setting === 'auto' && items <= LARGE_GRAPH_ITEMS) return { webgl: false, why: 'canvas renderer: a small graph' };
  const support = probe();
  if (!support.available) return { webgl: false, why: 'canvas renderer: this webview has no WebGL2' };
  if (setting === 'webgl') return { webgl: true, why: `WebGL renderer (setting), on ${support.renderer}` };
  if (support.software) return { webgl: false, why: `canvas renderer: WebGL here is software-rendered (${support.renderer})` };
  return { webgl: true, why: `WebGL renderer, on ${support.renderer}` };
}

/** Cytoscape's options for WebGL: with it, the canvas renderer hands frames to it. */
export function webglOptions(): Partial<cytoscape.CytoscapeOptions> {
  return { renderer: { name: 'canvas', webgl: true } } as Partial<cytoscape.CytoscapeOptions>;
}

// What cytoscape's WebGL mode lacks, put back. Its internals, typed as far as used.
interface WebglInternals {
  render(options?: unknown): void;
  drawing?: { bgColor: number[] };
}

/**
 * In WebGL mode cytoscape emits no 'render' event (the view and its tests
 * time paints by it), and blends arrowheads against a background colour
 * read once from the container's inline style: each frame now emits
 * 'render', and `setWebglBackground` sets the colour.
 */
export function completeWebgl(cy: cytoscape.Core): void {
  const r = (cy as unknown as { renderer(): WebglInternals }).renderer();
  const render = r.render.bind(r);
  r.render = (options?: unknown) => {
    render(options);
    cy.emit('render');
  };
}

/** The colour behind the graph (the theme's editor background); the next frame uses it. */
export function setWebglBackground(cy: cytoscape.Core, color: string): void {
  const r = (cy as unknown as { renderer(): WebglInternals }).renderer();
  if (r.drawing) r.drawing.bgColor = toRgb(color);
}

/**
 * Once one WebGL instance has been made, cytoscape gives every later canvas
 * instance in the page a WebGL2 canvas too (it sets its layer count on the
 * shared prototype) that it never draws into. It is dropped, and its
 * context released: a page gets only 16.
 */
export function dropUnusedWebglCanvas(container: HTMLElement): void {
  const canvas = container.querySelector<HTMLCanvasElement>('canvas[data-id$="-webgl"]');
  if (!canvas) return;
  canvas.getContext('webgl2')?.getExtension('WEBGL_lose_context')?.loseContext();
  canvas.remove();
}
