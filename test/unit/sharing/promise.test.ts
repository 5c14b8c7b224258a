// The number the side panel shows is the number Apply delivers (issue 12):
// for every corpus model and the sibling-branch shapes Apply can now share,
// the panel's saving (stored − unique, from the same scan the editor makes)
// equals the bytes the written copy is smaller by, within the records that
// go with the dropped tensors (TensorProto headers and names, inserted
// nodes) and the few bytes that new headers add.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../../extension/model/registry';
import { applySharing } from '../../../extension/sharing/apply';
import { scanModels } from '../../../extension/sharing/scan';
import { buildGraphPayload } from '../../../extension/view/payload';
import { onnxDetails } from './synthetic';

const corpus = path.join(__dirname, '../../fixtures/corpus');
/** Bytes a dropped tensor's record carries besides its data (tag, dims, type, name), and an inserted node. */
const RECORD_SLACK = 320; // an external tensor's record names its data file, offset and length
const NODE_SLACK = 200;

const models = fs.readdirSync(corpus).filter((n) => /\.(onnx|safetensors)$/.test(n) || n === 'gpt2-tiny-hf' || n === 'gpt2-tiny.pytorch_model.bin');

test('the side panel\'s saving is what Apply saves, on every corpus model', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-promise-'));
  const seen: string[] = [];
  try {
    for (const name of models) {
      const model = await openModel(path.join(corpus, name));
      const report = await scanModels([model]);
      const { totals } = buildGraphPayload(model, report);
      const promised = totals.storedBytes - totals.uniqueBytes;
      const res = await applySharing(path.join(corpus, name), { output: path.join(dir, `${name.replace(/\.[^.]+$/, '')}.shared${name.endsWith('.bin') || name === 'gpt2-tiny-hf' ? '.safetensors' : path.extname(name)}`) });
      if (promised === 0) {
        assert.equal(res.plan.bytesSaved, 0, `${name}: nothing promised, nothing planned`);
        continue;
      }
      assert.ok(res.output, `${name}: ${promised} bytes promised, nothing written (${res.plan.skipped.map((s) => s.reason).join('; ')})`);
      assert.equal(res.plan.bytesSaved, promised, `${name}: the plan drops what the panel counts`);
      if (res.format === 'pytorch') {
        // A checkpoint converted to safetensors: file sizes are not comparable; the tensor bytes stored are.
        const out = await openModel(res.output);
        assert.equal(out.tensors.reduce((n, t) => n + t.byteLength, 0), totals.storedBytes - promised, `${name}: tensor bytes stored once`);
        seen.push(`${name} ${promised} (tensor bytes)`);
        continue;
      }
      const delivered = res.bytesBefore - res.bytesAfter;
      const inserted = res.format === 'onnx' ? onnxDetails(res).inserted.length : 0;
      const slack = res.plan.replacements.length * RECORD_SLACK + inserted * NODE_SLACK;
      assert.ok(Math.abs(delivered - promised) <= slack, `${name}: promised ${promised}, delivered ${delivered} (slack ${slack})`);
      seen.push(`${name} ${promised}/${delivered}`);
    }
    assert.ok(seen.length >= 8, `models with something to apply: ${seen.join(', ')}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
