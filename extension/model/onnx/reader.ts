// Reads an ONNX model's structure (ModelProto -> ModelFile) without reading
// tensor bytes: raw_data, packed float/double data and external data become
// byte ranges; only varint-encoded typed fields are decoded (bounded).
import * as path from 'node:path';
import {
  DTYPE_SIZE, NO_CONSUMERS, type AttributeValue, type DType, type ModelFile, type ModelFunction, type ModelGraph,
  type ModelNode, type OpsetImport, type TensorData, type TensorRef, type TensorRole, type ValueInfo,
} from '../types';
import { fillConsumers } from './consumers';
import { ShapeTable } from '../shapes';
import { setOwn } from '../../util/ownKeys';
import { attributeLayout, A_F, A_I, A_S, A_T, A_G, A_FLOATS, A_INTS, A_STRINGS, A_TENSORS, A_GRAPHS, A_REF, A_SPARSE, A_SPARSES, AT_FLOAT, AT_INT, AT_STRING, AT_TENSOR, AT_GRAPH, AT_FLOATS, AT_INTS, AT_STRINGS, AT_TENSORS, AT_GRAPHS, AT_SPARSE, AT_SPARSES, AT_TP, AT_TPS } from './attribute';
import type { OpenOptions } from '../format';
import { placeInside, type PathTrust } from '../../io/safePath';
import { ONNX_DTYPES, onnxTypeName, TYPED_FIELD_NAMES, typedFieldOf, FLOAT_DATA, INT32_DATA, STRING_DATA, INT64_DATA, DOUBLE_DATA, UINT64_DATA } from './dtypes';
import {
  WireFile, listFields, int64Value, int32Value, floatValue, expectWire, longToSafe, float32FromBits,
  WIRE_LEN, WIRE_VARINT, WIRE_I32, WIRE_I64, type WireField,
} from './wire';

/** Most dimensions a tensor may have; more means a corrupt file (numpy allows 64). */
export const MAX_DIMS = 64;
/** Typed-field (varint) tensors larger than this, canonically, are not decoded. */
export const INLINE_DECODE_CAP = 64 << 20;
/** All the tensors of one model decoded into memory together: past this, the rest are not compared (twenty tensors under the per-tensor cap held 1.3 GB). */
export const TOTAL_DECODE_CAP = 256 << 20;
/** Longest name / key / op type accepted. */
const NAME_CAP = 1 << 20;
/** Doc strings longer than this are cut (they are only shown). */
const DOC_CAP = 64 << 10;
/** Attribute lists longer than this (elements; bytes for ints) are reported as unsupported rather than decoded. */
const ATTR_LIST_CAP = 1 << 18;

export type OpenOnnxOptions = OpenOptions;

export async function openOnnx(file: string, opts: OpenOnnxOptions = {}): Promise<ModelFile> {
  return openOnnxSync(file, opts);
}

export function openOnnxSync(file: string, opts: OpenOnnxOptions = {}): ModelFile {
  const abs = path.resolve(file);
  const src = new WireFile(abs, 'onnx');
  try {
    return new OnnxParser(src, opts.signal, opts).parseModel();
  } finally {
    src.close();
  }
}

/** Top-level field ranges of a model: for copying fields verbatim when rewriting. */
export interface OnnxLayout {
  fileSize: number;
  /** ModelProto's fields, in file order. */
  model: WireField[];
  /** The ModelProto.graph field (its payload is the GraphProto). */
  graph: WireField;
  /** GraphProto's fields, in file order (absolute offsets). */
  graphFields: WireField[];
}

export function readOnnxLayout(file: string): OnnxLayout {
  const src = new WireFile(path.resolve(file), 'onnx');
  try {
    const model = listFields(src, 0, src.size, 'ModelProto');
    const graphs = model.filter((f) => f.field === M_GRAPH);
    if (graphs.length !== 1) throw src.error(graphs.length === 0 ? 'no graph: not an ONNX model' : 'more than one graph field', 0);
    const graph = graphs[0];
    expectWire(src, graph, WIRE_LEN, 'ModelProto.graph');
    return { fileSize: src.size, model, graph, graphFields: listFields(src, graph.offset, graph.end, 'GraphProto') };
  } finally {
    src.close();
  }
}

// Field numbers (onnx.proto).
const M_IR_VERSION = 1, M_PRODUCER_NAME = 2, M_PRODUCER_VERSION = 3, M_DOC = 6, M_GRAPH = 7, M_OPSET = 8, M_METADATA = 14, M_FUNCTIONS = 25;
const G_NODE = 1, G_NAME = 2, G_INITIALIZER = 5, G_INPUT = 11, G_OUTPUT = 12, G_VALUE_INFO = 13, G_SPARSE = 15;
const N_INPUT = 1, N_OUTPUT = 2, N_NAME = 3, N_OP_TYPE = 4, N_ATTRIBUTE = 5, N_DOC = 6, N_DOMAIN = 7, N_METADATA = 9;
/** The dynamo exporter's module path of a node (a Python list literal in NodeProto.metadata_props). */
const NAME_SCOPES_KEY = 'pkg.torch.onnx.name_scopes';
const T_DIMS = 1, T_DATA_TYPE = 2, T_SEGMENT = 3, T_NAME = 8, T_RAW = 9, T_EXTERNAL = 13, T_LOCATION = 14;
const S_VALUES = 1, S_INDICES = 2, S_DIMS = 3;

const DATA_FIELDS = new Set([FLOAT_DATA, INT32_DATA, STRING_DATA, INT64_DATA, DOUBLE_DATA, UINT64_DATA]);

interface TensorPlace {
  role: TensorRole;
  graphPath: string;
  /** Prefix of ids for tensors of this graph: '' or `Node/…/`. */
  idPrefix: string;
  /** Name to use instead of TensorProto.name (Constant nodes: their output). */
  name?: string;
}

