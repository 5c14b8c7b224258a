// `check` runs models under a time and a memory budget (issue 13, defect
// 11): a tiny model whose Expand asks for [20000, 20000], a declared input of
// [20000, 20000], a Loop of 10^12 trips. Each stops with one line that says
// which budget and what to change, instead of running for minutes at gigabytes.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DT, Msg, attr, graph, node, tensorProto, valueInfo, writeModel } from '../model/onnx/onnxBuilder';

const root = path.join(__dirname, '../../..');
const cli = path.join(root, 'dist/cli.js');

function check(file: string, ...flags: string[]) {
  assert.ok(fs.existsSync(cli), 'dist/cli.js exists: run `npm run build` first');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, 'check', file, file, ...flags], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, err: String(r.stderr), seconds: (Date.now() - t0) / 1000 };
}

function int64(name: string, values: number[]): Msg {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeBigInt64LE(BigInt(v), 8 * i));
  return tensorProto(name, DT.INT64, [values.length]).bytes(9, b);
}

function scalarInt64(name: string, value: number): Msg {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(BigInt(value));
  return tensorProto(name, DT.INT64, []).bytes(9, b);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'budget-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, g: Msg): string => writeModel(dir, name, g);

test('an Expand to [20000, 20000] is stopped at the memory budget', () => {
  const file = write('expand.onnx', graph({
    nodes: [node('Expand', ['x', 'shape'], ['y'])],
    initializers: [int64('shape', [20000, 20000])],
    inputs: [valueInfo('x', DT.FLOAT, [1])],
    outputs: [valueInfo('y', DT.FLOAT, [20000, 20000])],
  }));
  const r = check(file, '--max-memory', '600MB');
  assert.equal(r.code, 2, r.err);
  assert.equal(r.err.trim().split('\n').length, 1, r.err);
  assert.match(r.err, /expand\.onnx: stopped: the run took the process over 0\.6 GB of memory .*--max-memory BYTES/);
  assert.ok(r.seconds < 30, `${r.seconds} s`);
});

test('a declared input of [20000, 20000] is refused before it is made', () => {
  const file = write('input.onnx', graph({
    nodes: [node('Identity', ['x'], ['y'])],
    inputs: [valueInfo('x', DT.FLOAT, [20000, 20000])],
    outputs: [valueInfo('y', DT.FLOAT, [20000, 20000])],
  }));
  const r = check(file, '--max-input', '100MB');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /input 'x'.*would take 1\.60 GB \(\[20000, 20000\] float32\), over the 0\.10 GB budget for inputs/);
  assert.ok(r.seconds < 10, `${r.seconds} s`);
});

test('a Loop of 10^12 trips is stopped at the time budget', () => {
  const body = graph({
    name: 'body',
    nodes: [node('Identity', ['cond_in'], ['cond_out']), node('Add', ['v_in', 'one'], ['v_out'])],
    initializers: [tensorProto('one', DT.FLOAT, [1]).bytes(9, Buffer.from(new Float32Array([1]).buffer))],
    inputs: [valueInfo('i', DT.INT64, []), valueInfo('cond_in', DT.BOOL, []), valueInfo('v_in', DT.FLOAT, [1])],
    outputs: [valueInfo('cond_out', DT.BOOL, []), valueInfo('v_out', DT.FLOAT, [1])],
  });
  const file = write('loop.onnx', graph({
    nodes: [node('Loop', ['trips', 'cond', 'v0'], ['v'], { attrs: [attr.graph('body', body)] })],
    initializers: [scalarInt64('trips', 1e12), tensorProto('cond', DT.BOOL, []).bytes(9, Buffer.from([1]))],
    inputs: [valueInfo('v0', DT.FLOAT, [1])],
    outputs: [valueInfo('v', DT.FLOAT, [1])],
  }));
  const r = check(file, '--timeout', '3');
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /loop\.onnx: stopped: the run took over 3 s; raise the budget with --timeout SECONDS/);
  assert.ok(r.seconds < 30, `${r.seconds} s`);
});
