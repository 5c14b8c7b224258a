// Encodings the corpus does not exercise, built field by field: typed data
// fields (fp16/bf16/int8/int4 in int32_data, int64_data, uint64_data,
// float_data and double_data, packed and unpacked), Constant attribute
// forms, sparse initializers, external data, subgraph ids and scoping.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openOnnx } from '../../../../extension/model/onnx/reader';
import { FileSet } from '../../../../extension/io/fileSet';
import type { ModelFile, TensorRef } from '../../../../extension/model/types';
import { DT, Msg, attr, floatRaw, graph, model, node, tensorProto, valueInfo } from './onnxBuilder';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-onnx-enc-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
async function open(m: Msg, extra: Record<string, Uint8Array> = {}): Promise<ModelFile> {
  const sub = path.join(dir, `m${counter++}`);
  fs.mkdirSync(sub);
  for (const [name, bytes] of Object.entries(extra)) fs.writeFileSync(path.join(sub, name), bytes);
  const file = path.join(sub, 'model.onnx');
  fs.writeFileSync(file, m.encode());
  return openOnnx(file);
}

function tensor(m: ModelFile, id: string): TensorRef {
  const t = m.tensors.find((x) => x.id === id);
  assert.ok(t, `tensor ${id} exists (have ${m.tensors.map((x) => x.id).join(', ')})`);
  return t;
}

function bytes(t: TensorRef): string {
  const files = new FileSet();
  try {
    const b = Buffer.alloc(t.byteLength);
    files.readTensor(t, 0, b);
    return b.toString('hex');
  } finally {
    files.close();
  }
}

function oneInit(t: Msg): Msg {
  return model(graph({ initializers: [t], nodes: [node('Identity', ['x'], ['y'])] }));
}

test('fp16 and bf16 bit patterns in int32_data decode to little-endian bytes', async () => {
  // 1.0, -2.0, NaN as float16 bit patterns.
  const fp16 = await open(oneInit(tensorProto('h', DT.FLOAT16, [3]).packed(5, [0x3c00, 0xc000, 0x7e00])));
  const h = tensor(fp16, 'h');
  assert.equal(h.dtype, 'float16');
  assert.equal(h.data.kind, 'inline');
  assert.equal(bytes(h), '003c00c0007e');
  // bfloat16 1.0 and -0.0.
  const bf16 = await open(oneInit(tensorProto('b', DT.BFLOAT16, [2]).packed(5, [0x3f80, 0x8000])));
  assert.equal(bytes(tensor(bf16, 'b')), '803f0080');
});

test('int8 / bool / int4 in int32_data, sign-extended negatives keep their bits', async () => {
  const m = await open(model(graph({
    initializers: [
      tensorProto('i8', DT.INT8, [3]).packed(5, [-1, 127, -128]),
      tensorProto('u8', DT.UINT8, [2]).varint(5, 200).varint(5, 7), // unpacked repeats
      tensorProto('flag', DT.BOOL, [2]).packed(5, [1, 0]),
      tensorProto('i16', DT.INT16, [1]).packed(5, [-2]),
      // Three int4 elements: two per byte, low nibble first; one int32_data value per byte.
      tensorProto('q4', DT.INT4, [3]).packed(5, [0x21, 0x03]),
    ],
  })));
  assert.equal(bytes(tensor(m, 'i8')), 'ff7f80');
  assert.equal(bytes(tensor(m, 'u8')), 'c807');
  assert.equal(bytes(tensor(m, 'flag')), '0100');
  assert.equal(bytes(tensor(m, 'i16')), 'feff');
  const q4 = tensor(m, 'q4');
  assert.equal(q4.byteLength, 2);
  assert.equal(bytes(q4), '2103');
});

test('int64_data, uint64_data (uint32 and uint64) decode to canonical bytes', async () => {
  const m = await open(model(graph({
    initializers: [
      tensorProto('i64', DT.INT64, [2]).varint(7, 5).varint(7, -7n),
      tensorProto('u32', DT.UINT32, [2]).packed(11, [0xffffffff, 1]),
      tensorProto('u64', DT.UINT64, [1]).packed(11, [-1n]),
    ],
  })));
  assert.equal(bytes(tensor(m, 'i64')), '0500000000000000f9ffffffffffffff');
  assert.equal(bytes(tensor(m, 'u32')), 'ffffffff01000000');
  assert.equal(bytes(tensor(m, 'u64')), 'ffffffffffffffff');
});

