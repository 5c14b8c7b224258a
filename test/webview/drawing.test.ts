import { test } from 'node:test';
import assert from 'node:assert/strict';
import type cytoscape from 'cytoscape';
import type { Drawing } from '../../webview/drawing.js' with { 'resolution-mode': 'import' };

// The webview's modules are ES modules.
const module = import('../../webview/drawing.js');

// A box `b` holding a (10x10 at 0,0) and c (10x10 at 0,100); d (10x10 at 0,1000) outside it;
// e (10x10 at 1000,500) and f (10x10 at -1000,500) far left and right.
const node = (id: string, parent?: string, classes = 'op'): cytoscape.ElementDefinition => ({ group: 'nodes', data: { id, w: 10, h: 10, ...(parent ? { parent } : {}) }, classes });
const edge = (id: string, source: string, target: string, classes = 'data'): cytoscape.ElementDefinition => ({ group: 'edges', data: { id, source, target }, classes });
const CENTRES: Record<string, { x: number; y: number }> = { a: { x: 0, y: 0 }, c: { x: 0, y: 100 }, d: { x: 0, y: 1000 }, e: { x: 1000, y: 500 }, f: { x: -1000, y: 500 } };

async function drawing(extra: cytoscape.ElementDefinition[] = []): Promise<Drawing> {
  return new (await module).Drawing(
    [{ group: 'nodes', data: { id: 'b' }, classes: 'box' }, node('a', 'b'), node('c', 'b'), node('d'), node('e'), node('f'), edge('ac', 'a', 'c'), edge('cd', 'c', 'd'), ...extra],
    (id) => CENTRES[id],
    { padding: 14, label: 16 },
  );
}

test('leaves are measured from their centres and sizes; a box around its content, with padding and room for its label', async () => {
  const d = await drawing();
  assert.deepEqual(d.nodes.get('a')!.rect, { x1: -5, y1: -5, x2: 5, y2: 5 });
  assert.deepEqual(d.nodes.get('a')!.def.position, { x: 0, y: 0 }, 'cytoscape is told where to put it');
  assert.deepEqual(d.nodes.get('b')!.inner, { x1: -5, y1: -5, x2: 5, y2: 105 });
  assert.deepEqual(d.nodes.get('b')!.rect, { x1: -19, y1: -35, x2: 19, y2: 119 });
  assert.deepEqual(d.bounds, { x1: -1005, y1: -35, x2: 1005, y2: 1005 });
  assert.deepEqual(d.ancestors('c'), ['b']);
  assert.deepEqual(d.rectOf(['a', 'nope', 'd']), { x1: -5, y1: -5, x2: 5, y2: 1005 });
  assert.equal(d.rectOf(['nope']), undefined);
  assert.equal(d.nearestLeaf({ x: 700, y: 480 })?.id, 'e');
  assert.equal(d.nearestLeaf({ x: 3, y: 60 })?.id, 'c', 'inside box b, nearer c than a; never the box itself');
});

test('a window holds what meets it, both ends of the edges that may cross it, and the boxes around them', async () => {
  const d = await drawing();
  // Around a only: its edge to c brings c, and c's box.
  const w = d.windowOf({ x1: -20, y1: -20, x2: 20, y2: 20 });
  assert.deepEqual([...w.nodes].sort(), ['a', 'b', 'c']);
  assert.deepEqual([...w.edges], ['ac']);
  assert.equal(w.leaves, 2);
  // Between c and d: neither end meets it, the edge crosses it.
  const between = d.windowOf({ x1: -20, y1: 400, x2: 20, y2: 600 });
  assert.deepEqual([...between.edges], ['cd']);
  assert.deepEqual([...between.nodes].sort(), ['b', 'c', 'd']);
  // Off to the side of everything.
  assert.equal(d.windowOf({ x1: 400, y1: 0, x2: 600, y2: 100 }).nodes.size, 0);
  assert.equal(d.leavesMeeting({ x1: -2000, y1: -2000, x2: 2000, y2: 2000 }).size, 5, 'boxes are not counted');
});

test('a fan-out edge or a group link whose far end is outside the window is left out; one with both ends in is kept', async () => {
  const d = await drawing([edge('ef', 'e', 'f', 'data fanout'), edge('ae', 'a', 'e', 'data fanout'), edge('link', 'a', 'd', 'group-link')]);
  const w = d.windowOf({ x1: -20, y1: -20, x2: 20, y2: 20 });
  assert.ok(!w.edges.has('ae') && !w.nodes.has('e'));
  assert.ok(!w.edges.has('link') && !w.nodes.has('d'));
  assert.ok(d.windowOf({ x1: -20, y1: -20, x2: 20, y2: 1020 }).edges.has('link'));
  // ef crosses the area between e and f; neither end is in it: left out too.
  assert.ok(!d.windowOf({ x1: -20, y1: 490, x2: 20, y2: 510 }).edges.has('ef'));
  assert.ok(d.windowOf({ x1: -2000, y1: 0, x2: 2000, y2: 600 }).edges.has('ef'));
});

test('with far ends (a small drawing), a group link is held from either end, a fan-out edge from its reader, never from its source', async () => {
  const d = await drawing([edge('ea', 'e', 'a', 'data fanout'), edge('ae', 'a', 'e', 'data fanout'), edge('link', 'd', 'a', 'group-link')]);
  const w = d.windowOf({ x1: -20, y1: -20, x2: 20, y2: 20 }, undefined, true);
  assert.ok(w.edges.has('link') && w.nodes.has('d'), 'the link leads off screen to d');
  assert.ok(w.edges.has('ea') && w.nodes.has('e'), 'a reads e: e is held');
  assert.ok(!w.edges.has('ae'), 'a fans out to e: its far readers are not pulled in');
  assert.equal(w.leaves, 4, 'a and c, and the far ends d and e');
  const nearD = d.windowOf({ x1: -20, y1: 980, x2: 20, y2: 1020 }, undefined, true);
  assert.ok(nearD.edges.has('link') && nearD.nodes.has('a') && nearD.nodes.has('b'), 'from the other end: a and its box');
});

test('a box held without all its content gets anchors at its content corners, so cytoscape sizes it whole', async () => {
  const d = await drawing();
  const ext = d.extentsOf('b');
  assert.deepEqual(ext.map((e) => e.data.parent), ['b', 'b']);
  assert.deepEqual(ext.map((e) => e.position), [{ x: -4.5, y: -4.5 }, { x: 4.5, y: 104.5 }]);
  assert.deepEqual(d.extentsOf('a'), [], 'a leaf has none');
});
