// Provenance across formats: an ONNX export scanned beside the checkpoint it
// came from. Reference: the exporters' own naming (the dynamo exporter names
// a module's parameter `m.<state-dict key>`), and, for the trained model whose
// checkpoint omits the tied lm_head, the corpus note that it is tied to wte.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scanFiles } from '../../../extension/sharing/scan';
import { toJson, toText } from '../../../extension/sharing/report';
import { encodeGraph, encodeModel, encodeNode, encodeTensor, writeOnnx } from '../../../extension/model/onnx/writer';
import { encodeSafetensorsHeader } from '../../../extension/model/safetensors/header';
import { random, transpose } from './synthetic';

const corpus = path.join(__dirname, '..', '..', 'fixtures', 'corpus');
const at = (f: string) => path.join(corpus, f);

for (const [onnx, checkpoint, tiedHead] of [
  ['gpt2-tiny-dynamo.onnx', 'gpt2-tiny-untied.safetensors', 'lm_head.weight'],
  ['gpt2-trained-neardup.onnx', 'gpt2-trained-neardup.safetensors', 'transformer.wte.weight'],
] as const) {
  test(`${onnx} beside ${checkpoint}: every m.<key> initializer is linked to <key>, and no group joins the two formats`, async () => {
    const r = await scanFiles([at(onnx), at(checkpoint)], { minBytes: 0 });
    const exported = r.models.find((m) => m.path.endsWith(onnx))!;
    const ckpt = r.models.find((m) => m.path.endsWith(checkpoint))!;
    const keys = new Set(ckpt.tensors.map((t) => t.name));
    const linkOf = new Map(r.provenance.map((l) => [l.tensor.name, l]));
    const named = exported.tensors.filter((t) => t.name.startsWith('m.'));
    assert.ok(named.length >= 10, `${named.length} parameters`);
    for (const t of named) {
      const key = t.name.slice(2);
      const link = linkOf.get(t.name);
      assert.ok(link, `${t.name} has a source`);
      // lm_head is tied to wte in the checkpoint: either name is its source.
      assert.equal(link.source.name, keys.has(key) ? key : tiedHead, t.name);
      assert.equal(link.how, 'exact');
      assert.equal(link.sourcePath, ckpt.path);
    }
    // Links go from the export to the checkpoint only.
    for (const l of r.provenance) assert.equal(l.path, exported.path);
    for (const g of r.groups) {
      const formats = new Set(g.members.map((m) => r.models.find((x) => x.path === m.path)!.format));
      assert.equal(formats.size, 1, `${g.kind} ${g.members.map((m) => m.tensor.name).join(', ')} joins two formats`);
    }
    const json = toJson(r);
    assert.equal(json.provenance.length, r.provenance.length);
    assert.match(toText(r), new RegExp(`${onnx.replace('.', '\\.')}: \\d+ of \\d+ tensors come from ${checkpoint.replace('.', '\\.')}`));
  });
}

test('an anonymous transposed initializer (val_0 = W^T, as the dynamo exporter stores MatMul weights) is linked to W as transposed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'provenance-'));
  try {
    const rows = 64, cols = 48;
    const w = random(rows * cols, 3);
    const wt = transpose(w, rows, cols);
    const raw = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const onnx = path.join(dir, 'export.onnx');
    await writeOnnx(onnx, encodeModel({
      irVersion: 8, opsets: [{ domain: '', version: 17 }], producerName: 'provenance test',
      graph: encodeGraph({
        name: 'g',
        nodes: [encodeNode({ name: 'mm', opType: 'MatMul', inputs: ['x', 'val_0'], outputs: ['y'] })],
        initializers: [encodeTensor({ name: 'val_0', dtype: 'float32', dims: [cols, rows], data: { raw: [raw(wt)] } })],
        inputs: [], outputs: [], valueInfo: [],
      }),
    }));
    const st = path.join(dir, 'model.safetensors');
    const header = encodeSafetensorsHeader({ format: 'pt' }, [{ name: 'layer.weight', stDtype: 'F32', shape: [rows, cols], begin: 0, end: w.byteLength }]);
    fs.writeFileSync(st, Buffer.concat([header, raw(w)]));
    const r = await scanFiles([onnx, st], { minBytes: 0 });
    assert.deepEqual(r.provenance.map((l) => [l.tensor.name, l.source.name, l.how]), [['val_0', 'layer.weight', 'transposed']]);
    assert.deepEqual(r.groups.filter((g) => g.kind !== 'tied'), [], 'no sharing group across the formats');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
