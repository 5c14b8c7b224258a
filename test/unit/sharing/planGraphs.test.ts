// Graph situations the corpus does not have, built with the project's writer
// and applied end to end: Gemm transB flips, quantized triplets, a copy that
// is a graph output, copies declared inside subgraphs, shadowed names,
// reshaped and cast copies, value_info of a dropped name. Each output is run
// with onnxruntime-web against the original.
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
import { applySharing } from '../../../extension/sharing/apply';
import { describeGroup } from '../../../extension/sharing/groupText';
import { scanModels } from '../../../extension/sharing/scan';
import { buildGraphPayload } from '../../../extension/view/payload';
import { openOnnx } from '../../../extension/model/onnx/reader';
import { checkModels } from '../../../extension/check/check';
import { f32ToF16Bits } from '../../../extension/util/floatCast';

import { onnxDetails, random, transpose } from './synthetic';
import { DT, floatRaw, tensorProto } from '../model/onnx/onnxBuilder';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-graphs-'));

function tensor(name: string, dtype: DType, dims: number[], data: ArrayBufferView): Encoded {
  return encodeTensor({ name, dtype, dims, data: { raw: [new Uint8Array(data.buffer, data.byteOffset, data.byteLength)] } });
}

interface Graph {
  nodes: NodeSpec[];
  initializers: Encoded[];
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
  valueInfo?: ValueInfoSpec[];
}

async function model(name: string, g: Graph, opset = 17): Promise<string> {
  const file = path.join(dir, `${name}.onnx`);
  await writeOnnx(file, encodeModel({
    irVersion: 8, opsets: [{ domain: '', version: opset }], producerName: 'planGraphs test',
    graph: encodeGraph({
      name, nodes: g.nodes.map(encodeNode), initializers: g.initializers,
      inputs: g.inputs.map(encodeValueInfo), outputs: g.outputs.map(encodeValueInfo), valueInfo: (g.valueInfo ?? []).map(encodeValueInfo),
    }),
  }));
  return file;
}

async function applyAndCheck(file: string, expectIdentical: boolean, minBytes?: number) {
  const res = await applySharing(file, { output: file.replace(/\.onnx$/, '.shared.onnx'), minBytes });
  assert.ok(res.output, `something applied: ${res.plan.skipped.map((s) => s.reason).join('; ')}`);
  assert.deepEqual(res.remaining, []);
  const report = await checkModels(file, res.output, { tolerance: 1e-6 });
  assert.ok(report.pass, report.comparison.failures.join('\n'));
  if (expectIdentical) for (const o of report.comparison.outputs) assert.ok(o.bitIdentical, `${o.name} bit-identical`);
  return { res, out: await openOnnx(res.output) };
}

const x = (cols: number): ValueInfoSpec => ({ name: 'x', dtype: 'float32', shape: [2, cols] });

test('a transposed copy read only by Gemm: transB is flipped, no Transpose node is inserted', async () => {
  const w = random(48 * 32, 1);
  const file = await model('gemm', {
    nodes: [
      { name: 'g1', opType: 'Gemm', inputs: ['x', 'W'], outputs: ['y1'], attributes: [{ name: 'transB', kind: 'int', value: 1 }] },
      { name: 'g2', opType: 'Gemm', inputs: ['x', 'WT'], outputs: ['y2'] },
    ],
    initializers: [tensor('W', 'float32', [48, 32], w), tensor('WT', 'float32', [32, 48], transpose(w, 48, 32))],
    inputs: [x(32)],
    outputs: [{ name: 'y1', dtype: 'float32', shape: [2, 48] }, { name: 'y2', dtype: 'float32', shape: [2, 48] }],
  });
  const { res, out } = await applyAndCheck(file, true);
  assert.equal(onnxDetails(res).gemmFlips, 1);
  assert.deepEqual(onnxDetails(res).inserted, []);
  assert.equal(out.tensors.filter((t) => t.role === 'initializer').length, 1);
  const gemms = out.graph!.main.nodes.filter((n) => n.opType === 'Gemm');
  const kept = out.tensors[0]!.name;
  assert.ok(gemms.every((n) => n.inputs[1] === kept));
  // Both now read one tensor; the one that read the transposed copy had its
  // transB flipped, so both read it the same way.
  const transB = gemms.map((n) => n.attributes.transB ?? 0);
  assert.deepEqual(transB, kept === 'W' ? [1, 1] : [0, 0]);
});

