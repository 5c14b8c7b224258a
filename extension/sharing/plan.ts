// A sharing plan: which tensors of one model stop being stored, and how each
// is rebuilt from the tensor that stays. Format-neutral (ModelFile only); the
// ONNX rewrite (model/onnx/rewrite.ts) carries it out.
//
// Every replacement either points the readers of the dropped tensor at the
// kept one (`same`: exact and quantized copies; bit-identical outputs), or
// recomputes the dropped tensor under its own name with inserted nodes
// (Transpose, Reshape, Cast), so its readers, graph outputs and value_info
// stay as they were. A replacement is only planned when it is safe in the
// graph: the kept tensor must be visible (same or enclosing graph, not
// shadowed) and defined before the first reader.
import type { ConsumerRef, DType, ModelFile, ModelGraph, TensorRef } from '../model/types';
import { droppedMembers } from './groups';
import type { ScanReport, SharingGroup, SharingKind } from './types';

export type DerivationOp = 'Transpose' | 'Reshape' | 'Cast';

export interface Replacement {
  group: SharingGroup;
  kept: TensorRef;
  dropped: TensorRef;
  /** Empty: readers read `kept` directly. Else the nodes (in order) that rebuild `dropped` from `kept`. */
  ops: DerivationOp[];
  /** Cast target (the dropped tensor's dtype) when ops include Cast. */
  castTo?: DType;
  /**
   * Readers that read `kept` directly with a flipped `transA`/`transB` (2-D
   * Gemm) instead of through a Transpose node.
   */
  gemmFlips: ConsumerRef[];
  /** True when a node must produce the dropped name (derived, or a graph output of a `same` copy: Identity). */
  needsNode: boolean;
}

export interface SkippedGroup {
  group: SharingGroup;
  reason: string;
}

export interface SharingPlan {
  modelPath: string;
  /** Groups applied in full. */
  groups: SharingGroup[];
  replacements: Replacement[];
  skipped: SkippedGroup[];
  /** Bytes of tensor data no longer stored. */
  bytesSaved: number;
}

export interface PlanOptions {
  /** Kinds to apply (default: every kind). `tied` is never applied: it is already stored once. */
  kinds?: readonly SharingKind[];
}

/** Rough encoded size of one inserted node and of a shape tensor (names included). */
const NODE_BYTES = 96;
const SHAPE_TENSOR_BYTES = 48;

export const APPLICABLE_KINDS: readonly SharingKind[] = ['exact', 'transposed', 'reshaped', 'cast', 'quantized'];

/** Where graphs sit: parent graph and the index of the owning node in it. */
interface GraphInfo {
  graph: ModelGraph;
  parent?: string;
  ownerIndex?: number;
  /** Names defined in this graph: inputs, initializers, node outputs. */
  declares: Set<string>;
}

class GraphIndex {
  readonly graphs = new Map<string, GraphInfo>();

  constructor(model: ModelFile) {
    const visit = (g: ModelGraph, parent?: string, ownerIndex?: number): void => {
      const declares = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializerNames, ...g.nodes.flatMap((n) => n.outputs)]);
      this.graphs.set(g.path, { graph: g, parent, ownerIndex, declares });
      g.nodes.forEach((n, i) => { for (const s of n.subgraphs) visit(s, g.path, i); });
    };
    visit(model.graph);
  }

  info(path: string): GraphInfo {
    const i = this.graphs.get(path);
    if (!i) throw new Error(`internal: no graph '${path}'`);
    return i;
  }

  /** Graph paths from `path` up to the main graph, `path` first. */
  chain(path: string): string[] {
    const out: string[] = [];
    for (let p: string | undefined = path; p !== undefined; p = this.graphs.get(p)?.parent) out.push(p);
    return out;
  }

  /** Index, in graph `top`, of the node that holds (perhaps deep inside subgraphs) node `nodeIndex` of graph `path`. */
  topIndex(top: string, path: string, nodeIndex: number): number | undefined {
    let p = path;
    let i = nodeIndex;
    while (p !== top) {
      const info = this.graphs.get(p);
      if (info?.parent === undefined || info.ownerIndex === undefined) return undefined;
      i = info.ownerIndex;
      p = info.parent;
    }
    return i;
  }

  /** Graphs below `path` (itself included) that see the name as declared at `path`. */
  scopeOf(path: string, name: string): string[] {
    const out: string[] = [path];
    for (const p of this.graphs.keys()) {
      if (p === path) continue;
      const chain = this.chain(p);
      const at = chain.indexOf(path);
      if (at <= 0) continue;
      // Shadowed when a graph strictly below `path` on the way declares it again.
      if (chain.slice(0, at).some((q) => this.info(q).declares.has(name))) continue;
      out.push(p);
    }
    return out;
  }
}

