// The written-down contract between format modules and everything that uses
// them (analysis, apply, CLI, extension). Format-neutral: a weight store of
// named tensors as byte ranges with dtype and shape, storage identity and
// ties, and an optional operator graph. Nothing here holds a model's weights
// in memory.

/** Element types, named as numpy / onnx.helper name them. */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'float8e8m0'
  | 'float4e2m1' | 'float6e2m3' | 'float6e3m2'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'int4' | 'uint4' | 'bool' | 'string' | 'complex64' | 'complex128'
  | BlockQuantizedDType;

/**
 * ggml's block-quantized types (GGUF), lower-case ggml names: values come
 * in blocks (Q8_0: 32 values = an fp16 scale and 32 int8, 34 bytes) that
 * only a dequantizer turns into numbers. Compared byte for byte, never
 * element by element (see isBlockQuantized).
 */
export type BlockQuantizedDType =
  | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q8_0' | 'q8_1'
  | 'q2_k' | 'q3_k' | 'q4_k' | 'q5_k' | 'q6_k' | 'q8_k'
  | 'iq2_xxs' | 'iq2_xs' | 'iq3_xxs' | 'iq1_s' | 'iq4_nl' | 'iq3_s' | 'iq2_s' | 'iq4_xs' | 'iq1_m'
  | 'tq1_0' | 'tq2_0' | 'mxfp4' | 'nvfp4' | 'q1_0' | 'q2_0';

/** A contiguous run of bytes in a file (absolute path). */
export interface ByteRange {
  file: string;
  offset: number;
  length: number;
}

/**
 * Where a tensor's canonical bytes (little-endian elements, packed, as in
 * ONNX raw_data) come from.
 * - `range`: one contiguous run of a file (raw_data, external data, a
 *   checkpoint's tensor), the usual case: one small object per tensor, since
 *   a model can hold millions. Read on demand.
 * - `ranges`: the canonical bytes are these ranges concatenated (packed
 *   float_data / double_data split over several fields). Read on demand.
 * - `inline`: the reader had to decode them (varint typed fields such as
 *   int64_data or fp16 in int32_data); bounded by the reader's decode cap.
 * - `unavailable`: no comparable bytes (strings, sparse, too large to
 *   decode); `reason` says why. Analysis skips these.
 */
export type TensorData =
  | ({ kind: 'range' } & ByteRange)
  | { kind: 'ranges'; ranges: ByteRange[] }
  | { kind: 'inline'; bytes: Uint8Array }
  | { kind: 'unavailable'; reason: string };

/** The file ranges whose concatenation is the tensor's bytes; undefined when they are not in a file (inline, unavailable). */
export function storedRanges(data: TensorData): readonly ByteRange[] | undefined {
  return data.kind === 'range' ? [data] : data.kind === 'ranges' ? data.ranges : undefined;
}

/** The tensor's one file range, or undefined when its bytes are not exactly one run of a file. */
export function singleRange(data: TensorData): ByteRange | undefined {
  return data.kind === 'range' ? data : data.kind === 'ranges' && data.ranges.length === 1 ? data.ranges[0] : undefined;
}

/**
 * What kind of stored tensor it is. Graph formats: an `initializer` (main
 * graph or a subgraph), the `value` of a `constant` node, a `sparse`
 * initializer. Checkpoints (no graph): a `parameter` (or buffer) of the
 * state dict.
 */
export type TensorRole = 'initializer' | 'constant' | 'sparse' | 'parameter';

/** One node input that reads a tensor (graph formats only). */
export interface ConsumerRef {
  /** '' for the main graph, else the subgraph's path, e.g. `If_0/then_branch`. */
  graphPath: string;
  nodeIndex: number;
  nodeName: string;
  opType: string;
  inputIndex: number;
}

/**
 * Storage identity: tensors with equal `key`, `offset`, shape and strides are
 * one weight under several names (a PyTorch state dict's tied parameters).
 */
export interface StorageView {
  key: string;
  /** Element offset into the storage. */
  offset: number;
  /** Element strides; undefined means contiguous. */
  strides?: number[];
}

