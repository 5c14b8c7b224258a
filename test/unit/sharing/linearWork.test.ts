// Small hostile files that made the work quadratic (issue 13, defect 5):
// each must finish well inside a bound the old code missed by far (figures
// measured on the 2-core machine: before -> after). The bounds leave room for
// a slow machine; what they catch is the quadratic growth, not a few percent.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DT, Msg, floatRaw, graph, node, tensorProto, valueInfo, writeModel } from '../model/onnx/onnxBuilder';
import { scanFiles } from '../../../extension/sharing/scan';
import { applySharing } from '../../../extension/sharing/apply';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linear-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, g: Msg): string => writeModel(dir, name, g);

async function within<T>(seconds: number, what: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await run();
  const s = (performance.now() - t0) / 1000;
  assert.ok(s < seconds, `${what} took ${s.toFixed(1)} s (bound ${seconds} s)`);
  return out;
}

/** `n` float tensors of one shape, all 1 but one element per tensor (different places): samples agree, contents differ. */
function lookalikes(prefix: string, n: number, rows: number, cols: number, salt: number): { inits: Msg[]; nodes: Msg[] } {
  const inits: Msg[] = [];
  const nodes: Msg[] = [];
  for (let i = 0; i < n; i++) {
    const v = new Array<number>(rows * cols).fill(1);
    v[(i * 7919 + salt) % (rows * cols)] = 2 + i;
    inits.push(tensorProto(`${prefix}${i}`, DT.FLOAT, [rows, cols]).bytes(9, floatRaw(v)));
    nodes.push(node('Identity', [`${prefix}${i}`], [`${prefix}o${i}`]));
  }
  return { inits, nodes };
}

test('20,000 tensors sharing one name (was 15.6 s, now 0.5 s)', async () => {
  const inits = Array.from({ length: 20_000 }, (_, i) => tensorProto('w', DT.FLOAT, [1]).bytes(9, floatRaw([i])));
  const file = write('same-name.onnx', graph({ initializers: inits, nodes: [node('Identity', ['w'], ['y'])], outputs: [valueInfo('y')] }));
  const r = await within(8, 'scan', () => scanFiles([file], { minBytes: 0 }));
  assert.equal(r.models[0]!.tensors.length, 20_000);
  assert.ok(r.models[0]!.warnings.length <= 22, 'duplicate names are summarised, not listed 20,000 times');
});

test('2,000 If subgraphs under a main graph of 20,000 initializers (was 13.4 s, now 0.8 s)', async () => {
  const inits = Array.from({ length: 20_000 }, (_, i) => tensorProto(`w${i}`, DT.FLOAT, [1]).bytes(9, floatRaw([i])));
  const nodes: Msg[] = [];
  for (let k = 0; k < 2000; k++) {
    const branch = graph({ name: `b${k}`, nodes: [node('Identity', [`w${k}`], [`o${k}`])], outputs: [valueInfo(`o${k}`)] });
    nodes.push(node('If', ['c'], [`y${k}`], { name: `if${k}`, attrs: [new Msg().string(1, 'then_branch').msg(6, branch).varint(20, 5), new Msg().string(1, 'else_branch').msg(6, branch).varint(20, 5)] }));
  }
  const file = write('ifs.onnx', graph({ initializers: inits, nodes, inputs: [valueInfo('c', DT.BOOL)], outputs: [valueInfo('y0')] }));
  const r = await within(8, 'scan', () => scanFiles([file], { minBytes: 0 }));
  // Each branch's Identity reads its outer initializer: found through the scope chain.
  const w7 = r.models[0]!.tensors.find((t) => t.name === 'w7')!;
  assert.equal(w7.consumers.length, 2);
});

