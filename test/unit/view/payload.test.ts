// The webview's graph payload, built from real corpus models with the real
// reader and scan, checked against the corpus manifest's independent facts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openOnnx } from '../../../extension/model/onnx/reader';
import { scanModels } from '../../../extension/sharing/scan';
import { buildGraphPayload, nodeId } from '../../../extension/view/payload';
import type { GraphPayload } from '../../../extension/protocol';

const corpus = path.join(__dirname, '../../fixtures/corpus');

interface ManifestEntry {
  file: string;
  format: string;
  facts?: {
    nodes?: number;
    initializers?: number;
    initializer_bytes?: number;
    initializer_names?: string[];
    multi_use_all?: Record<string, number>;
    exact_duplicate_bytes_saved?: number;
  };
}
const manifest = JSON.parse(fs.readFileSync(path.join(corpus, 'manifest.json'), 'utf8')) as ManifestEntry[];
const onnxFiles = manifest.filter((e) => e.format === 'onnx');

async function payloadOf(file: string): Promise<GraphPayload> {
  const model = await openOnnx(path.join(corpus, file));
  const report = await scanModels([model]);
  return buildGraphPayload(model, report);
}

for (const entry of onnxFiles) {
  test(`payload of ${entry.file} matches the manifest and is self-consistent`, async () => {
    const p = await payloadOf(entry.file);
    const f = entry.facts!;
    assert.equal(p.fileName, path.basename(entry.file));
    assert.equal(p.nodes.filter((n) => n.graphPath === '').length, f.nodes, 'main-graph node count');
    const inits = p.tensors.filter((t) => t.role === 'initializer');
    if (f.initializer_names) assert.deepEqual(inits.map((t) => t.name).sort(), [...f.initializer_names].sort(), 'initializer names');
    const mainInits = inits.filter((t) => t.graphPath === '');
    assert.equal(mainInits.reduce((a, t) => a + t.bytes, 0), f.initializer_bytes, 'main-graph initializer bytes');
    for (const [name, uses] of Object.entries(f.multi_use_all ?? {})) {
      const t = inits.find((x) => x.name === name);
      assert.ok(t, `${name} is listed`);
      assert.equal(t.consumers, uses, `${name} readers`);
      assert.equal(t.consumerIds?.length, new Set(t.consumerIds).size);
    }
    // Every reference resolves: group members, tensors' groups, consumers.
    const nodeIds = new Set(p.nodes.map((n) => n.id));
    const tensorIds = new Set(p.tensors.map((t) => t.id));
    assert.equal(nodeIds.size, p.nodes.length, 'node ids are unique');
    p.groups.forEach((g, i) => {
      assert.equal(g.index, i);
      if (i > 0) assert.ok(p.groups[i - 1].bytesSaved >= g.bytesSaved, 'groups sorted by bytes saved');
      for (const id of g.tensorIds) {
        assert.ok(tensorIds.has(id), `group ${i} member ${id} exists`);
        assert.ok(p.tensors.find((t) => t.id === id)!.groups.includes(i), `${id} knows its group ${i}`);
      }
      for (const id of g.consumerNodeIds) assert.ok(nodeIds.has(id), `consumer ${id} exists`);
    });
    for (const t of p.tensors) for (const c of t.consumerIds ?? []) assert.ok(nodeIds.has(c), `${t.name} reader ${c} exists`);
    const stored = p.tensors.reduce((a, t) => a + t.bytes, 0);
    assert.equal(p.totals.storedBytes, stored);
    assert.ok(p.totals.uniqueBytes <= p.totals.storedBytes && p.totals.uniqueBytes > 0);
    assert.ok(p.totals.uniqueParameters <= p.totals.parameters);
  });
}

test('bert-tiny-mlm-trained: the transposed embedding pair is one group, and unique bytes drop by one copy', async () => {
  const p = await payloadOf('bert-tiny-mlm-trained.onnx');
  const g = p.groups.find((x) => x.kind === 'transposed');
  assert.ok(g, 'a transposed group');
  const names = g.tensorIds.map((id) => p.tensors.find((t) => t.id === id)!.name).sort();
  assert.deepEqual(names, ['m.bert.embeddings.word_embeddings.weight', 'onnx::MatMul_377']);
  const copy = p.tensors.find((t) => t.name === 'onnx::MatMul_377')!;
  assert.equal(g.bytesSaved, copy.bytes);
  assert.equal(p.totals.storedBytes - p.totals.uniqueBytes, copy.bytes);
  assert.equal(p.totals.parameters - p.totals.uniqueParameters, copy.shape.reduce((a, b) => a * b, 1));
  // Its readers are the embedding Gather and the lm-head MatMul.
  const readers = g.consumerNodeIds.map((id) => p.nodes.find((n) => n.id === id)!.opType).sort();
  assert.deepEqual(readers, ['Gather', 'MatMul']);
});

test('siamese-cnn-dynamo: the exact pair saves what the manifest says', async () => {
  const p = await payloadOf('siamese-cnn-dynamo.onnx');
  const facts = manifest.find((e) => e.file === 'siamese-cnn-dynamo.onnx')!.facts!;
  const g = p.groups.find((x) => x.kind === 'exact')!;
  assert.deepEqual(g.tensorIds.map((id) => p.tensors.find((t) => t.id === id)!.name).sort(), ['a.2.weight', 'b.2.weight']);
  assert.equal(g.bytesSaved, facts.exact_duplicate_bytes_saved);
  assert.equal(p.totals.storedBytes - p.totals.uniqueBytes, facts.exact_duplicate_bytes_saved);
});

test('cond-branches: subgraph nodes carry their path, the If lists its branches, w_copy is read inside one', async () => {
  const p = await payloadOf('cond-branches.onnx');
  const owner = p.nodes.find((n) => n.opType === 'If')!;
  assert.equal(owner.subgraphs?.length, 2);
  for (const g of owner.subgraphs!) assert.ok(p.nodes.some((n) => n.graphPath === g), `nodes of ${g}`);
  const wCopy = p.tensors.find((t) => t.name === 'w_copy')!;
  assert.ok(wCopy.consumerIds!.length > 0);
  for (const c of wCopy.consumerIds!) assert.notEqual(p.nodes.find((n) => n.id === c)!.graphPath, '', 'read inside a branch');
  const g = p.groups.find((x) => x.kind === 'exact')!;
  assert.deepEqual(g.tensorIds.map((id) => p.tensors.find((t) => t.id === id)!.name).sort(), ['w', 'w_copy']);
  assert.equal(nodeId(owner.graphPath, p.nodes.filter((n) => n.graphPath === owner.graphPath).indexOf(owner)), owner.id);
});

test('mlp-init-as-inputs: a group a caller may override is listed, not lossless, and not counted as saved', async () => {
  const p = await payloadOf('mlp-init-as-inputs.onnx');
  const g = p.groups.find((x) => x.kind === 'exact')!;
  assert.equal(g.lossless, false);
  assert.ok(g.reason && g.reason.length > 0);
  assert.equal(p.totals.uniqueBytes, p.totals.storedBytes);
});

test('Constant tensors point at the node that holds them', async () => {
  const p = await payloadOf('bert-tiny-mlm-trained.onnx');
  const constants = p.tensors.filter((t) => t.role === 'constant');
  assert.ok(constants.length > 0, 'the TorchScript export has Constant nodes');
  for (const t of constants) {
    const holder = p.nodes.find((n) => n.id === t.constantNodeId);
    assert.ok(holder, `${t.name} has a holder`);
    assert.equal(holder.opType, 'Constant');
    assert.ok(holder.outputs.includes(t.name));
  }
});
