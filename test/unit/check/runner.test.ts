// Real runs with onnxruntime-web (WASM, one thread) over the corpus: every
// model onnxruntime accepts reproduces its reference outputs, the three it
// rejects give a clear error with a hint, synthesised inputs run, a model
// checked against itself is bit-identical. The runtime loads once for the file.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openOnnx } from '../../../extension/model/onnx/reader';
import {
  createSession, runSession, runModel, loadRuntime, externalDataFiles, InferenceError,
} from '../../../extension/check/runner';
import { checkModels } from '../../../extension/check/check';
import { inputSourceOf, synthesizeInputs } from '../../../extension/check/inputs';
import { readTestDataDir } from '../../../extension/check/testData';
import { acceptedModels, rejectedModels, modelPath, testDataDir, outputShapes, CORPUS } from './corpus';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-check-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the runtime loads once per process', async () => {
  const a = await loadRuntime();
  const b = await loadRuntime();
  assert.equal(a, b);
  assert.equal(a.ort.env.wasm.numThreads, 1);
});

test('every corpus model onnxruntime accepts matches its test_data_set_0 outputs within 1e-5 relative', async () => {
  assert.equal(acceptedModels.length, 16);
  const figures: string[] = [];
  let first: number | undefined;
  for (const file of acceptedModels) {
    const report = await checkModels(modelPath(file), undefined, { inputsDir: testDataDir(file), tolerance: 1e-5 });
    first ??= report.runtime.firstSessionMs;
    assert.equal(report.mode, 'reference');
    assert.equal(report.pass, true, `${file}: ${report.comparison.failures.join('; ')}`);
    for (const o of report.comparison.outputs) {
      assert.ok(o.maxRelDiff <= 1e-5, `${file}/${o.name}: ${o.maxRelDiff}`);
      assert.ok(o.cosine > 0.999999, `${file}/${o.name}: cosine ${o.cosine}`);
      figures.push(`${file}: rel ${o.maxRelDiff.toExponential(1)}, session ${report.models[0].createMs.toFixed(0)} ms`);
    }
  }
  // Sessions run in check's worker: its first one compiled the runtime.
  assert.ok(first !== undefined && first > 0);
  console.log(`first session ${first.toFixed(0)} ms\n${figures.join('\n')}`);
});