/** Position in its own graph where a tensor becomes available: -1 for initializers, the node index for constants. */
function definedAt(index: GraphIndex, t: TensorRef): number | undefined {
  if (t.role === 'initializer') return -1;
  if (t.role !== 'constant') return undefined;
  const nodes = index.info(t.graphPath).graph.nodes;
  const i = nodes.findIndex((n) => n.opType === 'Constant' && n.outputs[0] === t.name);
  return i < 0 ? undefined : i;
}

/**
 * Checks that `kept` can stand in for `dropped` and works out how. Returns
 * the replacement, or a reason when the graph does not allow it.
 */
function replacementFor(
  index: GraphIndex, group: SharingGroup, kept: TensorRef, dropped: TensorRef, ops: DerivationOp[], castTo?: DType,
  /** Other readers were already pointed at the dropped name (it kept an earlier group): it must keep existing. */
  keepName = false,
): Replacement | string {
  if (dropped.isGraphInput || kept.isGraphInput) return `'${dropped.isGraphInput ? dropped.id : kept.id}' is also a graph input: a caller may override it`;
  if (dropped.role === 'sparse' || kept.role === 'sparse') return 'sparse initializers are not merged';
  const keptAt = definedAt(index, kept);
  const droppedAt = definedAt(index, dropped);
  if (keptAt === undefined || droppedAt === undefined) return `cannot locate the definition of '${keptAt === undefined ? kept.id : dropped.id}'`;

  // Visibility: the kept tensor's graph encloses (or is) the dropped one's, and nothing between shadows its name.
  const chain = index.chain(dropped.graphPath);
  const at = chain.indexOf(kept.graphPath);
  if (at < 0) return `'${kept.id}' is not visible where '${dropped.id}' is read`;
  if (kept.role === 'constant' && at > 0) return `'${kept.id}' is a Constant of an enclosing graph`;
  if (chain.slice(0, at).some((p) => index.info(p).declares.has(kept.name))) return `'${kept.name}' is shadowed where '${dropped.id}' is read`;

  // Every reader, and every graph output naming the dropped tensor.
  const scope = index.scopeOf(dropped.graphPath, dropped.name);
  for (const c of dropped.consumers) {
    if (c.graphPath === dropped.graphPath) continue;
    const cchain = index.chain(c.graphPath);
    const upTo = cchain.indexOf(dropped.graphPath);
    if (cchain.slice(0, upTo).some((p) => index.info(p).declares.has(kept.name))) return `'${kept.name}' is shadowed in subgraph '${c.graphPath}'`;
  }
  const isGraphOutput = scope.some((p) => index.info(p).graph.outputs.some((o) => o.name === dropped.name));

  // Order: the kept tensor exists before the first node that reads the dropped one.
  const readersAt = dropped.consumers.map((c) => index.topIndex(dropped.graphPath, c.graphPath, c.nodeIndex) ?? -1);
  const firstReader = Math.min(...readersAt, Number.POSITIVE_INFINITY);
  const keptBefore = kept.graphPath === dropped.graphPath ? keptAt : -1;
  if (keptBefore >= firstReader) return `'${kept.id}' is defined after the first reader of '${dropped.id}'`;
  if (droppedAt >= 0 && keptBefore >= droppedAt && (ops.length > 0 || isGraphOutput)) {
    return `'${kept.id}' is defined after '${dropped.id}'`;
  }

  // A transposed copy read as a Gemm's A or B needs no node: flip transA/transB.
  let gemmFlips: ConsumerRef[] = [];
  if (ops.length === 1 && ops[0] === 'Transpose') {
    gemmFlips = dropped.consumers.filter((c) => c.opType === 'Gemm' && (c.inputIndex === 0 || c.inputIndex === 1) && gemmIsDefaultDomain(index, c));
  }
  const others = dropped.consumers.length - gemmFlips.length;
  const needsNode = ops.length > 0 ? (others > 0 || isGraphOutput || keepName) : isGraphOutput;
  if (needsNode && ops.length > 0) {
    // Tiny tensors (shape constants and the like): the inserted nodes would
    // take more bytes than the copy they replace.
    const overhead = ops.length * NODE_BYTES + (ops.includes('Reshape') ? SHAPE_TENSOR_BYTES + 8 * dropped.shape.length : 0);
    if (dropped.byteLength <= overhead) return `not worth it: the inserted ${ops.join(' + ')} would take more bytes (~${overhead}) than the ${dropped.byteLength}-byte copy`;
  }
  return { group, kept, dropped, ops, castTo, gemmFlips, needsNode };
}

