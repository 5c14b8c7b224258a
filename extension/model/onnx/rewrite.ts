// Carries out a sharing plan on an ONNX file by streaming it: every field the
// plan does not touch is copied verbatim as a byte range of the source (so
// opsets, IR version, metadata, doc strings, functions, unknown fields and
// node order survive exactly); dropped initializers are left out, Constant
// nodes of dropped constants are replaced, readers are pointed at the kept
// tensor, and the few inserted nodes (Transpose / Reshape / Cast / Identity)
// recompute a dropped tensor under its own name. Tensors stored as external
// data are laid out in a new data file beside the output.
import * as path from 'node:path';
import { storedRanges, type ModelFile, type ModelGraph, type TensorRef } from '../types';
import { FileSet } from '../../io/fileSet';
import type { PieceSource } from '../../io/atomicWrite';
import { ONNX_OP, type OnnxReplacement } from './plan';
import { WireFile, fieldAt, listFields, int64Value, WIRE_LEN, type WireField } from './wire';
import { attributeLayout, subgraphFields, A_I } from './attribute';
import {
  Encoded, ExternalDataFile, MessageWriter, encodeAttribute, encodeNode, encodeTensor, encodeStringEntry,
  onnxDataType, F, DATA_LOCATION_EXTERNAL, type NodeSpec,
} from './writer';

export interface InsertedNode {
  graphPath: string;
  name: string;
  opType: string;
  inputs: string[];
  output: string;
}

export interface RewriteResult {
  model: Encoded;
  /** The new external data file, when the source stores tensors outside the model file. */
  data?: ExternalDataFile;
  inserted: InsertedNode[];
  /** Readers pointed at a kept tensor (node inputs rewritten). */
  rewired: number;
  /** Gemm nodes whose transA / transB was flipped instead of inserting a Transpose. */
  gemmFlips: number;
}

