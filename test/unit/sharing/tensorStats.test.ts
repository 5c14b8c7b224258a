// Tensor statistics streamed through a bounded buffer must equal the same
// statistics computed over the whole tensor read at once, whatever the buffer
// size (element-straddling chunk sizes included), on real corpus tensors.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileSet } from '../../../extension/io/fileSet';
import { openModel } from '../../../extension/model/registry';
import { storedRanges, type TensorRef } from '../../../extension/model/types';
import { formatStats, tensorStats } from '../../../extension/sharing/tensorStats';

const corpus = path.join(__dirname, '../../fixtures/corpus');

/** Reference: the tensor's raw bytes read in one go with fs, decoded as float32. */
function referenceF32(t: TensorRef): { min: number; max: number; mean: number; std: number } {
  const ranges = storedRanges(t.data);
  assert.ok(ranges, `${t.id} is stored in the file`);
  const bytes = Buffer.concat(ranges.map((r) => {
    const b = Buffer.alloc(r.length);
    const fd = fs.openSync(r.file, 'r');
    fs.readSync(fd, b, 0, r.length, r.offset);
    fs.closeSync(fd);
    return b;
  }));
  const a = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  let sum = 0;
  for (const x of a) sum += x;
  const mean = sum / a.length;
  let sq = 0;
  for (const x of a) sq += (x - mean) ** 2;
  return { min: Math.min(...a), max: Math.max(...a), mean, std: Math.sqrt(sq / a.length) };
}

test('float32 statistics match a whole-tensor reference for any buffer size', async () => {
  const m = await openModel(path.join(corpus, 'bert-tiny-mlm-trained.onnx'));
  const t = m.tensors.find((x) => x.name === 'm.bert.embeddings.word_embeddings.weight');
  assert.ok(t);
  const ref = referenceF32(t);
  const files = new FileSet();
  try {
    for (const size of [4, 6, 1000, 4096, 1 << 20]) {
      const s = await tensorStats(files, t, new Uint8Array(size));
      assert.ok(s, `stats with a ${size}-byte buffer`);
      assert.equal(s.count, t.elementCount);
      assert.equal(s.min, ref.min);
      assert.equal(s.max, ref.max);
      assert.ok(Math.abs(s.mean - ref.mean) < 1e-9, `mean ${s.mean} vs ${ref.mean}`);
      assert.ok(Math.abs(s.std - ref.std) < 1e-9, `std ${s.std} vs ${ref.std}`);
    }
    await assert.rejects(tensorStats(files, t, new Uint8Array(3)), /cannot hold one float32/);
    // An aborted signal stops it.
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(tensorStats(files, t, undefined, controller.signal), { name: 'AbortError' });
    // A buffer view at an odd offset still works (typed views need alignment).
    const odd = await tensorStats(files, t, new Uint8Array(4099).subarray(3));
    assert.equal(odd?.max, ref.max);
  } finally {
    files.close();
  }
});

test('float16 statistics decode half floats (the fp16 copy agrees with its fp32 source)', async () => {
  // half-copy.onnx: an fp16 buffer equal to the fp32 embedding after a cast and a transpose.
  const m = await openModel(path.join(corpus, 'half-copy.onnx'));
  const half = m.tensors.find((x) => x.dtype === 'float16' && x.elementCount > 1000);
  assert.ok(half, 'an fp16 tensor');
  const full = m.tensors.find((x) => x.dtype === 'float32' && x.elementCount === half.elementCount);
  assert.ok(full, 'its fp32 source');
  const files = new FileSet();
  try {
    const a = await tensorStats(files, half, new Uint8Array(998));
    const b = await tensorStats(files, full);
    assert.ok(a && b);
    assert.equal(a.count, b.count);
    // fp16 keeps ~3 significant digits.
    for (const k of ['min', 'max', 'mean', 'std'] as const) {
      assert.ok(Math.abs(a[k] - b[k]) <= 2e-3 * Math.max(1, Math.abs(b[k])), `${k}: ${a[k]} vs ${b[k]}`);
    }
    assert.match(formatStats(a), /^min .* · max .* · mean .* · std /);
  } finally {
    files.close();
  }
});

test('int64 constants and unsupported types', async () => {
  const m = await openModel(path.join(corpus, 'bert-tiny-mlm-trained.onnx'));
  const files = new FileSet();
  try {
    let checked = 0;
    for (const c of m.tensors.filter((x) => x.dtype === 'int64' && x.elementCount > 1)) {
      const raw = new Uint8Array(c.byteLength);
      files.readTensor(c, 0, raw);
      const values = [...new BigInt64Array(raw.buffer)].map(Number);
      const s = await tensorStats(files, c, new Uint8Array(16));
      assert.ok(s);
      assert.deepEqual([s.min, s.max], [Math.min(...values), Math.max(...values)], c.id);
      assert.ok(Math.abs(s.mean - values.reduce((a, b) => a + b, 0) / values.length) < 1e-9, c.id);
      checked++;
    }
    assert.ok(checked >= 5, `checked ${checked} int64 constants`);
    const any = m.tensors[0];
    assert.equal(await tensorStats(files, { ...any, dtype: 'string' }), undefined);
    assert.equal(await tensorStats(files, { ...any, data: { kind: 'unavailable', reason: 'test' } }), undefined);
  } finally {
    files.close();
  }
});
