// Synthesises inputs for a model from its input types, for checks without a
// test data folder. Browser-safe and deterministic (own seeded PRNG), so the
// CLI and the webview make the same inputs from the same settings.
//
// - Symbolic or unknown dimensions get small defaults: batch-like ones the
//   batch size (1), the rest the sequence length (8); both settable, and any
//   dimension can be set by its symbolic name.
// - Integer inputs that reach a Gather (or GatherND) as its indices, directly
//   or through Cast/Unsqueeze/Reshape/..., are token ids: uniform in
//   [0, vocabulary), the vocabulary being the size of the gathered axis
//   (dim 0 for embeddings) of the table it reads, so ids never index outside
//   an embedding.
// - Inputs named like masks are all ones (bool: all true).
// - Floats are drawn from a seeded standard normal distribution.
// - Any input can be given a constant (a sample rate) or a range to draw from
//   (token ids in [100, 200)): the per-input editor and `check --value`.
import { DTYPE_SIZE, type DType } from '../model/types';
import { allocateTensorArray, elementCountOf, floatToHalf, isArrayDType, type TensorValue } from './tensorProto';
import { getOwn } from '../util/ownKeys';

export interface InputValueInfo {
  name: string;
  dtype?: DType;
  /** ONNX type string such as 'tensor(int64)', used when dtype is absent. */
  type?: string;
  shape?: ReadonlyArray<number | string | null>;
}

export interface InputNodeInfo {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Gather's `axis`, GatherND's `batch_dims`: read when present. */
  attributes?: Readonly<Record<string, unknown>>;
  subgraphs?: ReadonlyArray<{ nodes: readonly InputNodeInfo[] }>;
}

/**
 * What synthesis needs from a model: its main graph and tensors (see
 * `inputSourceOf` for a ModelFile); the webview builds one from its GraphPayload.
 */
export interface InputSourceModel {
  graph: {
    inputs: readonly InputValueInfo[];
    nodes: readonly InputNodeInfo[];
    /** Graph inputs that are also initializers (IR < 4) are not fed. */
    initializerNames?: readonly string[];
  };
  tensors: ReadonlyArray<{ name: string; shape: readonly number[]; isGraphInput?: boolean }>;
}

/** The synthesis view of a model read by the registry; undefined when it has no graph to run. */
export function inputSourceOf(model: { graph?: { main: InputSourceModel['graph'] }; tensors: InputSourceModel['tensors'] }): InputSourceModel | undefined {
  return model.graph ? { graph: model.graph.main, tensors: model.tensors } : undefined;
}

export interface SynthesisOptions {
  /** Value for batch-like symbolic dimensions (default 1). */
  batch?: number;
  /** Value for other symbolic dimensions (default 8). */
  sequence?: number;
  /** Values for named symbolic dimensions; win over batch/sequence. */
  dims?: Record<string, number>;
  /** Per input name: what its values are, instead of what its name and type suggest. */
  values?: Record<string, InputValues>;
  /** PRNG seed (default 0). */
  seed?: number;
  /** Most bytes all synthesised inputs may take together (default 1 GB): checked before anything is allocated. */
  maxInputBytes?: number;
}

export const DEFAULT_MAX_INPUT_BYTES = 1e9;

/** Values chosen for one input: every element `fill`, or drawn uniformly from [low, high) (integers for integer types). */
export type InputValues = { fill: number } | { low: number; high: number };

export type InputKind = 'token-ids' | 'mask' | 'normal' | 'zeros' | 'ones' | 'constant' | 'uniform';

export interface InputDescription {
  name: string;
  dtype: DType;
  /** As the model declares it: symbolic dimensions by name (null: unnamed). */
  shape: ReadonlyArray<number | string | null>;
  dims: number[];
  kind: InputKind;
  /** e.g. 'ids in [0, 1000): vocabulary of Gather reading it'. */
  detail: string;
  /** token-ids and uniform: values are drawn from [low, high). */
  range?: [number, number];
  /** constant: every element's value. */
  value?: number;
  /** token-ids: rows of the smallest table the ids index (ids must stay below it). */
  vocabulary?: number;
}

export interface SynthesizedInputs {
  feeds: TensorValue[];
  descriptions: InputDescription[];
}

