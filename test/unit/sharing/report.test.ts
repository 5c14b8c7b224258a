// Report formatting details the CLI test does not pin down.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { fileLabels, toJson, toText } from '../../../extension/sharing/report';
import { formatBytes } from '../../../extension/sharing/bytes';
import { scanFiles } from '../../../extension/sharing/scan';

test('formatBytes: exact bytes below 1 kB, SI units above, three significant digits', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(999), '999 B');
  assert.equal(formatBytes(1000), '1.0 kB');
  assert.equal(formatBytes(256000), '256 kB');
  assert.equal(formatBytes(23_400_000), '23.4 MB');
  assert.equal(formatBytes(999_960), '1.0 MB');
  assert.equal(formatBytes(3e9 + 1), '3.0 GB');
  assert.equal(formatBytes(-2048), '-2.0 kB');
});

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