interface GraphPlace {
  path: string;
  idPrefix: string;
  label: string;
  /** Subgraph nesting depth (0 for the main graph). */
  depth: number;
}

/** Duplicate tensor names warned about one by one; past this, one summary line. */
const MAX_NAME_WARNINGS = 20;

/** Deeper subgraph nesting than this is taken as a corrupt (or hostile) file, not recursed into. */
const MAX_GRAPH_DEPTH = 64;

class OnnxParser {
  private readonly tensors: TensorRef[] = [];
  private readonly ids = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();
  private duplicateNames = 0;
  private readonly shapes = new ShapeTable();
  /** Subgraph paths given out, and the next suffix to try for a repeated one (see claimGraphPath). */
  private readonly graphPaths = new Set<string>(['']);
  private readonly nextGraphSuffix = new Map<string, number>();
  /** Bytes decoded into memory so far (typed fields), against TOTAL_DECODE_CAP. */
  private decoded = 0;
  private budgetWarned = false;
  private readonly warnings: string[] = [];
  private readonly dir: string;
  private readonly externalSizes = new Map<string, number>();

  constructor(private readonly src: WireFile, private readonly signal?: AbortSignal, private readonly trust: PathTrust = {}) {
    this.dir = path.dirname(src.path);
  }

  private checkAbort(): void {
    if (this.signal?.aborted) throw this.signal.reason instanceof Error ? this.signal.reason : new Error('aborted');
  }

  parseModel(): ModelFile {
    const src = this.src;
    if (src.size === 0) throw src.error('empty file');
    let irVersion: number | undefined;
    let producerName = '';
    let producerVersion = '';
    let docString: string | undefined;
    let graphField: WireField | undefined;
    const opsets: OpsetImport[] = [];
    const metadata: Record<string, string> = {};
    const functionFields: WireField[] = [];
    for (const f of src.fields(0, src.size, 'ModelProto')) {
      switch (f.field) {
        case M_IR_VERSION: irVersion = int64Value(src, f, 'ModelProto.ir_version'); break;
        case M_PRODUCER_NAME: producerName = this.name(f, 'ModelProto.producer_name'); break;
        case M_PRODUCER_VERSION: producerVersion = this.name(f, 'ModelProto.producer_version'); break;
        case M_DOC: docString = this.doc(f, 'ModelProto.doc_string'); break;
        case M_GRAPH:
          expectWire(src, f, WIRE_LEN, 'ModelProto.graph');
          if (graphField) throw src.error('more than one ModelProto.graph field', f.start);
          graphField = f;
          break;
        case M_OPSET: opsets.push(this.parseOpset(f)); break;
        case M_METADATA: {
          const [k, v] = this.parseEntry(f, 'ModelProto.metadata_props');
          setOwn(metadata, k, v);
          break;
        }
        case M_FUNCTIONS: functionFields.push(f); break;
        default: break;
      }
    }
    if (!graphField) throw src.error('no graph (ModelProto field 7): not an ONNX model', 0);
    const graph = this.parseGraph(graphField, { path: '', idPrefix: '', label: 'main graph', depth: 0 });
    const functions = functionFields.map((f) => this.parseFunction(f));
    fillConsumers(graph, this.tensors);
    const asInputs = this.tensors.filter((t) => t.isGraphInput && t.graphPath === '').length;
    if (asInputs > 0) {
      this.warnings.push(`${asInputs} initializer(s) are also graph inputs: a caller may override them, so they are never merged silently`);
    }
    const producer = [producerName, producerVersion].filter((s) => s !== '').join(' ');
    const opsetText = opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ');
    const facts: Array<[string, string]> = [];
    if (irVersion !== undefined) facts.push(['IR version', String(irVersion)]);
    facts.push(['Opsets', opsetText || '—']);
    if (functions.length > 0) facts.push(['Functions', String(functions.length)]);
    let fileSize = src.size;
    for (const size of this.externalSizes.values()) fileSize += size;
    return {
      path: src.path,
      format: 'onnx',
      files: [src.path, ...this.externalSizes.keys()],
      fileSize,
      producer: producer === '' ? undefined : producer,
      docString,
      metadata,
      facts,
      graph: { main: graph, opsets, irVersion, functions },
      tensors: this.tensors,
      ties: [],
      warnings: this.warnings,
    };
  }

  // --- small messages ------------------------------------------------------

  private name(f: WireField, what: string): string {
    return this.src.string(f, NAME_CAP, what, true);
  }

  private doc(f: WireField, what: string): string {
    expectWire(this.src, f, WIRE_LEN, what);
    if (f.length <= DOC_CAP) return this.src.string(f, DOC_CAP, what);
    return `${this.src.bytes(f.offset, DOC_CAP, DOC_CAP, what).toString('utf8')}…`;
  }

  private parseOpset(f: WireField): OpsetImport {
    let domain = '';
    let version = 0;
    for (const g of this.src.nested(f, 'OperatorSetIdProto')) {
      if (g.field === 1) domain = this.name(g, 'opset domain');
      else if (g.field === 2) version = int64Value(this.src, g, 'opset version');
    }
    return { domain, version };
  }

  /**
   * The module path of a `pkg.torch.onnx.name_scopes` entry: the Python list
   * literal's strings without its root ('') and its last item (the node's
   * own name); undefined for another key or a value that is not such a list.
   */
  private nameScopes(f: WireField, what: string): string[] | undefined {
    let key: WireField | undefined;
    let value: WireField | undefined;
    for (const g of this.src.nested(f, what)) {
      if (g.field === 1) key = g;
      else if (g.field === 2) value = g;
    }
    if (!key || !value || key.length !== NAME_SCOPES_KEY.length || this.name(key, `${what} key`) !== NAME_SCOPES_KEY) return undefined;
    const items = pythonStringList(this.src.string(value, NAME_CAP, `${what} value`));
    if (!items || items.length < 2) return undefined;
    return items.slice(0, -1).filter((s) => s !== '');
  }

