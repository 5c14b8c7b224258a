// The edges of the view model projected through the open scopes (what
// ViewModel.visible draws): each end goes to the outermost closed scope
// above it, or stays itself; edges that end up inside one node vanish, and
// those between the same two nodes merge. Over integer indices built once:
// walking every edge's two ends by string keys took 50-60 ms of each expand
// at 100k operators.
import type { BaseEdge, Item, Scope, VisibleEdge } from './viewModel.js';

const UNSET = -2;
const NO_GROUPS: readonly number[] = [];

export class EdgeProjection {
  private readonly scopeIds: string[] = [];
  /** Index of each scope's parent; -1 for the root's children (the root is always open). */
  private readonly scopeParent: Int32Array;
  /** Every id an edge ends at, and where each edge starts and ends among them. */
  private readonly ends: string[] = [];
  private readonly from: Int32Array;
  private readonly to: Int32Array;
  /** The scope directly above each end (its item's scope), -1 for the root. */
  private readonly endScope: Int32Array;
  /** Each end's number when it stands for itself: a scope's index for a scope, else past the scopes. */
  private readonly endCode: Int32Array;
  /** Sharing groups of each end that is a weight. */
  private readonly endGroups: (readonly number[])[] = [];

  constructor(private readonly edges: readonly BaseEdge[], items: ReadonlyMap<string, Item>, scopes: ReadonlyMap<string, Scope>) {
    const scopeIndex = new Map<string, number>();
    for (const id of scopes.keys()) {
      if (id === '') continue;
      scopeIndex.set(id, this.scopeIds.length);
      this.scopeIds.push(id);
    }
    const indexOf = (scope: string | null | undefined) => (scope === null || scope === undefined || scope === '' ? -1 : scopeIndex.get(scope) ?? -1);
    this.scopeParent = Int32Array.from(this.scopeIds, (id) => indexOf(scopes.get(id)!.parent));
    const endIndex = new Map<string, number>();
    const starts: number[] = [];
    const codes: number[] = [];
    const end = (id: string): number => {
      let i = endIndex.get(id);
      if (i === undefined) {
        i = this.ends.length;
        endIndex.set(id, i);
        this.ends.push(id);
        const item = items.get(id);
        codes.push(scopeIndex.get(id) ?? this.scopeIds.length + i);
        // An end that is a scope stands for itself until a scope above it closes.
        starts.push(indexOf(item ? item.scope : scopes.get(id)?.parent));
        this.endGroups.push(item?.kind === 'weight' ? item.groups : NO_GROUPS);
      }
      return i;
    };
    this.from = Int32Array.from(edges, (e) => end(e.source));
    this.to = Int32Array.from(edges, (e) => end(e.target));
    this.endScope = Int32Array.from(starts);
    this.endCode = Int32Array.from(codes);
  }

  project(expanded: ReadonlySet<string>): VisibleEdge[] {
    const { scopeIds, scopeParent, ends, endScope, endCode, endGroups, edges } = this;
    // For each scope: the outermost closed one from it up, or -1 when all are open.
    const rep = new Int32Array(scopeIds.length).fill(UNSET);
    const repOf = (s: number): number => {
      if (s < 0) return -1;
      const known = rep[s]!;
      if (known !== UNSET) return known;
      const above = repOf(scopeParent[s]!);
      const r = above !== -1 ? above : expanded.has(scopeIds[s]!) ? -1 : s;
      rep[s] = r;
      return r;
    };
    // Scopes, then ends, in one numbering: a pair of them (and body or not) keys a merged edge.
    const span = scopeIds.length + ends.length;
    const merged = new Map<number, VisibleEdge>();
    for (let i = 0; i < edges.length; i++) {
      const s = this.from[i]!, t = this.to[i]!;
      const rs = repOf(endScope[s]!), rt = repOf(endScope[t]!);
      const cs = rs >= 0 ? rs : endCode[s]!, ct = rt >= 0 ? rt : endCode[t]!;
      if (cs === ct) continue;
      const e = edges[i]!;
      const body = e.kind === 'body';
      const key = (cs * span + ct) * 2 + (body ? 1 : 0);
      let edge = merged.get(key);
      if (!edge) {
        const source = rs >= 0 ? scopeIds[rs]! : ends[s]!, target = rt >= 0 ? scopeIds[rt]! : ends[t]!;
        // Named after its ends, not its position: an expand then keeps the edges it does not touch (positional ids renamed 360 of 363 edges at 10k operators, and cytoscape redrew them all).
        edge = { id: `e:${source.length}:${source}${target}${body ? ':body' : ''}`, source, target, values: [], kind: e.kind, groups: [], count: 0 };
        merged.set(key, edge);
      }
      edge.count++;
      if (edge.values.length < 8 && !edge.values.includes(e.value)) edge.values.push(e.value);
      if (e.kind === 'weight') edge.kind = 'weight';
      for (const g of endGroups[s]!) if (!edge.groups.includes(g)) edge.groups.push(g);
    }
    return [...merged.values()];
  }
}