test('a transposed copy read by MatMul and Gemm: one Transpose node for the MatMul, a flip for the Gemm', async () => {
  const w = random(48 * 32, 2);
  const file = await model('gemm-mixed', {
    nodes: [
      { name: 'mm', opType: 'MatMul', inputs: ['x', 'WT'], outputs: ['y1'] },
      { name: 'g', opType: 'Gemm', inputs: ['x', 'WT'], outputs: ['y2'] },
      { name: 'g0', opType: 'Gemm', inputs: ['x', 'W'], outputs: ['y3'], attributes: [{ name: 'transB', kind: 'int', value: 1 }] },
    ],
    initializers: [tensor('W', 'float32', [48, 32], w), tensor('WT', 'float32', [32, 48], transpose(w, 48, 32))],
    inputs: [x(32)],
    outputs: ['y1', 'y2', 'y3'].map((name) => ({ name, dtype: 'float32' as const, shape: [2, 48] })),
  });
  const { res } = await applyAndCheck(file, false);
  assert.equal(onnxDetails(res).inserted.length, 1);
  assert.equal(onnxDetails(res).inserted[0]!.opType, 'Transpose');
});

test('identical quantized triplets: weight, scale and zero point are rewired together', async () => {
  const wq = Uint8Array.from(random(32 * 48, 3), (v) => Math.floor((v + 0.5) * 255));
  const scale = new Float32Array([0.02]);
  const zero = new Uint8Array([128]);
  const triplet = (k: number) => [
    tensor(`w${k}_quantized`, 'uint8', [32, 48], wq), tensor(`w${k}_scale`, 'float32', [], scale), tensor(`w${k}_zero_point`, 'uint8', [], zero),
  ];
  const file = await model('quantized', {
    nodes: [1, 2].flatMap((k) => [
      { name: `dq${k}`, opType: 'DequantizeLinear', inputs: [`w${k}_quantized`, `w${k}_scale`, `w${k}_zero_point`], outputs: [`w${k}`] },
      { name: `mm${k}`, opType: 'MatMul', inputs: ['x', `w${k}`], outputs: [`y${k}`] },
    ]),
    initializers: [...triplet(1), ...triplet(2)],
    inputs: [x(32)],
    outputs: ['y1', 'y2'].map((name) => ({ name, dtype: 'float32' as const, shape: [2, 48] })),
  });
  const { res, out } = await applyAndCheck(file, true);
  assert.deepEqual(res.plan.replacements.map((r) => r.realised.dropped.name).sort(), ['w2_quantized', 'w2_scale', 'w2_zero_point']);
  assert.ok(res.plan.groups.some((g) => g.kind === 'quantized'), res.plan.groups.map((g) => g.kind).join());
  const dq2 = out.graph!.main.nodes.find((n) => n.name === 'dq2')!;
  assert.deepEqual(dq2.inputs, ['w1_quantized', 'w1_scale', 'w1_zero_point']);
});

