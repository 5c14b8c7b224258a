// The view model and the layered layout run in plain Node (no DOM): scopes
// from real corpus names, folding, collapse projection, and layout geometry.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openOnnx } from '../../extension/model/onnx/reader';
import { scanModels } from '../../extension/sharing/scan';
import { buildGraphPayload } from '../../extension/view/payload';
import type { LayoutNode } from '../../webview/layered.js' with { 'resolution-mode': 'import' };
import { syntheticTransformer } from './synthetic';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { DT, graph, node, scopedNode, tensorProto, valueInfo, writeModel } from '../unit/model/onnx/onnxBuilder';

import type { ViewModel } from '../../webview/viewModel.js' with { 'resolution-mode': 'import' };

// webview/ is an ES module package (its toolkit is ESM-only); this test file is CommonJS.
const webview = async () => ({ ...(await import('../../webview/viewModel.js')), ...(await import('../../webview/layered.js')) });

const corpus = path.join(__dirname, '../fixtures/corpus');

async function modelOf(file: string): Promise<ViewModel> {
  const { ViewModel } = await webview();
  const m = await openOnnx(path.join(corpus, file));
  return new ViewModel(buildGraphPayload(m, await scanModels([m])));
}

test('bert-tiny: TorchScript names become scopes; single-child chains merge; every item sits in an existing scope', async () => {
  const vm = await modelOf('bert-tiny-mlm-trained.onnx');
  const labels = [...vm.scopes.values()].map((s) => s.label);
  assert.ok(labels.some((l) => l.includes('layer.0')), `a layer.0 scope among ${labels.join(', ')}`);
  for (const s of vm.scopes.values()) {
    if (s.id === '') continue;
    assert.ok(vm.scopes.has(s.parent!), `${s.id} has a live parent`);
    if (s.kind === 'name') assert.ok(s.total >= 2, `${s.id} holds at least two items (else it is dissolved)`);
  }
  for (const item of vm.items.values()) assert.ok(vm.scopes.has(item.scope), `${item.id} in a live scope`);
  // All scopes open: every item is its own representative; closed: all items fold into top-level scopes.
  const all = new Set([...vm.scopes.keys()].filter((s) => s !== ''));
  for (const id of vm.items.keys()) assert.equal(vm.representative(id, all), id);
  const closed = vm.visible(new Set(), true);
  const top = vm.scopes.get('')!;
  assert.equal(closed.nodes.length, top.children.length + top.items.length);
  for (const e of closed.edges) assert.notEqual(e.source, e.target);
});

test('bert-tiny: the tied-embedding pair keeps both copies as weight items; tiny constants fold into their readers', async () => {
  const vm = await modelOf('bert-tiny-mlm-trained.onnx');
  const grouped = [...vm.items.values()].filter((i) => i.groups.length > 0).map((i) => i.tensor!.name).sort();
  assert.deepEqual(grouped, ['m.bert.embeddings.word_embeddings.weight', 'onnx::MatMul_377']);
  assert.equal(vm.stats.operatorItems + vm.stats.constantWeights + vm.stats.foldedConstants, vm.stats.operators);
  for (const [reader, tensors] of vm.folded) {
    assert.ok(vm.items.has(reader));
    for (const t of tensors) assert.equal(t.groups.length, 0, `${t.name} folded only when unshared`);
  }
});

test('a weight read in two branches sits above both; one read in one branch sits inside it', async () => {
  const vm = await modelOf('cond-branches.onnx');
  const scopeOf = (name: string) => [...vm.items.values()].find((i) => i.tensor?.name === name)!.scope;
  assert.match(scopeOf('w'), /^g:.*then_branch$/);
  assert.match(scopeOf('w_copy'), /^g:.*else_branch$/);
  assert.ok(!scopeOf('b').startsWith('g:'), 'b (read by both branches) outside them');
});

