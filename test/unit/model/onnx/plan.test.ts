// The sharing plan on corpus ONNX models, realised by the ONNX module: what
// is applied, how, and what is declined with which reason.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openOnnx } from '../../../../extension/model/onnx/reader';
import { onnxRealiser } from '../../../../extension/model/onnx/plan';
import { scanFiles, scanModels } from '../../../../extension/sharing/scan';
import { planSharing } from '../../../../extension/sharing/plan';
import type { SharingKind } from '../../../../extension/sharing/kinds';

const corpus = path.join(__dirname, '..', '..', '..', 'fixtures', 'corpus');

async function planFor(file: string, options: { minBytes?: number; kinds?: SharingKind[] } = {}) {
  const model = await openOnnx(path.join(corpus, file));
  const report = await scanModels([model], { minBytes: options.minBytes });
  return planSharing(model, report, onnxRealiser(model), { kinds: options.kinds });
}

const summary = (p: Awaited<ReturnType<typeof planFor>>) => p.replacements.map(({ group, realised: r }) => ({
  kind: group.kind, kept: r.kept.id, dropped: r.dropped.id, ops: r.ops, needsNode: r.needsNode,
}));

test('bert-tiny-mlm: the folded transposed embedding is rebuilt by one Transpose of the embedding', async () => {
  const plan = await planFor('bert-tiny-mlm.onnx');
  assert.deepEqual(summary(plan), [{ kind: 'transposed', kept: 'm.bert.embeddings.word_embeddings.weight', dropped: 'onnx::MatMul_377', ops: ['transpose'], needsNode: true }]);
  assert.equal(plan.bytesSaved, 256000);
  assert.deepEqual(plan.skipped, []);
});

test('--kinds filters: exact only leaves bert-tiny-mlm untouched', async () => {
  const plan = await planFor('bert-tiny-mlm.onnx', { kinds: ['exact'] });
  assert.deepEqual(plan.replacements, []);
  assert.equal(plan.bytesSaved, 0);
});

test('cond-branches: w_copy, read only inside the else branch, is rewired to w (no node)', async () => {
  const plan = await planFor('cond-branches.onnx');
  assert.deepEqual(summary(plan), [{ kind: 'exact', kept: 'w', dropped: 'w_copy', ops: [], needsNode: false }]);
  assert.ok(plan.replacements[0]!.realised.dropped.consumers.every((c) => c.graphPath !== ''), 'its readers are in a subgraph');
});

test('half-copy: the transposed float16 buffer is Transpose then Cast of the float32 embedding', async () => {
  const plan = await planFor('half-copy.onnx');
  assert.deepEqual(summary(plan), [{ kind: 'cast', kept: 'val_0', dropped: 't', ops: ['transpose', 'cast'], needsNode: true }]);
  assert.equal(plan.replacements[0]!.realised.how, 'Transpose + Cast nodes inserted');
});

test('mlp-init-as-inputs: the duplicate is a graph input a caller may override: declined with the reason', async () => {
  const plan = await planFor('mlp-init-as-inputs.onnx');
  assert.deepEqual(plan.replacements, []);
  assert.deepEqual(plan.skipped.map((s) => s.reason), ["'0.weight' is also a graph input: a caller may override it"]);
});

test('t5-tiny-split: the cross-file copy is declined (different files), the in-file transposed copy is planned', async () => {
  const folder = path.join(corpus, 't5-tiny-split');
  const report = await scanFiles([folder]);
  const decoder = report.models.find((m) => m.path.endsWith('decoder_model.onnx'))!;
  const plan = planSharing(decoder, report, onnxRealiser(decoder));
  assert.deepEqual(summary(plan).map((r) => [r.kind, r.dropped]), [['transposed', 'onnx::MatMul_573']]);
  assert.deepEqual(plan.skipped.map((s) => [s.group.kind, s.group.crossFile, s.reason]), [['exact', true, "the copies are in different files (see apply's note on pipelines)"]]);
});

test('--min-bytes 0: Constant copies are rewired to the earliest constant; Reshapes bigger than the copy are declined', async () => {
  const plan = await planFor('bert-tiny-mlm.onnx', { minBytes: 0 });
  const replacements = plan.replacements.map((r) => r.realised);
  const constants = replacements.filter((r) => r.dropped.role === 'constant');
  assert.ok(constants.length >= 10, `${constants.length} constant copies`);
  for (const r of constants) {
    assert.deepEqual(r.ops, [], `${r.dropped.id}: tiny constants are only rewired`);
    assert.equal(r.kept.graphPath, r.dropped.graphPath);
  }
  assert.ok(plan.skipped.length > 0);
  for (const s of plan.skipped) assert.match(s.reason, /^not worth it: the inserted Reshape would take more bytes \(~\d+\) than the \d+-byte copy$/);
  // A tensor is dropped once, and never both dropped and kept.
  const dropped = new Set(replacements.map((r) => r.dropped));
  assert.equal(dropped.size, replacements.length);
  for (const r of replacements) assert.ok(!dropped.has(r.kept), `${r.kept.id} is kept and dropped`);
});
