// A fast layered (Sugiyama-style) layout for drawings too big for dagre.
// dagre routes every edge that spans k layers through k dummy nodes; a
// transformer's attention mask or a tied embedding reaching 90 layers makes
// thousands of them and takes seconds (measured: 3-4 s for 110 nodes). This
// layout skips dummies: longest-path layers, barycentre ordering by x,
// and rows packed around their wished-for positions, in O((V+E)·sweeps).
// Boxes (compound nodes) are laid out inside-out: each box's content first,
// then the box as one node of its parent's level (ELK's "separate children").
// Pure and DOM-free.

export interface LayoutNode {
  id: string;
  width: number;
  height: number;
  /** Id of the box holding it. Boxes have no size of their own. */
  parent?: string;
}

export interface LayoutEdge {
  source: string;
  target: string;
}

export interface LayoutOptions {
  nodeSep: number;
  rankSep: number;
  /** Space between a box's border and its content. */
  boxPadding: number;
  /** Extra room at the top of a box for its label. */
  boxLabel: number;
  sweeps: number;
}

const DEFAULTS: LayoutOptions = { nodeSep: 22, rankSep: 36, boxPadding: 14, boxLabel: 16, sweeps: 4 };

export interface Point {
  x: number;
  y: number;
}

interface Member {
  id: string;
  w: number;
  h: number;
  /** For boxes: positions of descendants relative to the box's top-left corner. */
  inner?: Map<string, Point>;
}

/** Called as levels are placed: how many of the nodes are, of how many. */
export type LayoutProgress = (placed: number, total: number) => void;

/** Centre positions of every leaf node. */
export function layeredLayout(nodes: LayoutNode[], edges: LayoutEdge[], options: Partial<LayoutOptions> = {}, progress?: LayoutProgress): Map<string, Point> {
  const o = { ...DEFAULTS, ...options };
  let placedCount = 0;
  const placedSome = (n: number) => { placedCount += n; progress?.(placedCount, nodes.length); };
  const parentOf = new Map<string, string>();
  const childrenOf = new Map<string, string[]>();
  const size = new Map<string, { w: number; h: number }>();
  const ROOT = '\u0000root';
  for (const n of nodes) {
    const p = n.parent ?? ROOT;
    parentOf.set(n.id, p);
    size.set(n.id, { w: n.width, h: n.height });
    let list = childrenOf.get(p);
    if (!list) childrenOf.set(p, (list = []));
    list.push(n.id);
  }
  // Each edge belongs to the level of its ends' lowest common box.
  const chain = (id: string): string[] => {
    const out = [id];
    for (let p = parentOf.get(id); p !== undefined; p = parentOf.get(p)) out.push(p);
    return out; // leaf … ROOT
  };
  const levelEdges = new Map<string, Array<[string, string]>>();
  for (const e of edges) {
    if (!parentOf.has(e.source) || !parentOf.has(e.target)) continue;
    const a = chain(e.source).reverse();
    const b = chain(e.target).reverse();
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    if (i >= a.length || i >= b.length) continue; // one end contains the other
    const level = a[i - 1];
    let list = levelEdges.get(level);
    if (!list) levelEdges.set(level, (list = []));
    list.push([a[i], b[i]]);
  }

  const layoutLevel = (container: string): Member[] => {
    const ids = childrenOf.get(container) ?? [];
    const members: Member[] = ids.map((id) => {
      if (childrenOf.has(id)) {
        const inner = layoutLevel(id);
        const placed = new Map<string, Point>();
        const dims = place(inner, levelEdges.get(id) ?? [], o, placed, placedSome);
        // Shift content inside the box: padding all round, label on top.
        const shifted = new Map<string, Point>();
        for (const m of inner) {
          const p = placed.get(m.id)!;
          const base = { x: p.x + o.boxPadding, y: p.y + o.boxPadding + o.boxLabel };
          if (m.inner) for (const [k, q] of m.inner) shifted.set(k, { x: base.x - m.w / 2 + q.x, y: base.y - m.h / 2 + q.y });
          else shifted.set(m.id, base);
        }
        return { id, w: dims.w + 2 * o.boxPadding, h: dims.h + 2 * o.boxPadding + o.boxLabel, inner: shifted };
      }
      const s = size.get(id)!;
      return { id, w: s.w, h: s.h };
    });
    return members;
  };

  const top = layoutLevel(ROOT);
  const placed = new Map<string, Point>();
  place(top, levelEdges.get(ROOT) ?? [], o, placed, placedSome);
  const out = new Map<string, Point>();
  for (const m of top) {
    const p = placed.get(m.id)!;
    if (m.inner) for (const [k, q] of m.inner) out.set(k, { x: p.x - m.w / 2 + q.x, y: p.y - m.h / 2 + q.y });
    else out.set(m.id, p);
  }
  return out;
}