test('5,000 operators: the first drawing opens whole levels within the budget', async () => {
  const { ViewModel } = await webview();
  const vm = new ViewModel(syntheticTransformer({ operators: 5000 }));
  const expanded = vm.initialExpansion(1000, 220);
  const drawn = vm.visible(expanded, true);
  assert.ok(drawn.nodes.length <= 220, `${drawn.nodes.length} nodes`);
  const layers = [...vm.scopes.values()].filter((s) => /^layer\.\d+$/.test(s.label));
  assert.ok(layers.length > 80);
  // Either every layer is open or none is: the overview looks regular.
  const open = layers.filter((s) => expanded.has(s.id)).length;
  assert.ok(open === 0 || open === layers.length, `${open} of ${layers.length} layers open`);
  // Revealing a member of the exact group opens exactly its chain.
  const member = vm.weightOfTensor.get('encoder.layer.0.mlp.fc2.weight')!;
  const needed = vm.scopesToReveal([member]);
  for (const s of needed) expanded.add(s);
  assert.equal(vm.representative(member, expanded), member);
});

test('layered layout: no overlaps in a row, edges run downward, boxes hold their content', async () => {
  const { ViewModel, layeredLayout } = await webview();
  const vm = new ViewModel(syntheticTransformer({ operators: 1200 }));
  const expanded = new Set([...vm.scopes.keys()].filter((s) => s !== '').slice(0, 40));
  const g = vm.visible(expanded, true);
  const nodes: LayoutNode[] = g.nodes.map((n) => ({ id: n.id, width: 80, height: 30, ...(n.parent ? { parent: n.parent } : {}) }));
  const boxes = new Set(g.nodes.filter((n) => n.kind === 'box').map((n) => n.id));
  const edges = g.edges.map((e) => ({ source: e.source, target: e.target }));
  const pos = layeredLayout(nodes, edges, { nodeSep: 20, rankSep: 30 });
  const leaves = nodes.filter((n) => !boxes.has(n.id));
  assert.equal(pos.size, leaves.length, 'every leaf placed');
  // No two leaves overlap.
  const sorted = leaves.map((n) => ({ id: n.id, ...pos.get(n.id)! })).sort((a, b) => a.y - b.y || a.x - b.x);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (Math.abs(a.y - b.y) < 30) assert.ok(Math.abs(a.x - b.x) >= 80, `${a.id} and ${b.id} overlap`);
  }
  // Within one level, data flows down (the synthetic graph has no cycles).
  let down = 0;
  for (const e of edges) {
    const s = pos.get(e.source);
    const t = pos.get(e.target);
    if (s && t) {
      assert.ok(t.y > s.y, `${e.source} → ${e.target} runs downward`);
      down++;
    }
  }
  assert.ok(down > 0);
  // Box members sit within a box-sized region around their siblings (children of one box share it).
  const byParent = new Map<string, Array<{ x: number; y: number }>>();
  for (const n of leaves) if (n.parent) byParent.set(n.parent, [...(byParent.get(n.parent) ?? []), pos.get(n.id)!]);
  const extents = [...byParent.entries()].map(([box, ps]) => ({ box, x1: Math.min(...ps.map((p) => p.x)), x2: Math.max(...ps.map((p) => p.x)), y1: Math.min(...ps.map((p) => p.y)), y2: Math.max(...ps.map((p) => p.y)) }));
  for (let i = 0; i < extents.length; i++) for (let j = i + 1; j < extents.length; j++) {
    const a = extents[i];
    const b = extents[j];
    const nested = isAncestor(g.nodes, a.box, b.box) || isAncestor(g.nodes, b.box, a.box);
    if (nested) continue;
    const apart = a.x2 + 40 <= b.x1 || b.x2 + 40 <= a.x1 || a.y2 + 15 <= b.y1 || b.y2 + 15 <= a.y1;
    assert.ok(apart, `boxes ${a.box} and ${b.box} do not overlap`);
  }
});