export class InputSynthesisError extends Error {
  constructor(readonly input: string, readonly problem: string) {
    super(`input '${input}': ${problem}`);
    this.name = 'InputSynthesisError';
  }
}

export const DEFAULT_BATCH = 1;
export const DEFAULT_SEQUENCE = 8;

const TYPE_NAMES: Record<string, DType> = {
  float: 'float32', float16: 'float16', double: 'float64', bfloat16: 'bfloat16',
  int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16', int32: 'int32', uint32: 'uint32',
  int64: 'int64', uint64: 'uint64', bool: 'bool', string: 'string',
};

function dtypeOf(v: InputValueInfo): DType | undefined {
  if (v.dtype) return v.dtype;
  const m = /^tensor\((\w+)\)$/.exec(v.type ?? '');
  return m ? (getOwn(TYPE_NAMES, m[1]!) ?? (m[1] as DType)) : undefined;
}

const INTEGER_TYPES = new Set<DType>(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);
const FLOAT_TYPES = new Set<DType>(['float32', 'float64', 'float16']);

/** Ops that move ids along without changing their values. */
const PASS_THROUGH = new Set(['Cast', 'Unsqueeze', 'Squeeze', 'Reshape', 'Flatten', 'Identity', 'Expand', 'Slice', 'Transpose', 'View', 'Contiguous']);

/** mulberry32: small, fast, good enough for test inputs, identical in every JS engine. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by Box–Muller over a uniform source. */
export function createNormal(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) { const s = spare; spare = undefined; return s; }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** FNV-1a of the input name: each input gets its own stream, independent of input order. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function allNodes(nodes: readonly InputNodeInfo[], out: InputNodeInfo[] = []): InputNodeInfo[] {
  for (const n of nodes) {
    out.push(n);
    for (const g of n.subgraphs ?? []) allNodes(g.nodes, out);
  }
  return out;
}

export interface VocabularyUse {
  /** Smallest dim 0 over the Gather tables the input indexes. */
  size: number;
  /** Names of the tables. */
  tables: string[];
}

/**
 * Finds the Gather tables an integer input indexes: follows the input
 * through value-preserving ops to Gather nodes that take it as indices and
 * read an initializer or Constant as data.
 */
export function findVocabulary(model: InputSourceModel, inputName: string): VocabularyUse | undefined {
  const nodes = allNodes(model.graph.nodes);
  const readers = new Map<string, InputNodeInfo[]>();
  for (const n of nodes) for (const i of n.inputs) { if (!readers.has(i)) readers.set(i, []); readers.get(i)!.push(n); }
  const tensors = new Map(model.tensors.map((t) => [t.name, t]));
  const tables: Array<{ name: string; size: number }> = [];
  const seen = new Set<string>([inputName]);
  const queue = [inputName];
  while (queue.length) {
    const value = queue.shift()!;
    for (const n of readers.get(value) ?? []) {
      if ((n.opType === 'Gather' || n.opType === 'GatherND') && n.inputs[1] === value) {
        const table = tensors.get(n.inputs[0]);
        const size = table && tableSize(n, table.shape);
        if (table && size !== undefined) tables.push({ name: table.name, size });
      } else if (PASS_THROUGH.has(n.opType) && n.inputs[0] === value) {
        for (const o of n.outputs) if (o && !seen.has(o)) { seen.add(o); queue.push(o); }
      }
    }
  }
  if (tables.length === 0) return undefined;
  return { size: Math.min(...tables.map((t) => t.size)), tables: [...new Set(tables.map((t) => t.name))] };
}

/**
 * How many rows the table has along the axis the ids index: Gather's `axis`
 * (default 0); GatherND with batch_dims 0 indexes dim 0 first (the exporters'
 * `Unsqueeze(ids, -1)` + GatherND embedding lookup).
 */
function tableSize(node: InputNodeInfo, shape: readonly number[]): number | undefined {
  const attr = (key: string): number | undefined => {
    // ModelFile attributes are numbers; the webview's NodeInfo renders them as strings.
    const v = node.attributes?.[key];
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
    return typeof n === 'number' ? n : undefined;
  };
  if (node.opType === 'GatherND') return (attr('batch_dims') ?? 0) === 0 && shape.length > 0 ? shape[0] : undefined;
  const raw = attr('axis') ?? 0;
  const axis = raw < 0 ? raw + shape.length : raw;
  return axis >= 0 && axis < shape.length ? shape[axis] : undefined;
}

