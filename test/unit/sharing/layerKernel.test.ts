// The SIMD sketch kernel (dist/layerKernel.wasm, built from
// extension/sharing/layerKernel.wat) against the project's scalar float16
// decoding, for every one of the 65,536 bit patterns: out[x] += sign·v, and
// the sums of v and v² beside it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { LayerKernel } from '../../../extension/sharing/layerKernel';
import { halfToFloat } from '../../../extension/util/floatCast';

test('sketch kernel: every float16 value decoded as halfToFloat does (NaN, ±inf, subnormals, -0), signed, summed', () => {
  const kernel = LayerKernel.load();
  assert.ok(kernel, 'dist/layerKernel.wasm exists: run `npm run build` first');
  const n = 65536;
  const len = n - 3; // not a multiple of four: the scalar tail too
  const bitsAt = kernel.alloc(n * 2), signAt = kernel.alloc(n * 8), outAt = kernel.alloc(n * 8), accAt = kernel.alloc(16);
  const bits = new Uint16Array(kernel.buffer, bitsAt, n);
  const sign = new Float64Array(kernel.buffer, signAt, n);
  const out = new Float64Array(kernel.buffer, outAt, n);
  const acc = new Float64Array(kernel.buffer, accAt, 2);
  for (let i = 0; i < n; i++) { bits[i] = i; sign[i] = i % 3 === 0 ? -1 : 1; out[i] = 0.5; }
  acc.fill(0);
  kernel.sketchF16(bitsAt, signAt, outAt, len, accAt);
  for (let i = 0; i < len; i++) {
    const want = 0.5 + sign[i]! * halfToFloat(i);
    assert.ok(Object.is(out[i], want) || (Number.isNaN(want) && Number.isNaN(out[i]!)), `0x${i.toString(16)}: ${out[i]} vs ${want}`);
  }
  assert.equal(out[len], 0.5, 'nothing past len');
  assert.ok(Number.isNaN(acc[0]!), 'the NaN patterns reach the sums');
  // The finite ones alone, summed by the kernel, equal the scalar sums (Σv exactly: halves are multiples of 2^-24).
  const finite = Uint16Array.from({ length: n }, (_, i) => i).filter((b) => Number.isFinite(halfToFloat(b)));
  kernel.reset();
  const fAt = kernel.alloc(finite.length * 2), oneAt = kernel.alloc(finite.length * 8), sumAt = kernel.alloc(finite.length * 8), aAt = kernel.alloc(16);
  new Uint16Array(kernel.buffer, fAt, finite.length).set(finite);
  new Float64Array(kernel.buffer, oneAt, finite.length).fill(1);
  new Float64Array(kernel.buffer, sumAt, finite.length).fill(0);
  const a = new Float64Array(kernel.buffer, aAt, 2);
  a.fill(0);
  kernel.sketchF16(fAt, oneAt, sumAt, finite.length, aAt);
  let s = 0, q = 0;
  for (const b of finite) { const v = halfToFloat(b); s += v; q += v * v; }
  assert.equal(a[0], s);
  assert.ok(Math.abs(a[1]! - q) <= 1e-12 * q);
});

test('pairs kernel: the six sums of two float16 vectors equal the scalar ones', () => {
  const kernel = LayerKernel.load()!;
  const len = 10_001;
  let s = 3;
  const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
  // Finite halves of both signs, subnormals included.
  const half = () => { const r = next(); return (r & 0x8000) | ((r >>> 16) % 31 << 10) | ((r >>> 3) & 0x3ff); };
  const aAt = kernel.alloc(len * 2), bAt = kernel.alloc(len * 2), outAt = kernel.alloc(48);
  const a = new Uint16Array(kernel.buffer, aAt, len), b = new Uint16Array(kernel.buffer, bAt, len);
  for (let i = 0; i < len; i++) { a[i] = half(); b[i] = half(); }
  const out = new Float64Array(kernel.buffer, outAt, 6);
  out.fill(1);
  kernel.pairsF16(aAt, bAt, len, outAt);
  const want = [1, 1, 1, 1, 1, 1];
  for (let i = 0; i < len; i++) {
    const x = halfToFloat(a[i]!), y = halfToFloat(b[i]!);
    want[0]! += x; want[1]! += y; want[2]! += x * x; want[3]! += y * y; want[4]! += x * y; want[5]! += (x - y) ** 2;
  }
  want.forEach((w, k) => assert.ok(Math.abs(out[k]! - w) <= 1e-12 * Math.max(1, Math.abs(w)), `sum ${k}: ${out[k]} vs ${w}`));
});
