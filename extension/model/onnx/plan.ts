// How ONNX carries out format-neutral sharing decisions, and whether the
// graph allows each one. Every replacement either points the readers of the
// dropped tensor at the kept one (an alias: exact and quantized copies;
// bit-identical outputs), or recomputes the dropped tensor under its own name
// with inserted nodes (Transpose, Reshape, Cast), so its readers, graph
// outputs and value_info stay as they were. A replacement is only allowed
// when it is safe in the graph: the kept tensor must be visible (same or
// enclosing graph, not shadowed) and defined before the first reader.
import type { Decision, Realised, Realiser } from '../format';
import type { ConsumerRef, DeriveOp, ModelFile, ModelGraph, TensorRef } from '../types';

/** A decision as the ONNX rewrite carries it out. */
export interface OnnxReplacement extends Realised {
  /**
   * Readers that read `kept` directly with a flipped `transA`/`transB` (2-D
   * Gemm) instead of through a Transpose node.
   */
  gemmFlips: ConsumerRef[];
  /** True when a node must produce the dropped name (derived, or a graph output of an alias: Identity). */
  needsNode: boolean;
  /**
   * Set when the copies sit in sibling subgraphs (the two branches of an
   * `If`): the kept initializer moves to this graph, the innermost one that
   * encloses both (inner graphs read outer names), and both sets of readers
   * read it there. The rewrite merges the targets of one kept tensor.
   */
  hoistTo?: string;
}

/** Rough encoded size of one inserted node and of a shape tensor (names included). */
const NODE_BYTES = 96;
const SHAPE_TENSOR_BYTES = 48;

/** ONNX operator names of the derivations. */
export const ONNX_OP: Record<DeriveOp, 'Transpose' | 'Reshape' | 'Cast'> = { transpose: 'Transpose', reshape: 'Reshape', cast: 'Cast' };

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

  constructor(main: ModelGraph) {
    const visit = (g: ModelGraph, parent?: string, ownerIndex?: number): void => {
      const declares = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializerNames, ...g.nodes.flatMap((n) => n.outputs)]);
      this.graphs.set(g.path, { graph: g, parent, ownerIndex, declares });
      g.nodes.forEach((n, i) => { for (const s of n.subgraphs) visit(s, g.path, i); });
    };
    visit(main);
  }

  info(path: string): GraphInfo {
    const i = this.graphs.get(path);
    if (!i) throw new Error(`internal: no graph '${path}'`);
    return i;
  }

  /** The innermost graph enclosing (or being) both. */
  commonAncestor(a: string, b: string): string {
    const up = new Set(this.chain(a));
    return this.chain(b).find((p) => up.has(p)) ?? '';
  }

  /** True when `name` is an output of graph `path` or of a graph below it. */
  isOutputBelow(path: string, name: string): boolean {
    for (const [p, info] of this.graphs) {
      if (info.graph.outputs.some((o) => o.name === name) && this.chain(p).includes(path)) return true;
    }
    return false;
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

  /** Position in its own graph where a tensor becomes available: -1 for initializers, the node index for constants. */
  definedAt(t: TensorRef): number | undefined {
    if (t.role === 'initializer') return -1;
    if (t.role !== 'constant') return undefined;
    const nodes = this.info(t.graphPath).graph.nodes;
    const i = nodes.findIndex((n) => n.opType === 'Constant' && n.outputs[0] === t.name);
    return i < 0 ? undefined : i;
  }
}

export function onnxRealiser(model: ModelFile): Realiser<OnnxReplacement> {
  if (!model.graph) throw new Error(`${model.path}: internal: an ONNX model without a graph`);
  const index = new GraphIndex(model.graph.main);
  return {
    // Keep the copy visible from the most places: an initializer of the
    // outermost graph, earliest defined.
    keepRank: (t) => [index.chain(t.graphPath).length, t.role === 'initializer' ? 0 : 1, index.definedAt(t) ?? 1e9],
    realise: (d, keepName) => replacementFor(index, d, keepName),
  };
}

