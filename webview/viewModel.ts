// The graph as the view thinks of it, built once per payload and free of the
// DOM and of cytoscape: items (operators, weights, graph inputs/outputs),
// a tree of scopes (name prefixes such as /encoder/layer.3 and If/Loop
// bodies), and the edges between items. `visible()` projects it through the
// set of expanded scopes into what is drawn: a collapsed scope stands for
// everything beneath it, and edges are re-routed to whatever stands for
// their ends.
import type { GraphPayload, NodeInfo, TensorInfo, ValueInfoPayload } from '../extension/protocol.js';
import { EdgeProjection } from './edgeProjection.js';

export type ItemKind = 'op' | 'weight' | 'input' | 'output';

export interface Item {
  id: string;
  kind: ItemKind;
  /** Scope id that directly holds it ('' is the root). */
  scope: string;
  node?: NodeInfo;
  tensor?: TensorInfo;
  value?: ValueInfoPayload;
  /** Sharing groups of its tensor (weights only). */
  groups: number[];
}

export interface Scope {
  id: string;
  kind: 'root' | 'name' | 'subgraph';
  label: string;
  parent: string | null;
  children: string[];
  items: string[];
  /** Operators beneath it, recursively. */
  ops: number;
  /** Items beneath it, recursively. */
  total: number;
  /** Sharing groups with a weight beneath it. */
  groups: number[];
}

export interface BaseEdge {
  source: string;
  target: string;
  /** Value (tensor) name carried, for tooltips. */
  value: string;
  kind: 'data' | 'weight' | 'body';
}

export interface VisibleNode {
  id: string;
  /** item: an Item; scope: a collapsed Scope; box: an expanded scope drawn around its content. */
  kind: 'item' | 'scope' | 'box';
  parent?: string;
}

export interface VisibleEdge {
  id: string;
  source: string;
  target: string;
  values: string[];
  kind: 'data' | 'weight' | 'body';
  /** Groups of the weight at its source (highlighted edges). */
  groups: number[];
  /** Number of underlying edges merged into it. */
  count: number;
}

export interface VisibleGraph {
  nodes: VisibleNode[];
  edges: VisibleEdge[];
}

export interface ViewStats {
  /** Operators in the payload (all graphs). */
  operators: number;
  /** Operators drawn as operator items. */
  operatorItems: number;
  /** Constant nodes drawn as weights (their tensor is big or shared). */
  constantWeights: number;
  /** Constant nodes folded into their consumers (tiny, unshared). */
  foldedConstants: number;
  /** Weight items (initializers and Constant tensors). */
  weightItems: number;
  /** Tiny unshared initializers folded into their consumers' tooltips. */
  foldedTensors: number;
  /** Weight items that belong to a sharing group. */
  groupedWeights: number;
  scopes: number;
}

/** Operators per scope made up for graphs whose names have none. */
const CHUNK = 100;
/** Past this many child scopes, they are held in runs (see runsOfScopes). */
const MAX_CHILD_SCOPES = 200;
const RUN_SCOPES = 100;

/** Tensors this small that no group mentions are folded into their consumers. */
const FOLD_MAX_ELEMENTS = 8;

/** What the view's nodes are: operators of a graph, or modules of a checkpoint. */
export function nodeNoun(payload: GraphPayload): { one: string; many: string } {
  return payload.view === 'modules' ? { one: 'module', many: 'modules' } : { one: 'op', many: 'ops' };
}

export class ViewModel {
  readonly items = new Map<string, Item>();
  readonly scopes = new Map<string, Scope>();
  readonly edges: BaseEdge[] = [];
  /** Consumer item id → tiny tensors folded into it. */
  readonly folded = new Map<string, TensorInfo[]>();
  readonly values = new Map<string, ValueInfoPayload>();
  readonly tensorByName = new Map<string, TensorInfo>();
  readonly stats: ViewStats;
  /** Item id of the weight item that stands for a tensor id. */
  readonly weightOfTensor = new Map<string, string>();
  private readonly chains = new Map<string, string[]>();
  /** Built at the first visible(): the edges and scopes are final by then. */
  private projection: EdgeProjection | undefined;

