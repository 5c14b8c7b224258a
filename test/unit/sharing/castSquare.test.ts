// Square transposed cast copies (issue 2: "no duplicate is missed"): an n x n
// float32 weight stored again as the float16/bfloat16 cast of its transpose.
// The corpus has none (its reference covers non-square pairs only), so models
// are built with the project's writer: a float16 copy of cast(W)ᵀ (found), a
// float16 near-copy differing in one element the sample does not read
// (rejected by the full comparison), and a bfloat16 copy of cast(V)ᵀ (found).
// The model is then applied and run with onnxruntime-web against the original.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  encodeGraph, encodeModel, encodeNode, encodeTensor, encodeValueInfo, writeOnnx,
  type NodeSpec, type ValueInfoSpec,
} from '../../../extension/model/onnx/writer';
import { scanFiles } from '../../../extension/sharing/scan';
import { applySharing } from '../../../extension/sharing/apply';
import { openOnnx } from '../../../extension/model/onnx/reader';
import { checkModels } from '../../../extension/check/check';
import { spreadPositions, squarePositions } from '../../../extension/sharing/samples';
import type { SharingGroup } from '../../../extension/sharing/types';

import { random, toBf16, toF16, transpose } from './synthetic';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cast-square-'));


type InitType = 'float32' | 'float16' | 'bfloat16';
interface Init { name: string; dtype: InitType; n: number; data: Float32Array | Uint16Array }

const CAST_TO: Record<InitType, number> = { float32: 1, float16: 10, bfloat16: 16 };

/**
 * One MatMul per initializer, so every initializer is read and the outputs
 * show any change: float32 and float16 ones multiply the input (cast to
 * float16 for float16 weights); a bfloat16 one is cast to float32 first.
 */
async function matmulModel(name: string, inits: Init[]): Promise<string> {
  const nodes: NodeSpec[] = [];
  const inputs = new Map<string, ValueInfoSpec>();
  const outputs: ValueInfoSpec[] = [];
  const cast = (input: string, output: string, to: InitType): void => {
    if (!nodes.some((x) => x.outputs[0] === output)) {
      nodes.push({ name: `cast_${output}`, opType: 'Cast', inputs: [input], outputs: [output], attributes: [{ name: 'to', kind: 'int', value: CAST_TO[to] }] });
    }
  };
  for (const t of inits) {
    const x = `x${t.n}`;
    inputs.set(x, { name: x, dtype: 'float32', shape: [2, t.n] });
    let lhs = x;
    let rhs = t.name;
    if (t.dtype === 'float16') cast(x, (lhs = `${x}h`), 'float16');
    if (t.dtype === 'bfloat16') cast(t.name, (rhs = `${t.name}_f32`), 'float32');
    nodes.push({ name: `mm_${t.name}`, opType: 'MatMul', inputs: [lhs, rhs], outputs: [`y_${t.name}`] });
    outputs.push({ name: `y_${t.name}`, dtype: t.dtype === 'float16' ? 'float16' : 'float32', shape: [2, t.n] });
  }
  const file = path.join(dir, `${name}.onnx`);
  await writeOnnx(file, encodeModel({
    irVersion: 8, opsets: [{ domain: '', version: 17 }], producerName: 'castSquare test',
    graph: encodeGraph({
      name,
      nodes: nodes.map(encodeNode),
      initializers: inits.map((t) => encodeTensor({
        name: t.name, dtype: t.dtype, dims: [t.n, t.n],
        data: { raw: [new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)] },
      })),
      inputs: [...inputs.values()].map(encodeValueInfo),
      outputs: outputs.map(encodeValueInfo),
      valueInfo: [],
    }),
  }));
  return file;
}

const castPairs = (groups: SharingGroup[]) =>
  groups.filter((g) => g.kind === 'cast').map((g) => [...g.members.map((m) => m.tensor.id), g.transposed, g.bytesSaved]);

// W (64x64 float32) with WT16 = cast(W)ᵀ as float16; NEAR16 = WT16 with one
// element changed where no sample (square or same-shape) looks; V (32x32
// float32) with VTb = cast(V)ᵀ as bfloat16.
const n = 64;
const w = random(n * n, 11);
const wt16 = transpose(toF16(w), n);
const { direct, mirrored } = squarePositions(n);
const spread = spreadPositions(n * n);
/** A flat index of the float16 copy that no sample reads, off the diagonal. */
const unsampled = (() => {
  for (let k = n * n - 2; k > 0; k--) if (![direct, mirrored, spread].some((p) => p.includes(k)) && k % (n + 1) !== 0) return k;
  throw new Error('every position sampled');
})();
const near = (at: number): Uint16Array => {
  const c = wt16.slice();
  c[at] = c[at]! ^ 1; // one mantissa bit: a different, finite value
  return c;
};
const v = random(32 * 32, 12);
const vtb = transpose(toBf16(v), 32);

