// `weight-sharing check` as a user runs it: the built dist/cli.js (npm test
// builds before testing) in a child process, exit codes and output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DT, floatRaw, graph, node, tensorProto, valueInfo, writeModel } from '../model/onnx/onnxBuilder';

const root = join(__dirname, '../../..');
const cli = join(root, 'dist/cli.js');
const corpus = join(root, 'test/fixtures/corpus');

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  assert.ok(existsSync(cli), `${cli} is missing: run \`npm run build\` first`);
  const r = spawnSync(process.execPath, [cli, 'check', ...args], { encoding: 'utf8', cwd: root, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('check MODEL --inputs DIR: passes against the reference outputs (exit 0)', () => {
  const r = run(join(corpus, 'gpt2-tiny-op18.onnx'), '--inputs', join(corpus, 'gpt2-tiny-op18.test_data_set_0'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /inputs \(from .*gpt2-tiny-op18\.test_data_set_0\)/);
  assert.match(r.stdout, /PASS {2}output {2}float32\[1,8,1000\] {2}max abs \S+ {2}max rel \S+ {2}cosine 1\.000000/);
  assert.match(r.stdout, /\nPASS\n$/);
  assert.equal(r.stderr, '');
});

test('check MODEL alone finds the test data folder beside it', () => {
  const r = run(join(corpus, 't5-tiny-split/decoder_model.onnx'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /vs reference outputs in .*decoder_model\.test_data_set_0/);
});

test('check A A --json: bit-identical, machine-readable', () => {
  const model = join(corpus, 'siamese-cnn-dynamo.onnx');
  const r = run(model, model, '--json', '--seed', '5');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as {
    pass: boolean; mode: string; inputs: { source: string; tensors: Array<{ name: string; dims: number[] }> };
    comparison: { outputs: Array<{ bitIdentical: boolean; maxAbsDiff: number; cosine: number }> }; models: Array<{ createMs: number }>;
  };
  assert.equal(report.pass, true);
  assert.equal(report.mode, 'models');
  assert.equal(report.inputs.source, 'synthesized');
  assert.deepEqual(report.inputs.tensors.map((t) => [t.name, t.dims]), [['x', [1, 3, 16, 16]], ['y', [1, 3, 16, 16]]]);
  assert.ok(report.comparison.outputs.every((o) => o.bitIdentical && o.maxAbsDiff === 0));
  assert.equal(report.models.length, 2);
});

test('check A B of two different models fails (exit 1) and shows where', () => {
  const r = run(join(corpus, 'bert-tiny-mlm.onnx'), join(corpus, 'bert-tiny-mlm-trained.onnx'));
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /FAIL {2}output/);
  assert.match(r.stdout, /at \[0, 0, 0\] \(flat 0\): expected /);
  assert.match(r.stdout, /\nFAIL: 1 problem\(s\)\n$/);
});

test('a tolerance tighter than float32 rounding fails (exit 1); the default passes', () => {
  const args = [join(corpus, 'vit-tiny.onnx'), '--inputs', join(corpus, 'vit-tiny.test_data_set_0')];
  const strict = run(...args, '--tolerance', '1e-9');
  assert.equal(strict.code, 1, strict.stderr);
  assert.match(strict.stdout, /beyond relative tolerance 1e-9/);
  assert.equal(run(...args).code, 0);
});

test('a model onnxruntime rejects: one line on stderr naming the model, the reason and a hint (exit 2)', () => {
  const model = join(corpus, 'gpt2-tiny-fp16.onnx');
  const r = run(model, model);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^weight-sharing: .*gpt2-tiny-fp16\.onnx: onnxruntime-web rejected the model: Unrecognized attribute: num_outputs for operator Split \(hint: Split has no attribute 'num_outputs' at opset 17/);
});

test('usage errors exit 2 with one line', () => {
  for (const args of [[], ['--tolerance', 'x', join(corpus, 'vit-tiny.onnx')], [join(corpus, 'missing.onnx')], [join(corpus, 'gpt2-tiny.onnx')], ['a', 'b', 'c']]) {
    const r = run(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}`);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^weight-sharing: /);
  }
  assert.match(run(join(corpus, 'gpt2-tiny.onnx')).stderr, /nothing to compare with/);
});

test('the ONNX backend-test layout: model.onnx with test_data_set_0/ beside it, or its folder as --inputs', () => {
  const dir = join(root, 'test/fixtures/onnx-backend/pytorch-converted/test_Conv2d');
  const alone = run(join(dir, 'model.onnx'));
  assert.equal(alone.code, 0, alone.stderr);
  assert.match(alone.stdout, /vs reference outputs in .*test_Conv2d\/test_data_set_0/);
  assert.match(alone.stdout, /\n  0  float32\[2,3,7,5\]  input_0.pb\n/, 'unnamed input files take the model input names');
  const folder = run(join(dir, 'model.onnx'), '--inputs', dir);
  assert.equal(folder.code, 0, folder.stderr);
});

test('--value and --dim: a Loop trip count set to 3, a named dimension set to 3; values the input cannot hold exit 2 naming it', () => {
  const loop = join(corpus, 'loop-rnn.onnx');
  const r = run(loop, loop, '--json', '--value', 'n=3', '--value', 'x=-1:1');
  assert.equal(r.code, 0, r.stderr);
  const tensors = (JSON.parse(r.stdout) as { inputs: { tensors: Array<{ name: string; dims: number[]; source: string }> } }).inputs.tensors;
  assert.match(tensors.find((t) => t.name === 'n')!.source, /all 3 \(chosen\)/);
  assert.match(tensors.find((t) => t.name === 'x')!.source, /values in \[-1, 1\) \(chosen\)/);
  const bad = run(loop, loop, '--value', 'n=1.5');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /input 'n': value 1\.5 is not a int64 value/);
  assert.match(run(loop, loop, '--value', 'n').stderr, /--value needs NAME=VALUE/);

  const dir = mkdtempSync(join(tmpdir(), 'wsi-check-dim-'));
  try {
    const model = writeModel(dir, 'dyn.onnx', graph({
      nodes: [node('Relu', ['x'], ['y'])],
      inputs: [valueInfo('x', DT.FLOAT, ['rows', 'batch'])],
      outputs: [valueInfo('y', DT.FLOAT, ['rows', 'batch'])],
    }));
    const d = run(model, model, '--json', '--dim', 'rows=3');
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual((JSON.parse(d.stdout) as { inputs: { tensors: Array<{ dims: number[] }> } }).inputs.tensors[0]!.dims, [3, 1], 'rows as chosen, batch the default');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('test data of the wrong shape: onnxruntime\'s rejection, and a hint naming the input and the dimension', () => {
  const model = join(corpus, 'siamese-cnn.onnx');
  const dir = mkdtempSync(join(tmpdir(), 'wsi-check-shape-'));
  try {
    for (const [folder, dims] of [['dim', [1, 3, 16, 8]], ['rank', [3, 16, 16]]] as const) {
      mkdirSync(join(dir, folder));
      const n = dims.reduce((a: number, b: number) => a * b, 1);
      ['x', 'y'].forEach((name, i) => writeFileSync(join(dir, folder, `input_${i}.pb`), tensorProto(name, DT.FLOAT, [...dims]).bytes(9, floatRaw(new Array<number>(n).fill(0.5))).encode()));
    }
    const dim = run(model, model, '--inputs', join(dir, 'dim'));
    assert.equal(dim.code, 2);
    assert.match(dim.stderr, /Got invalid dimensions for input: x/);
    assert.match(dim.stderr, /hint: input 'x': dimension 3 must be 16 \(got 8\)/);
    assert.match(run(model, model, '--inputs', join(dir, 'rank')).stderr, /hint: input 'x' must have 4 dimensions \(got 3\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
