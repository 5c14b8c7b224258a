// The dequantizers against ggml itself: test/fixtures/gguf/dequant holds
// blocks made by ggml's quantize_row_*_ref and the float32 values ggml's
// dequantize_row_* gives back (generate/dequant-reference.c); ours must give
// the same values bit for bit.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dequantizer } from '../../../../extension/model/dequantize';
import type { DType } from '../../../../extension/model/types';
import { quantizeQ8_0 } from '../../../fixtures/gguf/generate/quant';

const DIR = path.resolve(__dirname, '../../../fixtures/gguf/dequant');
const f32 = (name: string) => { const b = fs.readFileSync(path.join(DIR, name)); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };

for (const type of ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0', 'q4_k', 'q6_k'] as DType[]) {
  test(`${type}: ggml's dequantize_row, bit for bit`, () => {
    const blocks = new Uint8Array(fs.readFileSync(path.join(DIR, `${type}.q`)));
    const expected = f32(`${type}.f32`);
    const d = dequantizer(type)!;
    assert.equal(blocks.length % d.bytesPerBlock, 0);
    const n = blocks.length / d.bytesPerBlock;
    assert.equal(n * d.blockSize, expected.length);
    const out = new Float32Array(expected.length);
    d.decode(blocks, n, out);
    for (let i = 0; i < out.length; i++) assert.equal(out[i], expected[i], `${type}[${i}]`);
    // And close to what was quantized (the reference is not trivially zero).
    const input = f32('input.f32');
    let maxErr = 0;
    for (let i = 0; i < out.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i]! - input[i]!));
    assert.ok(maxErr > 0 && maxErr < 0.5, `${type}: max error ${maxErr}`);
  });
}

test('plain floats decode; types without a dequantizer say so', () => {
  const out = new Float32Array(2);
  dequantizer('float16')!.decode(new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), 2, out);
  assert.deepEqual([...out], [1, -2]);
  dequantizer('bfloat16')!.decode(new Uint8Array([0x80, 0x3f, 0x40, 0x40]), 2, out);
  assert.deepEqual([...out], [1, 3]);
  assert.equal(dequantizer('iq2_xxs'), undefined);
  assert.equal(dequantizer('int8'), undefined);
});

test('the fixture generator\'s Q8_0 quantizer writes the blocks ggml\'s quantize_row_q8_0_ref writes', () => {
  const ours = quantizeQ8_0(f32('input.f32'));
  assert.ok(ours.equals(fs.readFileSync(path.join(DIR, 'q8_0.q'))));
});
