// The layers analysis's SIMD kernel (layerKernel.wat, built to
// dist/layerKernel.wasm): float16 members decoded four at a time with integer
// SIMD and summed in float64, for the sketch and for the exact pairs, instead
// of a table lookup and scalar adds per element in JavaScript. Its memory holds what the kernel
// reads and writes (the members' raw chunks, the signs, the sketch); callers
// take views of it once everything is allocated. Where the file is missing
// (sources run before a build) the sketch stays in JavaScript.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface KernelExports {
  memory: WebAssembly.Memory;
  sketch_f16(bits: number, sign: number, out: number, len: number, acc: number): void;
  pairs_f16(a: number, b: number, len: number, out: number): void;
}

export class LayerKernel {
  private top = 0;

  private constructor(private readonly exports: KernelExports) {}

  /** A fresh instance (its own memory: one per thread), or undefined without the built kernel. */
  static load(): LayerKernel | undefined {
    const file = __filename.endsWith('.ts') ? path.join(__dirname, '..', '..', 'dist', 'layerKernel.wasm') : path.join(__dirname, 'layerKernel.wasm');
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return undefined;
    }
    return new LayerKernel(new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes))).exports as unknown as KernelExports);
  }

  /** Frees every allocation (the memory stays as large as it grew). */
  reset(): void {
    this.top = 0;
  }

  /** `bytes` of kernel memory, 16-byte aligned; views taken before a later alloc may be detached by its growth. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = at + Math.ceil(bytes / 16) * 16;
    const need = this.top - this.exports.memory.buffer.byteLength;
    if (need > 0) this.exports.memory.grow(Math.ceil(need / 65536));
    return at;
  }

  get buffer(): ArrayBuffer {
    return this.exports.memory.buffer;
  }

  /** out[x] += sign[x] · half(bits[x]) for x < len; acc[0] += Σ half, acc[1] += Σ half² (byte addresses). */
  sketchF16(bits: number, sign: number, out: number, len: number, acc: number): void {
    this.exports.sketch_f16(bits, sign, out, len, acc);
  }

  /** out[0..6) += Σa, Σb, Σa², Σb², Σab, Σ(a−b)² over `len` halves at `a` and `b` (byte addresses). */
  pairsF16(a: number, b: number, len: number, out: number): void {
    this.exports.pairs_f16(a, b, len, out);
  }
}
