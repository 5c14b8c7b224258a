// Dequantizers for ggml's block types: blocks of bytes to float32 values,
// following ggml's dequantize_row_* (ggml/src/ggml-quants.c) and the block
// layouts of ggml-common.h; the test compares them with ggml's own output.
// Only what the two-encodings finding needs: the legacy 32-value types and
// the Q4_K / Q6_K super-blocks. Other types have no decoder here (the
// finding then says so).
import { halfToFloat } from '../../util/floatCast';
import type { Dequantizer } from '../dequantize';
import type { DType } from '../types';

const h = (b: Uint8Array, o: number) => halfToFloat(b[o]! | (b[o + 1]! << 8));

/** Q8_0: d (fp16), 32 int8; x = d * q. Q8_1 adds s (fp16) after d. */
function q8(bytesPerBlock: number, qsAt: number): Dequantizer {
  return {
    blockSize: 32, bytesPerBlock,
    decode(src, blocks, out) {
      for (let b = 0; b < blocks; b++) {
        const o = b * bytesPerBlock, d = h(src, o);
        for (let j = 0; j < 32; j++) out[b * 32 + j] = d * ((src[o + qsAt + j]! << 24) >> 24);
      }
    },
  };
}

/** Q4_0 (d, 16 bytes of nibbles; x = (q - 8) d) and Q4_1 (d, m; x = q d + m): low nibbles first, then high. */
function q4(withMin: boolean): Dequantizer {
  const qs = withMin ? 4 : 2, bpb = qs + 16;
  return {
    blockSize: 32, bytesPerBlock: bpb,
    decode(src, blocks, out) {
      for (let b = 0; b < blocks; b++) {
        const o = b * bpb, d = h(src, o);
        // Q4_0 adds no min: 0 * a negative scale stays -0, as in ggml.
        if (withMin) {
          const m = h(src, o + 2);
          for (let j = 0; j < 16; j++) {
            out[b * 32 + j] = (src[o + qs + j]! & 0xf) * d + m;
            out[b * 32 + j + 16] = (src[o + qs + j]! >> 4) * d + m;
          }
        } else {
          for (let j = 0; j < 16; j++) {
            out[b * 32 + j] = ((src[o + qs + j]! & 0xf) - 8) * d;
            out[b * 32 + j + 16] = ((src[o + qs + j]! >> 4) - 8) * d;
          }
        }
      }
    },
  };
}

/** Q5_0 / Q5_1: as Q4 with a fifth bit per value in a 32-bit word (qh) before the nibbles. */
function q5(withMin: boolean): Dequantizer {
  const qhAt = withMin ? 4 : 2, qs = qhAt + 4, bpb = qs + 16;
  return {
    blockSize: 32, bytesPerBlock: bpb,
    decode(src, blocks, out) {
      for (let b = 0; b < blocks; b++) {
        const o = b * bpb, d = h(src, o);
        const qh = (src[o + qhAt]! | (src[o + qhAt + 1]! << 8) | (src[o + qhAt + 2]! << 16) | (src[o + qhAt + 3]! << 24)) >>> 0;
        const m = withMin ? h(src, o + 2) : 0;
        for (let j = 0; j < 16; j++) {
          const v = src[o + qs + j]!;
          const x0 = (v & 0xf) | (((qh >>> j) << 4) & 0x10), x1 = (v >> 4) | ((qh >>> (j + 12)) & 0x10);
          // Q5_0 adds no min (see Q4_0).
          out[b * 32 + j] = withMin ? x0 * d + m : (x0 - 16) * d;
          out[b * 32 + j + 16] = withMin ? x1 * d + m : (x1 - 16) * d;
        }
      }
    },
  };
}

/** Q4_K: d, dmin (fp16), 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32, 128 bytes of nibbles. */
const Q4_K: Dequantizer = {
  blockSize: 256, bytesPerBlock: 144,
  decode(src, blocks, out) {
    for (let b = 0; b < blocks; b++) {
      const o = b * 144, d = h(src, o), dmin = h(src, o + 2), sc = o + 4;
      const scaleMin = (j: number): [number, number] => (j < 4
        ? [src[sc + j]! & 63, src[sc + j + 4]! & 63]
        : [(src[sc + j + 4]! & 0xf) | ((src[sc + j - 4]! >> 6) << 4), (src[sc + j + 4]! >> 4) | ((src[sc + j]! >> 6) << 4)]);
      let y = b * 256, q = o + 16;
      for (let j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
        const [s1, m1] = scaleMin(is), [s2, m2] = scaleMin(is + 1);
        const d1 = d * s1, mm1 = dmin * m1, d2 = d * s2, mm2 = dmin * m2;
        for (let l = 0; l < 32; l++) out[y++] = d1 * (src[q + l]! & 0xf) - mm1;
        for (let l = 0; l < 32; l++) out[y++] = d2 * (src[q + l]! >> 4) - mm2;
      }
    }
  },
};

/** Q6_K: 128 bytes of low nibbles, 64 of high 2-bit pairs, 16 int8 scales, then d (fp16). */
const Q6_K: Dequantizer = {
  blockSize: 256, bytesPerBlock: 210,
  decode(src, blocks, out) {
    for (let b = 0; b < blocks; b++) {
      const o = b * 210, d = h(src, o + 208);
      let ql = o, qh = o + 128, sc = o + 192, y = b * 256;
      for (let n = 0; n < 256; n += 128, ql += 64, qh += 32, sc += 8, y += 128) {
        for (let l = 0; l < 32; l++) {
          const is = l >> 4, hb = src[qh + l]!;
          const s = (k: number) => (src[sc + is + k]! << 24) >> 24;
          out[y + l] = d * s(0) * (((src[ql + l]! & 0xf) | ((hb & 3) << 4)) - 32);
          out[y + l + 32] = d * s(2) * (((src[ql + l + 32]! & 0xf) | (((hb >> 2) & 3) << 4)) - 32);
          out[y + l + 64] = d * s(4) * (((src[ql + l]! >> 4) | (((hb >> 4) & 3) << 4)) - 32);
          out[y + l + 96] = d * s(6) * (((src[ql + l + 32]! >> 4) | (((hb >> 6) & 3) << 4)) - 32);
        }
      }
    }
  },
};

export const GGML_DEQUANTIZERS: Partial<Record<DType, Dequantizer>> = {
  q8_0: q8(34, 2), q8_1: q8(36, 4), q4_0: q4(false), q4_1: q4(true), q5_0: q5(false), q5_1: q5(true), q4_k: Q4_K, q6_k: Q6_K,
};
