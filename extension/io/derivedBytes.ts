// The bytes of a tensor that is not stored but derived from one that is
// (transposed, reshaped, cast to float16/bfloat16), produced on demand as a
// PieceSource: `restore` writes them through the atomic writer's bounded
// buffer, reading the kept tensor in row blocks, never whole.
import type { PieceSource } from './atomicWrite';
import type { FileSet } from './fileSet';
import { DTYPE_SIZE, isBlockQuantized, type DeriveOp, type DType, type TensorRef } from '../model/types';
import { converterFor, type HalfType } from '../util/floatCast';

/** Most kept-tensor bytes read per block. */
const BLOCK_BYTES = 4 << 20;

export class DerivedBytes implements PieceSource {
  readonly length: number;
  private readonly transpose: boolean;
  private readonly cast?: (bits: number) => number;
  private readonly esIn: number;
  private readonly esOut: number;
  private scratch = new Uint8Array(0);

  /** `kept` rebuilt by `ops` into a tensor of `dtype` and `shape`. */
  constructor(private readonly files: FileSet, private readonly kept: TensorRef, ops: readonly DeriveOp[], dtype: DType, shape: readonly number[]) {
    this.transpose = ops.includes('transpose');
    // Blocks of a quantized type are not elements: no transpose, cast or reshape of them is the same values.
    if (isBlockQuantized(kept.dtype) || isBlockQuantized(dtype)) throw new Error(`cannot rebuild '${kept.name}' (${kept.dtype}) as ${dtype}: block-quantized tensors are only ever stored as they are`);
    this.esIn = DTYPE_SIZE[kept.dtype];
    this.esOut = DTYPE_SIZE[dtype];
    if (ops.includes('cast')) {
      if (kept.dtype !== 'float32' || (dtype !== 'float16' && dtype !== 'bfloat16')) throw new Error(`cannot rebuild a ${dtype} tensor by casting ${kept.dtype} '${kept.name}'`);
      this.cast = converterFor(dtype as HalfType);
    }
    const elements = shape.reduce((a, b) => a * b, 1);
    if (elements !== kept.elementCount) throw new Error(`'${kept.name}' has ${kept.elementCount} elements, not the ${elements} of shape [${shape.join(', ')}]`);
    if (this.transpose && (kept.shape.length !== 2 || shape.length !== 2 || shape[0] !== kept.shape[1] || shape[1] !== kept.shape[0])) {
      throw new Error(`[${shape.join(', ')}] is not the transpose of '${kept.name}' [${kept.shape.join(', ')}]`);
    }
    if (!Number.isInteger(this.esIn) || !Number.isInteger(this.esOut)) throw new Error(`cannot rebuild sub-byte ${dtype} tensors element by element`);
    this.length = elements * this.esOut;
  }

  fill(position: number, dst: Uint8Array): void {
    if (position % this.esOut !== 0 || dst.length % this.esOut !== 0) throw new Error('internal: derived bytes asked for a partial element');
    const first = position / this.esOut;
    const count = dst.length / this.esOut;
    if (this.transpose) this.fillTransposed(first, count, dst);
    else this.fillElements(first, count, dst, 0);
  }

  /** Elements in storage order (reshape, cast): read the same elements of `kept`, convert if cast. */
  private fillElements(first: number, count: number, dst: Uint8Array, at: number): void {
    if (!this.cast) {
      this.files.readTensor(this.kept, first * this.esIn, dst, at, count * this.esIn);
      return;
    }
    const step = Math.floor(BLOCK_BYTES / 4);
    const scratch = this.scratchOf(Math.min(count, step) * 4);
    const src = new Uint32Array(scratch.buffer, 0, Math.min(count, step));
    const out = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
    for (let done = 0; done < count; done += step) {
      const n = Math.min(step, count - done);
      this.files.readTensor(this.kept, (first + done) * 4, scratch, 0, n * 4);
      for (let i = 0; i < n; i++) out.setUint16(at + (done + i) * 2, this.cast(src[i]!), true);
    }
  }

  /**
   * out[r][c] = kept[c][r] (out is C x R for kept R x C), for output elements
   * [first, first + count): whole output rows are assembled from a strip of
   * each kept row, one read per kept row per block.
   */
  private fillTransposed(first: number, count: number, dst: Uint8Array): void {
    const [R, C] = this.kept.shape as [number, number];
    // Output rows have R elements; one block covers every output row `dst`
    // touches (= a strip of kept columns), so each kept row is read once per fill.
    const rows = Math.max(1, Math.min(C, Math.ceil(count / Math.max(1, R)) + 1));
    const strip = this.scratchOf(rows * this.esIn);
    const half = this.cast;
    const out = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
    const inView = new DataView(strip.buffer);
    const end = first + count;
    for (let r0 = Math.floor(first / R); r0 * R < end; r0 += rows) {
      const r1 = Math.min(C, r0 + rows);
      for (let c = 0; c < R; c++) {
        // kept row c, columns r0..r1 -> output rows r0..r1, column c.
        this.files.readTensor(this.kept, (c * C + r0) * this.esIn, strip, 0, (r1 - r0) * this.esIn);
        for (let r = r0; r < r1; r++) {
          const e = r * R + c;
          if (e < first || e >= end) continue;
          const from = (r - r0) * this.esIn;
          const to = (e - first) * this.esOut;
          if (half) out.setUint16(to, half(inView.getUint32(from, true)), true);
          else dst.set(strip.subarray(from, from + this.esIn), to);
        }
      }
    }
  }

  private scratchOf(n: number): Uint8Array {
    if (this.scratch.length < n) this.scratch = new Uint8Array(n);
    return this.scratch;
  }
}
