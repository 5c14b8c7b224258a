// The layout's trip to the worker and back (webview/layoutWire.ts), in plain
// Node: nodes by index in typed arrays give the positions the layout gives
// by id, and progress climbs to every node placed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LayoutNode } from '../../webview/layered.js' with { 'resolution-mode': 'import' };
import { syntheticTransformer } from './synthetic';

const modules = async () => ({ ...(await import('../../webview/layoutWire.js')), ...(await import('../../webview/layered.js')), ...(await import('../../webview/viewModel.js')) });

async function sample(boxes: boolean) {
  const { ViewModel } = await modules();
  const vm = new ViewModel(syntheticTransformer({ operators: 3000 }));
  const g = vm.visible(new Set([...vm.scopes.keys()].filter((s) => s !== '')), boxes);
  const nodes: LayoutNode[] = g.nodes.map((n, i) => ({ id: n.id, width: 40 + (i % 7) * 10, height: 24, ...(n.parent ? { parent: n.parent } : {}) }));
  // An edge to a node the drawing lacks is left out on both sides.
  const edges = [...g.edges.map((e) => ({ source: e.source, target: e.target })), { source: nodes[0]!.id, target: 'not drawn' }];
  return { nodes, edges };
}

for (const boxes of [true, false]) {
  test(`layout by index in typed arrays places every leaf where the layout by id does (${boxes ? 'boxed scopes' : 'one flat level'})`, async () => {
    const { encodeLayout, layOutEncoded, decodePositions, layeredLayout, buffersOf } = await modules();
    const { nodes, edges } = await sample(boxes);
    const options = { nodeSep: 22, rankSep: 36, boxPadding: 14, boxLabel: 16 };
    const direct = layeredLayout(nodes, edges, options);
    const request = encodeLayout(7, nodes, edges, options);
    assert.equal(request.source.length, edges.length - 1);
    assert.equal(buffersOf(request).length, 5);
    // Through a structured clone with its buffers moved, as postMessage sends it.
    const sent = structuredClone(request, { transfer: buffersOf(request) });
    assert.equal(request.width.length, 0, 'the buffers moved');
    const seen: number[] = [];
    const { x, y } = layOutEncoded(sent, (placed, total) => { assert.equal(total, nodes.length); seen.push(placed); });
    const viaWire = decodePositions(nodes, x, y);
    assert.ok(direct.size > 1000);
    assert.deepEqual(viaWire, direct);
    assert.ok(seen.length >= 6, `${seen.length} progress reports`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, 'progress never goes back');
    assert.equal(seen.at(-1), nodes.length, 'every node placed at the end');
    // A flat level reports within itself, not only when it is done.
    assert.ok(seen.some((p) => p > 0 && p < nodes.length / 2), `early reports: ${seen.slice(0, 8).join(', ')}`);
  });
}
