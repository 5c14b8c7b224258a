// Content digests that let transposed candidates meet by hash instead of by
// pairwise comparison: `rowMajorDigest(W)` of a matrix and
// `transposeDigest(T)` of another are equal when W = Tᵀ (up to a 64-bit
// collision, which the full comparison after it rules out). Used only where
// many candidates share one sample key (lookalikes), so the scan stays
// linear in the bytes read instead of quadratic in the candidates.
import { DTYPE_SIZE, type TensorRef } from '../model/types';
import type { ByteSource } from './byteSource';

/** Two 32-bit lanes: FNV-1a style and a multiplicative mix. */
interface Lanes { h: Uint32Array; g: Uint32Array }

function lanes(n: number): Lanes {
  return { h: new Uint32Array(n).fill(0x811c9dc5), g: new Uint32Array(n).fill(0x27d4eb2f) };
}

function mix(l: Lanes, k: number, v: number): void {
  l.h[k] = Math.imul(l.h[k]! ^ v, 0x01000193);
  const g = (l.g[k]! + v) >>> 0;
  l.g[k] = Math.imul(g ^ (g >>> 15), 0x9e3779b1);
}

/** The digest of rows whose own digests are `rows`, in order. */
function combine(rows: Lanes, n: number): string {
  const out = lanes(1);
  for (let j = 0; j < n; j++) { mix(out, 0, rows.h[j]!); mix(out, 0, rows.g[j]!); }
  return `${out.h[0]!.toString(16)}:${out.g[0]!.toString(16)}`;
}

/** Element values of a row block as 32-bit words: 1, 2 or 4 bytes an element; 8-byte ones as two words. */
function words(buf: Uint8Array, es: number, n: number): { at: (i: number) => number; per: number } {
  if (es === 1) return { at: (i) => buf[i]!, per: 1 };
  if (es === 2) { const v = new Uint16Array(buf.buffer, buf.byteOffset, n); return { at: (i) => v[i]!, per: 1 }; }
  const v = new Uint32Array(buf.buffer, buf.byteOffset, (n * es) / 4);
  return { at: (i) => v[i]!, per: es / 4 };
}

/** Streams `t` ([rows, cols]) in whole-row blocks through buffer 0. */
async function rowBlocks(src: ByteSource, t: TensorRef, each: (buf: Uint8Array, r0: number, rows: number) => void): Promise<void> {
  const [rows, cols] = t.shape as [number, number];
  const es = DTYPE_SIZE[t.dtype];
  const rowBytes = cols * es;
  const buf = src.buffer(0, t.byteLength);
  const per = Math.max(1, Math.floor(buf.length / Math.max(1, rowBytes)));
  for (let r0 = 0; r0 < rows; r0 += per) {
    const n = Math.min(per, rows - r0);
    src.read(t, r0 * rowBytes, buf, 0, n * rowBytes);
    each(buf, r0, n);
    await src.tick();
  }
}

/** Digest of `w` as stored (row-major). */
export async function rowMajorDigest(src: ByteSource, w: TensorRef): Promise<string> {
  const [rows, cols] = w.shape as [number, number];
  const es = DTYPE_SIZE[w.dtype];
  const acc = lanes(rows);
  await rowBlocks(src, w, (buf, r0, n) => {
    const v = words(buf, es, n * cols);
    for (let r = 0; r < n; r++) for (let i = r * cols * v.per, end = (r + 1) * cols * v.per; i < end; i++) mix(acc, r0 + r, v.at(i));
  });
  return combine(acc, rows);
}

/** Digest of `t`'s transpose, without building it: one lane per column of `t`, fed row by row. */
export async function transposeDigest(src: ByteSource, t: TensorRef): Promise<string> {
  const [, cols] = t.shape as [number, number];
  const es = DTYPE_SIZE[t.dtype];
  const acc = lanes(cols);
  await rowBlocks(src, t, (buf, _r0, n) => {
    const v = words(buf, es, n * cols);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < cols; j++) {
        const base = (r * cols + j) * v.per;
        for (let k = 0; k < v.per; k++) mix(acc, j, v.at(base + k));
      }
    }
  });
  return combine(acc, cols);
}
