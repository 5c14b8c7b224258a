// The dynamo exporter's module hierarchy (issue 11): node names like
// `linear_12` carry no scopes, so the exporter writes the module path into
// each node's metadata_props as the repr() of a Python list
// (`pkg.torch.onnx.name_scopes`). The reader keeps it as ModelNode.scopes.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openOnnx, pythonStringList } from '../../../../extension/model/onnx/reader';
import { DT, graph, scopedNode, valueInfo, writeModel } from './onnxBuilder';

test('pythonStringList: the repr() of a list of strings, and nothing else', () => {
  assert.deepEqual(pythonStringList("['', 'encoder', 'encoder.layer.0', 'linear_3']"), ['', 'encoder', 'encoder.layer.0', 'linear_3']);
  assert.deepEqual(pythonStringList(`["it's", 'a\\\\b', 'tab\\there']`), ["it's", 'a\\b', 'tab\there']);
  assert.deepEqual(pythonStringList(`['a\\'b', 'c', "d\\"e"]`), ["a'b", 'c', 'd"e'], 'an escaped quote does not end its item');
  assert.deepEqual(pythonStringList('[]'), []);
  for (const bad of ['', '[', "['a'", "['a',]", "['a'] x", '[1, 2]', "('a',)", "['a' 'b']"]) assert.equal(pythonStringList(bad), undefined, bad);
});

test('dynamo name_scopes become the node\'s module path; other metadata (a long stack trace) is passed over', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-scopes-'));
  try {
    const trace = 'File "model.py", line 1\n'.repeat(100_000); // 2.4 MB, over the name cap: never read
    const file = writeModel(dir, 'scoped.onnx', graph({
      nodes: [
        scopedNode('Relu', ['x'], ['a'], 'relu', {
          'pkg.torch.onnx.stack_trace': trace,
          'pkg.torch.onnx.name_scopes': "['', 'encoder', 'encoder.layer.0', 'encoder.layer.0.act', 'relu']",
          'pkg.torch.onnx.class_hierarchy': "['Model', 'Encoder', 'Layer', 'ReLU', 'aten.relu.default']",
        }),
        scopedNode('Neg', ['a'], ['y'], 'neg', { 'pkg.torch.onnx.name_scopes': "['', 'neg']" }),
        scopedNode('Identity', ['y'], ['z'], 'id', { 'pkg.torch.onnx.name_scopes': 'not a list' }),
        // Names are UTF-8: read apart from the ASCII ones.
        scopedNode('Abs', ['z'], ['w'], 'négatif', { 'pkg.torch.onnx.name_scopes': "['', 'tête.层', 'négatif']" }),
      ],
      inputs: [valueInfo('x', DT.FLOAT, [2])],
      outputs: [valueInfo('w', DT.FLOAT, [2])],
    }));
    const m = await openOnnx(file);
    assert.deepEqual(m.graph!.main.nodes.map((n) => n.scopes), [['encoder', 'encoder.layer.0', 'encoder.layer.0.act'], [], undefined, ['tête.层']]);
    assert.deepEqual(m.graph!.main.nodes.map((n) => n.name), ['relu', 'neg', 'id', 'négatif']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