  private parseEntry(f: WireField, what: string): [string, string] {
    let key = '';
    let value = '';
    for (const g of this.src.nested(f, what)) {
      if (g.field === 1) key = this.name(g, `${what} key`);
      else if (g.field === 2) value = this.src.string(g, NAME_CAP * 16, `${what} value`);
    }
    return [key, value];
  }

  private parseFunction(f: WireField): ModelFunction {
    let name = '';
    let domain = '';
    let nodeCount = 0;
    for (const g of this.src.nested(f, 'FunctionProto')) {
      if (g.field === 1) name = this.name(g, 'FunctionProto.name');
      else if (g.field === 10) domain = this.name(g, 'FunctionProto.domain');
      else if (g.field === 7) nodeCount++;
    }
    return { domain, name, nodeCount };
  }

  // --- graphs and nodes ----------------------------------------------------

  /**
   * A subgraph's path, unique in the model: two nodes of one graph may share
   * a name (or one node an attribute name), and edits, consumers and the
   * rewrite all find a graph by its path.
   */
  private claimGraphPath(want: string): string {
    let p = want;
    let k = this.nextGraphSuffix.get(want) ?? 2;
    for (; this.graphPaths.has(p); k++) p = `${want}#${k}`;
    if (p !== want) this.nextGraphSuffix.set(want, k);
    this.graphPaths.add(p);
    return p;
  }

  private parseGraph(f: WireField, place: GraphPlace): ModelGraph {
    const src = this.src;
    expectWire(src, f, WIRE_LEN, `GraphProto of ${place.label}`);
    if (place.depth > MAX_GRAPH_DEPTH) throw src.error(`subgraphs nested more than ${MAX_GRAPH_DEPTH} deep (at ${place.label})`, f.start);
    const graph: ModelGraph = { path: place.path, name: '', nodes: [], inputs: [], outputs: [], valueInfo: [], initializerNames: [] };
    const locals: TensorRef[] = [];
    const tensorPlace: TensorPlace = { role: 'initializer', graphPath: place.path, idPrefix: place.idPrefix };
    for (const g of src.nested(f, `GraphProto of ${place.label}`)) {
      switch (g.field) {
        case G_NODE: graph.nodes.push(this.parseNode(g, place, graph.nodes.length)); break;
        case G_NAME: graph.name = this.name(g, 'GraphProto.name'); break;
        case G_INITIALIZER: {
          const t = this.parseTensor(g, tensorPlace);
          graph.initializerNames.push(t.name);
          locals.push(t);
          break;
        }
        case G_SPARSE: locals.push(this.parseSparse(g, { ...tensorPlace, role: 'sparse' })); break;
        case G_INPUT: graph.inputs.push(this.parseValueInfo(g)); break;
        case G_OUTPUT: graph.outputs.push(this.parseValueInfo(g)); break;
        case G_VALUE_INFO: graph.valueInfo.push(this.parseValueInfo(g)); break;
        default: break;
      }
    }
    const inputNames = new Set(graph.inputs.map((v) => v.name));
    for (const t of locals) {
      t.isGraphInput = inputNames.has(t.name);
      if (t.isGraphInput) t.pinned = `'${t.id}' is also a graph input: a caller may override it`;
    }
    return graph;
  }