test('transposed candidates whose samples collide: 1,000 tall + 1,000 wide (was 24 s, now 0.6 s) and 2,000 squares (was 48 s, now 0.7 s)', async () => {
  const tall = lookalikes('t', 1000, 64, 32, 0);
  const wide = lookalikes('w', 1000, 32, 64, 13);
  const rect = write('collide.onnx', graph({ initializers: [...tall.inits, ...wide.inits], nodes: [...tall.nodes, ...wide.nodes], outputs: [valueInfo('to0')] }));
  const r1 = await within(8, 'scan of tall/wide lookalikes', () => scanFiles([rect], { minBytes: 0 }));
  // Which of them really are transposes, worked out from how they were built: t_i's odd element sits at
  // p = 7919 i mod 2048 (row p/32, column p%32); w_i equals t_iᵀ when its odd element sits at column-row there.
  const expected: string[][] = [];
  for (let i = 0; i < 1000; i++) {
    const p = (i * 7919) % 2048;
    if ((p % 32) * 64 + Math.floor(p / 32) === (i * 7919 + 13) % 2048) expected.push([`t${i}`, `w${i}`]);
  }
  assert.deepEqual(r1.groups.filter((g) => g.kind === 'transposed').map((g) => g.members.map((m) => m.tensor.name)), expected);
  const sq = lookalikes('s', 2000, 32, 32, 0);
  // One true pair among the lookalikes: s0 and its transpose.
  const v = new Array<number>(1024).fill(1);
  v[0 * 32 + 5] = 9; v[3 * 32 + 1] = 7;
  const vt = v.map((_, k) => v[(k % 32) * 32 + Math.floor(k / 32)]!);
  sq.inits.push(tensorProto('p', DT.FLOAT, [32, 32]).bytes(9, floatRaw(v)), tensorProto('pT', DT.FLOAT, [32, 32]).bytes(9, floatRaw(vt)));
  sq.nodes.push(node('Identity', ['p'], ['po']), node('Identity', ['pT'], ['pTo']));
  const squares = write('squares.onnx', graph({ initializers: sq.inits, nodes: sq.nodes, outputs: [valueInfo('so0')] }));
  const r2 = await within(8, 'scan of square lookalikes', () => scanFiles([squares], { minBytes: 0 }));
  assert.deepEqual(r2.groups.filter((g) => g.kind === 'transposed').map((g) => g.members.map((m) => m.tensor.name)), [['p', 'pT']]);
});

test('apply on 50,000 identical tiny tensors (overflowed the stack) and 10,000 pairs of 1 kB copies (was 7.6 s, now 2.7 s)', async () => {
  const same = Array.from({ length: 50_000 }, (_, i) => tensorProto(`t${i}`, DT.FLOAT, [1]).bytes(9, floatRaw([7])));
  const readers = Array.from({ length: 50_000 }, (_, i) => node('Identity', [`t${i}`], [`y${i}`]));
  const a = write('identical.onnx', graph({ initializers: same, nodes: readers, outputs: [valueInfo('y0')] }));
  const r1 = await within(15, 'apply', () => applySharing(a, { output: path.join(dir, 'identical.shared.onnx'), minBytes: 0 }));
  assert.equal(r1.plan.replacements.length, 49_999);
  assert.deepEqual(r1.remaining, []);
  const inits: Msg[] = [];
  const nodes: Msg[] = [];
  for (let i = 0; i < 10_000; i++) {
    const w = floatRaw(Array.from({ length: 256 }, (_, j) => i * 1000 + j));
    inits.push(tensorProto(`a${i}`, DT.FLOAT, [16, 16]).bytes(9, w), tensorProto(`b${i}`, DT.FLOAT, [16, 16]).bytes(9, w));
    nodes.push(node('Add', [`a${i}`, `b${i}`], [`s${i}`]));
  }
  const b = write('pairs.onnx', graph({ initializers: inits, nodes, outputs: [valueInfo('s0')] }));
  const r2 = await within(15, 'apply', () => applySharing(b, { output: path.join(dir, 'pairs.shared.onnx'), minBytes: 0 }));
  assert.equal(r2.plan.replacements.length, 10_000);
  assert.deepEqual(r2.remaining, []);
});
