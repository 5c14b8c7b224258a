// Cross-layer similarity against what PyTorch measured when the corpus was
// made (manifest `training.relative_l2_layer0_vs_i`: ‖wᵢ − w₀‖ / max norms,
// for the trained GPT-2 whose layers 1-3 started as copies of layer 0), from
// both the ONNX export and the checkpoint; independent random layers sit
// near √2.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../../../extension/model/registry';
import { analyzeLayers } from '../../../extension/sharing/layers';
import { toLayersJson } from '../../../extension/cli/layers';

const corpus = path.join(__dirname, '..', '..', 'fixtures', 'corpus');
const manifest = JSON.parse(fs.readFileSync(path.join(corpus, 'manifest.json'), 'utf8')) as Array<{ file: string; training?: { relative_l2_layer0_vs_i: Record<string, number> } }>;
const reference = manifest.find((e) => e.file === 'gpt2-trained-neardup.onnx')!.training!.relative_l2_layer0_vs_i;

for (const file of ['gpt2-trained-neardup.onnx', 'gpt2-trained-neardup.safetensors']) {
  for (const bufferBytes of [undefined, 16 * 1024]) {
    test(`${file}${bufferBytes ? ' (streamed in 16 kB chunks)' : ''}: layer-0 distances equal PyTorch's within 2e-5`, async () => {
      const report = await analyzeLayers(await openModel(path.join(corpus, file)), { bufferBytes });
      let checked = 0;
      for (const [key, want] of Object.entries(reference)) {
        // "h.0~h.2.mlp.c_fc.weight": layer 0 against layer 2, role mlp.c_fc.weight.
        const m = /^h\.0~h\.(\d+)\.(.+)$/.exec(key)!;
        const family = report.families.find((f) => f.role === m[2] && /(^|\.)h$/.test(f.stack))!;
        assert.ok(family, `a family for ${m[2]}`);
        const i = family.layers.indexOf(Number(m[1]));
        assert.ok(Math.abs(family.relL2[0]![i]! - want) <= 2e-5, `${key}: ${family.relL2[0]![i]} vs ${want}`);
        assert.equal(family.relL2[i]![0], family.relL2[0]![i], 'symmetric');
        checked++;
      }
      assert.equal(checked, 12);
    });
  }
}

test('independent random layers (gpt2-tiny-untied, random init) sit near √2; LayerNorm ones are identical; JSON carries the matrices', async () => {
  const report = await analyzeLayers(await openModel(path.join(corpus, 'gpt2-tiny-untied.safetensors')));
  const attn = report.families.find((f) => f.role === 'attn.c_attn.weight')!;
  assert.deepEqual(attn.layers, [0, 1]);
  assert.ok(Math.abs(attn.relL2[0]![1]! - Math.SQRT2) < 0.05, `rel L2 ${attn.relL2[0]![1]}`);
  assert.ok(Math.abs(attn.centredCosine[0]![1]!) < 0.05, `centred cosine ${attn.centredCosine[0]![1]}`);
  // Random init leaves LayerNorm weights all ones: identical, and no variance to correlate.
  const ln = report.families.find((f) => f.role === 'ln_1.weight')!;
  assert.equal(ln.relL2[0]![1], 0);
  assert.ok(Number.isNaN(ln.centredCosine[0]![1]!));
  const json = toLayersJson([report]) as { schema: number; lossless: boolean; models: Array<{ families: Array<{ role: string; members: string[]; relL2: number[][] }> }> };
  assert.equal(json.schema, 1);
  assert.equal(json.lossless, false);
  const fam = json.models[0]!.families.find((f) => f.role === 'attn.c_attn.weight')!;
  assert.deepEqual(fam.members, ['transformer.h.0.attn.c_attn.weight', 'transformer.h.1.attn.c_attn.weight']);
  assert.equal(fam.relL2.length, 2);
});
