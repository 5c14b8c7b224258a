// Decodes and encodes single ONNX TensorProto messages: the `input_K.pb` /
// `output_K.pb` files of the ONNX backend-test layout (`test_data_set_N/`).
// Works on Uint8Array only (no Buffer, no fs) so the webview decodes the same
// way the CLI does. These files are small, so the whole message is in memory.
//
// Element bytes are assumed little-endian, as ONNX writes raw_data and as
// every platform onnxruntime-web runs on is.
import { Reader, Writer } from 'protobufjs/minimal';
import type { DType } from '../model/types';

/** Typed-array storage per dtype; float16/bfloat16 keep their raw 16-bit patterns. */
export type TensorArray =
  | Float32Array | Float64Array
  | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array;

/** A tensor value held in memory (inputs and outputs of a run). */
export interface TensorValue {
  name: string;
  dtype: DType;
  dims: number[];
  /** Typed elements; `string[]` for string tensors. */
  data: TensorArray | string[];
}

export class TensorProtoError extends Error {
  constructor(readonly source: string, readonly problem: string, readonly offset?: number) {
    super(`${source}: TensorProto: ${problem}${offset === undefined ? '' : ` (at byte ${offset})`}`);
    this.name = 'TensorProtoError';
  }
}

/** TensorProto.DataType enum values (onnx.proto). */
const DTYPE_BY_CODE: Record<number, DType> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
  8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
  14: 'complex64', 15: 'complex128', 16: 'bfloat16', 17: 'float8e4m3fn', 18: 'float8e4m3fnuz',
  19: 'float8e5m2', 20: 'float8e5m2fnuz', 21: 'uint4', 22: 'int4', 23: 'float4e2m1',
};
const CODE_BY_DTYPE = Object.fromEntries(
  Object.entries(DTYPE_BY_CODE).map(([code, dtype]) => [dtype, Number(code)]),
) as Record<DType, number>;

export function dtypeFromCode(code: number): DType | undefined {
  return DTYPE_BY_CODE[code];
}

export function dtypeCode(dtype: DType): number {
  return CODE_BY_DTYPE[dtype];
}

/** Dtypes this module can hold as typed arrays (what onnxruntime-web can feed and return). */
const ARRAY_CTOR = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, bfloat16: Uint16Array,
  int8: Int8Array, uint8: Uint8Array, bool: Uint8Array, int16: Int16Array, uint16: Uint16Array,
  int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
} as const;
type ArrayDType = keyof typeof ARRAY_CTOR;

export function isArrayDType(dtype: DType): dtype is ArrayDType {
  return Object.prototype.hasOwnProperty.call(ARRAY_CTOR, dtype);
}

/** Most elements a decoded test tensor may have (2^28: 1 GiB of float32). */
export const MAX_DECODED_ELEMENTS = 1 << 28;

export function elementCountOf(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/** A zero-filled typed array of `count` elements of `dtype`. */
export function allocateTensorArray(dtype: DType, count: number): TensorArray {
  if (!isArrayDType(dtype)) throw new Error(`dtype ${dtype} has no typed-array form`);
  return new ARRAY_CTOR[dtype](count);
}

/** Copies little-endian element bytes into a fresh, aligned typed array. */
function fromRawBytes(dtype: ArrayDType, raw: Uint8Array, count: number, source: string, offset: number): TensorArray {
  const ctor = ARRAY_CTOR[dtype];
  if (raw.byteLength !== count * ctor.BYTES_PER_ELEMENT) {
    throw new TensorProtoError(source, `raw_data holds ${raw.byteLength} bytes, ${dtype} with ${count} elements needs ${count * ctor.BYTES_PER_ELEMENT}`, offset);
  }
  // Copy: raw_data sits at an arbitrary offset in the message, typed views need alignment.
  const copy = new Uint8Array(raw.byteLength);
  copy.set(raw);
  return new ctor(copy.buffer, 0, count);
}

/** Reads one unsigned varint as a bigint (int64 values need all 64 bits). */
function readVarintBig(reader: Reader): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (reader.pos >= reader.len) throw new RangeError('varint runs past the end');
    const b = reader.buf[reader.pos++];
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
    shift += 7n;
    if (shift > 63n) throw new RangeError('varint longer than 10 bytes');
  }
}

/** Repeated varint field: packed (wire type 2) or one value per tag (wire type 0). */
function readVarints(reader: Reader, wireType: number, out: bigint[]): void {
  if (wireType === 2) {
    const end = reader.uint32() + reader.pos;
    while (reader.pos < end) out.push(readVarintBig(reader));
  } else {
    out.push(readVarintBig(reader));
  }
}

function readFixed(reader: Reader, wireType: number, out: number[], read: () => number): void {
  if (wireType === 2) {
    const end = reader.uint32() + reader.pos;
    while (reader.pos < end) out.push(read());
  } else {
    out.push(read());
  }
}

/**
 * Decodes one serialized TensorProto. `source` names the file for errors.
 * Handles raw_data and the typed fields (float_data, int32_data — which also
 * carries int8/int16/uint8/uint16/bool and the 16-bit patterns of fp16/bf16 —,
 * int64_data, double_data, uint64_data, string_data). External data is refused.
 */
