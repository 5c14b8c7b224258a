// The whole drawing of what the view model makes visible: cytoscape element
// definitions and where each node was laid out. Drawings dagre lays out are
// held by cytoscape entire; the others only near the viewport (windowOf), because
// cytoscape styles and paints every element it holds, off screen or not:
// 56k elements took 7-15 s to add, the viewport showing a hundred of them.
// Pure and DOM-free.
import type cytoscape from 'cytoscape';
import type { Point } from './layered.js';

export interface Rect {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface DrawnNode {
  id: string;
  def: cytoscape.ElementDefinition;
  parent?: string;
  /** Laid-out bounds; a box's include its padding and label. */
  rect: Rect;
  /** A box (compound node): the bounds of its content, where its extent anchors go. */
  inner?: Rect;
  classes: string;
}

export interface DrawnEdge {
  id: string;
  source: string;
  target: string;
  def: cytoscape.ElementDefinition;
  classes: string;
}

/** What cytoscape should hold for one window of the drawing. */
export interface DrawingWindow {
  nodes: Set<string>;
  edges: Set<string>;
  /** Leaf nodes in it (boxes not counted): what its cost grows with. */
  leaves: number;
}

export interface BoxMetrics {
  padding: number;
  /** Room above a box's content for its label. */
  label: number;
}

export const EXTENT_PREFIX = 'extent:';

export class Drawing {
  readonly nodes = new Map<string, DrawnNode>();
  readonly edges: DrawnEdge[] = [];
  readonly children = new Map<string, string[]>();
  readonly bounds: Rect;

  /**
   * `centre` gives each leaf node's laid-out centre; boxes are measured
   * around their content. Leaves take their size from data w and h.
   */
  constructor(defs: readonly cytoscape.ElementDefinition[], centre: (id: string) => Point | undefined, box: BoxMetrics) {
    for (const def of defs) {
      const d = def.data;
      const classes = def.classes === undefined ? '' : Array.isArray(def.classes) ? def.classes.join(' ') : def.classes;
      if (def.group === 'edges') {
        this.edges.push({ id: d.id!, source: String(d.source), target: String(d.target), def, classes });
        continue;
      }
      const node: DrawnNode = { id: d.id!, def, rect: EMPTY, classes };
      if (d.parent !== undefined) {
        node.parent = String(d.parent);
        const list = this.children.get(node.parent);
        if (list) list.push(node.id); else this.children.set(node.parent, [node.id]);
      }
      this.nodes.set(node.id, node);
    }
    const measure = (n: DrawnNode): Rect => {
      if (n.rect !== EMPTY) return n.rect;
      const kids = this.children.get(n.id);
      if (kids === undefined) {
        const p = centre(n.id) ?? { x: 0, y: 0 };
        const w = Number(n.def.data.w ?? 30) / 2, h = Number(n.def.data.h ?? 30) / 2;
        n.rect = { x1: p.x - w, y1: p.y - h, x2: p.x + w, y2: p.y + h };
        return n.rect;
      }
      const inner = union(kids.map((k) => measure(this.nodes.get(k)!)));
      n.inner = inner;
      n.rect = { x1: inner.x1 - box.padding, y1: inner.y1 - box.padding - box.label, x2: inner.x2 + box.padding, y2: inner.y2 + box.padding };
      return n.rect;
    };
    for (const n of this.nodes.values()) {
      measure(n);
      // Where cytoscape puts a leaf: the laid-out centre.
      if (n.inner === undefined) n.def.position = { x: (n.rect.x1 + n.rect.x2) / 2, y: (n.rect.y1 + n.rect.y2) / 2 };
    }
    this.bounds = union([...this.nodes.values()].filter((n) => n.parent === undefined).map((n) => n.rect));
  }

  /** Bounds of the named nodes (unknown ids are skipped); undefined when none is known. */
  rectOf(ids: Iterable<string>): Rect | undefined {
    const rects: Rect[] = [];
    for (const id of ids) {
      const n = this.nodes.get(id);
      if (n) rects.push(n.rect);
    }
    return rects.length === 0 ? undefined : union(rects);
  }

  /** Nodes with the class `name`. */
  countWithClass(name: string): number {
    let n = 0;
    for (const node of this.nodes.values()) if (hasClass(node.classes, name)) n++;
    return n;
  }

  ancestors(id: string): string[] {
    const out: string[] = [];
    for (let p = this.nodes.get(id)?.parent; p !== undefined; p = this.nodes.get(p)?.parent) out.push(p);
    return out;
  }