export interface TensorRef {
  /**
   * Unique within the model. Checkpoints and main-graph tensors: their name.
   * Subgraph initializers: prefixed by the owning nodes' names, `Loop_3/name`
   * (the onnx reference tools' convention).
   */
  id: string;
  /** The name the model uses for it (graph node inputs, state-dict key). */
  name: string;
  role: TensorRole;
  dtype: DType;
  /** Shared between tensors of one shape (never mutate it). */
  shape: readonly number[];
  elementCount: number;
  /** Canonical byte length (elementCount × element size; sub-byte types packed). */
  byteLength: number;
  data: TensorData;
  /** Set when several names share one storage (see StorageView). */
  storage?: StorageView;
  /**
   * Why this tensor must never be merged with another, e.g. an ONNX
   * initializer that is also a graph input (a caller may override it).
   */
  pinned?: string;
  /** Byte offset of the tensor's record in its file (TensorProto, header entry), for messages and rewrites. */
  recordOffset?: number;

  // Graph facts. Formats without a graph leave them empty: graphPath '',
  // no consumers, not a graph input.
  /** Graph that declares it ('' main graph). */
  graphPath: string;
  /** Also listed as a graph input (ONNX IR < 4): a caller may override it. */
  isGraphInput: boolean;
  /** Node inputs that read it, subgraphs included (scoping respected). NO_CONSUMERS when none. */
  consumers: readonly ConsumerRef[];
}

/**
 * The one empty consumer list every unread tensor shares: a checkpoint of
 * millions of tensors (or an ONNX file of millions of tiny initializers)
 * keeps no empty array per tensor.
 */
export const NO_CONSUMERS: readonly ConsumerRef[] = Object.freeze([]);

export interface ValueInfo {
  name: string;
  /** e.g. 'tensor(float)'; undefined when the model does not say. */
  type?: string;
  dtype?: DType;
  /** Dimensions: numbers, symbolic names, or null when unknown. */
  shape?: Array<number | string | null>;
}

export type AttributeValue =
  | number | string | number[] | string[]
  | { tensor: string }           // id of a TensorRef
  | { graph: string }            // path of a subgraph
  | { graphs: string[] }
  | { unsupported: string };

export interface ModelNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
  /** Subgraphs held in attributes (If/Loop/Scan bodies). */
  subgraphs: ModelGraph[];
  docString?: string;
  /**
   * The module path the exporter recorded for the node (the dynamo
   * exporter's `pkg.torch.onnx.name_scopes`: `['encoder', 'encoder.layer.0',
   * 'encoder.layer.0.attention']`), outermost first; for views whose node
   * names carry no scopes (`linear_12`).
   */
  scopes?: string[];
}