export function decodeTensorProto(bytes: Uint8Array, source = 'tensor'): TensorValue {
  const reader = new Reader(bytes);
  const dims: number[] = [];
  let code = 0;
  let name = '';
  let raw: { bytes: Uint8Array; offset: number } | undefined;
  const floats: number[] = [];
  const doubles: number[] = [];
  const varints: bigint[] = [];
  const strings: string[] = [];
  let external = false;
  const decoder = new TextDecoder();
  try {
    while (reader.pos < reader.len) {
      const tagOffset = reader.pos;
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      switch (field) {
        case 1: { const d: bigint[] = []; readVarints(reader, wire, d); for (const v of d) dims.push(Number(BigInt.asIntN(64, v))); break; }
        case 2: code = reader.int32(); break;
        case 4: readFixed(reader, wire, floats, () => reader.float()); break;
        case 5: case 7: case 11: readVarints(reader, wire, varints); break;
        case 6: strings.push(decoder.decode(reader.bytes())); break;
        case 8: name = reader.string(); break;
        case 9: { const offset = reader.pos; raw = { bytes: reader.bytes(), offset }; break; }
        case 10: readFixed(reader, wire, doubles, () => reader.double()); break;
        case 13: external = true; reader.skipType(wire); break;
        case 14: if (reader.int32() === 1) external = true; break;
        default:
          if (wire === 4 || wire > 5) throw new TensorProtoError(source, `bad wire type ${wire} for field ${field}`, tagOffset);
          reader.skipType(wire);
      }
    }
  } catch (err) {
    if (err instanceof TensorProtoError) throw err;
    throw new TensorProtoError(source, `truncated or corrupt message (${(err as Error).message})`, reader.pos);
  }
  const dtype = dtypeFromCode(code);
  if (!dtype) throw new TensorProtoError(source, `unknown data_type ${code}`);
  if (external) throw new TensorProtoError(source, 'tensor data is stored externally; only embedded test tensors are supported');
  // Dims come from the file: check them before they size an allocation.
  const bad = dims.find((d) => !Number.isSafeInteger(d) || d < 0);
  if (bad !== undefined) throw new TensorProtoError(source, `dims [${dims.join(', ')}] hold ${bad}, not a size`);
  const count = elementCountOf(dims);
  if (!Number.isSafeInteger(count) || count > MAX_DECODED_ELEMENTS) {
    throw new TensorProtoError(source, `dims [${dims.join(', ')}] make ${count} elements, more than the ${MAX_DECODED_ELEMENTS} a test tensor may hold`);
  }
  if (dtype === 'string') {
    if (strings.length !== count) throw new TensorProtoError(source, `string tensor has ${strings.length} values for ${count} elements`);
    return { name, dtype, dims, data: strings };
  }
  if (!isArrayDType(dtype)) throw new TensorProtoError(source, `data_type ${dtype} is not supported for inference checks`);
  if (raw) return { name, dtype, dims, data: fromRawBytes(dtype, raw.bytes, count, source, raw.offset) };

  const data = allocateTensorArray(dtype, count);
  const values: ArrayLike<number | bigint> = dtype === 'float32' ? floats : dtype === 'float64' ? doubles : varints;
  if (values.length !== count) {
    throw new TensorProtoError(source, `${dtype} tensor has ${values.length} typed values for ${count} elements (dims [${dims.join(', ')}])`);
  }
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < count; i++) data[i] = BigInt.asIntN(64, values[i] as bigint);
  } else if (data instanceof BigUint64Array) {
    for (let i = 0; i < count; i++) data[i] = BigInt.asUintN(64, values[i] as bigint);
  } else if (dtype === 'float32' || dtype === 'float64') {
    for (let i = 0; i < count; i++) data[i] = values[i] as number;
  } else {
    // int32_data varints: sign-extended int32 (or uint32 via uint64_data); the
    // typed array's own wrap-around gives the right 8/16-bit value and fp16 bits.
    for (let i = 0; i < count; i++) data[i] = Number(BigInt.asIntN(64, values[i] as bigint));
  }
  return { name, dtype, dims, data };
}

/** Encodes a tensor as a TensorProto with raw_data (strings in string_data). */
export function encodeTensorProto(tensor: TensorValue): Uint8Array {
  const w = Writer.create();
  if (tensor.dims.length) {
    w.uint32((1 << 3) | 2).fork();
    for (const d of tensor.dims) w.int64(d);
    w.ldelim();
  }
  w.uint32((2 << 3) | 0).int32(dtypeCode(tensor.dtype));
  if (tensor.name) w.uint32((8 << 3) | 2).string(tensor.name);
  if (Array.isArray(tensor.data)) {
    const encoder = new TextEncoder();
    for (const s of tensor.data) w.uint32((6 << 3) | 2).bytes(encoder.encode(s));
  } else {
    const d = tensor.data;
    w.uint32((9 << 3) | 2).bytes(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return w.finish();
}

import { halfToFloat, bfloat16ToFloat } from '../util/floatCast';
export { floatToHalf, halfToFloat, bfloat16ToFloat } from '../util/floatCast';

/** Element i as a JS number (fp16/bf16 converted, 64-bit ints may lose precision). */
export function elementAsNumber(tensor: TensorValue, i: number): number {
  const d = tensor.data;
  if (Array.isArray(d)) return NaN;
  if (tensor.dtype === 'float16') return halfToFloat(d[i] as number);
  if (tensor.dtype === 'bfloat16') return bfloat16ToFloat(d[i] as number);
  return Number(d[i]);
}