test('a copy that is itself a graph output keeps its name (Identity), the output list is unchanged', async () => {
  const w = random(32 * 48, 4);
  const file = await model('graph-output', {
    nodes: [
      { name: 'mm1', opType: 'MatMul', inputs: ['x', 'W'], outputs: ['y1'] },
      { name: 'mm2', opType: 'MatMul', inputs: ['x', 'Wc'], outputs: ['y2'] },
    ],
    initializers: [tensor('W', 'float32', [32, 48], w), tensor('Wc', 'float32', [32, 48], w)],
    inputs: [x(32)],
    outputs: [{ name: 'y1', dtype: 'float32', shape: [2, 48] }, { name: 'y2', dtype: 'float32', shape: [2, 48] }, { name: 'Wc', dtype: 'float32', shape: [32, 48] }],
  });
  const { res, out } = await applyAndCheck(file, true);
  assert.deepEqual(onnxDetails(res).inserted.map((n) => [n.opType, n.inputs, n.output]), [['Identity', ['W'], 'Wc']]);
  assert.deepEqual(out.graph!.main.outputs.map((o) => o.name), ['y1', 'y2', 'Wc']);
  assert.deepEqual(out.graph!.main.initializerNames, ['W']);
});

function ifModel(name: string, thenInit: Encoded[], thenReads: string, w: Float32Array, mainInits: Encoded[]): Promise<string> {
  const branch = (reads: string, inits: Encoded[], tag: string) => encodeGraph({
    name: `${tag}_branch`, nodes: [encodeNode({ name: `${tag}_mm`, opType: 'MatMul', inputs: ['x', reads], outputs: [`${tag}_out`] })],
    initializers: inits, inputs: [], outputs: [encodeValueInfo({ name: `${tag}_out`, dtype: 'float32', shape: [2, 48] })],
  });
  void w;
  return model(name, {
    nodes: [
      { name: 'cond', opType: 'Greater', inputs: ['s', 'zero'], outputs: ['c'] },
      { name: 'if', opType: 'If', inputs: ['c'], outputs: ['y'], attributes: [
        { name: 'then_branch', kind: 'graph', value: branch(thenReads, thenInit, 'then') },
        { name: 'else_branch', kind: 'graph', value: branch('W', [], 'else') },
      ] },
    ],
    initializers: [...mainInits, tensor('zero', 'float32', [], new Float32Array([0]))],
    inputs: [x(32), { name: 's', dtype: 'float32', shape: [] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2, 48] }],
  });
}

test('a copy declared inside a subgraph is dropped and its readers read the outer tensor', async () => {
  const w = random(32 * 48, 5);
  const file = await ifModel('subgraph-copy', [tensor('W_local', 'float32', [32, 48], w)], 'W_local', w, [tensor('W', 'float32', [32, 48], w)]);
  const { res, out } = await applyAndCheck(file, true);
  assert.deepEqual(res.plan.replacements.map((r) => [r.realised.dropped.id, r.realised.kept.id]), [['if/W_local', 'W']]);
  const then = out.graph!.main.nodes[1]!.subgraphs.find((s) => s.path === 'if/then_branch')!;
  assert.deepEqual(then.initializerNames, []);
  assert.deepEqual(then.nodes[0]!.inputs, ['x', 'W']);
});

test('a kept name shadowed inside a subgraph is not used there: the group is skipped with the reason', async () => {
  const w = random(32 * 48, 6);
  // Main graph: W and its exact copy Wc; the then branch reads Wc but declares its own, different, W.
  const file = await ifModel('shadowed', [tensor('W', 'float32', [32, 48], random(32 * 48, 7))], 'Wc', w, [tensor('W', 'float32', [32, 48], w), tensor('Wc', 'float32', [32, 48], w)]);
  const res = await applySharing(file, { output: path.join(dir, 'shadowed.shared.onnx') });
  assert.equal(res.output, undefined);
  assert.deepEqual(res.plan.skipped.map((s) => s.reason), ["'W' is shadowed in subgraph 'if/then_branch'"]);
  assert.equal(fs.existsSync(path.join(dir, 'shadowed.shared.onnx')), false);
});