  /**
   * @param chunkAbove graphs with more operators than this whose names carry
   * no scopes (the dynamo exporter's `node_MatMul_5`) get scopes anyway:
   * runs of CHUNK operators in graph order, so they can start collapsed too.
   */
  constructor(readonly payload: GraphPayload, private readonly chunkAbove = Infinity) {
    this.scopes.set('', emptyScope('', 'root', payload.fileName, null));
    for (const v of [...payload.valueInfo, ...payload.inputs, ...payload.outputs]) this.values.set(v.name, v);
    for (const t of payload.tensors) if (!this.tensorByName.has(t.name)) this.tensorByName.set(t.name, t);
    this.stats = this.build();
  }

  /** Scope ids from the outermost down to the one holding `id` (root excluded). */
  chain(id: string): string[] {
    const cached = this.chains.get(id);
    if (cached) return cached;
    const item = this.items.get(id);
    const start = item ? item.scope : this.scopes.get(id)?.parent ?? null;
    const out: string[] = [];
    for (let s = start; s !== null && s !== ''; s = this.scopes.get(s)?.parent ?? null) out.push(s);
    out.reverse();
    this.chains.set(id, out);
    return out;
  }

  /** What stands for `id` when only `expanded` scopes are open. */
  representative(id: string, expanded: ReadonlySet<string>): string {
    for (const s of this.chain(id)) if (!expanded.has(s)) return s;
    return id;
  }

  visible(expanded: ReadonlySet<string>, nameBoxes: boolean): VisibleGraph {
    const nodes: VisibleNode[] = [];
    const boxOf = (scopeId: string | null): string | undefined => {
      for (let s = scopeId; s !== null && s !== ''; s = this.scopes.get(s)?.parent ?? null) {
        const scope = this.scopes.get(s);
        if (scope && (scope.kind === 'subgraph' || nameBoxes)) return s;
      }
      return undefined;
    };
    const visit = (scope: Scope): void => {
      for (const childId of scope.children) {
        const child = this.scopes.get(childId);
        if (!child) continue;
        if (!expanded.has(childId)) {
          nodes.push(withParent({ id: childId, kind: 'scope' }, boxOf(scope.id === '' ? null : scope.id)));
          continue;
        }
        if (child.kind === 'subgraph' || nameBoxes) nodes.push(withParent({ id: childId, kind: 'box' }, boxOf(scope.id === '' ? null : scope.id)));
        visit(child);
      }
      for (const itemId of scope.items) nodes.push(withParent({ id: itemId, kind: 'item' }, boxOf(scope.id === '' ? null : scope.id)));
    };
    visit(this.scopes.get('')!);

    this.projection ??= new EdgeProjection(this.edges, this.items, this.scopes);
    return { nodes, edges: this.projection.project(expanded) };
  }

  /**
   * Scopes to open first: all of them for small graphs; for large ones, whole
   * levels of the scope tree (all layers, or none) while the drawing stays
   * within `budget` nodes, so the overview looks regular.
   */
  initialExpansion(collapseThreshold: number, budget: number): Set<string> {
    const all = [...this.scopes.keys()].filter((s) => s !== '');
    if (this.items.size <= collapseThreshold) return new Set(all);
    const expanded = new Set<string>();
    const root = this.scopes.get('')!;
    let count = root.items.length + root.children.length;
    let level = [...root.children];
    while (level.length > 0) {
      // Opening a scope replaces its node by a box around its content.
      const added = level.reduce((a, id) => a + this.scopes.get(id)!.children.length + this.scopes.get(id)!.items.length, 0);
      if (count + added > budget) break;
      count += added;
      for (const id of level) expanded.add(id);
      level = level.flatMap((id) => this.scopes.get(id)!.children);
    }
    return expanded;
  }

  /** Item ids whose name (or op type) contains `query`, case-insensitive, in graph order. */
  search(query: string): string[] {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const out: string[] = [];
    for (const item of this.items.values()) {
      const names = [item.node?.name, item.node?.opType, item.tensor?.name, item.value?.name];
      if (names.some((n) => n !== undefined && n.toLowerCase().includes(q))) out.push(item.id);
    }
    return out;
  }