  /**
   * The nodes and edges to hold for `area`: every node that meets it, both
   * ends of every edge that may cross it (its ends' bounding box meets it),
   * and the boxes around all of them. A fan-out edge (a mask read by every
   * layer) is held only when both its ends are: pulling in far ends would
   * bring hundreds of distant readers. So is a group's dashed link: the
   * canvas dashes all of a path, and one from layer 0 to layer 363 cost
   * 60 ms a frame. With `farEnds` (a drawing small enough to pay for
   * that), a group's link is held with either end in view, and a fan-out
   * edge with its reader: what leads off screen is drawn, as when all of
   * the drawing is held.
   */
  windowOf(area: Rect, meeting: ReadonlySet<string> = this.leavesMeeting(area), farEnds = false): DrawingWindow {
    const nodes = new Set(meeting);
    const edges = new Set<string>();
    for (const e of this.edges) {
      const s = this.nodes.get(e.source), t = this.nodes.get(e.target);
      if (!s || !t) continue;
      const sIn = meeting.has(e.source), tIn = meeting.has(e.target);
      if (!sIn && !tIn && !meets(union([s.rect, t.rect]), area)) continue;
      if (!(sIn && tIn)) {
        const fanout = hasClass(e.classes, 'fanout');
        if ((fanout || hasClass(e.classes, 'group-link')) && !(farEnds && (fanout ? tIn : sIn || tIn))) continue;
      }
      edges.add(e.id);
      nodes.add(e.source);
      nodes.add(e.target);
    }
    const leaves = nodes.size;
    for (const id of [...nodes]) for (const a of this.ancestors(id)) nodes.add(a);
    return { nodes, edges, leaves };
  }

  /** Leaf nodes meeting `area`: what a window's cost grows with, known before it is built. */
  leavesMeeting(area: Rect): Set<string> {
    const out = new Set<string>();
    for (const n of this.nodes.values()) if (n.inner === undefined && meets(n.rect, area)) out.add(n.id);
    return out;
  }

  /** The leaf node nearest a point (by distance to its bounds). */
  nearestLeaf(p: Point): DrawnNode | undefined {
    let best: DrawnNode | undefined;
    let bestD = Infinity;
    for (const n of this.nodes.values()) {
      if (n.inner) continue;
      const dx = Math.max(n.rect.x1 - p.x, 0, p.x - n.rect.x2), dy = Math.max(n.rect.y1 - p.y, 0, p.y - n.rect.y2);
      const d = dx * dx + dy * dy;
      if (d < bestD) { bestD = d; best = n; }
    }
    return best;
  }

  /**
   * Invisible corner anchors that give a box held without all its content
   * the size of all of it (cytoscape sizes a compound node by the children
   * it holds).
   */
  extentsOf(boxId: string): cytoscape.ElementDefinition[] {
    const inner = this.nodes.get(boxId)?.inner;
    if (!inner) return [];
    return [
      { group: 'nodes', data: { id: `${EXTENT_PREFIX}${boxId}:0`, parent: boxId }, position: { x: inner.x1 + 0.5, y: inner.y1 + 0.5 }, classes: 'extent' },
      { group: 'nodes', data: { id: `${EXTENT_PREFIX}${boxId}:1`, parent: boxId }, position: { x: inner.x2 - 0.5, y: inner.y2 - 0.5 }, classes: 'extent' },
    ];
  }
}

const EMPTY: Rect = { x1: 0, y1: 0, x2: 0, y2: 0 };

/** Whether a space-separated class list holds `name`. */
export function hasClass(classes: string, name: string): boolean {
  return ` ${classes} `.includes(` ${name} `);
}

export function meets(a: Rect, b: Rect): boolean {
  return a.x1 <= b.x2 && b.x1 <= a.x2 && a.y1 <= b.y2 && b.y1 <= a.y2;
}

export function contains(outer: Rect, inner: Rect): boolean {
  return outer.x1 <= inner.x1 && outer.y1 <= inner.y1 && outer.x2 >= inner.x2 && outer.y2 >= inner.y2;
}

export function grow(r: Rect, dx: number, dy: number): Rect {
  return { x1: r.x1 - dx, y1: r.y1 - dy, x2: r.x2 + dx, y2: r.y2 + dy };
}

function union(rects: readonly Rect[]): Rect {
  if (rects.length === 0) return EMPTY;
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (const r of rects) {
    if (r.x1 < x1) x1 = r.x1;
    if (r.y1 < y1) y1 = r.y1;
    if (r.x2 > x2) x2 = r.x2;
    if (r.y2 > y2) y2 = r.y2;
  }
  return { x1, y1, x2, y2 };
}
