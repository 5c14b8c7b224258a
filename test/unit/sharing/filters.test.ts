// Near-identical filters and rows within one tensor (weight-sharing layers'
// "filters"). Checkpoints are written here by hand (the safetensors layout:
// length, JSON header, bytes) with planted pairs whose distances the test
// works out itself; random rows of these sizes sit near rel L2 1.41, so the
// planted pairs are the only ones within the threshold.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../../extension/model/registry';
import { analyzeFilters, filterCandidates, recallAt } from '../../../extension/sharing/filters';
import { writeSafetensors } from '../model/safetensors/handWritten';

const corpus = path.join(__dirname, '../../fixtures/corpus');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
}

/** ‖a−b‖ / max(‖a‖, ‖b‖) of rows a and b, in the test's own loop. */
function relL2(values: Float32Array, k: number, a: number, b: number): number {
  let d = 0, na = 0, nb = 0;
  for (let e = 0; e < k; e++) {
    const x = values[a * k + e]!, y = values[b * k + e]!;
    d += (x - y) ** 2; na += x * x; nb += y * y;
  }
  return Math.sqrt(d / Math.max(na, nb));
}

/** Rows of `rows` x `k` random values, then row `to` = row `from` plus noise of relative size `noise`. */
function plant(rows: number, k: number, seed: number, copies: Array<[from: number, to: number, noise: number]>): Float32Array {
  const r = rng(seed);
  const v = Float32Array.from({ length: rows * k }, () => r());
  for (const [from, to, noise] of copies) {
    let norm = 0;
    for (let e = 0; e < k; e++) norm += v[from * k + e]! ** 2;
    const n = r;
    const dir = Float64Array.from({ length: k }, () => n());
    const dn = Math.hypot(...dir);
    for (let e = 0; e < k; e++) v[to * k + e] = v[from * k + e]! + (noise * Math.sqrt(norm) * dir[e]!) / dn;
  }
  return v;
}

test('Conv filters (every pair) and embedding rows (hashed candidates): the planted near-copies, with their distances, and nothing else', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-filters-'));
  try {
    const conv = plant(64, 27, 7, [[3, 40, 0], [5, 17, 0.01], [8, 9, 0.04], [20, 21, 0.08]]);
    // 20,000 rows of 64: past the all-pairs budget, so the bands pick the candidates.
    const embed = plant(20_000, 64, 11, [[10, 19_990, 0], [100, 5_000, 0.02], [7_000, 7_001, 0.045], [12_000, 12_345, 0.07]]);
    const file = path.join(dir, 'model.safetensors');
    const f32 = (v: Float32Array) => new Uint8Array(v.buffer);
    writeSafetensors(file, [
      { name: 'features.0.weight', dtype: 'F32', shape: [64, 3, 3, 3], bytes: f32(conv) },
      { name: 'model.embed_tokens.weight', dtype: 'F32', shape: [20_000, 64], bytes: f32(embed) },
      { name: 'lm_head.weight', dtype: 'F32', shape: [20_000, 64], bytes: f32(embed.slice()) },
    ]);
    const model = await openModel(file);
    assert.deepEqual(filterCandidates(model).map((c) => `${c.tensor.name}:${c.kind}`), ['features.0.weight:conv', 'model.embed_tokens.weight:embedding']);
    const [c, e] = await analyzeFilters(model);

    assert.equal(c!.method, 'exact');
    assert.equal(c!.rows, 64);
    assert.equal(c!.rowElements, 27);
    // Pairs 3-40, 5-17 and 8-9 are within 0.05; 20-21 (0.08) is not.
    assert.equal(c!.pairsWithin, 3);
    assert.equal(c!.rowsWithPartner, 6);
    assert.deepEqual(c!.closest.slice(0, 3).map((p) => [p.a, p.b]), [[3, 40], [5, 17], [8, 9]]);
    for (const p of c!.closest) assert.ok(Math.abs(p.relL2 - relL2(conv, 27, p.a, p.b)) < 1e-9, `${p.a}-${p.b}`);
    assert.equal(c!.closest[3]!.a, 20, 'the 0.08 pair is the fourth closest');

    assert.equal(e!.method, 'simhash');
    assert.ok(e!.recallAtThreshold! > 0.999, `recall ${e!.recallAtThreshold}`);
    assert.equal(e!.pairsWithin, 3);
    assert.equal(e!.rowsWithPartner, 6);
    assert.deepEqual(e!.closest.slice(0, 3).map((p) => [p.a, p.b]), [[10, 19_990], [100, 5_000], [7_000, 7_001]]);
    for (const p of e!.closest.slice(0, 3)) assert.ok(Math.abs(p.relL2 - relL2(embed, 64, p.a, p.b)) < 1e-9);
    assert.equal(e!.closest[0]!.relL2, 0);
    assert.equal(e!.truncated, undefined);

    // A lower threshold leaves only the exact copies.
    const strict = await analyzeFilters(model, { threshold: 0.005 });
    assert.deepEqual(strict.map((f) => f.pairsWithin), [1, 1]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ONNX: Conv weights are the tensors a Conv reads as its weight input, embeddings what a Gather reads as data', async () => {
  const cnn = filterCandidates(await openModel(path.join(corpus, 'siamese-cnn-dynamo.onnx')));
  assert.ok(cnn.length > 0 && cnn.every((c) => c.kind === 'conv' && c.tensor.consumers.some((u) => u.opType === 'Conv' && u.inputIndex === 1)));
  const gpt = filterCandidates(await openModel(path.join(corpus, 'gpt2-tiny.onnx')));
  assert.ok(gpt.length > 0 && gpt.every((c) => c.kind === 'embedding' && c.tensor.shape.length === 2));
});

test('recall at the threshold: a pair at rel L2 0.05 lands in a shared band almost surely; a far pair rarely', () => {
  assert.ok(recallAt(0.05) > 0.999);
  assert.ok(recallAt(1.41) < 0.01);
});
