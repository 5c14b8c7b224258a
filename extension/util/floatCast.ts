// float32 ↔ float16 / bfloat16 conversions, the project's one copy of them
// (browser-safe: the webview's inference check uses them too). float32 →
// half rounds to nearest even, the rounding ONNX `Cast` uses: a cast copy is
// only worth replacing by `Cast(fp32)` when it reproduces the copy bit for bit.

export type HalfType = 'float16' | 'bfloat16';

/**
 * Converts float32 bits to float16 bits (round to nearest, ties to even).
 * Returns -1 for NaN: NaN payload handling differs between runtimes, so a
 * tensor holding NaN is never called a cast copy (the claim must be exact).
 */
export function f32ToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : -1;
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00; // overflow: ±inf
  if (e <= 0) {
    // float16 subnormal: value in units of 2^-24 is full >> (14 - e).
    const shift = 14 - e;
    if (shift > 24) return sign; // below half the smallest subnormal: ±0
    const full = mant | 0x800000;
    let q = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (q & 1) === 1)) q++;
    return sign | q; // q may carry into the smallest normal: still correct bits
  }
  let q = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (q & 1) === 1)) q++; // carry into exponent is right, up to inf
  return sign | q;
}

/** float32 bits → bfloat16 bits (round to nearest even); -1 for NaN. */
export function f32ToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return -1;
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

export function converterFor(target: HalfType): (bits: number) => number {
  return target === 'float16' ? f32ToF16Bits : f32ToBf16Bits;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A number → float16 bits (round to nearest even); NaN becomes a quiet NaN. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const bits = f32ToF16Bits(u32[0]!);
  return bits === -1 ? ((u32[0]! >>> 16) & 0x8000) | 0x7e00 : bits;
}

/** float16 bits → number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 bits → number. */
export function bfloat16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}