export interface ModelGraph {
  /** '' for the main graph; `Node/attr` (nested: `A/body/B/then_branch`) else. */
  path: string;
  name: string;
  nodes: ModelNode[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
  initializerNames: string[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface ModelFunction {
  domain: string;
  name: string;
  nodeCount: number;
}

/** The operator-graph capability: models that run (ONNX) have one, checkpoints do not. */
export interface OperatorGraph {
  main: ModelGraph;
  /** Operator sets the graph is written against. */
  opsets: OpsetImport[];
  /** The format's own version of the graph encoding (ONNX IR version). */
  irVersion?: number;
  functions: ModelFunction[];
}

/** Transformations that rebuild a tensor that is no longer stored from one that is. */
export type DeriveOp = 'transpose' | 'reshape' | 'cast';

/**
 * What makes several names (or uses) one weight:
 * - `graph`: one tensor read by several node inputs;
 * - `storage`: names on one storage view (TensorRef.storage: PyTorch aliases);
 * - `config`: a loader re-creates a name that is not stored (config.json `tie_word_embeddings`);
 * - `omission`: the format's loader falls back to the kept tensor (GGUF `output.weight`);
 * - `record`: this tool dropped the name and recorded how to rebuild it (`restore`).
 */
export type TiedBy = 'graph' | 'storage' | 'config' | 'omission' | 'record';

/** Names the model does not store, and the stored tensor they resolve to. */
export interface TieRecord {
  tiedBy: Exclude<TiedBy, 'graph' | 'storage'>;
  /** The stored tensor the names resolve to. */
  kept: TensorRef;
  /**
   * The tied names, each with a TensorRef of its own (not in
   * ModelFile.tensors) whose data is `unavailable`; `ops` rebuild it from
   * `kept` (none: the same bytes and shape).
   */
  tied: Array<{ tensor: TensorRef; stored: false; ops: DeriveOp[] }>;
}

/** A registry format id: 'onnx', 'safetensors', ... */
export type ModelFormat = string;

export interface ModelFile {
  /** What was opened: a file, or the folder of a multi-file checkpoint. */
  path: string;
  format: ModelFormat;
  /** Every file the model consists of (model, external data, shards, index, config). */
  files: string[];
  /** Bytes on disk of `files` together. */
  fileSize: number;
  producer?: string;
  docString?: string;
  metadata: Record<string, string>;
  /** What the format says about the model, for the Model tab: [label, value], in the format's words. */
  facts: Array<[string, string]>;
  /** Every stored weight tensor (ONNX: initializers of all graphs, Constant values, sparse). */
  tensors: TensorRef[];
  /** Names the model does not store but a loader re-creates (see TieRecord). */
  ties: TieRecord[];
  graph?: OperatorGraph;
  /** Things a user should know that are not errors. */
  warnings: string[];
}

/** Thrown by readers for bad input: names the file, the problem, the offset. */
export class ModelFormatError extends Error {
  constructor(
    readonly file: string,
    readonly format: string,
    readonly problem: string,
    readonly offset?: number,
  ) {
    super(`${file}: ${format}: ${problem}${offset === undefined ? '' : ` (at byte ${offset})`}`);
    this.name = 'ModelFormatError';
  }
}

/** Bytes per element; sub-byte types report a fraction. */
export const DTYPE_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2,
  float8e4m3fn: 1, float8e4m3fnuz: 1, float8e5m2: 1, float8e5m2fnuz: 1, float8e8m0: 1,
  float4e2m1: 0.5, float6e2m3: 0.75, float6e3m2: 0.75,
  int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8,
  int4: 0.5, uint4: 0.5, bool: 1, string: 0, complex64: 8, complex128: 16,
  // Block-quantized: bytes per block / values per block (ggml's type_traits, see model/gguf/ggmlTypes.ts).
  q4_0: 18 / 32, q4_1: 20 / 32, q5_0: 22 / 32, q5_1: 24 / 32, q8_0: 34 / 32, q8_1: 36 / 32,
  q2_k: 84 / 256, q3_k: 110 / 256, q4_k: 144 / 256, q5_k: 176 / 256, q6_k: 210 / 256, q8_k: 292 / 256,
  iq2_xxs: 66 / 256, iq2_xs: 74 / 256, iq3_xxs: 98 / 256, iq1_s: 50 / 256, iq4_nl: 18 / 32, iq3_s: 110 / 256,
  iq2_s: 82 / 256, iq4_xs: 136 / 256, iq1_m: 56 / 256,
  tq1_0: 54 / 256, tq2_0: 66 / 256, mxfp4: 17 / 32, nvfp4: 36 / 64, q1_0: 18 / 128, q2_0: 18 / 64,
};

const BLOCK_QUANTIZED = new Set<DType>([
  'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0', 'q8_1', 'q2_k', 'q3_k', 'q4_k', 'q5_k', 'q6_k', 'q8_k',
  'iq2_xxs', 'iq2_xs', 'iq3_xxs', 'iq1_s', 'iq4_nl', 'iq3_s', 'iq2_s', 'iq4_xs', 'iq1_m',
  'tq1_0', 'tq2_0', 'mxfp4', 'nvfp4', 'q1_0', 'q2_0',
]);

/**
 * True for ggml's block-quantized types: their bytes are blocks, not
 * elements, so analysis may compare them only byte for byte (exact copies),
 * never transpose, cast, reshape, average or take statistics of them.
 */
export function isBlockQuantized(dtype: DType): dtype is BlockQuantizedDType {
  return BLOCK_QUANTIZED.has(dtype);
}
