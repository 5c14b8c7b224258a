// Consumer counting and scoping on hand-built graphs (format-neutral).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillConsumers } from '../../../../extension/model/onnx/consumers';
import type { ModelGraph, ModelNode, TensorRef } from '../../../../extension/model/types';

function tensor(name: string, graphPath = '', id = name): TensorRef {
  return {
    id, name, role: 'initializer', graphPath, dtype: 'float32', shape: [1], elementCount: 1, byteLength: 4,
    data: { kind: 'inline', bytes: new Uint8Array(4) }, isGraphInput: false, consumers: [], recordOffset: 0,
  };
}

function graphOf(path: string, nodes: ModelNode[], extra: Partial<ModelGraph> = {}): ModelGraph {
  return { path, name: path, nodes, inputs: [], outputs: [], valueInfo: [], initializerNames: [], ...extra };
}

function nodeOf(name: string, inputs: string[], outputs: string[], subgraphs: ModelGraph[] = []): ModelNode {
  return { name, opType: 'Op', domain: '', inputs, outputs, attributes: {}, subgraphs };
}

test('counts every node input, twice for a node reading a tensor twice, skipping empty inputs', () => {
  const w = tensor('w');
  const g = graphOf('', [nodeOf('a', ['w', 'w'], ['y']), nodeOf('b', ['', 'y', 'w'], ['z'])], { initializerNames: ['w'] });
  fillConsumers(g, [w]);
  assert.deepEqual(w.consumers.map((c) => [c.nodeName, c.inputIndex]), [['a', 0], ['a', 1], ['b', 2]]);
});

test('subgraphs see outer tensors unless they define the name themselves', () => {
  const w = tensor('w');
  const v = tensor('v');
  const inner = tensor('w', 'L/body', 'L/w');
  // body: its own initializer w shadows the outer w; v is read from outside;
  // a node output named v in the nested graph shadows v there.
  const nested = graphOf('L/body/M/g', [nodeOf('n1', ['v', 'w'], ['o'])], { inputs: [{ name: 'v' }] });
  const body = graphOf('L/body', [nodeOf('n0', ['w', 'v'], ['u']), nodeOf('M', [], ['q'], [nested])], { initializerNames: ['w'] });
  const main = graphOf('', [nodeOf('L', ['w'], ['out'], [body])], { initializerNames: ['w', 'v'] });
  fillConsumers(main, [w, v, inner]);
  assert.deepEqual(w.consumers.map((c) => c.graphPath), ['']);
  assert.deepEqual(inner.consumers.map((c) => c.graphPath), ['L/body', 'L/body/M/g']);
  assert.deepEqual(v.consumers.map((c) => c.graphPath), ['L/body'], 'the nested graph input v shadows the outer v');
});