test('a reshaped copy gets one Reshape node, reusing an equal shape tensor the graph already has', async () => {
  const w = random(32 * 48, 8);
  const file = await model('reshaped', {
    nodes: [
      { name: 'mm1', opType: 'MatMul', inputs: ['x', 'W'], outputs: ['y1'] },
      { name: 'mm2', opType: 'MatMul', inputs: ['x48', 'Wr'], outputs: ['y2'] },
      { name: 'rs', opType: 'Reshape', inputs: ['y1', 'shape_48_2'], outputs: ['y3'] },
    ],
    initializers: [
      tensor('W', 'float32', [32, 48], w), tensor('Wr', 'float32', [48, 32], w),
      tensor('shape_48_32', 'int64', [2], new BigInt64Array([48n, 32n])), tensor('shape_48_2', 'int64', [2], new BigInt64Array([48n, 2n])),
    ],
    inputs: [x(32), { name: 'x48', dtype: 'float32', shape: [2, 48] }],
    outputs: [{ name: 'y2', dtype: 'float32', shape: [2, 32] }, { name: 'y3', dtype: 'float32', shape: [48, 2] }],
  });
  const { res, out } = await applyAndCheck(file, true, 0);
  assert.deepEqual(onnxDetails(res).inserted.map((n) => [n.opType, n.inputs, n.output]), [['Reshape', ['W', 'shape_48_32'], 'Wr']]);
  assert.deepEqual(out.graph!.main.initializerNames.sort(), ['W', 'shape_48_2', 'shape_48_32']);
});

test('a float16 copy of a float32 tensor gets one Cast node; a dropped name\'s value_info goes with it', async () => {
  const w = random(32 * 48, 9);
  const bits = new Uint32Array(w.buffer, w.byteOffset, w.length);
  const half = Uint16Array.from(bits, (b) => f32ToF16Bits(b));
  const file = await model('cast', {
    nodes: [
      { name: 'mm', opType: 'MatMul', inputs: ['x', 'W'], outputs: ['y1'] },
      { name: 'tohalf', opType: 'Cast', inputs: ['x'], outputs: ['xh'], attributes: [{ name: 'to', kind: 'int', value: 10 }] },
      { name: 'mmh', opType: 'MatMul', inputs: ['xh', 'Wh'], outputs: ['y2'] },
      { name: 'mmc', opType: 'MatMul', inputs: ['x', 'Wc'], outputs: ['y3'] },
    ],
    initializers: [tensor('W', 'float32', [32, 48], w), tensor('Wh', 'float16', [32, 48], half), tensor('Wc', 'float32', [32, 48], w)],
    inputs: [x(32)],
    outputs: [{ name: 'y1', dtype: 'float32', shape: [2, 48] }, { name: 'y2', dtype: 'float16', shape: [2, 48] }, { name: 'y3', dtype: 'float32', shape: [2, 48] }],
    valueInfo: [{ name: 'Wc', dtype: 'float32', shape: [32, 48] }, { name: 'Wh', dtype: 'float16', shape: [32, 48] }, { name: 'xh', dtype: 'float16', shape: [2, 32] }],
  });
  const { res, out } = await applyAndCheck(file, true);
  assert.deepEqual(onnxDetails(res).inserted.map((n) => [n.opType, n.inputs, n.output]), [['Cast', ['W'], 'Wh']]);
  // Wc was rewired away (gone); Wh is recomputed under its own name (kept).
  assert.deepEqual(out.graph!.main.valueInfo.map((v) => v.name), ['Wh', 'xh']);
  assert.deepEqual(out.graph!.main.initializerNames, ['W']);
});