  private parseNode(f: WireField, place: GraphPlace, index: number): ModelNode {
    this.checkAbort();
    const src = this.src;
    const what = `NodeProto #${index} of ${place.label}`;
    expectWire(src, f, WIRE_LEN, what);
    const node: ModelNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: {}, subgraphs: [] };
    // Attributes are parsed after the node's other fields: subgraph paths and
    // Constant handling need the name, op type and domain, which protobuf
    // does not promise to come first.
    const attributeFields: WireField[] = [];
    for (const g of src.nested(f, what)) {
      switch (g.field) {
        case N_INPUT: node.inputs.push(this.name(g, `${what} input`)); break;
        case N_OUTPUT: node.outputs.push(this.name(g, `${what} output`)); break;
        case N_NAME: node.name = this.name(g, `${what} name`); break;
        case N_OP_TYPE: node.opType = this.name(g, `${what} op_type`); break;
        case N_DOMAIN: node.domain = this.name(g, `${what} domain`); break;
        case N_ATTRIBUTE: expectWire(src, g, WIRE_LEN, `${what} attribute`); attributeFields.push(g); break;
        case N_DOC: node.docString = this.doc(g, `${what} doc_string`); break;
        case N_METADATA: {
          // Only the module path is read; other entries (stack traces) can be long and are not needed.
          expectWire(src, g, WIRE_LEN, `${what} metadata_props`);
          const scopes = this.nameScopes(g, `${what} metadata_props`);
          if (scopes) node.scopes = scopes;
          break;
        }
        default: break;
      }
    }
    const label = node.name !== '' ? node.name : `#${index}`;
    const ctx: NodeContext = {
      node, place, label,
      subgraphPrefix: `${place.path === '' ? '' : `${place.path}/`}${label}`,
      // The onnx reference tools prefix subgraph initializers with the owning
      // node names (empty names included), not the attribute names.
      subIdPrefix: `${place.idPrefix}${node.name}/`,
      isConstant: node.opType === 'Constant' && (node.domain === '' || node.domain === 'ai.onnx'),
    };
    for (const a of attributeFields) {
      const [name, value] = this.parseAttribute(a, ctx);
      setOwn(node.attributes, name, value);
    }
    return node;
  }

  private parseAttribute(f: WireField, ctx: NodeContext): [string, AttributeValue] {
    const src = this.src;
    const what = `attribute of node '${ctx.label}'`;
    const layout = attributeLayout(src, src.nested(f, what), what);
    const name = layout.name ? this.name(layout.name, `${what} name`) : '';
    const { type, one, many } = layout;
    const label = `attribute '${name}' of node '${ctx.label}'`;
    if (one[A_REF]) return [name, { unsupported: `reference to function attribute '${this.name(one[A_REF], label)}'` }];
    const constId = ctx.node.outputs[0] ?? '';
    const constantPlace: TensorPlace = { role: 'constant', graphPath: ctx.place.path, idPrefix: ctx.place.idPrefix, name: constId };
    switch (type) {
      case AT_FLOAT: {
        const g = need(src, one[A_F], label, f.start);
        const v = floatValue(src, g, label);
        if (ctx.isConstant && name === 'value_float') this.inlineConstant(constantPlace, 'float32', [], floatBytes([g.lo]), g.start);
        return [name, v];
      }
      case AT_INT: {
        const g = need(src, one[A_I], label, f.start);
        expectWire(src, g, WIRE_VARINT, label);
        if (ctx.isConstant && name === 'value_int') this.inlineConstant(constantPlace, 'int64', [], int64Bytes([[g.lo, g.hi]]), g.start);
        return [name, approxInt64(g.lo, g.hi)];
      }
      case AT_STRING: {
        const g = need(src, one[A_S], label, f.start);
        return [name, this.src.string(g, NAME_CAP * 16, label)];
      }
      case AT_TENSOR: {
        const g = need(src, one[A_T], label, f.start);
        if (ctx.isConstant && name === 'value') return [name, { tensor: this.parseTensor(g, constantPlace).id }];
        return [name, { unsupported: 'tensor' }];
      }
      case AT_SPARSE: {
        const g = need(src, one[A_SPARSE], label, f.start);
        if (ctx.isConstant && name === 'sparse_value') return [name, { tensor: this.parseSparse(g, { ...constantPlace, role: 'sparse' }).id }];
        return [name, { unsupported: 'sparse tensor' }];
      }
      case AT_GRAPH: {
        const g = need(src, one[A_G], label, f.start);
        const p = this.claimGraphPath(`${ctx.subgraphPrefix}/${name}`);
        const sub = this.parseGraph(g, { path: p, idPrefix: ctx.subIdPrefix, label: `subgraph '${p}'`, depth: ctx.place.depth + 1 });
        ctx.node.subgraphs.push(sub);
        return [name, { graph: sub.path }];
      }
      case AT_GRAPHS: {
        const paths = (many[A_GRAPHS] ?? []).map((g, i) => {
          const p = this.claimGraphPath(`${ctx.subgraphPrefix}/${name}/${i}`);
          const sub = this.parseGraph(g, { path: p, idPrefix: ctx.subIdPrefix, label: `subgraph '${p}'`, depth: ctx.place.depth + 1 });
          ctx.node.subgraphs.push(sub);
          return sub.path;
        });
        return [name, { graphs: paths }];
      }
      case AT_FLOATS: {
        const bits = this.readFixed32List(many[A_FLOATS] ?? [], label);
        if (!bits) return [name, { unsupported: 'floats (too many to show)' }];
        const values = bits.map(float32FromBits);
        if (ctx.isConstant && name === 'value_floats') {
          this.inlineConstant(constantPlace, 'float32', [values.length], floatBytes(bits), (many[A_FLOATS] ?? [])[0]?.start ?? f.start);
        }
        return [name, values];
      }
      case AT_INTS: {
        const longs = this.readVarintList(many[A_INTS] ?? [], label);
        if (!longs) return [name, { unsupported: 'ints (too many to show)' }];
        if (ctx.isConstant && name === 'value_ints') {
          this.inlineConstant(constantPlace, 'int64', [longs.length], int64Bytes(longs), (many[A_INTS] ?? [])[0]?.start ?? f.start);
        }
        return [name, longs.map(([lo, hi]) => approxInt64(lo, hi))];
      }
      case AT_STRINGS: {
        const list = many[A_STRINGS] ?? [];
        if (list.length > ATTR_LIST_CAP) return [name, { unsupported: 'strings (too many to show)' }];
        return [name, list.map((g) => this.src.string(g, NAME_CAP * 16, label))];
      }
      case AT_TENSORS: return [name, { unsupported: `tensors[${(many[A_TENSORS] ?? []).length}]` }];
      case AT_SPARSES: return [name, { unsupported: `sparse tensors[${(many[A_SPARSES] ?? []).length}]` }];
      case AT_TP: return [name, { unsupported: 'type' }];
      case AT_TPS: return [name, { unsupported: 'types' }];
      default: return [name, { unsupported: `attribute type ${type}` }];
    }
  }

  /** fixed32 values of a repeated float field (packed or not); undefined when over the cap. */
  private readFixed32List(fields: WireField[], what: string): number[] | undefined {
    const out: number[] = [];
    for (const g of fields) {
      if (g.wireType === WIRE_I32) { out.push(g.lo); continue; }
      expectWire(this.src, g, WIRE_LEN, what);
      if (g.length % 4 !== 0) throw this.src.error(`${what}: packed floats of ${g.length} bytes (not a multiple of 4)`, g.offset);
      if (out.length + g.length / 4 > ATTR_LIST_CAP) return undefined;
      const b = this.src.bytes(g.offset, g.length, ATTR_LIST_CAP * 4, what);
      for (let i = 0; i < b.length; i += 4) out.push(b.readUInt32LE(i));
    }
    return out;
  }

  /** varints of a repeated int field (packed or not) as [lo, hi]; undefined when over the cap. */
  private readVarintList(fields: WireField[], what: string): Array<[number, number]> | undefined {
    // Each varint takes at least one byte: bounding the bytes bounds the count
    // before anything is decoded.
    let bytes = 0;
    for (const g of fields) bytes += g.wireType === WIRE_LEN ? g.length : 1;
    if (bytes > ATTR_LIST_CAP) return undefined;
    const out: Array<[number, number]> = [];
    for (const g of fields) {
      if (g.wireType === WIRE_VARINT) { out.push([g.lo, g.hi]); continue; }
      expectWire(this.src, g, WIRE_LEN, what);
      this.src.packedVarints(g.offset, g.length, what, (lo, hi) => { out.push([lo, hi]); });
    }
    return out;
  }

  private parseValueInfo(f: WireField): ValueInfo {
    const src = this.src;
    const info: ValueInfo = { name: '' };
    for (const g of src.nested(f, 'ValueInfoProto')) {
      if (g.field === 1) info.name = this.name(g, 'ValueInfoProto.name');
      else if (g.field === 2) {
        const t = this.parseType(g, 0);
        info.type = t.type;
        if (t.dtype) info.dtype = t.dtype;
        if (t.shape) info.shape = t.shape;
      }
    }
    return info;
  }

  private parseType(f: WireField, depth: number): { type: string; dtype?: DType; shape?: Array<number | string | null> } {
    const src = this.src;
    if (depth > 32) throw src.error('TypeProto nested more than 32 deep', f.start);
    expectWire(src, f, WIRE_LEN, 'TypeProto');
    for (const g of src.nested(f, 'TypeProto')) {
      switch (g.field) {
        case 1: case 8: { // tensor_type, sparse_tensor_type
          let elem = 0;
          let shape: Array<number | string | null> | undefined;
          for (const h of src.nested(g, 'TypeProto.Tensor')) {
            if (h.field === 1) elem = int32Value(src, h, 'TypeProto.Tensor.elem_type');
            else if (h.field === 2) shape = this.parseShape(h);
          }
          const kind = g.field === 1 ? 'tensor' : 'sparse_tensor';
          return { type: `${kind}(${onnxTypeName(elem)})`, dtype: ONNX_DTYPES[elem], shape };
        }
        case 4: case 9: { // sequence_type, optional_type
          let inner = '?';
          for (const h of src.nested(g, 'TypeProto')) if (h.field === 1) inner = this.parseType(h, depth + 1).type;
          return { type: `${g.field === 4 ? 'seq' : 'optional'}(${inner})` };
        }
        case 5: { // map_type
          let key = 0;
          let value = '?';
          for (const h of src.nested(g, 'TypeProto.Map')) {
            if (h.field === 1) key = int32Value(src, h, 'map key_type');
            else if (h.field === 2) value = this.parseType(h, depth + 1).type;
          }
          return { type: `map(${onnxTypeName(key)},${value})` };
        }
        case 7: return { type: 'opaque' };
        default: break;
      }
    }
    return { type: 'unknown' };
  }

  private parseShape(f: WireField): Array<number | string | null> {
    const src = this.src;
    const dims: Array<number | string | null> = [];
    for (const d of src.nested(f, 'TensorShapeProto')) {
      if (d.field !== 1) continue;
      if (dims.length >= 1024) throw src.error('value shape has more than 1024 dimensions', d.start);
      let dim: number | string | null = null;
      for (const h of src.nested(d, 'TensorShapeProto.Dimension')) {
        if (h.field === 1) dim = approxInt64(h.lo, h.hi);
        else if (h.field === 2) dim = this.name(h, 'dim_param');
      }
      dims.push(dim);
    }
    return dims;
  }

  // --- tensors -------------------------------------------------------------

  private claimId(id: string, offset: number): string {
    if (!this.ids.has(id)) {
      this.ids.add(id);
      return id;
    }
    // The next free suffix per name, remembered: 40,000 tensors of one name stay linear.
    let k = this.nextSuffix.get(id) ?? 2;
    while (this.ids.has(`${id}#${k}`)) k++;
    this.nextSuffix.set(id, k + 1);
    const unique = `${id}#${k}`;
    this.duplicateNames++;
    if (this.duplicateNames <= MAX_NAME_WARNINGS) {
      this.warnings.push(`two tensors are named '${id}' (the second, at byte ${offset}, is listed as '${unique}')`);
    } else if (this.duplicateNames === MAX_NAME_WARNINGS + 1) {
      this.warnings.push('more tensors share names than are listed here: each is listed as NAME#k');
    }
    this.ids.add(unique);
    return unique;
  }

  private inlineConstant(place: TensorPlace, dtype: DType, shape: number[], bytes: Uint8Array, offset: number): TensorRef {
    const name = place.name ?? '';
    const t: TensorRef = {
      id: this.claimId(`${place.idPrefix}${name}`, offset), name, role: place.role, graphPath: place.graphPath,
      dtype, shape: this.shapes.of(shape), elementCount: shape.reduce((a, b) => a * b, 1), byteLength: bytes.length,
      data: { kind: 'inline', bytes }, isGraphInput: false, consumers: NO_CONSUMERS, recordOffset: offset,
    };
    this.tensors.push(t);
    return t;
  }

  private parseSparse(f: WireField, place: TensorPlace): TensorRef {
    const src = this.src;
    expectWire(src, f, WIRE_LEN, 'SparseTensorProto');
    let values: WireField | undefined;
    const dims: number[] = [];
    for (const g of src.nested(f, 'SparseTensorProto')) {
      if (g.field === S_VALUES) values = g;
      else if (g.field === S_INDICES) expectWire(src, g, WIRE_LEN, 'SparseTensorProto.indices');
      else if (g.field === S_DIMS) this.readDims(g, dims, 'SparseTensorProto');
    }
    if (!values) throw src.error('sparse tensor without values', f.start);
    // Parse the values tensor for its name and type (and to validate it),
    // without registering it: the sparse tensor is what nodes read.
    const v = this.parseTensorProto(values, place.name);
    const elementCount = countElements(src, dims, `sparse tensor '${v.name}'`, f.start);
    const name = place.name ?? v.name;
    const t: TensorRef = {
      id: this.claimId(`${place.idPrefix}${name}`, f.start), name, role: 'sparse', graphPath: place.graphPath,
      dtype: v.dtype, shape: this.shapes.of(dims), elementCount, byteLength: byteLengthOf(v.dtype, elementCount),
      data: { kind: 'unavailable', reason: 'sparse tensor (stored as values and indices): reported, never merged' },
      isGraphInput: false, consumers: NO_CONSUMERS, recordOffset: f.start,
    };
    t.pinned = `'${t.id}' is a sparse initializer`;
    this.tensors.push(t);
    return t;
  }

  private parseTensor(f: WireField, place: TensorPlace): TensorRef {
    const p = this.parseTensorProto(f, place.name);
    const t: TensorRef = {
      id: this.claimId(`${place.idPrefix}${p.name}`, f.start), name: p.name, role: place.role, graphPath: place.graphPath,
      dtype: p.dtype, shape: this.shapes.of(p.dims), elementCount: p.elementCount, byteLength: p.byteLength, data: p.data,
      isGraphInput: false, consumers: NO_CONSUMERS, recordOffset: f.start,
    };
    this.tensors.push(t);
    return t;
  }

  private readDims(g: WireField, dims: number[], what: string): void {
    const src = this.src;
    const push = (lo: number, hi: number, at: number): void => {
      if (dims.length >= MAX_DIMS) throw src.error(`${what} has more than ${MAX_DIMS} dimensions`, at);
      const d = longToSafe(src, lo, hi, `${what} dimension`, at);
      if (d < 0) throw src.error(`${what} has a negative dimension (${d})`, at);
      dims.push(d);
    };
    if (g.wireType === WIRE_VARINT) push(g.lo, g.hi, g.offset);
    else {
      expectWire(src, g, WIRE_LEN, `${what} dims`);
      // Bound the work before decoding: each varint is at least one byte.
      if (dims.length + g.length > MAX_DIMS * 10) throw src.error(`${what} has more than ${MAX_DIMS} dimensions (${g.length} bytes of packed dims)`, g.offset);
      src.packedVarints(g.offset, g.length, `${what} dims`, (lo, hi) => push(lo, hi, g.offset));
    }
  }

  private parseTensorProto(f: WireField, nameOverride?: string): ParsedTensor {
    this.checkAbort();
    const src = this.src;
    expectWire(src, f, WIRE_LEN, 'TensorProto');
    const at = `TensorProto at byte ${f.start}`;
    const dims: number[] = [];
    let dataType = 0;
    let protoName = '';
    let raw: WireField | undefined;
    let segment = false;
    let location = 0;
    const external: Array<[string, string]> = [];
    const typed: WireField[] = [];
    for (const g of src.nested(f, at)) {
      switch (g.field) {
        case T_DIMS: this.readDims(g, dims, at); break;
        case T_DATA_TYPE: dataType = int32Value(src, g, `${at} data_type`); break;
        case T_SEGMENT: segment = true; break;
        case T_NAME: protoName = this.name(g, `${at} name`); break;
        case T_RAW: expectWire(src, g, WIRE_LEN, `${at} raw_data`); raw = g; break;
        case T_EXTERNAL: external.push(this.parseEntry(g, `${at} external_data`)); break;
        case T_LOCATION: location = int32Value(src, g, `${at} data_location`); break;
        default:
          if (DATA_FIELDS.has(g.field)) typed.push(g);
          break;
      }
    }
    const name = nameOverride ?? protoName;
    const label = `tensor '${name}'`;
    const dtype = ONNX_DTYPES[dataType];
    if (!dtype) {
      throw src.error(dataType === 0 ? `${label} has no data_type` : `${label} has data type ${dataType} (${onnxTypeName(dataType)}), which this reader does not support`, f.start);
    }
    const elementCount = countElements(src, dims, label, f.start);
    const byteLength = byteLengthOf(dtype, elementCount);
    if (!Number.isSafeInteger(byteLength)) throw src.error(`${label} is too large (${elementCount} elements)`, f.start);
    let data: TensorData;
    if (segment) {
      // Its location is checked all the same: onnxruntime would open it.
      if (location === 1) this.externalFile(external, label, f.start);
      data = { kind: 'unavailable', reason: 'segmented tensor (TensorProto.segment)' };
      this.warnings.push(`${label} is segmented; its bytes are not compared`);
    } else if (location === 1) {
      data = this.externalData(external, label, dtype, byteLength, f.start);
    } else if (location !== 0) {
      throw src.error(`${label} has unknown data_location ${location}`, f.start);
    } else if (dtype === 'string') {
      data = { kind: 'unavailable', reason: 'string tensor' };
    } else if (raw) {
      if (raw.length !== byteLength) {
        throw src.error(`${label} (${dtype} [${dims.join(', ')}]) needs ${byteLength} bytes but its raw_data holds ${raw.length}`, raw.start);
      }
      data = { kind: 'range', file: src.path, offset: raw.offset, length: raw.length };
    } else if (typed.length > 0) {
      data = this.typedData(typed, label, dtype, byteLength);
    } else if (byteLength === 0) {
      data = { kind: 'inline', bytes: new Uint8Array(0) };
    } else {
      throw src.error(`${label} (${dtype} [${dims.join(', ')}]) has no data`, f.start);
    }
    return { name, dtype, dims, elementCount, byteLength, data };
  }

  /** Counts `bytes` against the model's decode budget; past it, the tensor is not decoded (one warning says so). */
  private overBudget(label: string, bytes: number): TensorData | undefined {
    if (this.decoded + bytes <= TOTAL_DECODE_CAP) {
      this.decoded += bytes;
      return undefined;
    }
    if (!this.budgetWarned) {
      this.budgetWarned = true;
      this.warnings.push(`tensors stored in typed fields hold more than ${TOTAL_DECODE_CAP} bytes in all: from ${label} on, they are not decoded or compared`);
    }
    return { kind: 'unavailable', reason: `over the model's ${TOTAL_DECODE_CAP}-byte decode budget for typed fields` };
  }

  private typedData(fields: WireField[], label: string, dtype: DType, byteLength: number): TensorData {
    const src = this.src;
    const tf = typedFieldOf(dtype);
    for (const g of fields) {
      if (!tf || g.field !== tf.field) {
        throw src.error(`${label} is ${dtype} but stores data in ${TYPED_FIELD_NAMES[g.field]} (field ${g.field})`, g.start);
      }
    }
    if (!tf) throw src.error(`${label}: no typed field for ${dtype}`, fields[0].start);
    const mismatch = (have: number, at: number): Error =>
      src.error(`${label} needs ${byteLength} bytes (${dtype}) but ${TYPED_FIELD_NAMES[tf.field]} holds ${have}`, at);
    if (tf.encoding === 'fixed') {
      const wire = tf.width === 4 ? WIRE_I32 : WIRE_I64;
      let total = 0;
      let packedOnly = true;
      for (const g of fields) {
        if (g.wireType === WIRE_LEN) total += g.length;
        else if (g.wireType === wire) { total += tf.width; packedOnly = false; }
        else throw src.error(`${label}: ${TYPED_FIELD_NAMES[tf.field]} has wire type ${g.wireType}`, g.start);
      }
      if (total !== byteLength) throw mismatch(total, fields[0].start);
      // Packed float/double data is already canonical little-endian bytes.
      if (packedOnly) {
        const parts = fields.filter((g) => g.length > 0);
        if (parts.length === 1) return { kind: 'range', file: src.path, offset: parts[0]!.offset, length: parts[0]!.length };
        return { kind: 'ranges', ranges: parts.map((g) => ({ file: src.path, offset: g.offset, length: g.length })) };
      }
      if (byteLength > INLINE_DECODE_CAP) return { kind: 'unavailable', reason: `unpacked ${TYPED_FIELD_NAMES[tf.field]} of ${byteLength} bytes is over the ${INLINE_DECODE_CAP}-byte decode cap` };
      const over = this.overBudget(label, byteLength);
      if (over) return over;
      const out = Buffer.allocUnsafe(byteLength);
      let k = 0;
      for (const g of fields) {
        if (g.wireType === WIRE_LEN) {
          k += src.bytes(g.offset, g.length, INLINE_DECODE_CAP, label).copy(out, k);
        } else {
          out.writeUInt32LE(g.lo, k);
          if (tf.width === 8) out.writeUInt32LE(g.hi, k + 4);
          k += tf.width;
        }
      }
      return { kind: 'inline', bytes: out };
    }
    // Varint fields: decode each value's low `width` bytes (sign-extended
    // negatives keep the right bit pattern) into canonical bytes.
    if (byteLength > INLINE_DECODE_CAP) {
      return { kind: 'unavailable', reason: `${TYPED_FIELD_NAMES[tf.field]} of ${byteLength} canonical bytes is over the ${INLINE_DECODE_CAP}-byte decode cap` };
    }
    const over = this.overBudget(label, byteLength);
    if (over) return over;
    const width = tf.width;
    // Bound the count by the stored bytes (1 to 10 per varint) before
    // allocating, so dims that promise more than the field holds fail cheaply.
    let stored = 0;
    let minCount = 0;
    for (const g of fields) {
      stored += g.wireType === WIRE_LEN ? g.length : 1;
      minCount += g.wireType === WIRE_LEN ? Math.ceil(g.length / 10) : 1;
    }
    const wanted = byteLength / width;
    if (wanted > stored || wanted < minCount) {
      throw src.error(`${label} needs ${byteLength} bytes (${dtype}, ${wanted} values) but ${TYPED_FIELD_NAMES[tf.field]} holds ${wanted > stored ? `at most ${stored}` : `at least ${minCount}`} values`, fields[0].start);
    }
    const out = Buffer.alloc(byteLength);
    let k = 0;
    const put = (lo: number, hi: number, at: number): void => {
      if (k + width > byteLength) throw mismatch(k + width, at);
      switch (width) {
        case 1: out[k] = lo & 0xff; break;
        case 2: out.writeUInt16LE(lo & 0xffff, k); break;
        case 4: out.writeUInt32LE(lo >>> 0, k); break;
        default: out.writeUInt32LE(lo >>> 0, k); out.writeUInt32LE(hi >>> 0, k + 4); break;
      }
      k += width;
    };
    for (const g of fields) {
      if (g.wireType === WIRE_VARINT) put(g.lo, g.hi, g.offset);
      else if (g.wireType === WIRE_LEN) src.packedVarints(g.offset, g.length, label, (lo, hi) => put(lo, hi, g.offset));
      else throw src.error(`${label}: ${TYPED_FIELD_NAMES[tf.field]} has wire type ${g.wireType}`, g.start);
    }
    if (k !== byteLength) throw mismatch(k, fields[0].start);
    return { kind: 'inline', bytes: out };
  }

  /**
   * The external data file a tensor names, checked before anything opens
   * it: relative, inside the model's folder with links resolved (or in a
   * folder the user trusts), a regular file.
   */
  private externalFile(entries: Array<[string, string]>, label: string, offset: number): { file: string; location: string; size: number } {
    const src = this.src;
    const location = entries.find(([k]) => k === 'location')?.[1];
    if (location === undefined || location === '') throw src.error(`${label} has external data without a location`, offset);
    if (location.includes('\0') || path.isAbsolute(location) || path.win32.isAbsolute(location)) {
      throw src.error(`${label}: external data location '${location}' is absolute; it must be relative to the model's folder`, offset);
    }
    const file = path.resolve(this.dir, location);
    const rel = path.relative(this.dir, file);
    if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
      throw src.error(`${label}: external data location '${location}' escapes the model's folder`, offset);
    }
    let size = this.externalSizes.get(file);
    if (size === undefined) {
      const placed = placeInside(file, this.dir, this.trust);
      if (!placed.ok) {
        throw src.error(placed.problem === 'not found'
          ? `${label}: external data file '${location}' not found (looked for ${file})`
          : `${label}: external data '${location}' ${placed.problem}`, offset);
      }
      size = placed.size;
      this.externalSizes.set(file, size);
    }
    return { file, location, size };
  }

  private externalData(entries: Array<[string, string]>, label: string, dtype: DType, byteLength: number, offset: number): TensorData {
    const src = this.src;
    const get = (key: string): string | undefined => entries.find(([k]) => k === key)?.[1];
    const { file, location, size } = this.externalFile(entries, label, offset);
    const start = parseCount(get('offset'), 0);
    if (start === undefined) throw src.error(`${label}: external data offset '${get('offset')}' is not a non-negative integer`, offset);
    if (start > size) throw src.error(`${label}: external data offset ${start} is past the end of '${location}' (${size} bytes)`, offset);
    const length = parseCount(get('length'), size - start);
    if (length === undefined) throw src.error(`${label}: external data length '${get('length')}' is not a non-negative integer`, offset);
    if (start + length > size) {
      throw src.error(`${label}: external data [${start}, ${start + length}) runs past the end of '${location}' (${size} bytes)`, offset);
    }
    if (dtype === 'string') return { kind: 'unavailable', reason: 'string tensor' };
    if (length !== byteLength) {
      throw src.error(`${label} needs ${byteLength} bytes (${dtype}) but its external data in '${location}' is ${length} bytes`, offset);
    }
    return length === 0 ? { kind: 'ranges', ranges: [] } : { kind: 'range', file, offset: start, length };
  }
}

