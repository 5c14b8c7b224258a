// The model outline, the Markdown report and the group sentences, on real
// corpus models scanned by the real scan: every tensor gets a row, names in
// node inputs point at the tensor they read, and groups are described with
// the names and sizes the corpus manifest gives.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../../../extension/model/registry';
import { scanModels } from '../../../extension/sharing/scan';
import { describeGroup } from '../../../extension/sharing/groupText';
import { renderMarkdownReport } from '../../../extension/sharing/markdownReport';
import { mentionAt, renderOutline } from '../../../extension/sharing/outline';

const corpus = path.join(__dirname, '../../fixtures/corpus');

async function scan(name: string) {
  const model = await openModel(path.join(corpus, name));
  const report = await scanModels([model], {});
  return { model, report };
}

test('bert-tiny-mlm-trained: the transposed embedding pair in the outline, hovers and report', async () => {
  const { model, report } = await scan('bert-tiny-mlm-trained.onnx');
  const g = report.groups.findIndex((x) => x.kind === 'transposed');
  assert.ok(g >= 0, 'a transposed group');
  const group = report.groups[g];
  assert.equal(describeGroup(group), 'onnx::MatMul_377 is a transposed copy of m.bert.embeddings.word_embeddings.weight: 256 kB can be shared');

  const o = renderOutline(model, report);
  const lines = o.text.split('\n');
  // Every tensor has its own row, starting with its id.
  assert.equal(o.tensorLines.size, model.tensors.length);
  for (const t of model.tensors) assert.ok(lines[o.tensorLines.get(t.id)!].trimStart().startsWith(t.id), t.id);
  const kept = lines[o.tensorLines.get('m.bert.embeddings.word_embeddings.weight')!];
  assert.match(kept, /float32 +\[1000, 64\] +256 kB +#\d+ transposed \(kept\)/);
  const copyLine = o.tensorLines.get('onnx::MatMul_377')!;
  assert.match(lines[copyLine], /\[64, 1000\] +256 kB +#\d+ transposed$/);
  assert.deepEqual(o.groupsOfTensor.get('onnx::MatMul_377'), [g]);
  assert.match(lines[o.groupLines.get(g)!], /transposed · saves 256 kB/);

  // The copy is read by one MatMul: its name on that node's input line is a mention too.
  const uses = o.mentions.filter((m) => m.tensorId === 'onnx::MatMul_377');
  assert.equal(uses.length, 2);
  const input = uses.find((m) => m.line !== copyLine)!;
  assert.equal(lines[input.line].slice(input.start, input.end), 'onnx::MatMul_377');
  assert.match(lines[input.line - 1], /MatMul$/);
  assert.equal(mentionAt(o, input.line, input.start + 3)?.tensorId, 'onnx::MatMul_377');
  assert.equal(mentionAt(o, input.line, 0), undefined);

  const md = renderMarkdownReport(report, { minBytes: 1024 });
  assert.match(md, /^# Weight sharing report: bert-tiny-mlm-trained\.onnx/);
  assert.match(md, /\| 1 \| transposed \| 256 kB \| yes \| `m\.bert\.embeddings\.word_embeddings\.weight`<br>`onnx::MatMul_377` \| float32 \| \[1000×64\], \[64×1000\] \|/);
  assert.match(md, /Can be shared without changing outputs: \*\*256 kB\*\*/);
});

test('cond-branches: subgraph node inputs point at the outer initializers they read', async () => {
  const { model, report } = await scan('cond-branches.onnx');
  const o = renderOutline(model, report);
  const lines = o.text.split('\n');
  assert.ok(lines.some((l) => l.startsWith('Nodes of subgraph ')), 'subgraph sections');
  // w is read in the then branch, w_copy in the else branch: each name appears on its row and one input line.
  for (const name of ['w', 'w_copy']) {
    const ms = o.mentions.filter((m) => m.tensorId === name);
    assert.equal(ms.length, 2, name);
    for (const m of ms) assert.equal(lines[m.line].slice(m.start, m.end), name);
  }
  const exact = report.groups.find((x) => x.kind === 'exact');
  assert.ok(exact);
  assert.equal(describeGroup(exact), 'w_copy is an exact copy of w: 24.6 kB can be shared');
});

test('mlp-init-as-inputs: a group that cannot be shared says why', async () => {
  const { report } = await scan('mlp-init-as-inputs.onnx');
  const unsafe = report.groups.find((x) => !x.lossless);
  assert.ok(unsafe, 'a non-lossless group');
  assert.match(describeGroup(unsafe), /; not shared automatically: .+/);
  assert.match(renderMarkdownReport(report), /\| no: .+ \|/);
});
