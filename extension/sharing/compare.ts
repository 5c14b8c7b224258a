// Full verification of candidate pairs, streamed through the ByteSource's
// two reused buffers: a verdict is only "equal" after every byte was seen.
// Mismatches exit at the first differing chunk, so unequal pairs cost little.
import { createHash } from 'node:crypto';
import type { TensorRef } from '../model/types';
import { DTYPE_SIZE } from '../model/types';
import type { ByteSource } from './byteSource';
import { converterFor, type HalfType } from '../util/floatCast';

/** Same byte length assumed; true when every byte is equal. */
export async function bytesEqual(src: ByteSource, a: TensorRef, b: TensorRef): Promise<boolean> {
  if (a.byteLength !== b.byteLength) return false;
  const total = a.byteLength;
  const bufA = src.buffer(0, total);
  const bufB = src.buffer(1, total);
  const step = Math.min(bufA.length, bufB.length);
  for (let at = 0; at < total; at += step) {
    const n = Math.min(step, total - at);
    src.read(a, at, bufA, 0, n);
    src.read(b, at, bufB, 0, n);
    if (Buffer.compare(bufA.subarray(0, n), bufB.subarray(0, n)) !== 0) return false;
    await src.tick();
  }
  return true;
}

/** A digest of every byte, to split a large candidate set before pairwise verification. */
export async function digest(src: ByteSource, t: TensorRef): Promise<string> {
  const h = createHash('sha1');
  const buf = src.buffer(0, t.byteLength);
  for (let at = 0; at < t.byteLength; at += buf.length) {
    const n = Math.min(buf.length, t.byteLength - at);
    src.read(t, at, buf, 0, n);
    h.update(buf.subarray(0, n));
    await src.tick();
  }
  return h.digest('hex');
}

/** True when `half` equals cast(`f32`) element for element (same element order). */
export async function castEqual(src: ByteSource, f32: TensorRef, half: TensorRef, target: HalfType): Promise<boolean> {
  if (f32.elementCount !== half.elementCount) return false;
  const cvt = converterFor(target);
  const total = f32.elementCount;
  const bufF = src.buffer(0, total * 4);
  const bufH = src.buffer(1, total * 2);
  const step = Math.min(Math.floor(bufF.length / 4), Math.floor(bufH.length / 2));
  const F = new Uint32Array(bufF.buffer, 0, step);
  const H = new Uint16Array(bufH.buffer, 0, step);
  for (let at = 0; at < total; at += step) {
    const n = Math.min(step, total - at);
    src.read(f32, at * 4, bufF, 0, n * 4);
    src.read(half, at * 2, bufH, 0, n * 2);
    for (let i = 0; i < n; i++) if (cvt(F[i]) !== H[i]) return false;
    await src.tick();
  }
  return true;
}

/**
 * True when `y` is the transpose of the 2-D tensor `x` (y[j][i] == x[i][j]);
 * with `cast`, `x` is float32 and y[j][i] == cast(x[i][j]).
 *
 * Works in tiles: a block of rows of the tall tensor (one contiguous read when
 * whole rows fit) and the matching column strip of the wide one (one read per
 * row of the wide tensor), so both buffers stay bounded whatever the size.
 */
export async function transposeEqual(src: ByteSource, x: TensorRef, y: TensorRef, cast?: HalfType): Promise<boolean> {
  if (x.shape.length !== 2 || y.shape.length !== 2) return false;
  if (x.shape[0] !== y.shape[1] || x.shape[1] !== y.shape[0]) return false;
  // T is the tall one (a rows >= b cols), W the wide one (b x a).
  const xTall = x.shape[0] >= x.shape[1];
  const T = xTall ? x : y;
  const W = xTall ? y : x;
  const a = T.shape[0];
  const b = T.shape[1];
  if (a * b === 0) return true;
  const esT = DTYPE_SIZE[T.dtype];
  const esW = DTYPE_SIZE[W.dtype];
  const compareTile = tileComparer(esT, esW, cast ? { target: cast, sourceIsTall: xTall } : undefined);
  if (!compareTile) return false;

  const cap = Math.floor(Math.min(src.buffer(0, a * b * esT).length / esT, src.buffer(1, a * b * esW).length / esW));
  // Whole rows when at least 64 of them fit (long contiguous reads on both sides); else square-ish tiles.
  let tc = b;
  if (b * 64 > cap) tc = Math.max(1, Math.floor(Math.sqrt(cap)));
  const tr = Math.max(1, Math.min(a, Math.floor(cap / tc)));
  const bufT = src.buffer(0, tr * tc * esT);
  const bufW = src.buffer(1, tr * tc * esW);

  for (let c0 = 0; c0 < b; c0 += tc) {
    const cols = Math.min(tc, b - c0);
    for (let r0 = 0; r0 < a; r0 += tr) {
      const rows = Math.min(tr, a - r0);
      // T[r0..r0+rows)[c0..c0+cols) as `rows` rows of `cols` elements.
      if (cols === b) {
        src.read(T, r0 * b * esT, bufT, 0, rows * b * esT);
      } else {
        for (let r = 0; r < rows; r++) src.read(T, ((r0 + r) * b + c0) * esT, bufT, r * cols * esT, cols * esT);
      }
      // W[c0..c0+cols)[r0..r0+rows) as `cols` rows of `rows` elements.
      for (let c = 0; c < cols; c++) src.read(W, ((c0 + c) * a + r0) * esW, bufW, c * rows * esW, rows * esW);
      if (!compareTile(bufT, bufW, rows, cols)) return false;
      await src.tick();
    }
  }
  return true;
}