/**
 * Places one level's members (centres into `out`); returns the level's size.
 * `advance` hears the members placed, in steps (one flat level of 100k
 * nodes is the whole of a big layout).
 */
function place(members: Member[], edges: Array<[string, string]>, o: LayoutOptions, out: Map<string, Point>, advance: (n: number) => void): { w: number; h: number } {
  const n = members.length;
  if (n === 0) return { w: 0, h: 0 };
  const steps = o.sweeps + 3;
  let stepped = 0;
  let given = 0;
  const step = () => {
    const next = Math.round((++stepped * n) / steps);
    advance(next - given);
    given = next;
  };
  const index = new Map(members.map((m, i) => [m.id, i]));
  const succ: number[][] = members.map(() => []);
  const pred: number[][] = members.map(() => []);
  const seen = new Set<number>();
  for (const [s, t] of edges) {
    const a = index.get(s);
    const b = index.get(t);
    if (a === undefined || b === undefined || a === b) continue;
    const key = a * n + b;
    if (seen.has(key)) continue;
    seen.add(key);
    succ[a].push(b);
    pred[b].push(a);
  }
  const rank = assignRanks(n, succ, pred);
  step();
  const maxRank = rank.reduce((m, r) => Math.max(m, r), 0);
  const rows: number[][] = Array.from({ length: maxRank + 1 }, () => []);
  // Initial order: depth-first from the sources, in input (graph) order.
  const visited = new Uint8Array(n);
  const visit = (v: number) => {
    const stack = [v];
    while (stack.length) {
      const u = stack.pop()!;
      if (visited[u]) continue;
      visited[u] = 1;
      rows[rank[u]].push(u);
      for (let k = succ[u].length - 1; k >= 0; k--) if (!visited[succ[u][k]]) stack.push(succ[u][k]);
    }
  };
  for (let v = 0; v < n; v++) if (pred[v].length === 0) visit(v);
  for (let v = 0; v < n; v++) if (!visited[v]) visit(v);

  const x = new Float64Array(n);
  const w = members.map((m) => m.w);
  for (const row of rows) {
    let cursor = 0;
    for (const v of row) {
      x[v] = cursor + w[v] / 2;
      cursor += w[v] + o.nodeSep;
    }
  }
  const wish = new Float64Array(n);
  const sweep = (r: number, neighbours: number[][]) => {
    const row = rows[r];
    for (const v of row) {
      const nb = neighbours[v];
      if (nb.length === 0) {
        wish[v] = x[v];
        continue;
      }
      let sum = 0;
      for (const u of nb) sum += x[u];
      wish[v] = sum / nb.length;
    }
    row.sort((a, b) => wish[a] - wish[b]);
    pack(row, wish, w, o.nodeSep, x);
  };
  step();
  for (let s = 0; s < o.sweeps; s++) {
    if (s % 2 === 0) for (let r = 1; r <= maxRank; r++) sweep(r, pred);
    else for (let r = maxRank - 1; r >= 0; r--) sweep(r, succ);
    step();
  }
  // Final downward pass so children sit under their parents.
  for (let r = 1; r <= maxRank; r++) sweep(r, pred);

  let minX = Infinity;
  let maxX = -Infinity;
  for (let v = 0; v < n; v++) {
    minX = Math.min(minX, x[v] - w[v] / 2);
    maxX = Math.max(maxX, x[v] + w[v] / 2);
  }
  let y = 0;
  for (const row of rows) {
    const h = row.reduce((m, v) => Math.max(m, members[v].h), 0);
    for (const v of row) out.set(members[v].id, { x: x[v] - minX, y: y + h / 2 });
    y += h + o.rankSep;
  }
  step();
  return { w: maxX - minX, h: Math.max(0, y - o.rankSep) };
}

