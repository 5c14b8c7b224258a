// An export whose block weights are anonymous (the dynamo exporter's `val_N`,
// read by nodes whose names carry no scope either): `layers --checkpoint`
// names them after the checkpoint parameters provenance matches them to
// (here: weights stored transposed, as MatMul wants them, biases as they
// are). Both files are built here, the ONNX one with protobufjs's writer and
// the checkpoint laid out by hand; the expected distances come from the test's
// own values.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runLayers } from '../../../extension/analysis/run';
import { openModel } from '../../../extension/model/registry';
import { analyzeLayers } from '../../../extension/sharing/layers';
import { sourceNamesOf } from '../../../extension/sharing/layerSources';
import { DT, floatRaw, graph, model, node, tensorProto, valueInfo } from '../model/onnx/onnxBuilder';
import { writeSafetensors } from '../model/safetensors/handWritten';

// Weights of at least 256 elements: the transposed detector skips smaller ones.
const ROWS = 16, COLS = 32, BLOCKS = 3;

function values(seed: number, n: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return Math.fround(s / 2 ** 32 - 0.5); });
}

function transpose(w: number[], rows: number, cols: number): number[] {
  return Array.from({ length: rows * cols }, (_, k) => w[(k % rows) * cols + Math.floor(k / rows)]!);
}

function relL2(a: number[], b: number[]): number {
  let d = 0, na = 0, nb = 0;
  a.forEach((x, i) => { d += (x - b[i]!) ** 2; na += x * x; nb += b[i]! ** 2; });
  return Math.sqrt(d / Math.max(na, nb));
}

test('layers --checkpoint: anonymous val_N weights and biases join their blocks\' families under the checkpoint\'s names', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-sources-'));
  try {
    // Checkpoint: h.K.mlp.weight [ROWS, COLS] (PyTorch's out x in) and h.K.mlp.bias [ROWS].
    const weights = Array.from({ length: BLOCKS }, (_, k) => values(100 + k, ROWS * COLS));
    const biases = Array.from({ length: BLOCKS }, (_, k) => values(200 + k, ROWS));
    const checkpoint = path.join(dir, 'model.safetensors');
    writeSafetensors(checkpoint, Array.from({ length: BLOCKS }, (_, k) => [
      { name: `h.${k}.mlp.bias`, dtype: 'F32', shape: [ROWS], bytes: floatRaw(biases[k]!) },
      { name: `h.${k}.mlp.weight`, dtype: 'F32', shape: [ROWS, COLS], bytes: floatRaw(weights[k]!) },
    ]).flat());

    // Export: per block y_K = x · val_(2K) + val_(2K+1), the weight transposed to [COLS, ROWS] as MatMul wants it.
    const nodes = [];
    const inits = [];
    for (let k = 0; k < BLOCKS; k++) {
      const w = `val_${2 * k}`, b = `val_${2 * k + 1}`;
      inits.push(tensorProto(w, DT.FLOAT, [COLS, ROWS]).bytes(9, floatRaw(transpose(weights[k]!, ROWS, COLS))));
      inits.push(tensorProto(b, DT.FLOAT, [ROWS]).bytes(9, floatRaw(biases[k]!)));
      nodes.push(node('MatMul', ['x', w], [`mm_${k}`], { name: `node_MatMul_${k}` }));
      nodes.push(node('Add', [`mm_${k}`, b], [`y_${k}`], { name: `node_Add_${k}` }));
    }
    const onnx = path.join(dir, 'model.onnx');
    const outputs = Array.from({ length: BLOCKS }, (_, k) => valueInfo(`y_${k}`, DT.FLOAT, [1, ROWS]));
    fs.writeFileSync(onnx, model(graph({ nodes, initializers: inits, inputs: [valueInfo('x', DT.FLOAT, [1, COLS])], outputs })).encode());

    const exported = await openModel(onnx);
    assert.equal((await analyzeLayers(exported)).families.length, 0, 'no names, no scopes: no families without the checkpoint');
    const names = await sourceNamesOf(exported, await openModel(checkpoint));
    const report = await analyzeLayers(exported, { sourceNames: names });
    const byRole = new Map(report.families.map((f) => [f.role, f]));
    assert.deepEqual([...byRole.keys()].sort(), ['mlp.bias', 'mlp.weight']);
    const w = byRole.get('mlp.weight')!;
    assert.equal(w.stack, 'h');
    assert.deepEqual(w.members.map((m) => m.name), ['val_0', 'val_2', 'val_4']);
    assert.deepEqual(w.sources, ['h.0.mlp.weight', 'h.1.mlp.weight', 'h.2.mlp.weight']);
    for (let i = 0; i < BLOCKS; i++) {
      for (let j = i + 1; j < BLOCKS; j++) assert.ok(Math.abs(w.relL2[i]![j]! - relL2(weights[i]!, weights[j]!)) < 1e-12, `${i},${j}`);
    }
    assert.deepEqual(byRole.get('mlp.bias')!.members.map((m) => m.name), ['val_1', 'val_3', 'val_5']);

    // The CLI: the same families, the checkpoint's names beside the export's.
    const cli = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '../../../extension/cli.ts'), 'layers', onnx, '--checkpoint', checkpoint, '--json'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const out = JSON.parse(cli.stdout) as { models: Array<{ families: Array<{ role: string; members: string[]; sources?: string[] }> }> };
    const fw = out.models[0]!.families.find((f) => f.role === 'mlp.weight')!;
    assert.deepEqual(fw.sources, ['h.0.mlp.weight', 'h.1.mlp.weight', 'h.2.mlp.weight']);

    // tie --checkpoint ties the same families: the three anonymous weights and biases.
    const tie = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '../../../extension/cli.ts'), 'tie', onnx, '--layers', '1,2', '--to', '0', '--checkpoint', checkpoint, '--json'], { encoding: 'utf8' });
    assert.equal(tie.status, 0, tie.stderr);
    const tied = JSON.parse(tie.stdout) as { families: Array<{ role: string; kept: string; dropped: string[] }> };
    assert.deepEqual(tied.families.map((f) => [f.role, f.kept, f.dropped]).sort(), [['mlp.bias', 'val_1', ['val_3', 'val_5']], ['mlp.weight', 'val_0', ['val_2', 'val_4']]]);

    // The Layers tab's worker picks up the model.safetensors beside the export by itself.
    const worker = path.join(__dirname, '../../../dist/analysisWorker.js');
    assert.ok(fs.existsSync(worker), 'dist/analysisWorker.js exists: run `npm run build` first');
    const payload = await runLayers(worker, { path: onnx });
    assert.deepEqual(payload.families.find((f) => f.role === 'mlp.weight')?.members, ['val_0 = h.0.mlp.weight', 'val_2 = h.1.mlp.weight', 'val_4 = h.2.mlp.weight']);
    // The editor's "no checkpoint" choice: no names, no families.
    assert.equal((await runLayers(worker, { path: onnx, checkpoint: null })).families.length, 0);
    // A checkpoint chosen elsewhere (Compare with Checkpoint…): the same names as beside.
    const elsewhere = path.join(dir, 'elsewhere.safetensors');
    fs.renameSync(checkpoint, elsewhere);
    assert.equal((await runLayers(worker, { path: onnx })).families.length, 0, 'nothing beside the export any more');
    assert.deepEqual((await runLayers(worker, { path: onnx, checkpoint: elsewhere })).families.find((f) => f.role === 'mlp.weight')?.members, ['val_0 = h.0.mlp.weight', 'val_2 = h.1.mlp.weight', 'val_4 = h.2.mlp.weight']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