const BATCH_NAME = /batch|^n$|^b$/i;

/** Resolves an input's shape: fixed dims kept, symbolic ones from the options. */
export function resolveDims(shape: ReadonlyArray<number | string | null> | undefined, options: SynthesisOptions = {}): number[] {
  const batch = options.batch ?? DEFAULT_BATCH;
  const sequence = options.sequence ?? DEFAULT_SEQUENCE;
  return (shape ?? []).map((d, i) => {
    if (typeof d === 'number' && d >= 0) return d;
    const named = typeof d === 'string' && options.dims ? getOwn(options.dims, d) : undefined;
    if (named !== undefined) return named;
    if (typeof d === 'string' && BATCH_NAME.test(d)) return batch;
    if (typeof d === 'string' && d !== '') return i === 0 && !/seq|len|token|time|step|position/i.test(d) ? batch : sequence;
    return i === 0 ? batch : sequence;
  });
}

/** The inputs a caller must feed: graph inputs that are not initializers. */
export function feedableInputs(model: InputSourceModel): InputValueInfo[] {
  const initializers = new Set(model.graph.initializerNames ?? []);
  for (const t of model.tensors) if (t.isGraphInput) initializers.add(t.name);
  return model.graph.inputs.filter((i) => !initializers.has(i.name));
}

/**
 * What each feedable input will hold, without allocating it: shape, kind and
 * range, from the options and what the graph says (the per-input editor
 * shows this). Refuses, naming the input, what cannot be made.
 */
export function planInputs(model: InputSourceModel, options: SynthesisOptions = {}): InputDescription[] {
  const seed = options.seed ?? 0;
  const budget = options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
  let planned = 0;
  const out: InputDescription[] = [];
  const inputs = feedableInputs(model);
  for (const input of inputs) {
    // Sizes first: a declared [20000, 20000] must be refused, not allocated.
    const dtype = dtypeOf(input);
    if (!dtype || input.shape === undefined) continue;
    const dims = resolveDims(input.shape, options);
    const bytes = elementCountOf(dims) * (DTYPE_SIZE[dtype] || 1);
    planned += bytes;
    if (!Number.isSafeInteger(planned) || planned > budget) {
      throw new InputSynthesisError(input.name, `would take ${(bytes / 1e9).toFixed(2)} GB ([${dims.join(', ')}] ${dtype}), over the ${(budget / 1e9).toFixed(2)} GB budget for inputs: set smaller symbolic dimensions (--batch, --sequence) or pass --inputs`);
    }
  }
  for (const input of inputs) {
    const dtype = dtypeOf(input);
    if (!dtype) throw new InputSynthesisError(input.name, `the model gives no element type (${input.type ?? 'no type'})`);
    if (!isArrayDType(dtype) || dtype === 'bfloat16') throw new InputSynthesisError(input.name, `cannot synthesise ${dtype} values`);
    if (input.shape === undefined) throw new InputSynthesisError(input.name, 'the model gives no shape; pass inputs with --inputs');
    const dims = resolveDims(input.shape, options);
    const base = { name: input.name, dtype, shape: input.shape, dims };
    const vocab = INTEGER_TYPES.has(dtype) ? findVocabulary(model, input.name) : undefined;
    const chosen = options.values ? getOwn(options.values, input.name) : undefined;
    if (chosen) out.push({ ...base, ...chosenKind(input.name, dtype, chosen, vocab) });
    else if (/mask/i.test(input.name) && (INTEGER_TYPES.has(dtype) || dtype === 'bool' || FLOAT_TYPES.has(dtype))) out.push({ ...base, kind: 'mask', detail: 'all ones (attention-mask-like name)' });
    else if (dtype === 'bool') out.push({ ...base, kind: 'ones', detail: 'all true' });
    else if (vocab) out.push({ ...base, kind: 'token-ids', detail: `ids in [0, ${vocab.size}): vocabulary of ${vocab.tables.join(', ')}`, range: [0, vocab.size], vocabulary: vocab.size });
    // A scalar integer no table bounds is a count or an index (a Loop's trip count): 1 runs the body once.
    else if (INTEGER_TYPES.has(dtype) && dims.length === 0) out.push({ ...base, kind: 'ones', detail: '1 (integer scalar: a count or index)' });
    else if (INTEGER_TYPES.has(dtype)) out.push({ ...base, kind: 'zeros', detail: 'zeros (no Gather table bounds its values)' });
    else out.push({ ...base, kind: 'normal', detail: `standard normal, seed ${seed}` });
  }
  return out;
}

