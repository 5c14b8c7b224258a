// Summary statistics of one tensor for hovers, computed by streaming its
// canonical bytes through one bounded, reused buffer: a 100 MB embedding
// costs a few reads, never 100 MB of fresh memory.
import type { DType, TensorRef } from '../model/types';
import { DTYPE_SIZE } from '../model/types';
import type { FileSet } from '../io/fileSet';
import { bfloat16ToFloat, halfToFloat } from '../util/floatCast';
import { cancelled } from '../util/cancelled';

export interface TensorStats {
  /** Finite-or-infinite elements counted (NaN excluded). */
  count: number;
  nanCount: number;
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  zeros: number;
}

export const DEFAULT_STATS_BUFFER = 1 << 20;

type Decoder = (view: DataView, byteOffset: number) => number;

/** Element decoders by dtype (little-endian, as ONNX stores them). */
const DECODERS: Partial<Record<DType, Decoder>> = {
  float32: (v, o) => v.getFloat32(o, true),
  float64: (v, o) => v.getFloat64(o, true),
  float16: (v, o) => halfToFloat(v.getUint16(o, true)),
  bfloat16: (v, o) => bfloat16ToFloat(v.getUint16(o, true)),
  int8: (v, o) => v.getInt8(o),
  uint8: (v, o) => v.getUint8(o),
  bool: (v, o) => v.getUint8(o),
  int16: (v, o) => v.getInt16(o, true),
  uint16: (v, o) => v.getUint16(o, true),
  int32: (v, o) => v.getInt32(o, true),
  uint32: (v, o) => v.getUint32(o, true),
  // 64-bit integers beyond 2^53 lose precision: fine for a summary.
  int64: (v, o) => Number(v.getBigInt64(o, true)),
  uint64: (v, o) => Number(v.getBigUint64(o, true)),
};

/** False for block-quantized types too: their bytes are blocks, not elements (no decoder listed). */
export function statsSupported(dtype: DType): boolean {
  return dtype in DECODERS;
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let halfTables: { f16: Float32Array; bf16: Float32Array } | undefined;
/** All 65,536 half values, decoded once (256 KB each): a table lookup per element. */
export function halfTable(dtype: 'float16' | 'bfloat16'): Float32Array {
  if (!halfTables) {
    const a = new Float32Array(65536);
    const b = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) { a[i] = halfToFloat(i); b[i] = bfloat16ToFloat(i); }
    halfTables = { f16: a, bf16: b };
  }
  return dtype === 'float16' ? halfTables.f16 : halfTables.bf16;
}

/**
 * The elements of `bytes[0..n)` as numbers: a typed-array view where the
 * host's byte order allows (no copy), else decoded into `out`.
 */
export function numbersOf(dtype: DType, bytes: Uint8Array, n: number, out: Float64Array): ArrayLike<number> {
  const buf = bytes.buffer;
  const at = bytes.byteOffset;
  const size = DTYPE_SIZE[dtype];
  const count = n / size;
  if (LITTLE_ENDIAN && at % 8 === 0) {
    switch (dtype) {
      case 'float32': return new Float32Array(buf, at, count);
      case 'float64': return new Float64Array(buf, at, count);
      case 'int8': return new Int8Array(buf, at, count);
      case 'uint8': case 'bool': return new Uint8Array(buf, at, count);
      case 'int16': return new Int16Array(buf, at, count);
      case 'uint16': return new Uint16Array(buf, at, count);
      case 'int32': return new Int32Array(buf, at, count);
      case 'uint32': return new Uint32Array(buf, at, count);
      case 'float16': case 'bfloat16': {
        const table = halfTable(dtype);
        const bits = new Uint16Array(buf, at, count);
        for (let i = 0; i < count; i++) out[i] = table[bits[i]];
        return out.subarray(0, count);
      }
      default: break;
    }
  }
  const decode = DECODERS[dtype]!;
  const view = new DataView(buf, at, n);
  for (let i = 0; i < count; i++) out[i] = decode(view, i * size);
  return out.subarray(0, count);
}

/** Bytes between yields to the event loop (an editor's host stays responsive; a cancel arrives). */
const YIELD_BYTES = 16 << 20;

/**
 * Streams `tensor` through `buffer` (or a fresh bounded one) and returns its
 * statistics; undefined when its dtype has no numeric decoding here (sub-byte,
 * fp8, strings, complex) or its bytes are unavailable. Rejects with an
 * AbortError when `signal` aborts.
 */
export async function tensorStats(files: FileSet, tensor: TensorRef, buffer?: Uint8Array, signal?: AbortSignal): Promise<TensorStats | undefined> {
  if (!statsSupported(tensor.dtype) || tensor.data.kind === 'unavailable') return undefined;
  const size = DTYPE_SIZE[tensor.dtype];
  const given = buffer ?? new Uint8Array(Math.min(DEFAULT_STATS_BUFFER, Math.max(size, tensor.byteLength)));
  // Whole elements per chunk, so no element straddles two reads; typed-array
  // views need the chunk to start at a multiple of 8 in its ArrayBuffer.
  const skew = (8 - (given.byteOffset % 8)) % 8;
  const cap = given.subarray(Math.min(skew, given.length));
  const chunk = Math.floor(cap.length / size) * size;
  if (chunk === 0) throw new RangeError(`stats buffer of ${given.length} bytes cannot hold one ${tensor.dtype}`);
  const decoded = new Float64Array(chunk / size);
  let count = 0, nanCount = 0, zeros = 0, mean = 0, m2 = 0;
  let min = Infinity, max = -Infinity;
  let sinceYield = 0;
  for (let start = 0; start < tensor.byteLength; start += chunk) {
    if (sinceYield >= YIELD_BYTES) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (signal?.aborted) throw cancelled(`statistics of ${tensor.id} cancelled`);
    const n = Math.min(chunk, tensor.byteLength - start);
    files.readTensor(tensor, start, cap, 0, n);
    sinceYield += n;
    const xs = numbersOf(tensor.dtype, cap, n, decoded);
    // Two passes over the chunk (it is in cache): its mean, then squared
    // deviations from it; chunks merge with Chan's formula. Stable for long
    // tensors with a large mean, and no division per element.
    let c = 0, sum = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      if (x !== x) { nanCount++; continue; }
      if (x < min) min = x;
      if (x > max) max = x;
      if (x === 0) zeros++;
      sum += x;
      c++;
    }
    if (c === 0) continue;
    const cm = sum / c;
    let cm2 = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      if (x === x) cm2 += (x - cm) * (x - cm);
    }
    const total = count + c;
    const d = cm - mean;
    mean += (d * c) / total;
    m2 += cm2 + (d * d * count * c) / total;
    count = total;
  }
  if (count === 0) return { count, nanCount, zeros, min: NaN, max: NaN, mean: NaN, std: NaN };
  return { count, nanCount, zeros, min, max, mean, std: Math.sqrt(m2 / count) };
}

/** "min -0.12 · max 0.5 · mean 0.001 · std 0.02" */
export function formatStats(s: TensorStats): string {
  const f = (x: number) => (Number.isInteger(x) && Math.abs(x) < 1e9 ? String(x) : Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : x.toPrecision(4));
  const parts = [`min ${f(s.min)}`, `max ${f(s.max)}`, `mean ${f(s.mean)}`, `std ${f(s.std)}`];
  if (s.zeros) parts.push(`${s.zeros} zeros`);
  if (s.nanCount) parts.push(`${s.nanCount} NaN`);
  return parts.join(' · ');
}