test('a transposed copy that also has an exact copy: both copies go, one Transpose rebuilds them', async () => {
  const w = random(32 * 48, 10);
  const wt = transpose(w, 32, 48);
  const file = await model('transposed-and-exact', {
    nodes: [
      { name: 'mm1', opType: 'MatMul', inputs: ['x', 'A'], outputs: ['y1'] },
      { name: 'mm2', opType: 'MatMul', inputs: ['x48', 'C'], outputs: ['y2'] },
      { name: 'mm3', opType: 'MatMul', inputs: ['x48', 'D'], outputs: ['y3'] },
    ],
    initializers: [tensor('A', 'float32', [32, 48], w), tensor('C', 'float32', [48, 32], wt), tensor('D', 'float32', [48, 32], wt)],
    inputs: [x(32), { name: 'x48', dtype: 'float32', shape: [2, 48] }],
    outputs: ['y1', 'y2', 'y3'].map((name, i) => ({ name, dtype: 'float32' as const, shape: [2, i === 0 ? 48 : 32] })),
  });
  const { res, out } = await applyAndCheck(file, true);
  assert.deepEqual(out.graph!.main.initializerNames, ['A']);
  assert.deepEqual(onnxDetails(res).inserted.map((n) => [n.opType, n.inputs]), [['Transpose', ['A']]]);
  assert.equal(res.plan.bytesSaved, 2 * 48 * 32 * 4);
});

test('a transposed copy in a subgraph whose exact copy in the main graph is kept: the kept copy is rebuilt instead', async () => {
  const w = random(32 * 48, 11);
  const wt = transpose(w, 32, 48);
  // then_branch declares C = Wᵀ and reads it (through a Transpose back, so shapes fit); the main graph holds W and D = C.
  const branch = (tag: string, inits: Encoded[], reads: string, viaTranspose: boolean) => encodeGraph({
    name: `${tag}_branch`,
    nodes: viaTranspose
      ? [encodeNode({ name: `${tag}_t`, opType: 'Transpose', inputs: [reads], outputs: [`${tag}_w`], attributes: [{ name: 'perm', kind: 'ints', value: [1, 0] }] }),
        encodeNode({ name: `${tag}_mm`, opType: 'MatMul', inputs: ['x', `${tag}_w`], outputs: [`${tag}_out`] })]
      : [encodeNode({ name: `${tag}_mm`, opType: 'MatMul', inputs: ['x', reads], outputs: [`${tag}_out`] })],
    initializers: inits, inputs: [], outputs: [encodeValueInfo({ name: `${tag}_out`, dtype: 'float32', shape: [2, 48] })],
  });
  const file = await model('subgraph-transposed', {
    nodes: [
      { name: 'cond', opType: 'Greater', inputs: ['s', 'zero'], outputs: ['c'] },
      { name: 'if', opType: 'If', inputs: ['c'], outputs: ['y'], attributes: [
        { name: 'then_branch', kind: 'graph', value: branch('then', [tensor('C', 'float32', [48, 32], wt)], 'C', true) },
        { name: 'else_branch', kind: 'graph', value: branch('else', [], 'W', false) },
      ] },
      { name: 'mmD', opType: 'MatMul', inputs: ['x48', 'D'], outputs: ['yD'] },
    ],
    initializers: [tensor('W', 'float32', [32, 48], w), tensor('D', 'float32', [48, 32], wt), tensor('zero', 'float32', [], new Float32Array([0]))],
    inputs: [x(32), { name: 's', dtype: 'float32', shape: [] }, { name: 'x48', dtype: 'float32', shape: [2, 48] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2, 48] }, { name: 'yD', dtype: 'float32', shape: [2, 32] }],
  });
  const { res, out } = await applyAndCheck(file, true);
  // One of W / D stays; the other is rebuilt by one Transpose; C (in the subgraph) reads D.
  const stays = out.graph!.main.initializerNames.filter((n) => n !== 'zero');
  assert.equal(stays.length, 1);
  assert.deepEqual(out.graph!.main.nodes.find((n) => n.opType === 'If')!.subgraphs[0]!.initializerNames, []);
  assert.deepEqual(onnxDetails(res).inserted.map((n) => [n.opType, n.inputs, n.output]), [['Transpose', stays, stays[0] === 'W' ? 'D' : 'W']]);
  assert.equal(res.plan.bytesSaved, 2 * 48 * 32 * 4);
});

