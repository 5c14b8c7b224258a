// Encodes ONNX protobuf messages as lists of pieces: small encoded buffers
// (built with protobufjs's Writer) interleaved with references to the bytes
// of large payloads (byte ranges of a source file, or generated sources).
// Every piece's length is known up front, so each length prefix is computed
// without materialising the payload; the pieces are then streamed to disk by
// io/atomicWrite through one bounded buffer. Nothing here holds weights.
//
// Field numbers are onnx.proto3's (checked against onnx 1.12's descriptors;
// the few newer fields are marked).
import * as path from 'node:path';
import { Writer } from 'protobufjs/minimal';
import type { DType, OpsetImport } from '../types';
import { atomicWriteFiles, isByteRange, pieceLength, type AtomicWriteOptions, type Piece } from '../../io/atomicWrite';
import { pushAll } from '../../util/arrays';

/** An encoded message (or field run): its pieces and their total length. */
export class Encoded {
  constructor(readonly pieces: readonly Piece[], readonly length: number) {}

  static of(bytes: Uint8Array): Encoded {
    return new Encoded([bytes], bytes.length);
  }

  static concat(parts: readonly Encoded[]): Encoded {
    return new Encoded(parts.flatMap((p) => p.pieces), parts.reduce((s, p) => s + p.length, 0));
  }
}

/** protobuf wire types. */
export const WireType = { varint: 0, fixed64: 1, delimited: 2, fixed32: 5 } as const;

/** Integers up to 64 bits: numbers must be safe integers; bigint for the rest. */
export type Int64 = number | bigint;

interface LongLike { low: number; high: number; unsigned: boolean }

