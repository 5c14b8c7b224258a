// Square transposed copies (issue 2: "no duplicate is missed"): an n x n
// weight stored again as its transpose. The corpus has none (its reference
// skips squares), so models are built with the project's writer: a float32
// and a float16 pair (found), a symmetric matrix (its own transpose, never a
// pair with itself), a symmetric matrix with an exact copy (an exact group
// only), and a near-transpose differing in one element the sample does not
// look at (rejected by the full comparison). The first model is applied and
// run with onnxruntime-web against the original.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  encodeGraph, encodeModel, encodeNode, encodeTensor, encodeValueInfo, writeOnnx,
  type Encoded, type NodeSpec, type ValueInfoSpec,
} from '../../../extension/model/onnx/writer';
import type { DType } from '../../../extension/model/types';
import { scanFiles } from '../../../extension/sharing/scan';
import { applySharing } from '../../../extension/sharing/apply';
import { openOnnx } from '../../../extension/model/onnx/reader';
import { checkModels } from '../../../extension/check/check';
import { squarePositions } from '../../../extension/sharing/samples';

import { onnxDetails, random, toF16, transpose } from './synthetic';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'transposed-square-'));

function symmetric(n: number, seed: number): Float32Array {
  const a = random(n * n, seed);
  // a[i][j] + a[j][i] is the same float sum both ways: exactly symmetric.
  return Float32Array.from(a, (v, k) => v + a[(k % n) * n + Math.floor(k / n)]!);
}

function tensor(name: string, dtype: DType, n: number, data: ArrayBufferView): Encoded {
  return encodeTensor({ name, dtype, dims: [n, n], data: { raw: [new Uint8Array(data.buffer, data.byteOffset, data.byteLength)] } });
}

async function model(name: string, nodes: NodeSpec[], initializers: Encoded[], inputs: ValueInfoSpec[], outputs: ValueInfoSpec[]): Promise<string> {
  const file = path.join(dir, `${name}.onnx`);
  await writeOnnx(file, encodeModel({
    irVersion: 8, opsets: [{ domain: '', version: 17 }], producerName: 'transposedSquare test',
    graph: encodeGraph({
      name, nodes: nodes.map(encodeNode), initializers,
      inputs: inputs.map(encodeValueInfo), outputs: outputs.map(encodeValueInfo), valueInfo: [],
    }),
  }));
  return file;
}

/** One MatMul per initializer (x · T), so every initializer is read and the outputs show any change. */
async function matmulModel(name: string, inits: Array<{ name: string; dtype: 'float32' | 'float16'; n: number; data: ArrayBufferView }>): Promise<string> {
  const nodes: NodeSpec[] = [];
  const inputs = new Map<string, ValueInfoSpec>();
  const outputs: ValueInfoSpec[] = [];
  for (const t of inits) {
    const x = `x${t.n}`;
    inputs.set(x, { name: x, dtype: 'float32', shape: [2, t.n] });
    let lhs = x;
    if (t.dtype === 'float16') {
      lhs = `${x}h`;
      if (!nodes.some((n) => n.outputs[0] === lhs)) nodes.push({ name: `cast_${x}`, opType: 'Cast', inputs: [x], outputs: [lhs], attributes: [{ name: 'to', kind: 'int', value: 10 }] });
    }
    nodes.push({ name: `mm_${t.name}`, opType: 'MatMul', inputs: [lhs, t.name], outputs: [`y_${t.name}`] });
    outputs.push({ name: `y_${t.name}`, dtype: t.dtype, shape: [2, t.n] });
  }
  return model(name, nodes, inits.map((t) => tensor(t.name, t.dtype, t.n, t.data)), [...inputs.values()], outputs);
}


const pairs = (groups: { kind: string; bytesSaved: number; members: { tensor: { id: string } }[] }[], kind: string) =>
  groups.filter((g) => g.kind === kind).map((g) => [...g.members.map((m) => m.tensor.id), g.bytesSaved]);

// 64x64 float32 W and its transpose; a symmetric S; N and a copy of Nᵀ with one
// element changed where the sample does not look; a float16 32x32 pair whose
// transposed side comes first in the file (so it is the source).
const n = 64;
const w = random(n * n, 1);
const s = symmetric(n, 2);
const nMat = random(n * n, 3);
const { direct, mirrored } = squarePositions(n);
/** Flat index in the copy of Nᵀ that no sample reads (and off the diagonal). */
const unsampled = (() => {
  for (let k = 1; k < n * n; k++) if (!mirrored.includes(k) && !direct.includes(k) && k % (n + 1) !== 0) return k;
  throw new Error('every position sampled');
})();
const nearT = transpose(nMat, n);
nearT[unsampled] = nearT[unsampled]! + 1;
const h = toF16(random(32 * 32, 4));

