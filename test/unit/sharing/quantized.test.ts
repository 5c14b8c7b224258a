// Identical quantized triplets. The corpus's int8 GPT-2 shares its lm_head
// triplet by reference (tied) and has no second copy, so the copy cases are
// derived from it: the same bytes in the file, read through a second set of
// TensorRefs, as a model that stored a layer's quantized weight twice.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../../../extension/model/registry';
import type { ModelFile, TensorRef } from '../../../extension/model/types';
import { scanModels } from '../../../extension/sharing/scan';
import { droppedMembers } from '../../../extension/sharing/groups';

const file = path.join(__dirname, '../../fixtures/corpus/gpt2-tiny-op18-int8.onnx');
const parts = ['_quantized', '_scale', '_zero_point'];

function triplet(m: ModelFile, base: string): TensorRef[] {
  return parts.map((p) => {
    const t = m.tensors.find((x) => x.name === base + p);
    assert.ok(t, base + p);
    return t;
  });
}

test('the int8 model: the lm_head triplet is tied, no two triplets are identical', async () => {
  const m = await openModel(file);
  const r = await scanModels([m], { minBytes: 0 });
  assert.equal(r.groups.filter((g) => g.kind === 'quantized').length, 0);
  const tied = r.groups.filter((g) => g.kind === 'tied').map((g) => g.members[0].tensor.name);
  for (const t of triplet(m, 'm.lm_head.weight')) assert.ok(tied.includes(t.name), t.name);
});

test('a layer whose MatMulInteger reads a copy of another layer\'s triplet: one quantized group', async () => {
  const m = await openModel(file);
  const src = triplet(m, 'm.transformer.h.0.mlp.c_fc.weight');
  const replaced = triplet(m, 'm.transformer.h.1.mlp.c_fc.weight');
  // h.1 now reads byte-identical copies of h.0's weight, scale and zero point (found through MatMulInteger).
  const copies = src.map((t, i): TensorRef => ({ ...t, id: `m.copy${parts[i]}`, name: `m.copy${parts[i]}`, consumers: replaced[i].consumers }));
  const derived: ModelFile = { ...m, tensors: [...m.tensors.filter((t) => !replaced.includes(t)), ...copies] };
  const r = await scanModels([derived], { minBytes: 0 });
  const q = r.groups.filter((g) => g.kind === 'quantized');
  assert.equal(q.length, 1);
  assert.deepEqual(q[0].members.map((x) => x.tensor.id), [...src.map((t) => t.id), ...copies.map((t) => t.id)]);
  assert.equal(q[0].bytesSaved, src.reduce((n, t) => n + t.byteLength, 0));
  assert.deepEqual(droppedMembers(q[0]).map((x) => x.tensor.id), copies.map((t) => t.id));
  assert.ok(q[0].lossless);
});

test('a second copy of the lm_head triplet (read through Gather/Transpose) is found by the quantizer\'s names', async () => {
  const m = await openModel(file);
  const src = triplet(m, 'm.lm_head.weight');
  const copies = src.map((t, i): TensorRef => ({ ...t, id: `m.head_copy.weight${parts[i]}`, name: `m.head_copy.weight${parts[i]}`, consumers: [] }));
  const r = await scanModels([{ ...m, tensors: [...m.tensors, ...copies] }], { minBytes: 0 });
  const q = r.groups.filter((g) => g.kind === 'quantized');
  assert.equal(q.length, 1);
  assert.deepEqual(q[0].members.map((x) => x.tensor.id), [...src, ...copies].map((t) => t.id));
});

test('savings: the copied triplet is dropped by its exact groups and the quantized group, and counts once', async () => {
  const m = await openModel(file);
  const src = triplet(m, 'm.transformer.h.0.mlp.c_fc.weight');
  const copies = src.map((t, i): TensorRef => ({ ...t, id: `m.copy${parts[i]}`, name: `m.copy${parts[i]}`, consumers: [] }));
  const base = await scanModels([m], { minBytes: 0 });
  const r = await scanModels([{ ...m, tensors: [...m.tensors, ...copies] }], { minBytes: 0 });
  const q = r.groups.find((g) => g.kind === 'quantized');
  assert.ok(q);
  const sum = r.groups.reduce((n, g) => n + g.bytesSaved, 0);
  assert.ok(sum > r.bytesSaved, 'group savings overlap');
  assert.equal(r.bytesSaved, base.bytesSaved + src.reduce((n, t) => n + t.byteLength, 0));
});