  /** Scopes that must be open for `ids` to be drawn as themselves. */
  scopesToReveal(ids: Iterable<string>): string[] {
    const out = new Set<string>();
    for (const id of ids) for (const s of this.chain(id)) out.add(s);
    return [...out];
  }

  private build(): ViewStats {
    const p = this.payload;
    const stats: ViewStats = {
      operators: p.nodes.length, operatorItems: 0, constantWeights: 0, foldedConstants: 0,
      weightItems: 0, foldedTensors: 0, groupedWeights: 0, scopes: 0,
    };
    const nodeById = new Map(p.nodes.map((n) => [n.id, n]));
    const graphParent = new Map<string, string>();
    const subgraphOwner = new Map<string, string>();
    for (const n of p.nodes) for (const g of n.subgraphs ?? []) {
      graphParent.set(g, n.graphPath);
      subgraphOwner.set(g, n.id);
    }
    const isFolded = (t: TensorInfo) => t.groups.length === 0 && elementCount(t) <= FOLD_MAX_ELEMENTS;
    const constantTensor = new Map<string, TensorInfo>();
    for (const t of p.tensors) if (t.constantNodeId !== undefined) constantTensor.set(t.constantNodeId, t);

    // Module paths of dotted parameter names (`features.0.weight` → features, features.0):
    // the scope of an operator that has neither a scoped name nor the exporter's module path.
    const modulePathOf = new Map<string, string[]>();
    for (const t of p.tensors) {
      const parts = t.name.split('.');
      if ((t.graphPath ?? '') !== '' || parts.length < 2 || /[/:]/.test(t.name) || parts.some((x) => x === '')) continue;
      modulePathOf.set(t.name, parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('.')));
    }
    // Operators, and the name scopes their names imply.
    const rawScopeOf = new Map<string, string>();
    for (const n of p.nodes) {
      const held = constantTensor.get(n.id);
      if (held && isFolded(held)) {
        stats.foldedConstants++;
        continue;
      }
      const item: Item = { id: n.id, kind: held ? 'weight' : 'op', scope: '', node: n, groups: held?.groups ?? [] };
      if (held) {
        item.tensor = held;
        this.weightOfTensor.set(held.id, n.id);
        stats.constantWeights++;
      } else stats.operatorItems++;
      this.items.set(n.id, item);
      rawScopeOf.set(n.id, this.nameScope(n, modulePathOf));
    }
    // Subgraph scopes hang below the scope of the node that owns them.
    for (const [g, owner] of subgraphOwner) {
      const scope = this.scopes.get(`g:${g}`);
      const ownerScope = rawScopeOf.get(owner);
      if (scope) scope.parent = ownerScope ?? this.graphRoot(graphParent.get(g) ?? '');
      const ownerNode = nodeById.get(owner);
      if (scope && ownerNode) scope.label = `${g.slice(g.lastIndexOf('/') + 1)} of ${ownerNode.name || ownerNode.opType}`;
    }
    this.chunkUnscoped(rawScopeOf);
    for (const [id, scope] of rawScopeOf) this.items.get(id)!.scope = scope;
    this.linkScopes();
    this.compactScopes();
    this.runsOfScopes();

    // Weights: one item each, in the innermost scope holding all their readers.
    for (const t of p.tensors) {
      // A Constant's tensor is drawn as its node (or folded with it).
      if (t.constantNodeId !== undefined) continue;
      const consumers = (t.consumerIds ?? this.consumersByName(t)).filter((c) => this.items.has(c));
      if (isFolded(t)) {
        stats.foldedTensors++;
        for (const c of consumers) {
          const list = this.folded.get(c) ?? [];
          list.push(t);
          this.folded.set(c, list);
        }
        continue;
      }
      const id = `w:${t.id}`;
      const scope = this.commonScope(consumers.map((c) => this.items.get(c)!.scope), t.graphPath ?? '');
      this.items.set(id, { id, kind: 'weight', scope, tensor: t, groups: t.groups });
      this.weightOfTensor.set(t.id, id);
      for (const c of consumers) this.edges.push({ source: id, target: c, value: t.name, kind: 'weight' });
    }
    for (const item of this.items.values()) if (item.kind === 'weight') {
      stats.weightItems++;
      if (item.groups.length > 0) stats.groupedWeights++;
    }

