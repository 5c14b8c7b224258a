// ONNX's own backend test models (nobody on this team wrote them): every one
// onnxruntime-web loads reproduces its test_data_set outputs; the rest are
// refused at load with a reason, never a wrong answer. The `light/` model-zoo
// CNNs run on synthesised inputs (their ConstantOfShape weights make the
// output independent of the input) against light_NAME_output_0.pb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openOnnx } from '../../../extension/model/onnx/reader';
import { createSession, runSession, InferenceError } from '../../../extension/check/runner';
import { compareOutputs } from '../../../extension/check/compare';
import { inputSourceOf, synthesizeInputs } from '../../../extension/check/inputs';
import { readTensorFile, readTestDataDir } from '../../../extension/check/testData';
import { BACKEND } from './corpus';

test('backend test models: all that load match every test data set within 1e-5; refusals name the cause', async () => {
  const passed: string[] = [];
  const refused: Record<string, string[]> = {};
  for (const group of ['simple', 'pytorch-converted', 'pytorch-operator']) {
    for (const name of readdirSync(join(BACKEND, group)).sort()) {
      const dir = join(BACKEND, group, name);
      const model = join(dir, 'model.onnx');
      if (!existsSync(model)) continue;
      let loaded;
      try {
        loaded = await createSession(model);
      } catch (e) {
        assert.ok(e instanceof InferenceError && e.stage === 'load', `${group}/${name}: ${String(e)}`);
        assert.ok(e.hint, `${group}/${name}: a hint for '${e.reason}'`);
        const cause = /Could not find an implementation for (\w+)\((\d+)\)/.exec(e.reason)?.slice(1).join('-')
          ?? /(\S+):(\w+)\(-?\d+\) is not a registered function\/op/.exec(e.reason)?.slice(1).join(':')
          ?? e.reason;
        (refused[cause] ??= []).push(`${group}/${name}`);
        continue;
      }
      try {
        for (const set of readdirSync(dir).filter((n) => /^test_data_set_\d+$/.test(n))) {
          const data = readTestDataDir(join(dir, set));
          const { outputs } = await runSession(loaded, data.inputs);
          const c = compareOutputs(data.outputs, outputs, { tolerance: 1e-5 });
          assert.equal(c.pass, true, `${group}/${name}/${set}: ${c.failures.join('; ')}`);
          passed.push(`${group}/${name}/${set}`);
        }
      } finally {
        await loaded.release();
      }
    }
  }
  console.log(`${passed.length} data sets match; refused: ${JSON.stringify(Object.fromEntries(Object.entries(refused).map(([k, v]) => [k, v.length])))}`);
  // Pinned so a regression in decoding, feeding or comparing shows up as a count change.
  assert.equal(passed.length, 104);
  assert.deepEqual(Object.keys(refused).sort(), [
    'Add-6', 'AveragePool-1', 'BatchNormalization-6', 'Gemm-6', 'Mul-6', 'PRelu-6', 'Pow-1',
    'ai.onnx.preview.training:Gradient',
  ]);
});

// AlexNet, VGG-19 and ZFNet-512 expand their ConstantOfShape weights into
// 0.2-0.5 GB of fully connected layers at session creation (several seconds
// and that much memory each, on 2 cores); they match too, and run when
// WSI_HEAVY_TESTS=1.
const HEAVY = new Set(['light_bvlc_alexnet.onnx', 'light_vgg19.onnx', 'light_zfnet512.onnx']);

test('light model-zoo CNNs: synthesised inputs reproduce light_NAME_output_0.pb', async () => {
  const light = join(BACKEND, 'light');
  const all = readdirSync(light).filter((n) => n.endsWith('.onnx')).sort();
  assert.equal(all.length, 9);
  const models = process.env.WSI_HEAVY_TESTS === '1' ? all : all.filter((n) => !HEAVY.has(n));
  for (const name of models) {
    const path = join(light, name);
    const model = await openOnnx(path);
    const { feeds } = synthesizeInputs(inputSourceOf(model)!);
    assert.deepEqual(feeds.map((f) => f.dims), [[1, 3, 224, 224]], `${name}: the initializers listed as inputs are not fed`);
    const loaded = await createSession(path, { model });
    try {
      const { outputs } = await runSession(loaded, feeds);
      const reference = readTensorFile(path.replace(/\.onnx$/, '_output_0.pb'));
      const c = compareOutputs([reference], outputs, { tolerance: 1e-5 });
      assert.equal(c.pass, true, `${name}: ${c.failures.join('; ')}`);
      assert.equal(c.pairedBy, 'position', 'the reference tensor has no name');
    } finally {
      await loaded.release();
    }
  }
});
