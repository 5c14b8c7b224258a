// A layered layout's input and output as typed arrays, indexed by node: what
// travels to the layout worker and back. Nodes go by index, not id, so only
// transferable buffers cross (130k ids would be cloned string by string).
// Pure and DOM-free: the worker, the in-thread fallback and the tests share it.
import { layeredLayout, type LayoutEdge, type LayoutNode, type LayoutOptions, type LayoutProgress, type Point } from './layered.js';

export interface LayoutRequest {
  job: number;
  width: Float64Array;
  height: Float64Array;
  /** Index of each node's box, -1 at the top level. */
  parent: Int32Array;
  source: Int32Array;
  target: Int32Array;
  options: Partial<LayoutOptions>;
}

export type LayoutReply =
  | { job: number; kind: 'progress'; placed: number; total: number }
  /** Centre of each node by index; NaN for boxes (the layout places leaves only). */
  | { job: number; kind: 'done'; x: Float64Array; y: Float64Array }
  | { job: number; kind: 'failed'; message: string };

/** The request for `nodes` and `edges`; edges whose ends are not among the nodes are left out. */
export function encodeLayout(job: number, nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], options: Partial<LayoutOptions>): LayoutRequest {
  const index = new Map<string, number>();
  nodes.forEach((n, i) => index.set(n.id, i));
  const width = new Float64Array(nodes.length);
  const height = new Float64Array(nodes.length);
  const parent = new Int32Array(nodes.length);
  nodes.forEach((n, i) => {
    width[i] = n.width;
    height[i] = n.height;
    parent[i] = n.parent === undefined ? -1 : index.get(n.parent) ?? -1;
  });
  const source: number[] = [];
  const target: number[] = [];
  for (const e of edges) {
    const a = index.get(e.source);
    const b = index.get(e.target);
    if (a === undefined || b === undefined) continue;
    source.push(a);
    target.push(b);
  }
  return { job, width, height, parent, source: Int32Array.from(source), target: Int32Array.from(target), options };
}

/** The transferable buffers of a request or a reply. */
export function buffersOf(m: LayoutRequest | LayoutReply): ArrayBuffer[] {
  if ('width' in m) return [m.width, m.height, m.parent, m.source, m.target].map((a) => a.buffer as ArrayBuffer);
  return m.kind === 'done' ? [m.x.buffer as ArrayBuffer, m.y.buffer as ArrayBuffer] : [];
}

/** Lays out an encoded request (in the worker, or in the page when there is none). */
export function layOutEncoded(r: LayoutRequest, progress?: LayoutProgress): { x: Float64Array; y: Float64Array } {
  const n = r.width.length;
  const nodes: LayoutNode[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const node: LayoutNode = { id: String(i), width: r.width[i]!, height: r.height[i]! };
    if (r.parent[i]! >= 0) node.parent = String(r.parent[i]);
    nodes[i] = node;
  }
  const edges: LayoutEdge[] = new Array(r.source.length);
  for (let k = 0; k < r.source.length; k++) edges[k] = { source: String(r.source[k]), target: String(r.target[k]) };
  const positions = layeredLayout(nodes, edges, r.options, progress);
  const x = new Float64Array(n).fill(NaN);
  const y = new Float64Array(n).fill(NaN);
  for (const [id, p] of positions) {
    x[Number(id)] = p.x;
    y[Number(id)] = p.y;
  }
  return { x, y };
}

/** Positions by node id, from a reply's arrays. */
export function decodePositions(nodes: readonly LayoutNode[], x: Float64Array, y: Float64Array): Map<string, Point> {
  const out = new Map<string, Point>();
  nodes.forEach((node, i) => {
    if (!Number.isNaN(x[i])) out.set(node.id, { x: x[i]!, y: y[i]! });
  });
  return out;
}