function gemmIsDefaultDomain(index: GraphIndex, c: ConsumerRef): boolean {
  const node = index.info(c.graphPath).graph.nodes[c.nodeIndex];
  return node !== undefined && (node.domain === '' || node.domain === 'ai.onnx');
}

/** The (kept, dropped, ops) pairs a group asks for, members reordered where any member may stay. */
function pairsOf(index: GraphIndex, g: SharingGroup, alreadyKept: (t: TensorRef) => boolean): Array<{ kept: TensorRef; dropped: TensorRef; ops: DerivationOp[]; castTo?: DType }> {
  switch (g.kind) {
    case 'exact':
    case 'reshaped': {
      // Any member may stay: keep the one visible from the most places,
      // i.e. an initializer of the outermost graph, earliest defined.
      const members = g.members.map((m) => m.tensor);
      // A member an earlier group already keeps comes first: fewer inserted nodes.
      const rank = (t: TensorRef): number[] => [alreadyKept(t) ? 0 : 1, index.chain(t.graphPath).length, t.role === 'initializer' ? 0 : 1, definedAt(index, t) ?? 1e9];
      const kept = [...members].sort((a, b) => {
        const ra = rank(a), rb = rank(b);
        for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
        return 0;
      })[0]!;
      return members.filter((t) => t !== kept).map((dropped) => ({
        kept, dropped,
        ops: g.kind === 'reshaped' && dropped.shape.join('x') !== kept.shape.join('x') ? ['Reshape'] : [],
      }));
    }
    case 'transposed':
      return droppedMembers(g).map((m) => ({ kept: g.members[0]!.tensor, dropped: m.tensor, ops: ['Transpose'] }));
    case 'cast':
      return droppedMembers(g).map((m) => ({
        kept: g.members[0]!.tensor, dropped: m.tensor,
        ops: g.transposed ? ['Transpose', 'Cast'] : ['Cast'], castTo: m.tensor.dtype,
      }));
    case 'quantized': {
      // (weight, scale, zero point) triplets: each part of a copy reads the
      // same part of the first triplet; shared parts are already one tensor.
      const out: Array<{ kept: TensorRef; dropped: TensorRef; ops: DerivationOp[] }> = [];
      const seen = new Set<TensorRef>(g.members.slice(0, 3).map((m) => m.tensor));
      g.members.forEach((m, i) => {
        if (i < 3 || seen.has(m.tensor)) return;
        seen.add(m.tensor);
        out.push({ kept: g.members[i % 3]!.tensor, dropped: m.tensor, ops: [] });
      });
      return out;
    }
    case 'tied':
      return [];
  }
}