    // Graph inputs and outputs of the main graph (initializers listed as inputs are weights).
    const tensorNames = new Set(p.tensors.map((t) => t.name));
    const inputIds = new Map<string, string>();
    for (const v of p.inputs) {
      if (tensorNames.has(v.name)) continue;
      const id = `in:${v.name}`;
      this.items.set(id, { id, kind: 'input', scope: '', value: v, groups: [] });
      inputIds.set(v.name, id);
    }

    // Data edges: each input from the node (or graph input) that produces it, scoping respected.
    const producers = new Map<string, Map<string, string>>();
    for (const n of p.nodes) {
      if (!this.items.has(n.id)) continue;
      let map = producers.get(n.graphPath);
      if (!map) producers.set(n.graphPath, (map = new Map()));
      for (const o of n.outputs) if (o) map.set(o, n.id);
    }
    const producerOf = (graphPath: string, name: string): string | undefined => {
      for (let g: string | undefined = graphPath; g !== undefined; g = graphParent.get(g)) {
        const hit = producers.get(g)?.get(name);
        if (hit) return hit;
        if (g === '') break;
      }
      return undefined;
    };
    const hasInnerProducer = new Set<string>();
    for (const n of p.nodes) {
      if (!this.items.has(n.id)) continue;
      for (const input of n.inputs) {
        if (!input) continue;
        const from = producerOf(n.graphPath, input) ?? inputIds.get(input);
        if (from === undefined || from === n.id) continue;
        this.edges.push({ source: from, target: n.id, value: input, kind: 'data' });
        const fromNode = nodeById.get(from);
        if (fromNode && fromNode.graphPath === n.graphPath) hasInnerProducer.add(n.id);
      }
    }
    for (const v of p.outputs) {
      const from = producerOf('', v.name);
      const id = `out:${v.name}`;
      this.items.set(id, { id, kind: 'output', scope: '', value: v, groups: [] });
      if (from !== undefined) this.edges.push({ source: from, target: id, value: v.name, kind: 'data' });
    }
    // A body runs when its owner runs: link the owner to the body's first nodes.
    for (const n of p.nodes) {
      if (!this.items.has(n.id) || n.graphPath === '' || hasInnerProducer.has(n.id)) continue;
      const owner = subgraphOwner.get(n.graphPath);
      if (owner !== undefined && this.items.has(owner)) this.edges.push({ source: owner, target: n.id, value: n.graphPath, kind: 'body' });
    }
    for (const id of inputIds.values()) this.scopes.get('')!.items.push(id);
    for (const v of p.outputs) this.scopes.get('')!.items.push(`out:${v.name}`);
    for (const item of this.items.values()) if (item.kind === 'op' || item.kind === 'weight') this.scopes.get(item.scope)!.items.push(item.id);
    this.countScopes('');
    stats.scopes = this.scopes.size - 1;
    return stats;
  }

  private chunkUnscoped(rawScopeOf: Map<string, string>): void {
    if (rawScopeOf.size <= this.chunkAbove) return;
    const loose = [...rawScopeOf].filter(([, scope]) => scope === '').map(([id]) => id);
    if (loose.length <= this.chunkAbove / 2) return;
    for (let start = 0; start < loose.length; start += CHUNK) {
      const end = Math.min(loose.length, start + CHUNK);
      const id = `c:${start}`;
      this.scopes.set(id, emptyScope(id, 'name', `operators ${start + 1}–${end}`, ''));
      for (let i = start; i < end; i++) rawScopeOf.set(loose[i], id);
    }
  }

  /**
   * The scope an operator sits in: its graph's box, then the `/a/b/` prefix
   * of its name; for names that carry none (the dynamo exporter's
   * `linear_12`), the module path the exporter recorded, else that of the
   * first parameter it reads (`features.0.weight`: features › 0).
   */
  private nameScope(n: NodeInfo, modulePathOf: ReadonlyMap<string, string[]>): string {
    let parent = this.graphRoot(n.graphPath);
    if (n.graphPath !== '' && !this.scopes.has(parent)) this.scopes.set(parent, emptyScope(parent, 'subgraph', n.graphPath, null));
    const parts = n.name.split('/').filter(Boolean);
    parts.pop();
    if (parts.length === 0) {
      const path = n.scopes?.length ? n.scopes : n.inputs.map((i) => modulePathOf.get(i)).find((m) => m !== undefined);
      if (path) return this.moduleScope(n.graphPath, path, parent);
    }
    let prefix = '';
    for (const part of parts) {
      prefix += `/${part}`;
      const id = `s:${n.graphPath}|${prefix}`;
      if (!this.scopes.has(id)) this.scopes.set(id, emptyScope(id, 'name', part, parent));
      parent = id;
    }
    return parent;
  }

  /** Scopes from a module path (`encoder`, `encoder.layer.0`, …): each level labelled with what it adds (`layer.0`). */
  private moduleScope(graphPath: string, modulePath: readonly string[], root: string): string {
    let parent = root;
    let previous = '';
    for (const path of modulePath) {
      const id = `s:${graphPath}|m:${path}`;
      const label = previous && path.startsWith(`${previous}.`) ? path.slice(previous.length + 1) : path;
      if (!this.scopes.has(id)) this.scopes.set(id, emptyScope(id, 'name', label, parent));
      parent = id;
      previous = path;
    }
    return parent;
  }

  private graphRoot(graphPath: string): string {
    return graphPath === '' ? '' : `g:${graphPath}`;
  }

  private linkScopes(): void {
    for (const s of this.scopes.values()) s.children = [];
    for (const s of this.scopes.values()) if (s.parent !== null) this.scopes.get(s.parent)?.children.push(s.id);
  }

  /**
   * Scopes that would only add clicks go away: a name scope holding a single
   * operator dissolves into its parent, and a name scope whose only content
   * is one child scope merges with it (`bert/encoder`).
   */
  private compactScopes(): void {
    const itemCount = new Map<string, number>();
    for (const item of this.items.values()) itemCount.set(item.scope, (itemCount.get(item.scope) ?? 0) + 1);
    const totals = new Map<string, number>();
    const total = (id: string): number => {
      const s = this.scopes.get(id)!;
      let t = itemCount.get(id) ?? 0;
      for (const c of s.children) t += total(c);
      totals.set(id, t);
      return t;
    };
    total('');
    const remap = new Map<string, string>();
    // Children lists are kept right in place (relinking every scope per
    // dissolve was quadratic: 7 s at 100k operators); linkScopes at the end
    // restores their canonical order.
    const dissolve = (id: string, into: string) => {
      remap.set(id, into);
      itemCount.set(into, (itemCount.get(into) ?? 0) + (itemCount.get(id) ?? 0));
      const s = this.scopes.get(id)!;
      const parent = this.scopes.get(into)!;
      for (const c of s.children) this.scopes.get(c)!.parent = into;
      // Array literals, not push(...)/splice(...): a scope can hold more children than a call takes arguments.
      const at = parent.children.indexOf(id);
      parent.children = at >= 0 ? [...parent.children.slice(0, at), ...s.children, ...parent.children.slice(at + 1)] : [...parent.children, ...s.children];
      this.scopes.delete(id);
    };
    // Bottom-up, so merges see their children's final shape.
    const order: string[] = [];
    const post = (id: string) => {
      for (const c of [...this.scopes.get(id)!.children]) post(c);
      order.push(id);
    };
    post('');
    for (const id of order) {
      const s = this.scopes.get(id);
      if (!s || s.kind !== 'name' || s.parent === null) continue;
      if ((totals.get(id) ?? 0) < 2) dissolve(id, s.parent);
    }
    this.linkScopes();
    // Top-down merge of single-child chains.
    const pre: string[] = [];
    const walk = (id: string) => {
      pre.push(id);
      for (const c of this.scopes.get(id)?.children ?? []) walk(c);
    };
    walk('');
    for (const id of pre) {
      const s = this.scopes.get(id);
      if (!s || s.kind !== 'name' || s.parent === null) continue;
      if ((itemCount.get(id) ?? 0) === 0 && s.children.length === 1) {
        const child = this.scopes.get(s.children[0])!;
        if (child.kind !== 'name') continue;
        child.label = `${s.label}/${child.label}`;
        dissolve(id, s.parent);
      }
    }
    this.linkScopes();
    const resolve = (id: string): string => {
      let cur = id;
      while (remap.has(cur)) cur = remap.get(cur)!;
      return cur;
    };
    for (const item of this.items.values()) item.scope = resolve(item.scope);
  }

  /**
   * A scope holding more than MAX_CHILD_SCOPES name scopes holds them in runs
   * of RUN_SCOPES (`layer.0 – layer.99`): a model of 1,000 layers would
   * otherwise draw 1,000 nodes however far it is collapsed.
   */
  private runsOfScopes(): void {
    let added = false;
    for (const s of [...this.scopes.values()]) {
      const kids = s.children.filter((c) => this.scopes.get(c)!.kind === 'name');
      if (kids.length <= MAX_CHILD_SCOPES) continue;
      for (let start = 0; start < kids.length; start += RUN_SCOPES) {
        const run = kids.slice(start, start + RUN_SCOPES);
        const id = `r:${s.id}|${start}`;
        this.scopes.set(id, emptyScope(id, 'name', `${this.scopes.get(run[0]!)!.label} – ${this.scopes.get(run[run.length - 1]!)!.label}`, s.id));
        for (const c of run) this.scopes.get(c)!.parent = id;
      }
      added = true;
    }
    if (added) this.linkScopes();
  }

  private commonScope(scopes: string[], graphPath: string): string {
    if (scopes.length === 0) return this.scopes.has(this.graphRoot(graphPath)) ? this.graphRoot(graphPath) : '';
    const chainOf = (s: string): string[] => {
      const out: string[] = [];
      for (let c: string | null = s; c !== null && c !== ''; c = this.scopes.get(c)?.parent ?? null) out.push(c);
      return out.reverse();
    };
    let common = chainOf(scopes[0]);
    for (const s of scopes.slice(1)) {
      const other = chainOf(s);
      let i = 0;
      while (i < common.length && i < other.length && common[i] === other[i]) i++;
      common = common.slice(0, i);
    }
    return common.length > 0 ? common[common.length - 1] : '';
  }

  private consumersByName(t: TensorInfo): string[] {
    return this.payload.nodes.filter((n) => n.inputs.includes(t.name)).map((n) => n.id);
  }

  private countScopes(id: string): void {
    const s = this.scopes.get(id)!;
    let ops = 0;
    let total = s.items.length;
    const groups = new Set<number>();
    for (const itemId of s.items) {
      const item = this.items.get(itemId)!;
      if (item.kind === 'op') ops++;
      for (const g of item.groups) groups.add(g);
    }
    for (const c of s.children) {
      this.countScopes(c);
      const child = this.scopes.get(c)!;
      ops += child.ops;
      total += child.total;
      for (const g of child.groups) groups.add(g);
    }
    s.ops = ops;
    s.total = total;
    s.groups = [...groups].sort((a, b) => a - b);
  }
}

function emptyScope(id: string, kind: Scope['kind'], label: string, parent: string | null): Scope {
  return { id, kind, label, parent, children: [], items: [], ops: 0, total: 0, groups: [] };
}

function withParent(node: VisibleNode, parent: string | undefined): VisibleNode {
  if (parent !== undefined) node.parent = parent;
  return node;
}

function elementCount(t: TensorInfo): number {
  return t.elementCount ?? t.shape.reduce((a, b) => a * b, 1);
}
