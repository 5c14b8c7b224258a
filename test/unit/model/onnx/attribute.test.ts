// Subgraphs as the reader and the rewrite see them must be the same ones:
// an attribute whose `name` is repeated (protobuf: the last one wins) and
// nodes that share a name both once made the two disagree (found by the
// fuzzer: the rewrite refused a model the reader had opened; consumers
// inside same-named nodes' branches were lost). onnxruntime checks that the
// rewritten model still gives the original's outputs.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DT, Msg, floatRaw, graph, model, node, tensorProto, valueInfo, attr } from './onnxBuilder';
import { openModel } from '../../../../extension/model/registry';
import { applySharing } from '../../../../extension/sharing/apply';
import { checkModels } from '../../../../extension/check/check';
import type { ModelGraph } from '../../../../extension/model/types';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-attr-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const values = (k: number) => floatRaw(Array.from({ length: 256 }, (_, j) => j * 0.5 + k));
const weight = (name: string, k: number) => tensorProto(name, DT.FLOAT, [16, 16]).bytes(9, values(k));

function allGraphs(g: ModelGraph, out: ModelGraph[] = []): ModelGraph[] {
  out.push(g);
  for (const n of g.nodes) for (const s of n.subgraphs) allGraphs(s, out);
  return out;
}

test("an attribute that repeats its name: the rewrite edits the subgraph the reader saw, and outputs do not change", async () => {
  // then_branch holds two identical weights; its attribute names itself twice, 'junk' first.
  const thenBranch = graph({ name: 'then', initializers: [weight('p', 1), weight('q', 1)], nodes: [node('Add', ['p', 'q'], ['t'])], outputs: [valueInfo('t', DT.FLOAT, [16, 16])] });
  const elseBranch = graph({ name: 'else', initializers: [weight('r', 2)], nodes: [node('Identity', ['r'], ['e'])], outputs: [valueInfo('e', DT.FLOAT, [16, 16])] });
  const ifNode = node('If', ['c'], ['y'], {
    name: 'branch',
    attrs: [new Msg().string(1, 'junk').string(1, 'then_branch').msg(6, thenBranch).varint(20, 5), attr.graph('else_branch', elseBranch)],
  });
  const input = path.join(tmp, 'repeated-name.onnx');
  fs.writeFileSync(input, model(graph({ nodes: [ifNode], inputs: [valueInfo('c', DT.BOOL, [])], outputs: [valueInfo('y', DT.FLOAT, [16, 16])] })).encode());

  const opened = await openModel(input);
  assert.deepEqual(opened.graph!.main.nodes[0]!.subgraphs.map((s) => s.path), ['branch/then_branch', 'branch/else_branch']);

  const output = path.join(tmp, 'repeated-name.shared.onnx');
  const res = await applySharing(input, { output, minBytes: 0 });
  assert.equal(res.output, output);
  assert.equal(res.remaining.length, 0);
  const shared = await openModel(output);
  const then = shared.graph!.main.nodes[0]!.subgraphs.find((s) => s.path === 'branch/then_branch')!;
  assert.deepEqual(then.initializerNames, ['p'], 'the copy inside then_branch is stored once');
  for (const c of [1, 0]) {
    const inputsDir = path.join(tmp, `c=${c}`);
    fs.mkdirSync(inputsDir);
    fs.writeFileSync(path.join(inputsDir, 'input_0.pb'), tensorProto('c', DT.BOOL, []).bytes(9, Uint8Array.of(c)).encode());
    const report = await checkModels(input, output, { inputsDir, tolerance: 0 });
    assert.ok(report.pass, JSON.stringify(report.comparison));
    assert.equal(report.comparison.outputs[0]!.maxAbsDiff, 0);
  }
});

test('nodes that share a name: each subgraph gets its own path and keeps its consumers', async () => {
  const branch = (k: number) => graph({ name: `b${k}`, initializers: [weight('w', k)], nodes: [node('Identity', ['w'], [`o${k}`])], outputs: [valueInfo(`o${k}`, DT.FLOAT, [16, 16])] });
  const ifs = [0, 1].map((k) => node('If', ['c'], [`y${k}`], { name: 'same', attrs: [attr.graph('then_branch', branch(k)), attr.graph('else_branch', branch(k + 2))] }));
  // A third node repeats an attribute name: the second graph is a different subgraph too.
  ifs.push(node('If', ['c'], ['y2'], { name: 'twice', attrs: [attr.graph('then_branch', branch(4)), attr.graph('then_branch', branch(5)), attr.graph('else_branch', branch(6))] }));
  const input = path.join(tmp, 'same-names.onnx');
  fs.writeFileSync(input, model(graph({ nodes: ifs, inputs: [valueInfo('c', DT.BOOL, [])], outputs: ['y0', 'y1', 'y2'].map((y) => valueInfo(y, DT.FLOAT, [16, 16])) })).encode());

  const opened = await openModel(input);
  const subs = allGraphs(opened.graph!.main).slice(1);
  assert.equal(subs.length, 7);
  assert.equal(new Set(subs.map((s) => s.path)).size, 7, `paths: ${subs.map((s) => s.path).join(', ')}`);
  for (const t of opened.tensors) assert.equal(t.consumers.length, 1, `${t.id} (${t.graphPath}) is read by its branch's Identity`);
});

test("an op type named like an Object.prototype member ('constructor', 'toString') is just an unknown op", async () => {
  const input = path.join(tmp, 'proto-op.onnx');
  const nodes = ['constructor', 'toString', '__proto__'].map((op, i) => node(op, ['w'], [`y${i}`], { domain: 'custom' }));
  fs.writeFileSync(input, model(graph({ initializers: [weight('w', 0)], nodes, outputs: [valueInfo('y0')] })).encode());
  const res = await applySharing(input, { output: path.join(tmp, 'proto-op.shared.onnx'), minBytes: 0 });
  assert.equal(res.output, undefined, 'one weight: nothing to share');
});