export class RewriteError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: cannot rewrite: ${problem}`);
    this.name = 'RewriteError';
  }
}

/** What changes in one graph. */
interface GraphEdit {
  /** fileOffset of initializer fields to leave out. */
  dropInitializers: Set<number>;
  /** Node indices whose node is left out (Constant nodes of dropped constants). */
  dropNodes: Set<number>;
  /** Nodes to emit before node index i (i >= node count: at the end). */
  inserts: Map<number, Encoded[]>;
  /** node index -> input index -> new name */
  renames: Map<number, Map<number, string>>;
  /** node index -> attribute names to flip ('transA' | 'transB') */
  flips: Map<number, Set<string>>;
  newInitializers: Encoded[];
  /** Initializers of inner graphs moved here (sibling-subgraph sharing), with the name each takes. */
  hoisted: Array<{ tensor: TensorRef; name: string }>;
  /** value_info entries to leave out (names that no longer exist). */
  dropValueInfo: Set<string>;
}

function emptyEdit(): GraphEdit {
  return {
    dropInitializers: new Set(), dropNodes: new Set(), inserts: new Map(), renames: new Map(),
    flips: new Map(), newInitializers: [], hoisted: [], dropValueInfo: new Set(),
  };
}

const M_GRAPH = 7;
const G_NODE = 1, G_INITIALIZER = 5, G_VALUE_INFO = 13;
const N_INPUT = 1, N_ATTRIBUTE = 5;
const T_EXTERNAL = 13, T_LOCATION = 14, T_RAW = 9;
/** float_data, int32_data, string_data, int64_data, double_data, uint64_data. */
const TYPED_DATA_FIELDS = new Set([4, 5, 6, 7, 10, 11]);
const V_NAME = 1;

/** Unique names: never collide with any name already in the model. */
class Names {
  private readonly used = new Set<string>();

  constructor(model: ModelFile) {
    const visit = (g: ModelGraph): void => {
      for (const v of [...g.inputs, ...g.outputs, ...g.valueInfo]) this.used.add(v.name);
      for (const n of g.initializerNames) this.used.add(n);
      for (const n of g.nodes) {
        this.used.add(n.name);
        for (const o of [...n.inputs, ...n.outputs]) this.used.add(o);
        n.subgraphs.forEach(visit);
      }
    };
    if (model.graph) visit(model.graph.main);
  }

  fresh(base: string): string {
    let name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }
}

/** Index of the Constant node defining a constant tensor in its graph. */
function constantNodeIndex(model: ModelFile, t: TensorRef): number {
  const g = model.graph && findGraph(model.graph.main, t.graphPath);
  const i = g?.nodes.findIndex((n) => n.opType === 'Constant' && n.outputs[0] === t.name) ?? -1;
  if (i < 0) throw new RewriteError(model.path, `cannot find the Constant node of '${t.id}'`);
  return i;
}

function findGraph(g: ModelGraph, p: string): ModelGraph | undefined {
  if (g.path === p) return g;
  for (const n of g.nodes) for (const s of n.subgraphs) {
    const found = findGraph(s, p);
    if (found) return found;
  }
  return undefined;
}

/** The TensorProto field of an initializer: the rewrite leaves it out or copies it. */
function recordOf(t: TensorRef): number {
  if (t.recordOffset === undefined) throw new Error(`internal: '${t.id}' has no TensorProto offset`);
  return t.recordOffset;
}

function isExternal(model: ModelFile, t: TensorRef): boolean {
  return storedRanges(t.data)?.some((r) => path.resolve(r.file) !== path.resolve(model.path)) ?? false;
}

/**
 * Builds the encoded output model for `plan`. `outputPath` names the data
 * file (`<output file name>.data`) when the source uses external data.
 */
export function rewriteOnnx(model: ModelFile, replacements: readonly OnnxReplacement[], outputPath: string, replaceData: ReadonlyMap<TensorRef, PieceSource> = new Map()): RewriteResult {
  if (!model.graph) throw new RewriteError(model.path, 'not an ONNX model (no graph)');
  const main = model.graph.main;
  const edits = new Map<string, GraphEdit>();
  const edit = (p: string): GraphEdit => {
    let e = edits.get(p);
    if (!e) edits.set(p, (e = emptyEdit()));
    return e;
  };
  const names = new Names(model);
  const inserted: InsertedNode[] = [];
  let rewired = 0;
  let gemmFlips = 0;

  const insertNode = (graphPath: string, position: number, spec: NodeSpec & { name: string }): void => {
    const e = edit(graphPath);
    const list = e.inserts.get(position) ?? [];
    list.push(encodeNode(spec));
    e.inserts.set(position, list);
    inserted.push({ graphPath, name: spec.name, opType: spec.opType, inputs: [...spec.inputs], output: spec.outputs[0] ?? '' });
  };

  const parents = new Map<string, string>();
  const allGraphs: ModelGraph[] = [main];
  const visitParents = (g: ModelGraph): void => g.nodes.forEach((n) => n.subgraphs.forEach((s) => { parents.set(s.path, g.path); allGraphs.push(s); visitParents(s); }));
  visitParents(main);
  const isWithin = (p: string, ancestor: string): boolean => {
    for (let q: string | undefined = p; q !== undefined; q = parents.get(q)) if (q === ancestor) return true;
    return false;
  };

  // Kept initializers that move to an enclosing graph: one target per
  // tensor (the innermost graph enclosing every target its decisions ask
  // for), and its own name unless another graph declares that name too.
  const hoists = new Map<TensorRef, { to: string; name: string }>();
  const commonAncestor = (a: string, b: string): string => {
    for (let q: string | undefined = b; q !== undefined; q = parents.get(q)) if (isWithin(a, q)) return q;
    return '';
  };
  for (const r of replacements) {
    if (r.hoistTo === undefined) continue;
    const h = hoists.get(r.kept);
    hoists.set(r.kept, { to: h ? commonAncestor(h.to, r.hoistTo) : r.hoistTo, name: r.kept.name });
  }
  if (hoists.size > 0) {
    // Which graphs declare each moved name, in one pass (not one pass per moved tensor).
    const moved = new Set([...hoists.keys()].map((t) => t.name));
    const declaredIn = new Map<string, Set<string>>();
    const declare = (name: string, g: ModelGraph) => {
      if (!moved.has(name)) return;
      let s = declaredIn.get(name);
      if (!s) declaredIn.set(name, (s = new Set()));
      s.add(g.path);
    };
    for (const g of allGraphs) {
      for (const n of g.initializerNames) declare(n, g);
      for (const v of g.inputs) declare(v.name, g);
      for (const n of g.nodes) for (const o of n.outputs) declare(o, g);
    }
    for (const [t, h] of hoists) {
      const elsewhere = [...(declaredIn.get(t.name) ?? [])].some((p) => p !== t.graphPath);
      if (elsewhere) h.name = names.fresh(`${t.name}__shared`);
    }
  }
  const nameOf = (t: TensorRef): string => hoists.get(t)?.name ?? t.name;

  const droppedTensors = new Set(replacements.map((r) => r.dropped));
  const shapeNames = new Map<string, string>();
  const files = new FileSet();
  /**
   * The int64 shape tensor a Reshape reads: an equal one the graph already
   * has (so the output holds no new duplicate), else one new initializer per
   * graph and shape.
   */
  const shapeTensor = (graphPath: string, position: number, shape: readonly number[], safe: string): string => {
    const key = `${graphPath}\u0000${shape.join(',')}`;
    const known = shapeNames.get(key);
    if (known !== undefined) return known;
    const want = Buffer.from(new BigInt64Array(shape.map((d) => BigInt(d))).buffer);
    const existing = model.tensors.find((t) => {
      if (t.dtype !== 'int64' || t.shape.length !== 1 || t.shape[0] !== shape.length || t.isGraphInput || droppedTensors.has(t)) return false;
      if (t.graphPath !== graphPath) return false;
      if (t.role === 'constant' ? constantNodeIndex(model, t) >= position : t.role !== 'initializer') return false;
      if (t.data.kind === 'unavailable') return false;
      const have = Buffer.alloc(t.byteLength);
      files.readTensor(t, 0, have);
      return have.equals(want);
    });
    let name: string;
    if (existing) {
      name = existing.name;
    } else {
      name = names.fresh(`WeightSharing/shape/${safe}`);
      edit(graphPath).newInitializers.push(encodeTensor({ name, dtype: 'int64', dims: [shape.length], data: { int64: shape } }));
    }
    // A reused Constant is only valid after its node: do not offer it to other positions.
    if (existing?.role !== 'constant') shapeNames.set(key, name);
    return name;
  };

  try {
    for (const r of replacements) applyReplacement(r);
  } finally {
    files.close();
  }
  for (const [t, h] of hoists) {
    if (droppedTensors.has(t)) throw new RewriteError(model.path, `'${t.id}' is both moved and dropped`);
    edit(t.graphPath).dropInitializers.add(recordOf(t));
    edit(h.to).hoisted.push({ tensor: t, name: h.name });
    if (h.name === t.name) continue;
    for (const c of t.consumers) rename(c, h.name);
    for (const sub of allGraphs) {
      if (sub.valueInfo.some((v) => v.name === t.name) && isWithin(sub.path, t.graphPath)) edit(sub.path).dropValueInfo.add(t.name);
    }
  }

  function rename(c: { graphPath: string; nodeIndex: number; inputIndex: number }, to: string): void {
    const ce = edit(c.graphPath);
    const m = ce.renames.get(c.nodeIndex) ?? new Map<number, string>();
    m.set(c.inputIndex, to);
    ce.renames.set(c.nodeIndex, m);
    rewired++;
  }

  function applyReplacement(r: OnnxReplacement): void {
    const { kept, dropped } = r;
    const g = dropped.graphPath;
    const e = edit(g);
    let position: number;
    if (dropped.role === 'constant') {
      position = constantNodeIndex(model, dropped);
      e.dropNodes.add(position);
    } else {
      e.dropInitializers.add(recordOf(dropped));
      position = kept.role === 'constant' && kept.graphPath === g ? constantNodeIndex(model, kept) + 1 : 0;
    }
    const keptName = nameOf(kept);
    for (const c of r.gemmFlips) {
      rename(c, keptName);
      const ce = edit(c.graphPath);
      const s = ce.flips.get(c.nodeIndex) ?? new Set<string>();
      s.add(c.inputIndex === 0 ? 'transA' : 'transB');
      ce.flips.set(c.nodeIndex, s);
      gemmFlips++;
    }
    if (!r.needsNode) {
      if (r.ops.length === 0) for (const c of dropped.consumers) rename(c, keptName);
      // The dropped name no longer exists: a value_info naming it would dangle.
      for (const sub of allGraphs) {
        if (sub.valueInfo.some((v) => v.name === dropped.name) && isWithin(sub.path, g)) edit(sub.path).dropValueInfo.add(dropped.name);
      }
      return;
    }
    const safe = dropped.name.replace(/[^\w.:-]+/g, '_');
    if (r.ops.length === 0) {
      insertNode(g, position, { name: names.fresh(`WeightSharing/Identity/${safe}`), opType: 'Identity', inputs: [keptName], outputs: [dropped.name] });
      return;
    }
    // Chain the ops; the last one produces the dropped tensor's own name.
    let input = keptName;
    r.ops.forEach((derive, i) => {
      const op = ONNX_OP[derive];
      const last = i === r.ops.length - 1;
      const output = last ? dropped.name : names.fresh(`WeightSharing/${op}/${safe}/output`);
      const name = names.fresh(`WeightSharing/${op}/${safe}`);
      if (op === 'Transpose') {
        insertNode(g, position, { name, opType: 'Transpose', inputs: [input], outputs: [output], attributes: [{ name: 'perm', kind: 'ints', value: [1, 0] }] });
      } else if (op === 'Cast') {
        insertNode(g, position, { name, opType: 'Cast', inputs: [input], outputs: [output], attributes: [{ name: 'to', kind: 'int', value: onnxDataType(dropped.dtype) }] });
      } else {
        insertNode(g, position, { name, opType: 'Reshape', inputs: [input, shapeTensor(g, position, dropped.shape, safe)], outputs: [output] });
      }
      input = output;
    });
  }

  // Graphs to re-encode: those with edits, those holding external tensors, and their ancestors.
  const tensorsByOffset = new Map<number, TensorRef>();
  for (const t of model.tensors) if (t.role === 'initializer') tensorsByOffset.set(recordOf(t), t);
  const externals = model.tensors.filter((t) => isExternal(model, t));
  for (const t of externals) {
    if (t.role !== 'initializer') throw new RewriteError(model.path, `'${t.id}' is a ${t.role} tensor stored as external data, which the rewrite does not move`);
    edit(t.graphPath);
  }
  for (const t of replaceData.keys()) {
    if (t.role !== 'initializer') throw new RewriteError(model.path, `'${t.id}' is a ${t.role} tensor: only initializers get new contents`);
    edit(t.graphPath);
  }
  const touched = new Set<string>();
  for (const p of edits.keys()) for (let q: string | undefined = p; q !== undefined && !touched.has(q); q = parents.get(q)) touched.add(q);

  const data = externals.length > 0 ? new ExternalDataFile(`${path.basename(outputPath)}.data`) : undefined;
  const src = new WireFile(path.resolve(model.path), 'onnx');
  try {
    const out = new MessageWriter();
    const range = (f: WireField) => ({ file: src.path, offset: f.start, length: f.end - f.start });

    const rewriteGraph = (field: WireField, graph: ModelGraph): Encoded => {
      const e = edits.get(graph.path) ?? emptyEdit();
      const m = new MessageWriter();
      let nodeIndex = 0;
      // Inserted nodes go before the node at their position (in plan order).
      const positions = [...e.inserts.keys()].sort((a, b) => a - b);
      let next = 0;
      const flushInserts = (upTo: number): void => {
        for (; next < positions.length && positions[next]! <= upTo; next++) {
          for (const n of e.inserts.get(positions[next]!) ?? []) m.message(F.graph.node, n);
        }
      };
      for (const f of src.nested(field, `GraphProto '${graph.path}'`)) {
        if (f.field === G_NODE) {
          flushInserts(nodeIndex);
          const i = nodeIndex++;
          const node = graph.nodes[i];
          if (!node) throw new RewriteError(model.path, `graph '${graph.path}' has more nodes than the reader saw`);
          if (e.dropNodes.has(i)) continue;
          const subTouched = node.subgraphs.some((s) => touched.has(s.path));
          if (e.renames.has(i) || e.flips.has(i) || subTouched) m.message(F.graph.node, rewriteNode(f, graph, i));
          else m.raw(range(f));
        } else if (f.field === G_INITIALIZER) {
          if (e.dropInitializers.has(f.start)) continue;
          const t = tensorsByOffset.get(f.start);
          const changed = t && tensorRecord(f, t);
          if (changed) m.message(F.graph.initializer, changed);
          else m.raw(range(f));
        } else if (f.field === G_VALUE_INFO && e.dropValueInfo.size > 0 && e.dropValueInfo.has(valueInfoName(f))) {
          continue;
        } else {
          m.raw(range(f));
        }
      }
      flushInserts(Number.POSITIVE_INFINITY);
      for (const t of e.newInitializers) m.message(F.graph.initializer, t);
      for (const h of e.hoisted) {
        const f = fieldAt(src, recordOf(h.tensor), src.size, `TensorProto '${h.tensor.id}'`);
        m.message(F.graph.initializer, tensorRecord(f, h.tensor, h.name)!); // a name given: always a new record
      }
      return m.finish();
    };

    const valueInfoName = (f: WireField): string => {
      for (const g of src.nested(f, 'ValueInfoProto')) if (g.field === V_NAME) return src.string(g, 1 << 20, 'ValueInfoProto.name');
      return '';
    };

    const rewriteNode = (field: WireField, graph: ModelGraph, index: number): Encoded => {
      const node = graph.nodes[index]!;
      const e = edits.get(graph.path) ?? emptyEdit();
      const renames = e.renames.get(index);
      const flips = new Set(e.flips.get(index) ?? []);
      const label = node.name !== '' ? node.name : `#${index}`;
      // The reader lists a node's subgraphs in the order its attributes give them.
      const subgraphs = node.subgraphs.values();
      const m = new MessageWriter();
      let inputIndex = 0;
      for (const f of src.nested(field, `NodeProto '${label}'`)) {
        if (f.field === N_INPUT) {
          const to = renames?.get(inputIndex++);
          if (to !== undefined) m.string(F.node.input, to);
          else m.raw(range(f));
        } else if (f.field === N_ATTRIBUTE && f.wireType === WIRE_LEN) {
          m.message(F.node.attribute, rewriteAttribute(f, label, subgraphs, flips));
        } else {
          m.raw(range(f));
        }
      }
      if (!subgraphs.next().done) throw new RewriteError(model.path, `node '${label}' of graph '${graph.path}' has fewer subgraphs than the reader saw`);
      // A flip of an attribute the node did not have: its default is 0, so set 1.
      for (const name of flips) m.message(F.node.attribute, encodeAttribute({ name, kind: 'int', value: 1 }));
      return m.finish();
    };

    const rewriteAttribute = (field: WireField, label: string, subgraphs: Iterator<ModelGraph>, flips: Set<string>): Encoded => {
      const what = `attribute of node '${label}'`;
      const fields = listFields(src, field.offset, field.end, 'AttributeProto');
      const layout = attributeLayout(src, fields, what);
      const name = layout.name ? src.string(layout.name, 1 << 20, `${what} name`) : '';
      if (flips.has(name)) {
        flips.delete(name);
        const iField = layout.one[A_I];
        const old = iField ? int64Value(src, iField, `${name} of a Gemm node`) : 0;
        return encodeAttribute({ name, kind: 'int', value: old === 0 ? 1 : 0 });
      }
      const graphs = new Set(subgraphFields(layout));
      if (graphs.size === 0) return rawPayload(field);
      const m = new MessageWriter();
      for (const g of fields) {
        if (!graphs.has(g)) { m.raw(range(g)); continue; }
        const sub = subgraphs.next();
        if (sub.done) throw new RewriteError(model.path, `node '${label}' has more subgraphs than the reader saw`);
        m.message(g.field, touched.has(sub.value.path) ? rewriteGraph(g, sub.value) : rawPayload(g));
      }
      return m.finish();
    };

    /** The payload of a length-delimited field, as an Encoded message (no tag, no length). */
    const rawPayload = (f: WireField): Encoded => new Encoded([{ file: src.path, offset: f.offset, length: f.length }], f.length);

    /**
     * An initializer as the output needs it, or undefined when its record is
     * copied verbatim: new contents (as raw_data), its external bytes placed
     * in the new data file, or a new name (moved to an enclosing graph).
     */
    const tensorRecord = (f: WireField, t: TensorRef, name?: string): Encoded | undefined => {
      const fresh = replaceData.get(t);
      const moveData = !fresh && data !== undefined && isExternal(model, t);
      if (!fresh && !moveData && name === undefined) return undefined;
      const m = new MessageWriter();
      for (const g of src.nested(f, `TensorProto '${t.id}'`)) {
        if (name !== undefined && g.field === F.tensor.name) continue;
        if ((fresh || moveData) && (g.field === T_EXTERNAL || g.field === T_LOCATION || g.field === T_RAW)) continue;
        if (fresh && TYPED_DATA_FIELDS.has(g.field)) continue;
        m.raw(range(g));
      }
      if (name !== undefined) m.string(F.tensor.name, name);
      if (fresh) {
        m.delimited(T_RAW, [fresh], fresh.length);
      } else if (moveData) {
        const ranges = storedRanges(t.data);
        if (!ranges || !data) throw new RewriteError(model.path, `'${t.id}' has no byte ranges to move`);
        const ref = data.add(ranges);
        m.message(F.tensor.externalData, encodeStringEntry('location', ref.location));
        m.message(F.tensor.externalData, encodeStringEntry('offset', String(ref.offset)));
        m.message(F.tensor.externalData, encodeStringEntry('length', String(ref.length)));
        m.varint(F.tensor.dataLocation, DATA_LOCATION_EXTERNAL);
      }
      return m.finish();
    };

    for (const f of listFields(src, 0, src.size, 'ModelProto')) {
      if (f.field === M_GRAPH && f.wireType === WIRE_LEN) out.message(M_GRAPH, rewriteGraph(f, main));
      else out.raw(range(f));
    }
    return { model: out.finish(), data, inserted, rewired, gemmFlips };
  } finally {
    src.close();
  }
}
