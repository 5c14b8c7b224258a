// `apply` over the corpus (issue 3's "must show"): for every ONNX model with a
// lossless group, apply, then (a) a fresh scan of the output finds no lossless
// group, (b) the output is smaller by the reported saving, (c) onnxruntime-web
// gives the original's outputs (bit-identical where only readers were
// rewired, 1e-6 where nodes were inserted) and the test data's reference
// outputs (1e-5); everything else in the file is preserved.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applySharing } from '../../../extension/sharing/apply';
import { scanFiles } from '../../../extension/sharing/scan';
import { openOnnx } from '../../../extension/model/onnx/reader';
import { checkModels } from '../../../extension/check/check';
import { DEFAULT_MIN_BYTES } from '../../../extension/sharing/types';
import type { ModelFile, ModelGraph } from '../../../extension/model/types';
import { CORPUS, onnxEntries } from '../check/corpus';
import { onnxDetails } from '../sharing/synthetic';

const out = fs.mkdtempSync(path.join(os.tmpdir(), 'apply-corpus-'));

/** Every ONNX file of the corpus, pipelines included. */
const files = [
  ...onnxEntries.map((e) => e.file).filter((f) => !f.includes('/')),
  't5-tiny-split/decoder_model.onnx',
  't5-tiny-split/encoder_model.onnx',
].filter((f, i, all) => all.indexOf(f) === i && fs.existsSync(path.join(CORPUS, f)));
const ortRejects = new Set(onnxEntries.filter((e) => (e as { ort_error?: string }).ort_error).map((e) => e.file));

function testData(file: string): string | undefined {
  const dir = path.join(CORPUS, file.replace(/\.onnx$/, '.test_data_set_0'));
  return fs.existsSync(dir) ? dir : undefined;
}

function nodeNames(g: ModelGraph): string[] {
  return g.nodes.flatMap((n) => [`${g.path}:${n.opType}:${n.name}`, ...n.subgraphs.flatMap(nodeNames)]);
}

function preserved(before: ModelFile, after: ModelFile): void {
  assert.equal(after.graph!.irVersion, before.graph!.irVersion);
  assert.deepEqual(after.graph!.opsets, before.graph!.opsets);
  assert.equal(after.producer, before.producer);
  assert.equal(after.docString, before.docString);
  assert.deepEqual(after.metadata, before.metadata);
  assert.deepEqual(after.graph!.functions, before.graph!.functions);
  assert.deepEqual(after.graph!.main.inputs, before.graph!.main.inputs, 'graph inputs unchanged');
  assert.deepEqual(after.graph!.main.outputs, before.graph!.main.outputs, 'graph outputs unchanged');
}

for (const minBytes of [DEFAULT_MIN_BYTES, 0]) {
  for (const file of files) {
    test(`apply ${file} (--min-bytes ${minBytes})`, async (t) => {
      const input = path.join(CORPUS, file);
      const report = await scanFiles([input], { minBytes });
      const lossless = report.groups.filter((g) => g.lossless && g.kind !== 'tied');
      const output = path.join(out, `${minBytes}-${file.replace('/', '-').replace(/\.onnx$/, '')}.shared.onnx`);
      const res = await applySharing(input, { output, minBytes });
      if (lossless.length === 0 || res.plan.replacements.length === 0) {
        assert.equal(res.output, undefined, 'nothing to apply: nothing written');
        assert.equal(fs.existsSync(output), false);
        if (lossless.length > 0) assert.ok(res.plan.skipped.length > 0, 'every lossless group not applied has a reason');
        t.skip(lossless.length === 0 ? 'no lossless group' : `not applied: ${res.plan.skipped.map((s) => s.reason).join('; ')}`);
        return;
      }
      assert.equal(res.output, output);

      // (a) a fresh scan of the output: no lossless group the planner applies.
      assert.deepEqual(res.remaining, []);
      const again = await scanFiles([output], { minBytes });
      const declined = new Set(res.plan.skipped.flatMap((s) => s.group.members.map((m) => m.tensor.name)));
      const left = again.groups.filter((g) => g.lossless && g.kind !== 'tied' && !g.members.every((m) => declined.has(m.tensor.name)));
      assert.deepEqual(left.map((g) => `${g.kind}: ${g.members.map((m) => m.tensor.id).join(', ')}`), []);
      if (res.plan.skipped.length === 0) assert.equal(again.bytesSaved, 0);

      // (b) smaller by the reported saving. Dropping a tensor also drops its
      // TensorProto framing (name, dims, external-data keys: up to ~300 bytes
      // each), which on these tiny models exceeds 1% of a small tensor; the
      // inserted nodes add a little. Allow 1% or that framing, whichever is larger.
      const reported = res.plan.bytesSaved;
      const saved = res.bytesBefore - res.bytesAfter;
      const allowance = Math.max(0.01 * reported, 400 * res.plan.replacements.length);
      assert.ok(Math.abs(saved - reported) <= allowance, `saved ${saved} vs reported ${reported} (allowance ${allowance})`);
      const sizes = [output, (onnxDetails(res).dataFile ?? undefined)].filter((f): f is string => f !== undefined).reduce((s, f) => s + fs.statSync(f).size, 0);
      assert.equal(sizes, res.bytesAfter);
      if (minBytes === DEFAULT_MIN_BYTES) {
        assert.equal(reported, lossless.reduce((s, g) => s + g.bytesSaved, 0), 'every reported lossless saving applied');
      }

      // Everything else preserved; node order kept, inserted nodes added.
      const before = await openOnnx(input);
      const after = await openOnnx(output);
      preserved(before, after);
      const droppedConstants = new Set(res.plan.replacements.filter((r) => r.realised.dropped.role === 'constant').map((r) => r.realised.dropped.name));
      const kept = nodeNames(before.graph!.main).filter((n) => !(n.includes(':Constant:') && [...droppedConstants].some((c) => before.tensors.some((x) => x.name === c && n.startsWith(`${x.graphPath}:Constant:`) && x.role === 'constant'))));
      const afterNames = nodeNames(after.graph!.main).filter((n) => !n.includes('WeightSharing/'));
      assert.ok(kept.filter((n) => afterNames.includes(n)).join('|') === afterNames.filter((n) => kept.includes(n)).join('|'), 'node order kept');
      assert.equal(nodeNames(after.graph!.main).filter((n) => n.includes('WeightSharing/')).length, onnxDetails(res).inserted.length);

      // (c) outputs unchanged.
      if (ortRejects.has(file)) return; // onnxruntime rejects the original itself (see corpus README)
      const inserted = onnxDetails(res).inserted.length > 0;
      const dir = testData(file);
      const vsOriginal = await checkModels(input, output, { inputsDir: dir, tolerance: 1e-6 });
      assert.ok(vsOriginal.pass, vsOriginal.comparison.failures.join('\n'));
      if (!inserted) {
        for (const o of vsOriginal.comparison.outputs) assert.ok(o.bitIdentical, `${o.name} bit-identical (readers rewired only)`);
      }
      if (dir) {
        const vsReference = await checkModels(output, undefined, { inputsDir: dir, tolerance: 1e-5 });
        assert.ok(vsReference.pass, vsReference.comparison.failures.join('\n'));
      }
    });
  }
}