// --- copies in sibling subgraphs (the branches of an If) --------------------

/** Runs `a` and `b` once per branch (s = +1 takes then, s = -1 else) and requires bit-identical outputs. */
async function checkEveryBranch(a: string, b: string): Promise<void> {
  for (const s of [1, -1]) {
    const inputsDir = fs.mkdtempSync(path.join(dir, `s=${s}-`));
    fs.writeFileSync(path.join(inputsDir, 'input_0.pb'), tensorProto('x', DT.FLOAT, [2, 32]).bytes(9, floatRaw([...random(64, 11)])).encode());
    fs.writeFileSync(path.join(inputsDir, 'input_1.pb'), tensorProto('s', DT.FLOAT, []).bytes(9, floatRaw([s])).encode());
    const report = await checkModels(a, b, { inputsDir, tolerance: 0 });
    assert.ok(report.pass, `s=${s}: ${report.comparison.failures.join('\n')}`);
    for (const o of report.comparison.outputs) assert.ok(o.bitIdentical, `s=${s}: ${o.name} bit-identical`);
  }
}

/** A branch reading `reads` through MatMul (then) or MatMul + Neg (else), so the branches' outputs differ. */
function branchGraph(tag: 'then' | 'else', reads: string, inits: Encoded[], nodes: NodeSpec[] = []): Encoded {
  const mm = tag === 'then' ? `${tag}_out` : `${tag}_mm`;
  return encodeGraph({
    name: `${tag}_branch`,
    nodes: [...nodes, { name: `${tag}_matmul`, opType: 'MatMul', inputs: ['x', reads], outputs: [mm] },
      ...(tag === 'else' ? [{ name: 'else_neg', opType: 'Neg', inputs: [mm], outputs: ['else_out'] }] : [])].map(encodeNode),
    initializers: inits, inputs: [], outputs: [encodeValueInfo({ name: `${tag}_out`, dtype: 'float32', shape: [2, 48] })],
  });
}

function ifNode(name: string, cond: string, then: Encoded, otherwise: Encoded, out: string): NodeSpec {
  return { name, opType: 'If', inputs: [cond], outputs: [out], attributes: [
    { name: 'then_branch', kind: 'graph', value: then }, { name: 'else_branch', kind: 'graph', value: otherwise },
  ] };
}

function siblingModel(name: string, then: Encoded, otherwise: Encoded, mainInits: Encoded[] = [], mainNodes: NodeSpec[] = [], outputs: ValueInfoSpec[] = []): Promise<string> {
  return model(name, {
    nodes: [{ name: 'cond', opType: 'Greater', inputs: ['s', 'zero'], outputs: ['c'] }, ifNode('if', 'c', then, otherwise, 'y'), ...mainNodes],
    initializers: [...mainInits, tensor('zero', 'float32', [], new Float32Array([0]))],
    inputs: [x(32), { name: 's', dtype: 'float32', shape: [] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [2, 48] }, ...outputs],
  });
}

test('identical copies in the two branches of an If: the kept one moves to the enclosing graph and both branches read it', async () => {
  const w = random(32 * 48, 21);
  const file = await siblingModel('siblings', branchGraph('then', 'W_then', [tensor('W_then', 'float32', [32, 48], w)]), branchGraph('else', 'W_else', [tensor('W_else', 'float32', [32, 48], w)]));
  const res = await applySharing(file, { output: path.join(dir, 'siblings.shared.onnx') });
  assert.ok(res.output, res.plan.skipped.map((s) => s.reason).join('; '));
  assert.deepEqual(res.remaining, []);
  assert.equal(res.plan.bytesSaved, 32 * 48 * 4);
  // People see each copy with the graph it sits in: the bare names could be anywhere.
  assert.equal(describeGroup(res.plan.groups[0]!), 'if › else › W_else is an exact copy of if › then › W_then: 6.1 kB can be shared');
  // What the side panel promises is what the written copy saves (within the dropped record's header).
  const opened = await openOnnx(file);
  const promised = ((t) => t.storedBytes - t.uniqueBytes)(buildGraphPayload(opened, await scanModels([opened])).totals);
  assert.equal(promised, 32 * 48 * 4);
  assert.ok(Math.abs(res.bytesBefore - res.bytesAfter - promised) <= 64, `delivered ${res.bytesBefore - res.bytesAfter}`);
  const out = await openOnnx(res.output);
  const [then, otherwise] = out.graph!.main.nodes[1]!.subgraphs;
  assert.deepEqual([then!.initializerNames, otherwise!.initializerNames], [[], []]);
  assert.deepEqual(out.graph!.main.initializerNames.sort(), ['W_then', 'zero']);
  assert.deepEqual(otherwise!.nodes[0]!.inputs, ['x', 'W_then']);
  await checkEveryBranch(file, res.output);
});