test('the three models onnxruntime rejects give an error naming the model, the reason and a hint', async () => {
  assert.deepEqual(rejectedModels.map((r) => r.file).sort(), ['gpt2-tiny-dynamo.onnx', 'gpt2-tiny-fp16.onnx', 'gpt2-tiny.onnx']);
  for (const { file, ortError } of rejectedModels) {
    assert.match(ortError, /Unrecognized attribute: num_outputs for operator Split/, 'the manifest says why');
    const model = await openOnnx(modelPath(file));
    await assert.rejects(createSession(modelPath(file), { model }), (e: unknown) => {
      assert.ok(e instanceof InferenceError, String(e));
      assert.equal(e.stage, 'load');
      assert.ok(e.message.startsWith(`${modelPath(file)}: onnxruntime-web rejected the model: `), e.message);
      assert.match(e.reason, /Unrecognized attribute: num_outputs for operator Split/);
      assert.match(e.hint ?? '', /Split has no attribute 'num_outputs' at opset 17 .*from opset 18/);
      assert.doesNotMatch(e.message, /\n/, 'one line');
      return true;
    });
  }
  // Without the reader's ModelFile the hint still names the cause, without the opset number.
  await assert.rejects(createSession(modelPath('gpt2-tiny.onnx')), /hint: Split has no attribute 'num_outputs' at the model's declared opset/);
});

test('synthesised inputs run on every accepted model; outputs have the reference shapes and are finite', async () => {
  for (const file of acceptedModels) {
    const model = await openOnnx(modelPath(file));
    const { feeds } = synthesizeInputs(inputSourceOf(model)!);
    const { outputs } = await runModel(modelPath(file), feeds, { model });
    const shapes = outputShapes(file);
    if (shapes) assert.deepEqual(outputs.map((o) => o.dims), shapes, file);
    for (const o of outputs) assert.ok(Array.from(o.data as Float32Array).every(Number.isFinite), `${file}/${o.name}: finite`);
  }
});

test('out-of-vocabulary ids would be caught: onnxruntime rejects them, so synthesis matters', async () => {
  const file = modelPath('gpt2-tiny-op18.onnx');
  const model = await openOnnx(file);
  const { feeds } = synthesizeInputs(inputSourceOf(model)!);
  (feeds[0].data as BigInt64Array)[3] = 5000n;
  await assert.rejects(runModel(file, feeds, { model }), (e: unknown) => e instanceof InferenceError && e.stage === 'run' && /out of bounds|indices/i.test(e.reason));
});

test('a model checked against itself is bit-identical (external data model included)', async () => {
  for (const file of ['bert-tiny-mlm.onnx', 'gpt2-tiny-op18.onnx']) {
    const report = await checkModels(modelPath(file), modelPath(file), { seed: 3 });
    assert.equal(report.mode, 'models');
    assert.equal(report.inputs.source, 'synthesized');
    assert.equal(report.pass, true);
    assert.ok(report.comparison.outputs.every((o) => o.bitIdentical && o.maxAbsDiff === 0), file);
    assert.equal(report.models.length, 2);
  }
});

test('two different models with the same inputs fail, with the first differing positions', async () => {
  const report = await checkModels(modelPath('bert-tiny-mlm.onnx'), modelPath('bert-tiny-mlm-trained.onnx'));
  assert.equal(report.pass, false);
  const [o] = report.comparison.outputs;
  assert.equal(o.pass, false);
  assert.ok(o.maxRelDiff > 0.1);
  assert.equal(o.firstDifferences.length, 5);
  assert.deepEqual(o.firstDifferences[0].index.length, 3);
});

test('external data: taken from the reader, or from onnxruntime asking for it by name', async () => {
  const file = modelPath('gpt2-tiny-op18.onnx');
  const model = await openOnnx(file);
  assert.deepEqual(externalDataFiles(model), ['gpt2-tiny-op18.onnx.data']);
  const withModel = await createSession(file, { model });
  assert.deepEqual(withModel.externalData, ['gpt2-tiny-op18.onnx.data']);
  await withModel.release();
  const without = await createSession(file);
  assert.deepEqual(without.externalData, ['gpt2-tiny-op18.onnx.data']);
  const data = readTestDataDir(testDataDir('gpt2-tiny-op18.onnx'));
  const { outputs } = await runSession(without, data.inputs);
  await without.release();
  assert.deepEqual(outputs[0].dims, data.outputs[0].dims);
});

test('an external data location that escapes the model folder is refused', async () => {
  // Same-length rewrite of the location string keeps the protobuf framing intact.
  const bytes = fs.readFileSync(path.join(CORPUS, 'cond-branches.onnx'));
  const from = Buffer.from('cond-branches.onnx.data');
  const to = Buffer.from('../../../../../etc/data');
  assert.equal(from.length, to.length);
  let at = bytes.indexOf(from);
  while (at >= 0) { to.copy(bytes, at); at = bytes.indexOf(from, at + 1); }
  const dir = path.join(tmp, 'escape');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'model.onnx'), bytes);
  await assert.rejects(createSession(path.join(dir, 'model.onnx')), /external data location '..\/..\/..\/..\/..\/etc\/data' escapes the model's folder/);
});

test('a missing model file and mismatched feeds are errors that name the model', async () => {
  await assert.rejects(createSession(path.join(tmp, 'nope.onnx')), /nope\.onnx: onnxruntime-web rejected the model: cannot read the model file \(ENOENT\)/);
  const data = readTestDataDir(testDataDir('bert-tiny-mlm.onnx'));
  const loaded = await createSession(modelPath('bert-tiny-mlm.onnx'));
  try {
    await assert.rejects(runSession(loaded, [{ ...data.inputs[0], name: 'other' }]), /has 2 inputs \(input_ids, attention_mask\), 1 were given \(other\)/);
  } finally {
    await loaded.release();
  }
});
