// float32 → float16/bfloat16 conversion: exact for every float16 value,
// round-to-nearest-even at every tie, overflow and underflow at the edges.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { f32ToBf16Bits, f32ToF16Bits, halfToFloat } from '../../../extension/util/floatCast';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number) => { f32[0] = x; return u32[0]; };

test('every float16 value survives float32 → float16 unchanged (signed zeros and infinities included)', () => {
  for (let h = 0; h < 0x10000; h++) {
    const v = halfToFloat(h);
    if (Number.isNaN(v)) continue;
    assert.equal(f32ToF16Bits(bitsOf(v)), h, `0x${h.toString(16)}`);
  }
});

test('ties round to even, just above a tie rounds up, NaN is refused', () => {
  for (let h = 0; h < 0x7bff; h++) {
    const lo = halfToFloat(h);
    const hi = halfToFloat(h + 1);
    const mid = (lo + hi) / 2; // exactly representable in float32
    const even = (h & 1) === 0 ? h : h + 1;
    assert.equal(f32ToF16Bits(bitsOf(mid)), even, `tie between 0x${h.toString(16)} and 0x${(h + 1).toString(16)}`);
    assert.equal(f32ToF16Bits(bitsOf(mid) + 1), h + 1, 'just above the tie');
    assert.equal(f32ToF16Bits(bitsOf(mid) - 1), h, 'just below the tie');
  }
  assert.equal(f32ToF16Bits(bitsOf(65520)), 0x7c00, '65520 rounds to +inf');
  assert.equal(f32ToF16Bits(bitsOf(65519.99)), 0x7bff);
  assert.equal(f32ToF16Bits(bitsOf(2 ** -25)), 0, 'half the smallest subnormal ties to 0');
  assert.equal(f32ToF16Bits(bitsOf(2 ** -25 * 1.0000001)), 1);
  assert.equal(f32ToF16Bits(bitsOf(1e-30)), 0);
  assert.equal(f32ToF16Bits(bitsOf(-1e-30)), 0x8000);
  assert.equal(f32ToF16Bits(0x7fc00000), -1);
});

test('bfloat16: truncation with round-to-nearest-even on the dropped half', () => {
  assert.equal(f32ToBf16Bits(0x3f800000), 0x3f80);
  assert.equal(f32ToBf16Bits(0x3f808000), 0x3f80, 'tie to even (down)');
  assert.equal(f32ToBf16Bits(0x3f818000), 0x3f82, 'tie to even (up)');
  assert.equal(f32ToBf16Bits(0x3f808001), 0x3f81);
  assert.equal(f32ToBf16Bits(0x7f7fffff), 0x7f80, 'largest float rounds to inf');
  assert.equal(f32ToBf16Bits(0x80000000), 0x8000);
  assert.equal(f32ToBf16Bits(0x7fc00001), -1);
});
