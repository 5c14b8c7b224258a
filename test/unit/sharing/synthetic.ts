// Deterministic tensor contents for tests that write their own models: a
// seeded generator, transposes and half-float copies, so each test states
// only the case it builds.
import { f32ToBf16Bits, f32ToF16Bits } from '../../../extension/util/floatCast';
import type { ApplyResult } from '../../../extension/sharing/apply';
import type { OnnxWriteDetails } from '../../../extension/model/onnx/index';

/** `n` floats in [-0.5, 0.5) from a seeded LCG: the same on every run. */
export function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** The transpose of a row-major rows x cols matrix (cols defaults to rows: square). */
export function transpose<T extends Float32Array | Uint16Array>(a: T, rows: number, cols = rows): T {
  const t = a.slice() as T;
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  return t;
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
/** float16 bits of each value, rounded as ONNX Cast rounds. */
export const toF16 = (a: Float32Array): Uint16Array => Uint16Array.from(bits(a), (b) => f32ToF16Bits(b));
/** bfloat16 bits of each value, rounded as ONNX Cast rounds. */
export const toBf16 = (a: Float32Array): Uint16Array => Uint16Array.from(bits(a), (b) => f32ToBf16Bits(b));

/** The ONNX writer's details of an apply (inserted nodes, the data file). */
export function onnxDetails(res: ApplyResult): OnnxWriteDetails {
  if (!res.written) throw new Error(`${res.input}: nothing was written`);
  return res.written.details as unknown as OnnxWriteDetails;
}