interface NodeContext {
  node: ModelNode;
  place: GraphPlace;
  label: string;
  /** Path prefix of this node's subgraphs: `Node` or `Outer/attr/Node`. */
  subgraphPrefix: string;
  subIdPrefix: string;
  isConstant: boolean;
}

interface ParsedTensor {
  name: string;
  dtype: DType;
  dims: number[];
  elementCount: number;
  byteLength: number;
  data: TensorData;
}

/** The strings of a Python list literal of string reprs (`['', 'a.b', "it's"]`); undefined when it is anything else. */
export function pythonStringList(text: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  // The next backslash at or after i (-1: none): an item without one is a single slice
  // (a string per character was most of a 50k-node read's garbage).
  let slash = text.indexOf('\\');
  const skip = () => { while (text[i] === ' ') i++; };
  skip();
  if (text[i++] !== '[') return undefined;
  skip();
  if (text[i] === ']') return i + 1 === text.trimEnd().length ? out : undefined;
  for (;;) {
    const q = text[i++];
    if (q !== "'" && q !== '"') return undefined;
    if (slash >= 0 && slash < i) slash = text.indexOf('\\', i);
    const close = text.indexOf(q, i);
    if (close < 0) return undefined;
    let s = '';
    if (slash < 0 || slash > close) {
      s = text.slice(i, close);
      i = close + 1;
    } else {
      for (;;) {
        const c = text[i++];
        if (c === undefined) return undefined;
        if (c === q) break;
        if (c === '\\') {
          const e = text[i++];
          if (e === undefined) return undefined;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e;
        } else {
          s += c;
        }
      }
    }
    out.push(s);
    skip();
    const sep = text[i++];
    if (sep === ']') return text.slice(i).trim() === '' ? out : undefined;
    if (sep !== ',') return undefined;
    skip();
  }
}

