// Report formatting details the CLI test does not pin down.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { fileLabels, toJson, toText } from '../../../extension/sharing/report';
import { scanFiles } from '../../../extension/sharing/scan';

test('fileLabels: relative to the folder the files share', () => {
  const l = fileLabels(['/m/p/enc.onnx', '/m/p/dec.onnx', '/m/q/x.onnx']);
  assert.deepEqual([...l.values()], [path.join('p', 'enc.onnx'), path.join('p', 'dec.onnx'), path.join('q', 'x.onnx')]);
  assert.deepEqual([...fileLabels(['/m/p/enc.onnx']).values()], ['enc.onnx']);
});

test('a model without findings says so; JSON and text agree on the total', async () => {
  const r = await scanFiles([path.join(__dirname, '../../fixtures/corpus/gpt2-tiny.onnx')], { minBytes: 1 << 20 });
  assert.match(toText(r), /gpt2-tiny\.onnx {2}\(onnx, 28 tensors, 652 kB\)\n {2}no shared or shareable weights found/);
  assert.match(toText(r), /Total lossless saving: 0 B/);
  assert.equal(toJson(r).bytesSaved, r.bytesSaved);
  assert.equal(toJson(r).groups.length, 0);
});
