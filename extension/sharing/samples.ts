// Cheap fingerprints read at a few fixed positions. Two tensors whose samples
// differ cannot be equal, so only candidates with equal samples are read in
// full. Positions depend only on the tensor's size/shape, so equal tensors
// always produce equal samples (the filter never loses a duplicate).
import type { TensorRef } from '../model/types';
import { DTYPE_SIZE } from '../model/types';
import type { ByteSource } from './byteSource';
import { converterFor, type HalfType } from '../util/floatCast';

/** Tensors up to this size are read whole: the sample is the content. */
export const FULL_SAMPLE_BYTES = 4096;
const WINDOWS = 8;
const WINDOW_BYTES = 64;

export interface ByteSample {
  key: string;
  /** The key holds every byte: equal keys mean verified equal. */
  complete: boolean;
}

const scratch = new Uint8Array(Math.max(FULL_SAMPLE_BYTES, WINDOWS * WINDOW_BYTES));

/** Start, end and evenly spread 64-byte windows (or the whole tensor if small). */
export function byteSample(src: ByteSource, t: TensorRef): ByteSample {
  const L = t.byteLength;
  if (L <= FULL_SAMPLE_BYTES) {
    src.read(t, 0, scratch, 0, L);
    return { key: Buffer.from(scratch.buffer, 0, L).toString('latin1'), complete: true };
  }
  for (let k = 0; k < WINDOWS; k++) {
    // Window offsets are multiples of 64 except the last, which ends at L.
    const off = k === WINDOWS - 1 ? L - WINDOW_BYTES : Math.floor((k * (L - WINDOW_BYTES)) / (WINDOWS - 1) / WINDOW_BYTES) * WINDOW_BYTES;
    src.read(t, off, scratch, k * WINDOW_BYTES, WINDOW_BYTES);
  }
  return { key: Buffer.from(scratch.buffer, 0, WINDOWS * WINDOW_BYTES).toString('latin1'), complete: false };
}

const POINTS = 16;

/**
 * Flat element indices of fixed points of a non-square 2-D tensor, defined in
 * the tall orientation (R = max dim rows, C = min dim cols): a tensor and its
 * transpose sample the same logical elements, so x == yᵀ implies equal samples.
 */
export function transposedPositions(shape: readonly number[]): number[] {
  const [d0, d1] = shape;
  const R = Math.max(d0, d1);
  const C = Math.min(d0, d1);
  const tall = d0 >= d1;
  const out: number[] = [];
  for (let k = 0; k < POINTS; k++) {
    const i = Math.floor((k * (R - 1)) / (POINTS - 1));
    const j = Math.floor((((k * 7) % POINTS) * (C - 1)) / (POINTS - 1)); // scrambled columns
    out.push(tall ? i * C + j : j * R + i);
  }
  return out;
}

/**
 * Fixed points (i, j) of an n x n tensor, as flat indices read two ways:
 * `direct` at (i, j) and `mirrored` at (j, i). If y == xᵀ then y's mirrored
 * sample equals x's direct one, so a square transpose is never filtered out.
 * Columns are scrambled so most points are off the diagonal (the diagonal is
 * the same in a matrix and its transpose and tells nothing).
 */
export function squarePositions(n: number): { direct: number[]; mirrored: number[] } {
  const direct: number[] = [];
  const mirrored: number[] = [];
  for (let k = 0; k < POINTS; k++) {
    const i = Math.floor((k * (n - 1)) / (POINTS - 1));
    const j = Math.floor((((k * 7 + 3) % POINTS) * (n - 1)) / (POINTS - 1));
    direct.push(i * n + j);
    mirrored.push(j * n + i);
  }
  return { direct, mirrored };
}

/** Evenly spread flat element indices (same-shape matching). */
export function spreadPositions(elementCount: number): number[] {
  if (elementCount === 0) return [];
  const n = Math.min(POINTS * 4, elementCount);
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push(n === 1 ? 0 : Math.floor((k * (elementCount - 1)) / (n - 1)));
  return out;
}

/**
 * The elements at `positions`, as a key; with `castTo`, the float32 elements
 * converted first (null when one is NaN: such a tensor is never a cast source).
 */
export function elementSample(src: ByteSource, t: TensorRef, positions: number[], castTo?: HalfType): string | null {
  const es = DTYPE_SIZE[t.dtype];
  const parts: number[] = [];
  const cvt = castTo ? converterFor(castTo) : undefined;
  for (const p of positions) {
    src.read(t, p * es, scratch, 0, es);
    if (cvt) {
      const bits = cvt((scratch[0] | (scratch[1] << 8) | (scratch[2] << 16) | (scratch[3] << 24)) >>> 0);
      if (bits < 0) return null;
      parts.push(bits);
    } else if (es === 2) {
      parts.push(scratch[0] | (scratch[1] << 8));
    } else {
      for (let i = 0; i < es; i++) parts.push(scratch[i]);
    }
  }
  return parts.join(',');
}
