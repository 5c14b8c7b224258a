// Values from stored bytes, for findings that compare encodings of one
// weight (an fp16 copy of a Q8_0 tensor): a decoder per dtype, format-neutral
// so analysis asks by dtype and never imports a format folder. Plain floats
// are decoded here; ggml's block types by the GGUF module's dequantizers.
import { bfloat16ToFloat, halfToFloat } from '../util/floatCast';
import { GGML_DEQUANTIZERS } from './gguf/dequant';
import type { DType } from './types';

export interface Dequantizer {
  /** Values per block (1 for plain element types). */
  blockSize: number;
  bytesPerBlock: number;
  /** Decodes `blocks` whole blocks from the start of `src` into the start of `out` (little-endian). */
  decode(src: Uint8Array, blocks: number, out: Float32Array): void;
}

const plain = (bytes: number, read: (v: DataView, o: number) => number): Dequantizer => ({
  blockSize: 1, bytesPerBlock: bytes,
  decode(src, n, out) {
    const v = new DataView(src.buffer, src.byteOffset, src.byteLength);
    for (let i = 0; i < n; i++) out[i] = read(v, i * bytes);
  },
});

const FLOATS: Partial<Record<DType, Dequantizer>> = {
  float32: plain(4, (v, o) => v.getFloat32(o, true)),
  float16: plain(2, (v, o) => halfToFloat(v.getUint16(o, true))),
  bfloat16: plain(2, (v, o) => bfloat16ToFloat(v.getUint16(o, true))),
};

/** How to turn `dtype`'s bytes into float32 values, or undefined when this tool cannot. */
export function dequantizer(dtype: DType): Dequantizer | undefined {
  return FLOATS[dtype] ?? GGML_DEQUANTIZERS[dtype];
}