test('copies in nested Ifs two levels apart move to the innermost graph enclosing both', async () => {
  const w = random(32 * 48, 22);
  // then_branch holds an inner If whose then reads W_a; the outer else reads W_b: the main graph is the only one enclosing both.
  const innerThen = branchGraph('then', 'W_a', [tensor('W_a', 'float32', [32, 48], w)]);
  const innerElse = branchGraph('else', 'P', [tensor('P', 'float32', [32, 48], random(32 * 48, 23))]);
  const outerThen = encodeGraph({
    name: 'outer_then', nodes: [encodeNode(ifNode('inner', 'c', innerThen, innerElse, 'then_out'))],
    initializers: [], inputs: [], outputs: [encodeValueInfo({ name: 'then_out', dtype: 'float32', shape: [2, 48] })],
  });
  const file = await siblingModel('nested', outerThen, branchGraph('else', 'W_b', [tensor('W_b', 'float32', [32, 48], w)]));
  const res = await applySharing(file, { output: path.join(dir, 'nested.shared.onnx') });
  assert.ok(res.output, res.plan.skipped.map((s) => s.reason).join('; '));
  assert.deepEqual(res.remaining, []);
  const out = await openOnnx(res.output);
  // The shallower copy stays (keep rank), moved to the main graph; the inner branch reads it two levels down.
  assert.deepEqual(out.tensors.filter((t) => t.shape.length === 2).map((t) => t.id).sort(), ['W_b', 'if/inner/P']);
  assert.equal(out.tensors.find((t) => t.id === 'W_b')!.graphPath, '');
  await checkEveryBranch(file, res.output);
});

test('a moved copy whose name the enclosing graph already uses gets a fresh name; the enclosing graph\'s own tensor is untouched', async () => {
  const w = random(32 * 48, 24);
  const other = random(32 * 48, 25);
  // Both branches name their copy W; the main graph has a different W of its own, read by a MatMul whose result is an output.
  const file = await siblingModel('collide', branchGraph('then', 'W', [tensor('W', 'float32', [32, 48], w)]), branchGraph('else', 'W', [tensor('W', 'float32', [32, 48], w)]),
    [tensor('W', 'float32', [32, 48], other)], [{ name: 'main_mm', opType: 'MatMul', inputs: ['x', 'W'], outputs: ['z'] }], [{ name: 'z', dtype: 'float32', shape: [2, 48] }]);
  const res = await applySharing(file, { output: path.join(dir, 'collide.shared.onnx') });
  assert.ok(res.output, res.plan.skipped.map((s) => s.reason).join('; '));
  const out = await openOnnx(res.output);
  assert.deepEqual(out.graph!.main.initializerNames.sort(), ['W', 'W__shared', 'zero']);
  const [then, otherwise] = out.graph!.main.nodes[1]!.subgraphs;
  assert.deepEqual([then!.nodes[0]!.inputs, otherwise!.nodes[0]!.inputs], [['x', 'W__shared'], ['x', 'W__shared']]);
  await checkEveryBranch(file, res.output);
});