function toLong(value: Int64): number | LongLike {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer: pass a bigint`);
    return value;
  }
  const v = BigInt.asUintN(64, value);
  return { low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: false };
}

/**
 * Builds one message's bytes. Scalar fields go into a protobufjs Writer; a
 * nested message or a streamed payload flushes that writer into a piece and
 * appends its own pieces after a computed length prefix.
 */
export class MessageWriter {
  private readonly pieces: Piece[] = [];
  private flushed = 0;
  private w: Writer = Writer.create();

  get length(): number {
    return this.flushed + this.w.len;
  }

  private tag(field: number, wire: number): Writer {
    return this.w.uint32((field << 3) | wire);
  }

  /** int32 / uint32 / enum / bool fields. Negative int32 values take 10 bytes, as protobuf requires. */
  varint(field: number, value: number): this {
    this.tag(field, WireType.varint).int32(value);
    return this;
  }

  int64(field: number, value: Int64): this {
    this.tag(field, WireType.varint).int64(toLong(value));
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WireType.fixed32).float(value);
    return this;
  }

  string(field: number, value: string): this {
    this.tag(field, WireType.delimited).string(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.delimited).bytes(value);
    return this;
  }

  packedInt64(field: number, values: readonly Int64[]): this {
    if (values.length === 0) return this;
    this.tag(field, WireType.delimited).int64s(values.map(toLong));
    return this;
  }

  packedInt32(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    this.tag(field, WireType.delimited).int32s([...values]);
    return this;
  }

  packedFloat(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    return this.bytes(field, bytes);
  }

  packedDouble(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i]!, true);
    return this.bytes(field, bytes);
  }

  /** A length-delimited field whose content is already encoded (a nested message). */
  message(field: number, content: Encoded): this {
    return this.delimited(field, content.pieces, content.length);
  }

  /** A bytes field whose content is streamed from pieces (raw_data of a large tensor). */
  delimited(field: number, content: readonly Piece[], length?: number): this {
    const len = length ?? content.reduce((s, p) => s + pieceLength(p), 0);
    this.tag(field, WireType.delimited).uint32(len);
    if (len <= 256 && content.every((p) => p instanceof Uint8Array)) {
      // Small and in memory already: keep it in the writer (fewer pieces).
      for (const p of content) this.w.raw(p as Uint8Array);
      return this;
    }
    this.flush();
    for (const p of content) this.append(p);
    this.flushed += len;
    return this;
  }

  /** Bytes copied verbatim: complete fields (tag included) taken from a source file. */
  raw(content: Encoded | Piece): this {
    const pieces = content instanceof Encoded ? content.pieces : [content];
    const len = content instanceof Encoded ? content.length : pieceLength(content);
    if (len === 0) return this;
    this.flush();
    for (const p of pieces) this.append(p);
    this.flushed += len;
    return this;
  }

  /**
   * One piece more, one at a time (a spread of 200,000 pieces overflows the
   * stack); adjacent ranges of one file (untouched fields copied one by one)
   * become one read.
   */
  private append(p: Piece): void {
    const last = this.pieces[this.pieces.length - 1];
    if (last !== undefined && isByteRange(last) && isByteRange(p) && last.file === p.file && last.offset + last.length === p.offset) {
      this.pieces[this.pieces.length - 1] = { file: p.file, offset: last.offset, length: last.length + p.length };
    } else {
      this.pieces.push(p);
    }
  }

  private flush(): void {
    if (this.w.len === 0) return;
    const bytes = this.w.finish();
    this.pieces.push(bytes);
    this.flushed += bytes.length;
    this.w = Writer.create();
  }

  finish(): Encoded {
    this.flush();
    return new Encoded(this.pieces, this.flushed);
  }
}

// ---------------------------------------------------------------------------
// ONNX vocabulary

/** TensorProto.DataType numbers (ONNX has no 6-bit floats). */
const ONNX_DATA_TYPES: Partial<Record<DType, number>> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9,
  float16: 10, float64: 11, uint32: 12, uint64: 13, complex64: 14, complex128: 15, bfloat16: 16,
  float8e4m3fn: 17, float8e4m3fnuz: 18, float8e5m2: 19, float8e5m2fnuz: 20, uint4: 21, int4: 22,
  float4e2m1: 23, float8e8m0: 24,
};

export function onnxDataType(dtype: DType): number {
  const n = ONNX_DATA_TYPES[dtype];
  if (n === undefined) throw new Error(`ONNX has no data type for ${dtype}`);
  return n;
}

/** AttributeProto.AttributeType numbers. */
export const ATTRIBUTE_TYPE = {
  float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8,
  tensors: 9, graphs: 10, sparse_tensor: 11, sparse_tensors: 12, type_proto: 13, type_protos: 14,
} as const;

/** Field numbers, per message (onnx.proto3). */
export const F = {
  model: {
    irVersion: 1, producerName: 2, producerVersion: 3, domain: 4, modelVersion: 5, docString: 6,
    graph: 7, opsetImport: 8, metadataProps: 14, trainingInfo: 20, functions: 25,
  },
  graph: {
    node: 1, name: 2, initializer: 5, docString: 10, input: 11, output: 12, valueInfo: 13,
    quantizationAnnotation: 14, sparseInitializer: 15, metadataProps: 16 /* onnx >= 1.16 */,
  },
  node: {
    input: 1, output: 2, name: 3, opType: 4, attribute: 5, docString: 6, domain: 7,
    overload: 8 /* onnx >= 1.16 */, metadataProps: 9 /* onnx >= 1.16 */,
  },
  attribute: {
    name: 1, f: 2, i: 3, s: 4, t: 5, g: 6, floats: 7, ints: 8, strings: 9, tensors: 10, graphs: 11,
    docString: 13, tp: 14, typeProtos: 15, type: 20, refAttrName: 21, sparseTensor: 22, sparseTensors: 23,
  },
  tensor: {
    dims: 1, dataType: 2, segment: 3, floatData: 4, int32Data: 5, stringData: 6, int64Data: 7, name: 8,
    rawData: 9, doubleData: 10, uint64Data: 11, docString: 12, externalData: 13, dataLocation: 14,
    metadataProps: 16 /* onnx >= 1.16 */,
  },
  valueInfo: { name: 1, type: 2, docString: 3 },
  typeProto: { tensorType: 1, sequenceType: 4, mapType: 5, denotation: 6, sparseTensorType: 8, optionalType: 9 },
  typeTensor: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dimension: { dimValue: 1, dimParam: 2, denotation: 3 },
  opset: { domain: 1, version: 2 },
  stringEntry: { key: 1, value: 2 },
} as const;

/** TensorProto.DataLocation */
export const DATA_LOCATION_EXTERNAL = 1;

// ---------------------------------------------------------------------------
// Message encoders

/** Where an external tensor's bytes are, relative to the model's folder. */
export interface ExternalRef {
  location: string;
  offset: number;
  length: number;
}

export type TensorPayload =
  /** Canonical little-endian bytes, streamed into raw_data. */
  | { raw: readonly Piece[] }
  /** Bytes stored in an external data file. */
  | { external: ExternalRef }
  | { int64: readonly Int64[] }
  | { int32: readonly number[] }
  | { float: ArrayLike<number> }
  | { double: ArrayLike<number> }
  | { strings: readonly (string | Uint8Array)[] };

export interface TensorSpec {
  name: string;
  dtype: DType;
  dims: readonly Int64[];
  data: TensorPayload;
  docString?: string;
}

export function encodeTensor(t: TensorSpec): Encoded {
  const m = new MessageWriter();
  m.packedInt64(F.tensor.dims, t.dims);
  m.varint(F.tensor.dataType, onnxDataType(t.dtype));
  const d = t.data;
  if ('float' in d) m.packedFloat(F.tensor.floatData, d.float);
  else if ('int32' in d) m.packedInt32(F.tensor.int32Data, d.int32);
  else if ('strings' in d) for (const s of d.strings) typeof s === 'string' ? m.string(F.tensor.stringData, s) : m.bytes(F.tensor.stringData, s);
  else if ('int64' in d) m.packedInt64(F.tensor.int64Data, d.int64);
  m.string(F.tensor.name, t.name);
  if ('raw' in d) m.delimited(F.tensor.rawData, d.raw);
  else if ('double' in d) m.packedDouble(F.tensor.doubleData, d.double);
  if (t.docString) m.string(F.tensor.docString, t.docString);
  if ('external' in d) {
    for (const [key, value] of [['location', d.external.location], ['offset', String(d.external.offset)], ['length', String(d.external.length)]] as const) {
      m.message(F.tensor.externalData, encodeStringEntry(key, value));
    }
    m.varint(F.tensor.dataLocation, DATA_LOCATION_EXTERNAL);
  }
  return m.finish();
}

export function encodeStringEntry(key: string, value: string): Encoded {
  return new MessageWriter().string(F.stringEntry.key, key).string(F.stringEntry.value, value).finish();
}

export function encodeOpset(opset: OpsetImport): Encoded {
  const m = new MessageWriter();
  if (opset.domain !== '') m.string(F.opset.domain, opset.domain);
  return m.int64(F.opset.version, opset.version).finish();
}

export type AttributeSpec = { name: string; docString?: string } & (
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: Int64 }
  | { kind: 'string'; value: string | Uint8Array }
  | { kind: 'tensor'; value: Encoded }
  | { kind: 'graph'; value: Encoded }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'ints'; value: readonly Int64[] }
  | { kind: 'strings'; value: readonly (string | Uint8Array)[] }
  | { kind: 'tensors'; value: readonly Encoded[] }
  | { kind: 'graphs'; value: readonly Encoded[] }
);

export function encodeAttribute(a: AttributeSpec): Encoded {
  const m = new MessageWriter();
  m.string(F.attribute.name, a.name);
  switch (a.kind) {
    case 'float': m.float(F.attribute.f, a.value); break;
    case 'int': m.int64(F.attribute.i, a.value); break;
    case 'string': typeof a.value === 'string' ? m.string(F.attribute.s, a.value) : m.bytes(F.attribute.s, a.value); break;
    case 'tensor': m.message(F.attribute.t, a.value); break;
    case 'graph': m.message(F.attribute.g, a.value); break;
    case 'floats': m.packedFloat(F.attribute.floats, a.value); break;
    case 'ints': m.packedInt64(F.attribute.ints, a.value); break;
    case 'strings': for (const s of a.value) typeof s === 'string' ? m.string(F.attribute.strings, s) : m.bytes(F.attribute.strings, s); break;
    case 'tensors': for (const t of a.value) m.message(F.attribute.tensors, t); break;
    case 'graphs': for (const g of a.value) m.message(F.attribute.graphs, g); break;
  }
  if (a.docString) m.string(F.attribute.docString, a.docString);
  m.varint(F.attribute.type, ATTRIBUTE_TYPE[a.kind]);
  return m.finish();
}

export interface NodeSpec {
  name?: string;
  opType: string;
  domain?: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes?: readonly (AttributeSpec | Encoded)[];
  docString?: string;
}

export function encodeNode(n: NodeSpec): Encoded {
  const m = new MessageWriter();
  for (const i of n.inputs) m.string(F.node.input, i);
  for (const o of n.outputs) m.string(F.node.output, o);
  if (n.name) m.string(F.node.name, n.name);
  m.string(F.node.opType, n.opType);
  for (const a of n.attributes ?? []) m.message(F.node.attribute, a instanceof Encoded ? a : encodeAttribute(a));
  if (n.docString) m.string(F.node.docString, n.docString);
  if (n.domain) m.string(F.node.domain, n.domain);
  return m.finish();
}

export interface ValueInfoSpec {
  name: string;
  /** Omit for a value whose type the model does not state. */
  dtype?: DType;
  /** Dimensions: numbers, symbolic names, or null for unknown. Omit for an unknown rank. */
  shape?: readonly (number | string | null)[];
  docString?: string;
}

export function encodeValueInfo(v: ValueInfoSpec): Encoded {
  const m = new MessageWriter().string(F.valueInfo.name, v.name);
  if (v.dtype !== undefined) {
    const tensor = new MessageWriter().varint(F.typeTensor.elemType, onnxDataType(v.dtype));
    if (v.shape) {
      const shape = new MessageWriter();
      for (const d of v.shape) {
        const dim = new MessageWriter();
        if (typeof d === 'number') dim.int64(F.dimension.dimValue, d);
        else if (typeof d === 'string') dim.string(F.dimension.dimParam, d);
        shape.message(F.shape.dim, dim.finish());
      }
      tensor.message(F.typeTensor.shape, shape.finish());
    }
    m.message(F.valueInfo.type, new MessageWriter().message(F.typeProto.tensorType, tensor.finish()).finish());
  }
  if (v.docString) m.string(F.valueInfo.docString, v.docString);
  return m.finish();
}

export interface GraphSpec {
  name: string;
  nodes: readonly Encoded[];
  initializers?: readonly Encoded[];
  inputs: readonly Encoded[];
  outputs: readonly Encoded[];
  valueInfo?: readonly Encoded[];
  docString?: string;
}

export function encodeGraph(g: GraphSpec): Encoded {
  const m = new MessageWriter();
  for (const n of g.nodes) m.message(F.graph.node, n);
  m.string(F.graph.name, g.name);
  for (const t of g.initializers ?? []) m.message(F.graph.initializer, t);
  if (g.docString) m.string(F.graph.docString, g.docString);
  for (const v of g.inputs) m.message(F.graph.input, v);
  for (const v of g.outputs) m.message(F.graph.output, v);
  for (const v of g.valueInfo ?? []) m.message(F.graph.valueInfo, v);
  return m.finish();
}

export interface ModelSpec {
  irVersion: number;
  opsets: readonly OpsetImport[];
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  graph: Encoded;
  metadata?: Readonly<Record<string, string>>;
  functions?: readonly Encoded[];
}

export function encodeModel(spec: ModelSpec): Encoded {
  const m = new MessageWriter();
  m.int64(F.model.irVersion, spec.irVersion);
  if (spec.producerName) m.string(F.model.producerName, spec.producerName);
  if (spec.producerVersion) m.string(F.model.producerVersion, spec.producerVersion);
  if (spec.domain) m.string(F.model.domain, spec.domain);
  if (spec.modelVersion !== undefined) m.int64(F.model.modelVersion, spec.modelVersion);
  if (spec.docString) m.string(F.model.docString, spec.docString);
  m.message(F.model.graph, spec.graph);
  for (const o of spec.opsets) m.message(F.model.opsetImport, encodeOpset(o));
  for (const [k, v] of Object.entries(spec.metadata ?? {})) m.message(F.model.metadataProps, encodeStringEntry(k, v));
  for (const f of spec.functions ?? []) m.message(F.model.functions, f);
  return m.finish();
}

// ---------------------------------------------------------------------------
// External data

/**
 * Lays out tensors in an external data file. onnx's spec (ExternalData.md)
 * says offsets SHOULD be multiples of the page size (4 KiB), or of the
 * Windows allocation granularity (64 KiB), so loaders can mmap them; onnx's
 * Python `save_external_data` appends at the end of the file and pads up to
 * a requested offset with zeros (refusing gaps over 64 KiB). We follow what
 * onnx-ir and onnxruntime do when they save: a tensor larger than
 * `alignThreshold` (1 MiB) starts at a multiple of `alignment` (64 KiB);
 * smaller tensors follow each other unpadded. Padding is zeros and always
 * under one alignment unit, so onnx's own writer/loader rules hold.
 */
export class ExternalDataFile {
  private readonly content: Piece[] = [];
  private size = 0;

  constructor(
    /** File name relative to the model's folder, as written in `location`. */
    readonly location: string,
    private readonly alignThreshold = 1024 * 1024,
    private readonly alignment = 64 * 1024,
  ) {
    if (location === '' || location.includes('..') || location.startsWith('/') || /^[A-Za-z]:/.test(location)) {
      throw new Error(`external data location '${location}' must be a plain name relative to the model's folder`);
    }
  }

  get length(): number {
    return this.size;
  }

  get pieces(): readonly Piece[] {
    return this.content;
  }

  /** Appends a tensor's canonical bytes; returns where they went. */
  add(data: readonly Piece[]): ExternalRef {
    const length = data.reduce((s, p) => s + pieceLength(p), 0);
    if (length > this.alignThreshold) {
      const pad = (this.alignment - (this.size % this.alignment)) % this.alignment;
      if (pad > 0) {
        this.content.push(new Uint8Array(pad));
        this.size += pad;
      }
    }
    const ref = { location: this.location, offset: this.size, length };
    pushAll(this.content, data);
    this.size += length;
    return ref;
  }
}