/** Checks that `kept` can stand in for `dropped` and works out how; a string says why not. */
function replacementFor(index: GraphIndex, d: Decision, keepName: boolean): OnnxReplacement | string {
  const { kept, dropped, ops } = d;
  if (dropped.pinned !== undefined || kept.pinned !== undefined) return (dropped.pinned ?? kept.pinned)!;
  const keptAt = index.definedAt(kept);
  const droppedAt = index.definedAt(dropped);
  if (keptAt === undefined || droppedAt === undefined) return `cannot locate the definition of '${keptAt === undefined ? kept.id : dropped.id}'`;

  // Visibility: the kept tensor's graph encloses (or is) the dropped one's, and nothing between shadows its name.
  const chain = index.chain(dropped.graphPath);
  const at = chain.indexOf(kept.graphPath);
  if (at < 0) return hoisted(index, d);
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
  const firstReader = readersAt.reduce((m, i) => Math.min(m, i), Number.POSITIVE_INFINITY);
  const keptBefore = kept.graphPath === dropped.graphPath ? keptAt : -1;
  if (keptBefore >= firstReader) return `'${kept.id}' is defined after the first reader of '${dropped.id}'`;
  if (droppedAt >= 0 && keptBefore >= droppedAt && (ops.length > 0 || isGraphOutput)) {
    return `'${kept.id}' is defined after '${dropped.id}'`;
  }

  // A transposed copy read as a Gemm's A or B needs no node: flip transA/transB.
  let gemmFlips: ConsumerRef[] = [];
  if (ops.length === 1 && ops[0] === 'transpose') {
    gemmFlips = dropped.consumers.filter((c) => c.opType === 'Gemm' && (c.inputIndex === 0 || c.inputIndex === 1) && gemmIsDefaultDomain(index, c));
  }
  const others = dropped.consumers.length - gemmFlips.length;
  const needsNode = ops.length > 0 ? (others > 0 || isGraphOutput || keepName) : isGraphOutput;
  const names = ops.map((op) => ONNX_OP[op]);
  if (needsNode && ops.length > 0) {
    // Tiny tensors (shape constants and the like): the inserted nodes would
    // take more bytes than the copy they replace.
    const overhead = ops.length * NODE_BYTES + (ops.includes('reshape') ? SHAPE_TENSOR_BYTES + 8 * dropped.shape.length : 0);
    if (dropped.byteLength <= overhead) return `not worth it: the inserted ${names.join(' + ')} would take more bytes (~${overhead}) than the ${dropped.byteLength}-byte copy`;
  }
  return { kept, dropped, ops, gemmFlips, needsNode, how: describe(names, gemmFlips, needsNode) };
}

/**
 * Copies in graphs that cannot see each other: the kept initializer moves up
 * to the innermost graph enclosing both, under a name no other graph uses
 * (the rewrite picks it), so nothing can shadow it on the way down. Aliases
 * only; a kept tensor that is a graph output stays where it is.
 */
function hoisted(index: GraphIndex, d: Decision): OnnxReplacement | string {
  const { kept, dropped, ops } = d;
  const why = (s: string) => `'${kept.id}' is not visible where '${dropped.id}' is read, and ${s}`;
  if (ops.length > 0) return why('only identical copies are moved to an enclosing graph');
  if (kept.role !== 'initializer') return why(`it is a ${kept.role === 'constant' ? 'Constant' : kept.role}, not an initializer that could move to an enclosing graph`);
  if (index.isOutputBelow(kept.graphPath, kept.name)) return why('it is a graph output, so it cannot move');
  const hoistTo = index.commonAncestor(kept.graphPath, dropped.graphPath);
  const isGraphOutput = index.isOutputBelow(dropped.graphPath, dropped.name);
  const where = hoistTo === '' ? 'the main graph' : `'${hoistTo}'`;
  return {
    kept, dropped, ops, gemmFlips: [], needsNode: isGraphOutput, hoistTo,
    how: `kept copy moved to ${where}, ${isGraphOutput ? 'Identity (it is a graph output)' : 'readers rewired'}`,
  };
}

function describe(names: string[], gemmFlips: ConsumerRef[], needsNode: boolean): string {
  if (names.length === 0) return needsNode ? 'Identity (it is a graph output)' : 'readers rewired';
  const parts: string[] = [];
  if (gemmFlips.length > 0) parts.push(`${gemmFlips.length} Gemm ${gemmFlips.length === 1 ? 'flips' : 'flip'} trans${gemmFlips.map((c) => (c.inputIndex === 0 ? 'A' : 'B')).join('/')}`);
  if (needsNode) parts.push(`${names.join(' + ')} node${names.length > 1 ? 's' : ''} inserted`);
  return parts.join(', ');
}

function gemmIsDefaultDomain(index: GraphIndex, c: ConsumerRef): boolean {
  const node = index.info(c.graphPath).graph.nodes[c.nodeIndex];
  return node !== undefined && (node.domain === '' || node.domain === 'ai.onnx');
}