/** Longest-path layers (cycles broken depth-first); sources sit just above their first reader. */
function assignRanks(n: number, succ: number[][], pred: number[][]): number[] {
  // Topological order, ignoring edges that close a cycle.
  const indeg = new Int32Array(n);
  for (let v = 0; v < n; v++) for (const u of succ[v]) indeg[u]++;
  const order: number[] = [];
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) queue.push(v);
  const done = new Uint8Array(n);
  let head = 0;
  for (;;) {
    while (head < queue.length) {
      const v = queue[head++];
      if (done[v]) continue;
      done[v] = 1;
      order.push(v);
      for (const u of succ[v]) if (--indeg[u] === 0) queue.push(u);
    }
    if (order.length === n) break;
    // A cycle: release the first unfinished node.
    let pick = -1;
    for (let v = 0; v < n; v++) if (!done[v]) { pick = v; break; }
    if (pick < 0) break;
    indeg[pick] = 0;
    queue.push(pick);
  }
  const pos = new Int32Array(n);
  order.forEach((v, i) => { pos[v] = i; });
  const rank = new Array<number>(n).fill(0);
  for (const v of order) for (const u of pred[v]) if (pos[u] < pos[v]) rank[v] = Math.max(rank[v], rank[u] + 1);
  // Then as late as possible: side chains (weights, inputs, shape
  // computations) move down next to their earliest reader instead of all
  // piling up in the first layers. Reverse topological order settles readers first.
  for (let i = order.length - 1; i >= 0; i--) {
    const v = order[i];
    let min = Infinity;
    for (const u of succ[v]) if (pos[u] > pos[v]) min = Math.min(min, rank[u]);
    if (min !== Infinity && min - 1 > rank[v]) rank[v] = min - 1;
  }
  return rank;
}

/** Places a sorted row as close to its wished-for centres as it can without overlaps. */
function pack(row: number[], wish: Float64Array, w: number[], sep: number, x: Float64Array): void {
  if (row.length === 0) return;
  // Left to right without overlap, then the whole row shifted to the mean wish.
  let right = -Infinity;
  let shift = 0;
  for (const v of row) {
    const left = Math.max(wish[v] - w[v] / 2, right + sep);
    x[v] = left + w[v] / 2;
    right = left + w[v];
    shift += wish[v] - x[v];
  }
  shift /= row.length;
  for (const v of row) x[v] += shift;
}

/**
 * What dagre would have to route: leaf nodes plus one dummy per layer that
 * each edge skips (flattened graph, longest-path layers). Used to decide
 * whether dagre's nicer routing is affordable.
 */
export function dagreCost(nodes: LayoutNode[], edges: LayoutEdge[]): number {
  const boxes = new Set(nodes.map((n) => n.parent).filter((p): p is string => p !== undefined));
  const leaves = nodes.filter((n) => !boxes.has(n.id));
  const index = new Map(leaves.map((n, i) => [n.id, i]));
  const succ: number[][] = leaves.map(() => []);
  const pred: number[][] = leaves.map(() => []);
  const pairs: Array<[number, number]> = [];
  for (const e of edges) {
    const a = index.get(e.source);
    const b = index.get(e.target);
    if (a === undefined || b === undefined || a === b) continue;
    succ[a].push(b);
    pred[b].push(a);
    pairs.push([a, b]);
  }
  const rank = assignRanks(leaves.length, succ, pred);
  let dummies = 0;
  for (const [a, b] of pairs) dummies += Math.max(0, Math.abs(rank[b] - rank[a]) - 1);
  // Dagre nests each box (extra edges) and draws its sides as a border node
  // on every rank it spans: a box's cost grows with its height (a 50k-operator
  // export's first drawing, 262 nodes in 7 tall boxes, took dagre 0.5-0.8 s).
  const parentOf = new Map(nodes.map((n) => [n.id, n.parent]));
  const spans = new Map<string, { lo: number; hi: number }>();
  leaves.forEach((n, i) => {
    for (let p = n.parent; p !== undefined; p = parentOf.get(p)) {
      const s = spans.get(p);
      if (!s) spans.set(p, { lo: rank[i], hi: rank[i] });
      else { s.lo = Math.min(s.lo, rank[i]); s.hi = Math.max(s.hi, rank[i]); }
    }
  });
  let borders = 0;
  for (const s of spans.values()) borders += 2 * (s.hi - s.lo + 1);
  return leaves.length + dummies + borders + 10 * boxes.size;
}