/** protobuf messages are limited to 2 GiB - 1; bigger models must use external data. */
export const MAX_PROTOBUF_BYTES = 2 ** 31 - 1;

export interface WriteOnnxOptions extends AtomicWriteOptions {
  /** The external data file the model refers to, written beside it first. */
  data?: ExternalDataFile;
}

/**
 * Writes an encoded ModelProto (and its external data) atomically. Returns
 * the bytes written to the model file and to the data file.
 */
export async function writeOnnx(target: string, model: Encoded, options: WriteOnnxOptions = {}): Promise<{ modelBytes: number; dataBytes: number }> {
  if (model.length > MAX_PROTOBUF_BYTES) {
    throw new Error(`${target}: the model would be ${model.length} bytes, over protobuf's 2 GiB limit: store its tensors as external data`);
  }
  const { data, ...writeOptions } = options;
  const outputs = [{ target, pieces: model.pieces }];
  if (data) {
    outputs.unshift({ target: path.join(path.dirname(path.resolve(target)), data.location), pieces: data.pieces });
  }
  const written = await atomicWriteFiles(outputs, writeOptions);
  return data ? { dataBytes: written[0] ?? 0, modelBytes: written[1] ?? 0 } : { modelBytes: written[0] ?? 0, dataBytes: 0 };
}
