// Format detection by magic bytes, then extension; only ONNX opens today.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { detectFormat, openModel } from '../../../extension/model/registry';
import { ModelFormatError } from '../../../extension/model/types';

const CORPUS = path.join(__dirname, '../../fixtures/corpus');

test('detects the corpus formats by their first bytes', () => {
  assert.equal(detectFormat(path.join(CORPUS, 'gpt2-tiny.onnx')), 'onnx');
  assert.equal(detectFormat(path.join(CORPUS, 'cond-branches.onnx')), 'onnx');
  assert.equal(detectFormat(path.join(CORPUS, 'gpt2-tiny-untied.safetensors')), 'safetensors');
  assert.equal(detectFormat(path.join(CORPUS, 'gpt2-tiny.pytorch_model.bin')), 'pytorch');
  assert.equal(detectFormat(path.join(CORPUS, 'gpt2-tiny.legacy.pt')), 'pytorch');
  assert.equal(detectFormat(path.join(CORPUS, 'README.md')), undefined);
});

test('openModel opens ONNX and names unsupported formats', async () => {
  const m = await openModel(path.join(CORPUS, 'gpt2-tiny.onnx'));
  assert.equal(m.format, 'onnx');
  assert.equal(m.tensors.filter((t) => t.role === 'initializer').length, 28);
  assert.equal((await openModel(path.join(CORPUS, 'gpt2-tiny.pytorch_model.bin'))).format, 'pytorch');
  await assert.rejects(openModel(path.join(CORPUS, 'no-such-file.onnx')), (e: unknown) => e instanceof ModelFormatError && /cannot open/.test(e.message));
});