test('packed float_data / double_data are byte ranges; unpacked ones are decoded', async () => {
  const packed = floatRaw([1.5, -2, 3.25]);
  const d = Buffer.alloc(16);
  d.writeDoubleLE(Math.PI, 0);
  d.writeDoubleLE(-0, 8);
  const m = await open(model(graph({
    initializers: [
      tensorProto('fp', DT.FLOAT, [3]).bytes(4, packed),
      // Protobuf concatenates repeated packed fields: two runs, one tensor.
      tensorProto('fp2', DT.FLOAT, [3]).bytes(4, packed.subarray(0, 4)).bytes(4, packed.subarray(4)),
      tensorProto('fu', DT.FLOAT, [2]).fixed32(4, 0x3fc00000).fixed32(4, 0x7fc00001), // 1.5, a NaN payload
      tensorProto('dp', DT.DOUBLE, [2]).bytes(10, d),
      tensorProto('raw', DT.FLOAT, []).bytes(9, floatRaw([7])),
    ],
  })));
  const fp = tensor(m, 'fp');
  assert.equal(fp.data.kind, 'range');
  assert.equal(bytes(fp), Buffer.from(packed).toString('hex'));
  const fp2 = tensor(m, 'fp2');
  assert.ok(fp2.data.kind === 'ranges' && fp2.data.ranges.length === 2);
  assert.equal(bytes(fp2), Buffer.from(packed).toString('hex'));
  const fu = tensor(m, 'fu');
  assert.equal(fu.data.kind, 'inline');
  assert.equal(bytes(fu), '0000c03f0100c07f');
  const dp = tensor(m, 'dp');
  assert.equal(dp.data.kind, 'range');
  assert.equal(bytes(dp), d.toString('hex'));
  const raw = tensor(m, 'raw');
  assert.deepEqual(raw.shape, []);
  assert.equal(raw.elementCount, 1);
  assert.equal(bytes(raw), '0000e040');
});

test('string tensors and sparse initializers are reported with unavailable data', async () => {
  const values = tensorProto('sp', DT.FLOAT, [2]).bytes(9, floatRaw([1, 2]));
  const indices = tensorProto('sp_idx', DT.INT64, [2]).packed(7, [0, 5]);
  const sparse = new Msg().msg(1, values).msg(2, indices).packed(3, [2, 3]);
  const m = await open(model(graph({
    initializers: [tensorProto('words', DT.STRING, [2]).string(6, 'a').string(6, 'bc')],
    sparse: [sparse],
    nodes: [node('Add', ['sp', 'sp'], ['y'])],
  })));
  const words = tensor(m, 'words');
  assert.equal(words.data.kind, 'unavailable');
  const sp = tensor(m, 'sp');
  assert.equal(sp.role, 'sparse');
  assert.deepEqual(sp.shape, [2, 3]);
  assert.equal(sp.elementCount, 6);
  assert.equal(sp.data.kind, 'unavailable');
  assert.equal(sp.consumers.length, 2, 'one node reading it twice counts twice');
});

test('Constant nodes: value tensor, value_float(s), value_int(s)', async () => {
  const m = await open(model(graph({
    nodes: [
      node('Constant', [], ['c_t'], { name: 'k0', attrs: [attr.tensor('value', tensorProto('', DT.FLOAT, [2]).bytes(9, floatRaw([1, 2])))] }),
      node('Constant', [], ['c_f'], { attrs: [attr.float('value_float', 0x40490fdb)] }),
      node('Constant', [], ['c_fs'], { attrs: [attr.floats('value_floats', [0.5, 4])] }),
      node('Constant', [], ['c_i'], { attrs: [attr.int('value_int', -3)] }),
      node('Constant', [], ['c_is'], { attrs: [attr.ints('value_ints', [1, 2, 3])] }),
      node('Add', ['c_t', 'c_f'], ['y']),
    ],
  })));
  const ct = tensor(m, 'c_t');
  assert.equal(ct.role, 'constant');
  assert.equal(ct.name, 'c_t');
  assert.equal(bytes(ct), Buffer.from(floatRaw([1, 2])).toString('hex'));
  assert.deepEqual(m.graph!.main.nodes[0].attributes.value, { tensor: 'c_t' });
  assert.equal(ct.consumers.length, 1);
  assert.equal(bytes(tensor(m, 'c_f')), 'db0f4940');
  assert.equal(bytes(tensor(m, 'c_fs')), Buffer.from(floatRaw([0.5, 4])).toString('hex'));
  assert.equal(bytes(tensor(m, 'c_i')), 'fdffffffffffffff');
  assert.equal(tensor(m, 'c_is').elementCount, 3);
  assert.deepEqual(m.graph!.main.nodes[4].attributes.value_ints, [1, 2, 3]);
});