const firstModel = matmulModel('square', [
  { name: 'W', dtype: 'float32', n, data: w },
  { name: 'S', dtype: 'float32', n, data: s },
  { name: 'N', dtype: 'float32', n, data: nMat },
  { name: 'HT', dtype: 'float16', n: 32, data: transpose(h, 32) },
  { name: 'WT', dtype: 'float32', n, data: transpose(w, n) },
  { name: 'NT_near', dtype: 'float32', n, data: nearT },
  { name: 'H', dtype: 'float16', n: 32, data: h },
]);

test('square transposed copies are found (float32 and float16); a symmetric matrix and a near-transpose are not', async () => {
  const report = await scanFiles([await firstModel], { minBytes: 0 });
  assert.deepEqual(pairs(report.groups, 'transposed'), [['W', 'WT', n * n * 4], ['HT', 'H', 32 * 32 * 2]]);
  assert.deepEqual(pairs(report.groups, 'exact'), []);
  assert.equal(report.bytesSaved, n * n * 4 + 32 * 32 * 2);
});

test('a near-transpose whose samples agree is rejected by the full comparison, not by the sample', async () => {
  // Same model but the difference at a sampled position: the sample already
  // rejects it, so the full comparison (2 x 16 KiB) is never read.
  const atSample = transpose(nMat, n);
  atSample[mirrored[5]!] = atSample[mirrored[5]!]! + 1;
  const scan = async (name: string, copy: Float32Array) => scanFiles([await matmulModel(name, [
    { name: 'N', dtype: 'float32', n, data: nMat },
    { name: 'NT_near', dtype: 'float32', n, data: copy },
  ])], { minBytes: 0 });
  const outside = await scan('near-outside', nearT);
  const inside = await scan('near-inside', atSample);
  const exactT = await scan('near-none', transpose(nMat, n));
  assert.deepEqual(pairs(outside.groups, 'transposed'), []);
  assert.deepEqual(pairs(inside.groups, 'transposed'), []);
  assert.deepEqual(pairs(exactT.groups, 'transposed'), [['N', 'NT_near', n * n * 4]]);
  assert.equal(outside.bytesRead - inside.bytesRead, 2 * n * n * 4, 'only the unsampled difference reaches the full comparison');
});

test('a symmetric matrix with an exact copy is an exact group, never a transposed pair', async () => {
  const file = await matmulModel('symmetric-copy', [
    { name: 'S', dtype: 'float32', n, data: s },
    { name: 'S2', dtype: 'float32', n, data: s },
  ]);
  const report = await scanFiles([file], { minBytes: 0 });
  assert.deepEqual(pairs(report.groups, 'transposed'), []);
  assert.deepEqual(pairs(report.groups, 'exact'), [['S', 'S2', n * n * 4]]);
});

test('square matrices below 256 elements are left alone (the same floor as non-square)', async () => {
  const small = random(15 * 15, 5);
  const file = await matmulModel('small', [
    { name: 'A', dtype: 'float32', n: 15, data: small },
    { name: 'AT', dtype: 'float32', n: 15, data: transpose(small, 15) },
  ]);
  const report = await scanFiles([file], { minBytes: 0 });
  assert.deepEqual(pairs(report.groups, 'transposed'), []);
});

test('apply: each square copy becomes a Transpose of its source, and onnxruntime-web gives the same outputs', async () => {
  const file = await firstModel;
  const res = await applySharing(file, { output: path.join(dir, 'square.shared.onnx') });
  assert.ok(res.output, `something applied: ${res.plan.skipped.map((x) => x.reason).join('; ')}`);
  assert.deepEqual(res.remaining, []);
  assert.equal(res.plan.bytesSaved, n * n * 4 + 32 * 32 * 2);
  assert.deepEqual(onnxDetails(res).inserted.map((x) => [x.opType, x.inputs, x.output]).sort(), [['Transpose', ['HT'], 'H'], ['Transpose', ['W'], 'WT']]);
  const out = await openOnnx(res.output);
  assert.deepEqual(out.graph!.main.initializerNames, ['W', 'S', 'N', 'HT', 'NT_near']);
  const transposes = out.graph!.main.nodes.filter((x) => x.opType === 'Transpose');
  assert.deepEqual(transposes.map((x) => [x.inputs, x.outputs]).sort(), [[['HT'], ['H']], [['W'], ['WT']]]);
  // Copying values through Transpose is exact: every output bit-identical.
  const check = await checkModels(file, res.output, { tolerance: 0 });
  assert.ok(check.pass, check.comparison.failures.join('\n'));
  assert.equal(check.comparison.outputs.length, 7);
  for (const o of check.comparison.outputs) assert.ok(o.bitIdentical, `${o.name} bit-identical`);
});
