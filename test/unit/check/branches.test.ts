// Exposing If conditions as graph outputs: the real ONNX reader reads the
// spliced model (the new outputs typed bool, everything else as before), and
// the search finds exactly the Ifs an input decides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exposeConditions, inputDependentIfs, inputVariants } from '../../../extension/check/branches';
import { openOnnx } from '../../../extension/model/onnx/reader';
import { scanModels } from '../../../extension/sharing/scan';
import { buildGraphPayload } from '../../../extension/view/payload';
import { modelPath } from './corpus';

test('cond-branches: the If on gt = ReduceSum(x) > 0 is the one x decides; none without x fed', async () => {
  const m = await openOnnx(modelPath('cond-branches.onnx'));
  const payload = buildGraphPayload(m, await scanModels([m]));
  assert.deepEqual(inputDependentIfs(payload, new Set(['x'])), [{ node: 'node_cond__0', cond: 'gt' }]);
  assert.deepEqual(inputDependentIfs(payload, new Set()), []);
});

test('exposeConditions: the reader sees the condition as a bool output; graph and weights otherwise unchanged', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-branches-'));
  try {
    const source = modelPath('cond-branches.onnx');
    const file = path.join(dir, 'cond-branches.onnx');
    fs.writeFileSync(file, exposeConditions(fs.readFileSync(source), ['gt']));
    // External data is found beside the model, as onnxruntime finds it.
    fs.copyFileSync(`${source}.data`, `${file}.data`);
    const before = await openOnnx(source);
    const after = await openOnnx(file);
    assert.deepEqual(after.graph!.main.outputs.map((o) => [o.name, o.type]), [...before.graph!.main.outputs.map((o) => [o.name, o.type]), ['gt', 'tensor(bool)']]);
    assert.equal(after.graph!.main.nodes.length, before.graph!.main.nodes.length);
    assert.deepEqual(after.tensors.map((t) => [t.name, t.byteLength]), before.tensors.map((t) => [t.name, t.byteLength]));
    assert.throws(() => exposeConditions(new Uint8Array([0x0a, 0x05, 0x01]), ['gt']), /runs past the end/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('input variants change floats only: ids and masks keep their values', () => {
  const v = inputVariants([
    { name: 'x', dtype: 'float32', dims: [2], data: new Float32Array([1, -2]) },
    { name: 'ids', dtype: 'int64', dims: [2], data: new BigInt64Array([3n, 4n]) },
  ]);
  assert.deepEqual(v.map((x) => x.label), ['as given', 'negated', 'zeros', 'scaled ×10', 'negated ×10']);
  assert.deepEqual(Array.from(v[1]!.feeds[0]!.data as Float32Array), [-1, 2]);
  assert.deepEqual(Array.from(v[4]!.feeds[1]!.data as BigInt64Array), [3n, 4n]);
});
