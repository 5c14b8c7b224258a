// Summary statistics of one tensor for hovers, computed by streaming its
// canonical bytes through one bounded, reused buffer: a 100 MB embedding
// costs a few reads, never 100 MB of fresh memory.
import type { DType, TensorRef } from '../model/types';
import { DTYPE_SIZE } from '../model/types';
import type { FileSet } from '../io/fileSet';

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

const f16 = (bits: number): number => {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
};

const scratch = new DataView(new ArrayBuffer(4));
const bf16 = (bits: number): number => { scratch.setUint32(0, bits << 16); return scratch.getFloat32(0); };

const DECODERS: Partial<Record<DType, Decoder>> = {
  float32: (v, o) => v.getFloat32(o, true),
  float64: (v, o) => v.getFloat64(o, true),
  float16: (v, o) => f16(v.getUint16(o, true)),
  bfloat16: (v, o) => bf16(v.getUint16(o, true)),
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

export function statsSupported(dtype: DType): boolean {
  return dtype in DECODERS;
}

/**
 * Streams `tensor` through `buffer` (or a fresh bounded one) and returns its
 * statistics; undefined when its dtype has no numeric decoding here (sub-byte,
 * fp8, strings, complex) or its bytes are unavailable.
 */
export function tensorStats(files: FileSet, tensor: TensorRef, buffer?: Uint8Array, signal?: AbortSignal): TensorStats | undefined {
  const decode = DECODERS[tensor.dtype];
  if (!decode || tensor.data.kind === 'unavailable') return undefined;
  const size = DTYPE_SIZE[tensor.dtype];
  const cap = buffer ?? new Uint8Array(Math.min(DEFAULT_STATS_BUFFER, Math.max(size, tensor.byteLength)));
  // Whole elements per chunk, so no element straddles two reads.
  const chunk = Math.floor(cap.length / size) * size;
  if (chunk === 0) throw new RangeError(`stats buffer of ${cap.length} bytes cannot hold one ${tensor.dtype}`);
  const view = new DataView(cap.buffer, cap.byteOffset, cap.byteLength);
  let count = 0, nanCount = 0, zeros = 0, mean = 0, m2 = 0;
  let min = Infinity, max = -Infinity;
  for (let start = 0; start < tensor.byteLength; start += chunk) {
    if (signal?.aborted) throw new Error('statistics cancelled');
    const n = Math.min(chunk, tensor.byteLength - start);
    files.readTensor(tensor, start, cap, 0, n);
    for (let o = 0; o < n; o += size) {
      const x = decode(view, o);
      if (Number.isNaN(x)) { nanCount++; continue; }
      if (x < min) min = x;
      if (x > max) max = x;
      if (x === 0) zeros++;
      // Welford: stable for long tensors with a large mean.
      count++;
      const d = x - mean;
      mean += d / count;
      m2 += d * (x - mean);
    }
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
