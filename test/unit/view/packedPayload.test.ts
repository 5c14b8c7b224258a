// The packed graph payload carries everything the object payload does: real
// corpus models (graphs with subgraphs, a checkpoint's module tree, a model
// scanned with its checkpoint) and a hand-made payload of every optional
// field and awkward string come back equal, after a real structured clone
// with their buffers transferred, the way the analysis worker sends them.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { openModel } from '../../../extension/model/registry';
import { scanModels } from '../../../extension/sharing/scan';
import { buildGraphPayload } from '../../../extension/view/payload';
import { packGraphPayload, transferablesOf, unpackGraphPayload, type PackedGraphPayload } from '../../../extension/view/packedPayload';
import type { GraphPayload } from '../../../extension/protocol';

const corpus = path.join(__dirname, '../../fixtures/corpus');

/** Through a MessagePort with the columns in the transfer list, as worker -> host. */
function transfer(p: PackedGraphPayload): { received: PackedGraphPayload; sent: PackedGraphPayload } {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(p, transferablesOf(p));
  const received = receiveMessageOnPort(port2)!.message as PackedGraphPayload;
  port1.close();
  return { received, sent: p };
}

function roundTrip(payload: GraphPayload): GraphPayload {
  const { received, sent } = transfer(packGraphPayload(payload));
  // Moved, not copied: every column of the sender is detached.
  assert.equal(sent.nodes.name.byteLength + sent.tensors.bytes.byteLength + sent.groups.flags.byteLength, 0, 'columns were transferred');
  return unpackGraphPayload(received);
}

const cases: Array<[string, string[]]> = [
  ['cond-branches.onnx', []],
  ['loop-rnn.onnx', []],
  ['gpt2-tiny-op18.onnx', []],
  ['gpt2-tiny-op18-int8.onnx', []],
  ['mlp-init-as-inputs.onnx', []],
  ['gpt2-tiny-untied.safetensors', []],
  ['gpt2-trained-neardup.onnx', ['gpt2-trained-neardup.safetensors']],
];

for (const [file, companions] of cases) {
  test(`${file}${companions.length ? ` with ${companions.join(', ')}` : ''}: the packed payload unpacks to the same payload`, async () => {
    const models = await Promise.all([file, ...companions].map((f) => openModel(path.join(corpus, f))));
    const report = await scanModels(models, { minBytes: 0 });
    const payload = buildGraphPayload(models[0]!, report);
    assert.ok(payload.nodes.length > 0 && payload.tensors.length > 0);
    assert.deepEqual(roundTrip(payload), payload);
  });
}

test('every optional field, awkward names and dims survive packing', () => {
  const payload: GraphPayload = {
    fileName: 'm.onnx', filePath: '/tmp/m.onnx', format: 'onnx', view: 'graph', producer: 'pytorch', opsets: [{ domain: '', version: 18 }],
    facts: [['IR version', '8']],
    nodes: [
      { id: '#0', name: '__proto__', opType: 'If', domain: '', graphPath: '', inputs: ['c', ''], outputs: ['y'], attributes: { __proto__x: '1', constructor: '"a"' }, subgraphs: ['If_0/then', 'If_0/else'] },
      { id: 'If_0/then#0', name: 'x\ud800y', opType: 'MatMul', domain: 'com.microsoft', graphPath: 'If_0/then', inputs: ['w'], outputs: ['t'], attributes: {}, scopes: ['encoder', 'encoder.layer.0'] },
    ],
    tensors: [
      { id: 'w', name: 'w', role: 'initializer', dtype: 'float32', shape: [2, 3], bytes: 24, consumers: 1, isGraphInput: true, groups: [0], graphPath: '', elementCount: 6, consumerIds: ['If_0/then#0'] },
      { id: 'c', name: 'c', role: 'constant', dtype: 'bool', shape: [], bytes: 1, consumers: 0, isGraphInput: false, groups: [], graphPath: '', elementCount: 1, consumerIds: [], constantNodeId: '#0' },
      { id: 'lm', name: 'lm_head.weight', role: 'parameter', dtype: 'bfloat16', shape: [5_000_000_000], bytes: 10_000_000_000, consumers: 0, isGraphInput: false, groups: [0, 1], graphPath: '', elementCount: 5_000_000_000, consumerIds: [], stored: false, source: { name: 'wte', file: '/c.safetensors', how: 'transposed' } },
    ],
    inputs: [{ name: 'ids', type: 'int64', shape: ['batch', null, 7] }, { name: 'scalar', type: 'float', shape: [] }],
    outputs: [{ name: 'y' }],
    valueInfo: [{ name: 't', shape: [-1] }],
    groups: [
      { index: 0, id: 'g-exact-1', kind: 'exact', lossless: true, applicable: true, bytesSaved: 24, tensorIds: ['w', 'lm'], consumerNodeIds: ['If_0/then#0'] },
      { index: 1, id: 'g-tied-2', kind: 'tied', tiedBy: 'storage', lossless: true, applicable: false, reason: 'already one weight', bytesSaved: 0, tensorIds: ['lm'], consumerNodeIds: [], otherMembers: [{ file: '/c.safetensors', name: 'wte', dtype: 'float32', shape: [3, 2], bytes: 24 }] },
    ],
    totals: { storedBytes: 25, uniqueBytes: 1, parameters: 7, uniqueParameters: 1, notApplicableGroups: 0, notApplicableBytes: 0 },
  };
  const back = roundTrip(payload);
  assert.deepEqual(back, payload);
  assert.equal(Object.getPrototypeOf(back.nodes[0]!.attributes), Object.prototype, 'an attribute key never sets the prototype');
  assert.deepEqual(Object.keys(back.nodes[0]!.attributes), ['__proto__x', 'constructor']);
});

test('names are stored once: a name read by many nodes is one table entry', () => {
  const nodes = Array.from({ length: 1000 }, (_, i) => ({ id: `#${i}`, name: `n${i}`, opType: 'Add', domain: '', graphPath: '', inputs: ['shared_input'], outputs: [`o${i}`], attributes: {} }));
  const packed = packGraphPayload({
    fileName: 'a', filePath: '/a', format: 'onnx', view: 'graph', opsets: [], facts: [], nodes, tensors: [], inputs: [], outputs: [], valueInfo: [], groups: [],
    totals: { storedBytes: 0, uniqueBytes: 0, parameters: 0, uniqueParameters: 0, notApplicableGroups: 0, notApplicableBytes: 0 },
  });
  // 1000 ids, names and outputs, plus 'Add', '' and 'shared_input'.
  assert.equal(packed.strings.length, 3003);
});

test('a packed payload naming a string past its table is refused with what is wrong', () => {
  const packed = packGraphPayload({
    fileName: 'a', filePath: '/a', format: 'onnx', view: 'graph', opsets: [], facts: [],
    nodes: [{ id: '#0', name: 'n', opType: 'Add', domain: '', graphPath: '', inputs: [], outputs: [], attributes: {} }],
    tensors: [], inputs: [], outputs: [], valueInfo: [], groups: [],
    totals: { storedBytes: 0, uniqueBytes: 0, parameters: 0, uniqueParameters: 0, notApplicableGroups: 0, notApplicableBytes: 0 },
  });
  packed.nodes.name[0] = 99;
  assert.throws(() => unpackGraphPayload(packed), /string 99 is not in the table of 4/);
});