/**
 * Plans the lossless groups of `report` that concern `model` (groups are
 * applied whole or not at all). Groups come in the report's order (largest
 * saving first); a later group that conflicts with an earlier one is skipped
 * with the reason.
 */
export function planSharing(model: ModelFile, report: ScanReport, options: PlanOptions = {}): SharingPlan {
  const kinds = new Set(options.kinds ?? APPLICABLE_KINDS);
  const index = new GraphIndex(model);
  const plan: SharingPlan = { modelPath: model.path, groups: [], replacements: [], skipped: [], bytesSaved: 0 };
  /** dropped tensor -> its replacement */
  const droppedBy = new Map<TensorRef, Replacement>();

  for (const g of report.groups) {
    if (g.kind === 'tied' || !kinds.has(g.kind)) continue;
    if (g.members.some((m) => m.path !== model.path)) {
      if (g.members.some((m) => m.path === model.path)) plan.skipped.push({ group: g, reason: 'the copies are in different files (see apply\'s note on pipelines)' });
      continue;
    }
    if (!g.lossless) {
      plan.skipped.push({ group: g, reason: g.reason ?? 'not lossless' });
      continue;
    }
    const keptSet = new Set([...droppedBy.values()].map((r) => r.kept));
    const pairs = pairsOf(index, g, (t) => keptSet.has(t));
    const made: Replacement[] = [];
    let reason: string | undefined;
    for (const p0 of pairs) {
      let p = p0;
      const before = droppedBy.get(p.dropped);
      if (before) {
        // Already an exact copy of some K, which stays stored: a derivation
        // of the copy is a derivation of K (same bytes, same shape), so
        // rebuild K instead, under its own name (the copy's readers read it).
        if (before.ops.length > 0 || p.ops.length === 0 || droppedBy.has(before.kept)) continue;
        p = { ...p, dropped: before.kept };
        if (p.dropped === p.kept) continue;
      }
      let kept = p.kept;
      const viaKept = droppedBy.get(kept);
      if (viaKept) {
        // The kept tensor is itself dropped: follow an exact copy, refuse a derived one.
        if (viaKept.ops.length > 0) { reason = `'${kept.id}' is already rebuilt from '${viaKept.kept.id}' by an earlier group`; break; }
        kept = viaKept.kept;
      }
      // When earlier groups keep the tensor this one drops, a derived copy
      // keeps its name (they read it); an exact one re-points them below.
      const keepName = p.ops.length > 0 && (keptSet.has(p.dropped) || made.some((m) => m.kept === p.dropped));
      const r = replacementFor(index, g, kept, p.dropped, p.ops, p.castTo, keepName);
      if (typeof r === 'string') { reason = r; break; }
      made.push(r);
    }
    if (reason !== undefined) {
      plan.skipped.push({ group: g, reason });
      continue;
    }
    if (made.length === 0) continue;
    for (const r of made) {
      // Earlier exact replacements that kept this now-dropped tensor follow it to the new kept one.
      for (const [d, prev] of droppedBy) {
        if (prev.kept === r.dropped && r.ops.length === 0) {
          const again = replacementFor(index, prev.group, r.kept, d, prev.ops, prev.castTo);
          if (typeof again === 'string') throw new Error(`internal: re-pointing '${d.id}': ${again}`);
          droppedBy.set(d, again);
        }
      }
      droppedBy.set(r.dropped, r);
    }
    plan.groups.push(g);
  }
  plan.replacements = [...droppedBy.values()];
  plan.bytesSaved = plan.replacements.reduce((s, r) => s + r.dropped.byteLength, 0);
  return plan;
}