test('dagre cost counts the dummies long edges need and the height of boxes', async () => {
  const { dagreCost } = await webview();
  const nodes: LayoutNode[] = ['a', 'b', 'c', 'd'].map((id) => ({ id, width: 10, height: 10 }));
  const chain = [{ source: 'a', target: 'b' }, { source: 'b', target: 'c' }, { source: 'c', target: 'd' }];
  assert.equal(dagreCost(nodes, chain), 4);
  assert.equal(dagreCost(nodes, [...chain, { source: 'a', target: 'd' }]), 6, 'a→d skips two layers');
  // A box's sides are a border node on each rank it spans, each side: a tall box costs more than a short one.
  const boxed = (members: string[]): LayoutNode[] => [{ id: 'box', width: 0, height: 0 }, ...nodes.map((n) => (members.includes(n.id) ? { ...n, parent: 'box' } : n))];
  assert.equal(dagreCost(boxed(['a', 'b']), chain), 4 + 10 + 2 * 2);
  assert.equal(dagreCost(boxed(['a', 'b', 'c', 'd']), chain), 4 + 10 + 2 * 4);
});

function isAncestor(nodes: Array<{ id: string; parent?: string }>, a: string, b: string): boolean {
  const parent = new Map(nodes.map((n) => [n.id, n.parent]));
  for (let p = parent.get(b); p !== undefined; p = parent.get(p)) if (p === a) return true;
  return false;
}

test('5,000 operators without name scopes (dynamo-style names) still start collapsed, in runs of operators', async () => {
  const { ViewModel } = await webview();
  const payload = syntheticTransformer({ operators: 5000, scoped: false });
  assert.ok(payload.nodes.every((n) => !n.name.includes('/')));
  const vm = new ViewModel(payload, 1500);
  // Operators reading a parameter sit in its module (h.3.attn); the rest come in runs of at most 100.
  const chunks = [...vm.scopes.values()].filter((s) => s.id.startsWith('c:'));
  assert.ok(chunks.length > 10 && chunks.every((c) => c.items.length <= 100), `${chunks.length} runs`);
  const readers = [...vm.items.values()].filter((i) => i.kind === 'op' && i.node!.inputs.some((x) => payload.tensors.some((t) => t.name === x && t.name.includes('.'))));
  assert.ok(readers.length > 100 && readers.every((r) => !r.scope.startsWith('c:')), 'parameter readers sit in module scopes, not in runs');
  const drawn = vm.visible(vm.initialExpansion(1500, 220), true);
  assert.ok(drawn.nodes.length <= 220, `${drawn.nodes.length} drawn`);
  // Below the threshold nothing is invented.
  assert.equal([...new ViewModel(syntheticTransformer({ operators: 300, scoped: false }), 1500).scopes.keys()].filter((s) => s.startsWith('c:')).length, 0);
});

