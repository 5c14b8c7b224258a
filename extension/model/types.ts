// The written-down contract between model readers and everything that uses
// them (analysis, rewrite, CLI, extension). Format-neutral: no reader types
// leak past this file. Tensors are byte ranges, never arrays: nothing here
// holds a model's weights in memory.

/** Element types, named as numpy / onnx.helper name them. */
export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16'
  | 'float8e4m3fn' | 'float8e4m3fnuz' | 'float8e5m2' | 'float8e5m2fnuz' | 'float4e2m1'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'int4' | 'uint4' | 'bool' | 'string' | 'complex64' | 'complex128';

/** A contiguous run of bytes in a file (absolute path). */
export interface ByteRange {
  file: string;
  offset: number;
  length: number;
}

/**
 * Where a tensor's canonical bytes (little-endian elements, packed, as in
 * ONNX raw_data) come from.
 * - `ranges`: the canonical bytes are these ranges concatenated (raw_data,
 *   external data, packed float_data / double_data). Read on demand.
 * - `inline`: the reader had to decode them (varint typed fields such as
 *   int64_data or fp16 in int32_data); bounded by the reader's decode cap.
 * - `unavailable`: no comparable bytes (strings, sparse, too large to
 *   decode); `reason` says why. Analysis skips these.
 */
export type TensorData =
  | { kind: 'ranges'; ranges: ByteRange[] }
  | { kind: 'inline'; bytes: Uint8Array }
  | { kind: 'unavailable'; reason: string };

/** Where a weight tensor lives in the model. */
export type TensorRole =
  | 'initializer'        // graph initializer (main graph or a subgraph)
  | 'constant'           // the `value` tensor of a Constant node
  | 'sparse';            // sparse_initializer: reported, never merged

/** One node input that reads a tensor. */
export interface ConsumerRef {
  /** '' for the main graph, else the subgraph's path, e.g. `If_0/then_branch`. */
  graphPath: string;
  nodeIndex: number;
  nodeName: string;
  opType: string;
  inputIndex: number;
}

export interface TensorRef {
  /**
   * Unique within the model. Main-graph initializers and constants: their
   * name. Subgraph initializers: prefixed by the owning nodes' names,
   * `Loop_3/name` (the onnx reference tools' convention).
   */
  id: string;
  /** The name node inputs use to read it. */
  name: string;
  role: TensorRole;
  /** Graph that declares it ('' main graph). */
  graphPath: string;
  dtype: DType;
  shape: number[];
  elementCount: number;
  /** Canonical byte length (elementCount × element size; sub-byte types packed). */
  byteLength: number;
  data: TensorData;
  /** Also listed as a graph input (IR < 4): a caller may override it. */
  isGraphInput: boolean;
  /** Node inputs that read it, subgraphs included (scoping respected). */
  consumers: ConsumerRef[];
  /** Byte offset of its TensorProto in the model file, for messages. */
  fileOffset: number;
}

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

export type ModelFormat = 'onnx';

export interface ModelFile {
  path: string;
  format: ModelFormat;
  fileSize: number;
  irVersion?: number;
  opsets: OpsetImport[];
  producer?: string;
  docString?: string;
  metadata: Record<string, string>;
  graph: ModelGraph;
  functions: ModelFunction[];
  /** Every weight tensor: initializers (all graphs), Constant values, sparse. */
  tensors: TensorRef[];
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
  float8e4m3fn: 1, float8e4m3fnuz: 1, float8e5m2: 1, float8e5m2fnuz: 1, float4e2m1: 0.5,
  int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, uint64: 8,
  int4: 0.5, uint4: 0.5, bool: 1, string: 0, complex64: 8, complex128: 16,
};
