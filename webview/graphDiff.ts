// What Apply changed between a model and its shared copy, for the side-by-
// side view: nodes it inserted (a Transpose or Cast in front of a kept
// weight), nodes whose inputs it rewired to the kept tensor, and tensors the
// copy no longer stores. Nodes are matched by graph and name (Apply keeps
// names; it inserts nodes, which shifts positions), unnamed ones by their
// order among the unnamed nodes of the same type in the same graph.
import type { GraphPayload, NodeInfo } from '../extension/protocol.js';

export interface GraphDiff {
  /** Node ids of the copy with no counterpart in the original. */
  inserted: Set<string>;
  /** Node ids of the copy whose inputs differ from their counterpart's. */
  rewired: Set<string>;
  /** The same nodes, by their ids in the original. */
  rewiredInOriginal: Set<string>;
  /** Tensor ids of the original the copy does not store. */
  dropped: Set<string>;
}

function keysOf(nodes: readonly NodeInfo[]): Map<string, NodeInfo> {
  const out = new Map<string, NodeInfo>();
  const unnamed = new Map<string, number>();
  for (const n of nodes) {
    let key = `${n.graphPath}\u0000${n.name}`;
    if (n.name === '' || out.has(key)) {
      const k = `${n.graphPath}\u0000${n.opType}`;
      const i = unnamed.get(k) ?? 0;
      unnamed.set(k, i + 1);
      key = `${k}\u0000#${i}`;
    }
    out.set(key, n);
  }
  return out;
}

export function diffGraphs(original: GraphPayload, copy: GraphPayload): GraphDiff {
  const before = keysOf(original.nodes);
  const diff: GraphDiff = { inserted: new Set(), rewired: new Set(), rewiredInOriginal: new Set(), dropped: new Set() };
  for (const [key, n] of keysOf(copy.nodes)) {
    const o = before.get(key);
    if (!o) diff.inserted.add(n.id);
    else if (o.inputs.length !== n.inputs.length || o.inputs.some((x, i) => x !== n.inputs[i])) {
      diff.rewired.add(n.id);
      diff.rewiredInOriginal.add(o.id);
    }
  }
  const stored = new Set(copy.tensors.filter((t) => t.stored !== false).map((t) => `${t.graphPath ?? ''}\u0000${t.name}`));
  const storedAnywhere = new Set(copy.tensors.filter((t) => t.stored !== false).map((t) => t.name));
  for (const t of original.tensors) {
    if (t.stored === false || stored.has(`${t.graphPath ?? ''}\u0000${t.name}`)) continue;
    // A kept tensor Apply moved to an enclosing graph (its readers sit in sibling branches) is still stored.
    if (storedAnywhere.has(t.name)) continue;
    diff.dropped.add(t.id);
  }
  return diff;
}