const ROW_BLOCK = 64;

/** Compares a tile: t holds rows×cols (row-major), w holds cols×rows. */
type TileCompare = (t: Uint8Array, w: Uint8Array, rows: number, cols: number) => boolean;

function tileComparer(esT: number, esW: number, cast?: { target: HalfType; sourceIsTall: boolean }): TileCompare | undefined {
  if (cast) {
    const cvt = converterFor(cast.target);
    if (cast.sourceIsTall && esT === 4 && esW === 2) {
      return (t, w, rows, cols) => {
        const Tv = new Uint32Array(t.buffer, t.byteOffset, rows * cols);
        const Wv = new Uint16Array(w.buffer, w.byteOffset, rows * cols);
        for (let i0 = 0; i0 < rows; i0 += ROW_BLOCK) {
          const i1 = Math.min(rows, i0 + ROW_BLOCK);
          for (let j = 0; j < cols; j++) {
            const base = j * rows;
            for (let i = i0, ti = i0 * cols + j; i < i1; i++, ti += cols) if (cvt(Tv[ti]) !== Wv[base + i]) return false;
          }
        }
        return true;
      };
    }
    if (!cast.sourceIsTall && esT === 2 && esW === 4) {
      return (t, w, rows, cols) => {
        const Tv = new Uint16Array(t.buffer, t.byteOffset, rows * cols);
        const Wv = new Uint32Array(w.buffer, w.byteOffset, rows * cols);
        for (let i0 = 0; i0 < rows; i0 += ROW_BLOCK) {
          const i1 = Math.min(rows, i0 + ROW_BLOCK);
          for (let j = 0; j < cols; j++) {
            const base = j * rows;
            for (let i = i0, ti = i0 * cols + j; i < i1; i++, ti += cols) if (Tv[ti] !== cvt(Wv[base + i])) return false;
          }
        }
        return true;
      };
    }
    return undefined;
  }
  if (esT !== esW) return undefined;
  const es = esT;
  if (es === 4 || es === 2 || es === 1) {
    const view = (u: Uint8Array, n: number): Uint32Array | Uint16Array | Uint8Array =>
      es === 4 ? new Uint32Array(u.buffer, u.byteOffset, n) : es === 2 ? new Uint16Array(u.buffer, u.byteOffset, n) : u.subarray(0, n);
    return (t, w, rows, cols) => {
      const Tv = view(t, rows * cols);
      const Wv = view(w, rows * cols);
      // Blocks of 64 rows: T's 64 rows stay cached while all columns are
      // walked, W is read as 64-element sequential runs (several times faster
      // than walking a whole column of T at once).
      for (let i0 = 0; i0 < rows; i0 += ROW_BLOCK) {
        const i1 = Math.min(rows, i0 + ROW_BLOCK);
        for (let j = 0; j < cols; j++) {
          const base = j * rows;
          for (let i = i0, ti = i0 * cols + j; i < i1; i++, ti += cols) if (Tv[ti] !== Wv[base + i]) return false;
        }
      }
      return true;
    };
  }
  if (Number.isInteger(es) && es > 0 && es % 4 === 0) {
    // 8- and 16-byte elements: compare as runs of 32-bit words.
    const words = es / 4;
    return (t, w, rows, cols) => {
      const Tv = new Uint32Array(t.buffer, t.byteOffset, rows * cols * words);
      const Wv = new Uint32Array(w.buffer, w.byteOffset, rows * cols * words);
      for (let j = 0; j < cols; j++) {
        for (let i = 0; i < rows; i++) {
          const ti = (i * cols + j) * words;
          const wi = (j * rows + i) * words;
          for (let k = 0; k < words; k++) if (Tv[ti + k] !== Wv[wi + k]) return false;
        }
      }
      return true;
    };
  }
  return undefined; // sub-byte element types: not matched as transposes
}