function need(src: WireFile, f: WireField | undefined, what: string, offset: number): WireField {
  if (!f) throw src.error(`${what}: its type names a value field that is absent`, offset);
  return f;
}

function countElements(src: WireFile, dims: number[], label: string, offset: number): number {
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (!Number.isSafeInteger(n)) throw src.error(`${label} has [${dims.join(', ')}]: more than 2^53 elements`, offset);
  }
  return n;
}

function byteLengthOf(dtype: DType, elementCount: number): number {
  const size = DTYPE_SIZE[dtype];
  return size < 1 ? Math.ceil(elementCount * size) : elementCount * size;
}

/** An int64 as a number for display (exact up to 2^53). */
function approxInt64(lo: number, hi: number): number {
  return hi >= 0x80000000 ? -((~hi >>> 0) * 4294967296 + (~lo >>> 0) + 1) : hi * 4294967296 + lo;
}

function parseCount(s: string | undefined, fallback: number): number | undefined {
  if (s === undefined) return fallback;
  if (!/^\d+$/.test(s.trim())) return undefined;
  const n = Number(s.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** float32 values from their bit patterns (bits, not floats: NaN payloads survive). */
function floatBytes(bits: number[]): Uint8Array {
  const out = Buffer.allocUnsafe(bits.length * 4);
  bits.forEach((b, i) => out.writeUInt32LE(b >>> 0, i * 4));
  return out;
}

function int64Bytes(values: Array<[number, number]>): Uint8Array {
  const out = Buffer.allocUnsafe(values.length * 8);
  values.forEach(([lo, hi], i) => { out.writeUInt32LE(lo >>> 0, i * 8); out.writeUInt32LE(hi >>> 0, i * 8 + 4); });
  return out;
}