test('subgraphs: ids prefixed by owning node names, outer reads counted, local names shadow', async () => {
  const w = tensorProto('w', DT.FLOAT, [1]).bytes(9, floatRaw([1]));
  const innerC = tensorProto('c', DT.FLOAT, [1]).bytes(9, floatRaw([2]));
  // then: reads outer w and its own c; a nested Loop (unnamed) reads w and c again.
  const loopBody = graph({ name: 'body', nodes: [node('Add', ['w', 'c'], ['z'])], initializers: [tensorProto('k', DT.FLOAT, [1]).bytes(9, floatRaw([3]))] });
  const thenG = graph({
    name: 'then', initializers: [innerC],
    nodes: [node('Mul', ['w', 'c'], ['t']), node('Loop', ['', ''], ['l'], { attrs: [attr.graph('body', loopBody)] })],
  });
  // else: declares an input named w, which shadows the outer initializer.
  const elseG = graph({ name: 'else', inputs: [valueInfo('w')], nodes: [node('Neg', ['w'], ['e'])] });
  const m = await open(model(graph({
    initializers: [w],
    nodes: [node('If', ['cond'], ['out'], { name: 'If_0', attrs: [attr.graph('then_branch', thenG), attr.graph('else_branch', elseG)] })],
  })));
  assert.deepEqual(m.tensors.map((t) => t.id).sort(), ['If_0//k', 'If_0/c', 'w']);
  const ifNode = m.graph!.main.nodes[0];
  assert.deepEqual(ifNode.attributes.then_branch, { graph: 'If_0/then_branch' });
  assert.deepEqual(ifNode.subgraphs.map((g) => g.path), ['If_0/then_branch', 'If_0/else_branch']);
  assert.equal(ifNode.subgraphs[0].nodes[1].subgraphs[0].path, 'If_0/then_branch/#1/body');
  const wt = tensor(m, 'w');
  assert.deepEqual(wt.consumers.map((c) => [c.graphPath, c.nodeIndex, c.inputIndex]), [
    ['If_0/then_branch', 0, 0],
    ['If_0/then_branch/#1/body', 0, 0],
  ]);
  assert.deepEqual(tensor(m, 'If_0/c').consumers.map((c) => c.graphPath), ['If_0/then_branch', 'If_0/then_branch/#1/body']);
  assert.equal(tensor(m, 'If_0/c').graphPath, 'If_0/then_branch');
});

test('external data: offset and length, missing length means to the end of the file', async () => {
  const data = Buffer.concat([Buffer.alloc(16, 0xee), Buffer.from(floatRaw([1, 2, 3]))]);
  const ext = (name: string, entries: Array<[string, string]>): Msg => {
    const t = tensorProto(name, DT.FLOAT, [name === 'a' ? 3 : 1]).varint(14, 1);
    for (const [k, v] of entries) t.msg(13, new Msg().string(1, k).string(2, v));
    return t;
  };
  const m = await open(model(graph({
    initializers: [
      ext('a', [['location', 'weights.bin'], ['offset', '16'], ['length', '12']]),
      ext('b', [['location', './sub/../weights.bin'], ['offset', '24']]),
    ],
  })), { 'weights.bin': data });
  const a = tensor(m, 'a');
  assert.equal(a.data.kind, 'range');
  assert.equal(bytes(a), Buffer.from(floatRaw([1, 2, 3])).toString('hex'));
  assert.equal(bytes(tensor(m, 'b')), Buffer.from(floatRaw([3])).toString('hex'));
});

test('names from the file cannot reach object prototypes', async () => {
  const m = await open(model(graph({ nodes: [node('Op', [], ['y'], { attrs: [attr.int('__proto__', 1), attr.int('k', 2)] })] }))
    .msg(14, new Msg().string(1, '__proto__').string(2, 'x')));
  const attrs = m.graph!.main.nodes[0].attributes;
  assert.equal(Object.getPrototypeOf(attrs), Object.prototype);
  assert.deepEqual(Object.keys(attrs).sort(), ['__proto__', 'k']);
  assert.equal(Object.getOwnPropertyDescriptor(m.metadata, '__proto__')?.value, 'x');
});