const firstModel = matmulModel('cast-square', [
  { name: 'W', dtype: 'float32', n, data: w },
  { name: 'WT16', dtype: 'float16', n, data: wt16 },
  { name: 'NEAR16', dtype: 'float16', n, data: near(unsampled) },
  { name: 'V', dtype: 'float32', n: 32, data: v },
  { name: 'VTb', dtype: 'bfloat16', n: 32, data: vtb },
]);

test('square transposed cast copies are found (float16 and bfloat16); a near-copy is not', async () => {
  const report = await scanFiles([await firstModel], { minBytes: 0 });
  assert.deepEqual(castPairs(report.groups), [['W', 'WT16', true, n * n * 2], ['V', 'VTb', true, 32 * 32 * 2]]);
  assert.equal(report.groups.filter((g) => g.members.some((m) => m.tensor.id === 'NEAR16')).length, 0, 'NEAR16 is in no group');
  assert.deepEqual(report.groups.filter((g) => g.kind !== 'cast').map((g) => g.kind), []);
  assert.equal(report.bytesSaved, 8192 + 2048);
});

test('the near-copy agrees with the sample and is rejected by the full comparison', async () => {
  // The same pair with the difference at a sampled position: the sample
  // rejects it, so the full comparison (16 KiB + 8 KiB) is never read.
  const scan = async (name: string, copy: Uint16Array) => scanFiles([await matmulModel(name, [
    { name: 'W', dtype: 'float32', n, data: w },
    { name: 'NEAR16', dtype: 'float16', n, data: copy },
  ])], { minBytes: 0 });
  const outside = await scan('near-outside', near(unsampled));
  const inside = await scan('near-inside', near(mirrored[5]!));
  const exact = await scan('near-none', wt16);
  assert.deepEqual(castPairs(outside.groups), []);
  assert.deepEqual(castPairs(inside.groups), []);
  assert.deepEqual(castPairs(exact.groups), [['W', 'NEAR16', true, n * n * 2]]);
  assert.equal(outside.bytesRead - inside.bytesRead, n * n * 4 + n * n * 2, 'only the unsampled difference reaches the full comparison');
});

test('a symmetric float32 matrix and its float16 cast are a plain cast pair, not a transposed one', async () => {
  const a = random(n * n, 13);
  const s = Float32Array.from(a, (x, k) => x + a[(k % n) * n + Math.floor(k / n)]!);
  const file = await matmulModel('cast-symmetric', [
    { name: 'S', dtype: 'float32', n, data: s },
    { name: 'S16', dtype: 'float16', n, data: toF16(s) },
  ]);
  const report = await scanFiles([file], { minBytes: 0 });
  assert.deepEqual(castPairs(report.groups), [['S', 'S16', false, n * n * 2]]);
});

test('apply: each square cast copy becomes Transpose + Cast of its source, and onnxruntime-web gives the same outputs', async () => {
  const file = await firstModel;
  const res = await applySharing(file, { output: path.join(dir, 'cast-square.shared.onnx') });
  assert.ok(res.output, `something applied: ${res.plan.skipped.map((x) => x.reason).join('; ')}`);
  assert.deepEqual(res.plan.skipped, []);
  assert.deepEqual(res.remaining, []);
  assert.equal(res.plan.bytesSaved, 8192 + 2048);
  const out = await openOnnx(res.output);
  assert.deepEqual(out.graph!.main.initializerNames, ['W', 'NEAR16', 'V']);
  // Each dropped copy is recomputed under its own name by Transpose then Cast.
  for (const [kept, copy, to] of [['W', 'WT16', 10], ['V', 'VTb', 16]] as const) {
    const cast = out.graph!.main.nodes.find((x) => x.opType === 'Cast' && x.outputs[0] === copy);
    assert.ok(cast, `a Cast produces ${copy}`);
    assert.equal(cast.attributes.to, to);
    const tr = out.graph!.main.nodes.find((x) => x.opType === 'Transpose' && x.outputs[0] === cast.inputs[0]);
    assert.ok(tr, `a Transpose feeds the Cast of ${copy}`);
    assert.deepEqual(tr.inputs, [kept]);
  }
  // Transpose and round-to-nearest-even Cast reproduce the copies bit for bit.
  const check = await checkModels(file, res.output, { tolerance: 0 });
  assert.ok(check.pass, check.comparison.failures.join('\n'));
  assert.equal(check.comparison.outputs.length, 5);
  for (const o of check.comparison.outputs) assert.ok(o.bitIdentical, `${o.name} bit-identical`);
});