test('dynamo-style flat names (linear_3) get scopes from the module path the exporter recorded', async () => {
  const { ViewModel } = await webview();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-vm-scopes-'));
  try {
    const scopes = (layer: number, op: string) => `['', 'encoder', 'encoder.layer.${layer}', '${op}']`;
    const nodes = [0, 1].flatMap((l) => [
      scopedNode('Relu', [l === 0 ? 'x' : 'h0'], [`r${l}`], `relu${l ? `_${l}` : ''}`, { 'pkg.torch.onnx.name_scopes': scopes(l, 'relu') }),
      scopedNode('Neg', [`r${l}`], [`h${l}`], `neg${l ? `_${l}` : ''}`, { 'pkg.torch.onnx.name_scopes': scopes(l, 'neg') }),
    ]);
    const file = writeModel(dir, 'dynamo-like.onnx', graph({ nodes, inputs: [valueInfo('x', DT.FLOAT, [2])], outputs: [valueInfo('h1', DT.FLOAT, [2])] }));
    const m = await openOnnx(file);
    const vm = new ViewModel(buildGraphPayload(m, await scanModels([m])));
    const label = (id: string) => vm.scopes.get(vm.items.get(id)!.scope)!.label;
    const ops = [...vm.items.values()].filter((i) => i.kind === 'op');
    assert.deepEqual(ops.map((o) => label(o.id)), ['layer.0', 'layer.0', 'layer.1', 'layer.1']);
    const layer0 = vm.scopes.get(ops[0]!.scope)!;
    assert.equal(vm.scopes.get(layer0.parent!)!.label, 'encoder');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('operators with neither scoped names nor a recorded module path sit in the module of the parameter they read', async () => {
  const { ViewModel } = await webview();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-vm-params-'));
  try {
    const w = (name: string) => tensorProto(name, DT.FLOAT, [2]).bytes(9, new Uint8Array(8).fill(name.length));
    const names = ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias'];
    const file = writeModel(dir, 'flat.onnx', graph({
      nodes: [
        node('Mul', ['x', names[0]!], ['a'], { name: 'Mul_0' }), node('Add', ['a', names[1]!], ['b'], { name: 'Add_1' }),
        node('Mul', ['b', names[2]!], ['c'], { name: 'Mul_2' }), node('Add', ['c', names[3]!], ['y'], { name: 'Add_3' }),
      ],
      initializers: names.map(w),
      inputs: [valueInfo('x', DT.FLOAT, [2])],
      outputs: [valueInfo('y', DT.FLOAT, [2])],
    }));
    const m = await openOnnx(file);
    const vm = new ViewModel(buildGraphPayload(m, await scanModels([m])));
    const ops = [...vm.items.values()].filter((i) => i.kind === 'op');
    assert.deepEqual(ops.map((o) => vm.scopes.get(o.scope)!.label), ['0', '0', '1', '1']);
    assert.equal(vm.scopes.get(vm.scopes.get(ops[0]!.scope)!.parent!)!.label, 'features');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * What visible() must draw for the edges, by its definition: each end
 * replaced by what stands for it, edges inside one node dropped, the rest
 * merged by their two ends (and body or not), in the order first met.
 */
function projectByDefinition(vm: ViewModel, expanded: ReadonlySet<string>) {
  const merged = new Map<string, { source: string; target: string; kind: string; count: number; values: string[]; groups: number[] }>();
  for (const e of vm.edges) {
    const source = vm.representative(e.source, expanded), target = vm.representative(e.target, expanded);
    if (source === target) continue;
    const key = JSON.stringify([source, target, e.kind === 'body']);
    const edge = merged.get(key) ?? { source, target, kind: e.kind, count: 0, values: [], groups: [] };
    merged.set(key, edge);
    edge.count++;
    if (edge.values.length < 8 && !edge.values.includes(e.value)) edge.values.push(e.value);
    if (e.kind === 'weight') edge.kind = 'weight';
    const item = vm.items.get(e.source);
    for (const g of item?.kind === 'weight' ? item.groups : []) if (!edge.groups.includes(g)) edge.groups.push(g);
  }
  return [...merged.values()];
}

test('visible edges: the same as their definition for every way of opening scopes tried (corpus, branches, 5,000 synthetic operators)', async () => {
  const { ViewModel } = await webview();
  const models = [await modelOf('bert-tiny-mlm-trained.onnx'), await modelOf('cond-branches.onnx'), new ViewModel(syntheticTransformer({ operators: 5000 }))];
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (const vm of models) {
    const scopes = [...vm.scopes.keys()].filter((s) => s !== '');
    const ways: Set<string>[] = [new Set(), new Set(scopes), vm.initialExpansion(1000, 220)];
    for (const share of [0.2, 0.5, 0.8]) ways.push(new Set(scopes.filter(() => random() < share)));
    for (const expanded of ways) {
      const drawn = vm.visible(expanded, true).edges.map(({ source, target, kind, count, values, groups }) => ({ source, target, kind, count, values, groups }));
      assert.deepEqual(drawn, projectByDefinition(vm, expanded), `${vm.payload.fileName}, ${expanded.size} of ${scopes.length} scopes open`);
    }
  }
});