const INTEGER_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767], uint16: [0, 65535],
  int32: [-2147483648, 2147483647], uint32: [0, 4294967295],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], uint64: [0, Number.MAX_SAFE_INTEGER],
};

/** A chosen constant or range, checked against the input's type (and, for token ids, the vocabulary). */
function chosenKind(name: string, dtype: DType, chosen: InputValues, vocab: VocabularyUse | undefined): Pick<InputDescription, 'kind' | 'detail' | 'range' | 'value' | 'vocabulary'> {
  const integer = INTEGER_RANGE[dtype];
  const check = (v: number, what: string) => {
    if (!Number.isFinite(v)) throw new InputSynthesisError(name, `${what} ${v} is not a finite number`);
    if (integer && (!Number.isInteger(v) || v < integer[0] || v > integer[1] + 1)) throw new InputSynthesisError(name, `${what} ${v} is not a ${dtype} value (integers in [${integer[0]}, ${integer[1]}])`);
    if (dtype === 'bool' && v !== 0 && v !== 1) throw new InputSynthesisError(name, `${what} ${v} is not a bool (0 or 1)`);
  };
  const vocabulary = vocab ? { vocabulary: vocab.size } : {};
  if ('fill' in chosen) {
    check(chosen.fill, 'value');
    if (integer && chosen.fill > integer[1]) throw new InputSynthesisError(name, `value ${chosen.fill} is over the ${dtype} maximum ${integer[1]}`);
    return { kind: 'constant', detail: `all ${chosen.fill} (chosen)`, value: chosen.fill, ...vocabulary };
  }
  check(chosen.low, 'low end');
  check(chosen.high, 'high end');
  if (!(chosen.low < chosen.high)) throw new InputSynthesisError(name, `the range [${chosen.low}, ${chosen.high}) is empty: the low end must be below the high end`);
  if (vocab && (chosen.low < 0 || chosen.high > vocab.size)) {
    throw new InputSynthesisError(name, `ids in [${chosen.low}, ${chosen.high}) would index outside the vocabulary of ${vocab.tables.join(', ')} (${vocab.size} rows): keep them in [0, ${vocab.size})`);
  }
  return { kind: vocab ? 'token-ids' : 'uniform', detail: `${integer ? 'integers' : 'values'} in [${chosen.low}, ${chosen.high}) (chosen)`, range: [chosen.low, chosen.high], ...vocabulary };
}

/** Makes one input per feedable graph input, deterministically from `options.seed`. */
export function synthesizeInputs(model: InputSourceModel, options: SynthesisOptions = {}): SynthesizedInputs {
  const seed = options.seed ?? 0;
  const descriptions = planInputs(model, options);
  const feeds = descriptions.map((d): TensorValue => {
    const data = allocateTensorArray(d.dtype, elementCountOf(d.dims));
    const uniform = createRng((seed ^ nameHash(d.name)) >>> 0);
    const integer = INTEGER_TYPES.has(d.dtype);
    switch (d.kind) {
      case 'mask': case 'ones': fill(data, d.dtype, () => 1); break;
      case 'constant': fill(data, d.dtype, () => d.value!); break;
      case 'token-ids': case 'uniform': {
        const [low, high] = d.range!;
        fill(data, d.dtype, integer ? () => low + Math.floor(uniform() * (high - low)) : () => low + uniform() * (high - low));
        break;
      }
      case 'normal': fill(data, d.dtype, createNormal(uniform)); break;
      case 'zeros': break;
    }
    return { name: d.name, dtype: d.dtype, dims: d.dims, data };
  });
  return { feeds, descriptions };
}

function fill(data: ReturnType<typeof allocateTensorArray>, dtype: DType, next: () => number): void {
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) data[i] = BigInt(next());
  } else if (dtype === 'float16') {
    for (let i = 0; i < data.length; i++) data[i] = floatToHalf(next());
  } else {
    for (let i = 0; i < data.length; i++) data[i] = next();
  }
}
