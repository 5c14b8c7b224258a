import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openOnnx } from '../../../../extension/model/onnx/reader';
import { storedRanges, type ByteRange, type TensorRef } from '../../../../extension/model/types';
import {
  encodeAttribute, encodeGraph, encodeModel, encodeNode, encodeTensor, encodeValueInfo, writeOnnx,
  Encoded, ExternalDataFile, MessageWriter,
} from '../../../../extension/model/onnx/writer';
import { runModel } from '../../../../extension/check/runner';

const corpus = path.join(__dirname, '..', '..', '..', 'fixtures', 'corpus');
const bert = path.join(corpus, 'bert-tiny-mlm.onnx');

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-writer-'));
}

function bytesOf(t: TensorRef): Buffer {
  const ranges = storedRanges(t.data);
  assert.ok(ranges, `${t.name} has ranges`);
  return Buffer.concat(ranges.map((r) => {
    const b = Buffer.alloc(r.length);
    const fd = fs.openSync(r.file, 'r');
    try { fs.readSync(fd, b, 0, r.length, r.offset); } finally { fs.closeSync(fd); }
    return b;
  }));
}

/** A float32 2-D weight of the real corpus model, by its byte range in the file. */
async function corpusWeight(): Promise<{ range: ByteRange; rows: number; cols: number; values: Float32Array }> {
  const model = await openOnnx(bert);
  const t = model.tensors.find((x) => x.role === 'initializer' && x.dtype === 'float32' && x.shape.length === 2 && x.byteLength > 4096);
  assert.ok(t && t.data.kind === 'range', 'a raw 2-D float32 initializer');
  const bytes = bytesOf(t);
  return { range: t.data, rows: t.shape[0]!, cols: t.shape[1]!, values: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) };
}

test('a streamed payload stays a reference to its byte range: nothing is copied, lengths are exact', async () => {
  const w = await corpusWeight();
  const t = encodeTensor({ name: 'W', dtype: 'float32', dims: [w.rows, w.cols], data: { raw: [w.range] } });
  assert.ok(t.pieces.includes(w.range), 'the range itself is a piece');
  const inMemory = t.pieces.filter((p): p is Uint8Array => p instanceof Uint8Array).reduce((s, p) => s + p.length, 0);
  assert.ok(inMemory < 64, `only headers are in memory (${inMemory} bytes)`);
  assert.equal(t.length, inMemory + w.range.length);
  // Nested: the graph's length prefix accounts for the streamed bytes.
  const g = new MessageWriter().message(5, t).finish();
  assert.equal(g.length, t.length + 1 + varintSize(t.length));
});

function varintSize(n: number): number {
  let s = 1;
  while (n >= 128) { n = Math.floor(n / 128); s++; }
  return s;
}

test('every message kind round-trips through the project reader', async () => {
  const dir = scratch();
  const file = path.join(dir, 'all.onnx');
  const w = await corpusWeight();
  const branch = encodeGraph({
    name: 'then_graph',
    nodes: [encodeNode({ name: 'then_id', opType: 'Identity', inputs: ['W'], outputs: ['then_out'] })],
    inputs: [], outputs: [encodeValueInfo({ name: 'then_out', dtype: 'float32' })],
  });
  const attrs = [
    encodeAttribute({ name: 'f', kind: 'float', value: 0.5 }),
    encodeAttribute({ name: 'i', kind: 'int', value: -3 }),
    encodeAttribute({ name: 'big', kind: 'int', value: 2n ** 62n }),
    encodeAttribute({ name: 's', kind: 'string', value: 'héllo' }),
    encodeAttribute({ name: 'fs', kind: 'floats', value: [1.5, -2] }),
    encodeAttribute({ name: 'is', kind: 'ints', value: [0, -1, 7] }),
    encodeAttribute({ name: 'ss', kind: 'strings', value: ['a', 'b'] }),
    encodeAttribute({ name: 'then_branch', kind: 'graph', value: branch }),
    encodeAttribute({ name: 'else_branch', kind: 'graph', value: branch }),
  ];
  const graph = encodeGraph({
    name: 'g', docString: 'graph doc',
    nodes: [
      encodeNode({ name: 'if', opType: 'If', inputs: ['cond'], outputs: ['y'], attributes: attrs, docString: 'node doc' }),
      encodeNode({ name: 'c', opType: 'Constant', inputs: [], outputs: ['k'], domain: 'ai.onnx', attributes: [{ name: 'value', kind: 'tensor', value: encodeTensor({ name: 'kv', dtype: 'int64', dims: [3], data: { int64: [-1, 0, 2n ** 40n] } }) }] }),
    ],
    initializers: [
      encodeTensor({ name: 'W', dtype: 'float32', dims: [w.rows, w.cols], data: { raw: [w.range] }, docString: 'weight' }),
      encodeTensor({ name: 'f32', dtype: 'float32', dims: [2], data: { float: [1, -0] } }),
      encodeTensor({ name: 'i32', dtype: 'int32', dims: [2], data: { int32: [-5, 5] } }),
      encodeTensor({ name: 'f64', dtype: 'float64', dims: [1], data: { double: [Math.PI] } }),
      encodeTensor({ name: 'scalar', dtype: 'int64', dims: [], data: { int64: [7] } }),
    ],
    inputs: [encodeValueInfo({ name: 'cond', dtype: 'bool', shape: [] })],
    outputs: [encodeValueInfo({ name: 'y', dtype: 'float32', shape: ['n', w.cols, null] })],
    valueInfo: [encodeValueInfo({ name: 'k', dtype: 'int64', shape: [3] })],
  });
  const model = encodeModel({
    irVersion: 8, opsets: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
    producerName: 'writer-test', producerVersion: '1', docString: 'model doc', graph, metadata: { a: '1', b: 'two' },
  });
  const { modelBytes } = await writeOnnx(file, model);
  assert.equal(modelBytes, model.length);
  assert.equal(fs.statSync(file).size, model.length);

  const m = await openOnnx(file);
  assert.equal(m.graph!.irVersion, 8);
  assert.deepEqual(m.graph!.opsets, [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }]);
  assert.equal(m.producer?.startsWith('writer-test'), true);
  assert.equal(m.docString, 'model doc');
  assert.deepEqual(m.metadata, { a: '1', b: 'two' });
  assert.equal(m.graph!.main.name, 'g');
  const [ifNode, constNode] = m.graph!.main.nodes;
  assert.equal(ifNode?.opType, 'If');
  assert.equal(ifNode?.docString, 'node doc');
  assert.equal(ifNode?.attributes.f, 0.5);
  assert.equal(ifNode?.attributes.i, -3);
  assert.equal(ifNode?.attributes.s, 'héllo');
  assert.deepEqual(ifNode?.attributes.fs, [1.5, -2]);
  assert.deepEqual(ifNode?.attributes.is, [0, -1, 7]);
  assert.deepEqual(ifNode?.attributes.ss, ['a', 'b']);
  assert.equal(ifNode?.subgraphs.length, 2);
  assert.deepEqual(ifNode?.subgraphs[0]?.nodes.map((n) => n.inputs), [['W']]);
  assert.equal(constNode?.domain, 'ai.onnx');
  assert.deepEqual(m.graph!.main.inputs, [{ name: 'cond', type: 'tensor(bool)', dtype: 'bool', shape: [] }]);
  assert.deepEqual(m.graph!.main.outputs[0]?.shape, ['n', w.cols, null]);
  assert.deepEqual(m.graph!.main.valueInfo.map((v) => v.name), ['k']);

  const byName = new Map(m.tensors.map((t) => [t.name, t]));
  const W = byName.get('W')!;
  assert.deepEqual(W.shape, [w.rows, w.cols]);
  assert.ok(bytesOf(W).equals(Buffer.from(w.values.buffer, w.values.byteOffset, w.values.byteLength)));
  assert.equal(W.consumers.length, 2, 'read by both If branches');
  assert.ok(bytesOf(byName.get('f32')!).equals(Buffer.from(new Float32Array([1, -0]).buffer)));
  const kv = byName.get('k')!; // constants are named by the node output they define
  assert.equal(kv.role, 'constant');
  assert.ok(kv.data.kind === 'inline' && Buffer.from(kv.data.bytes).equals(Buffer.from(new BigInt64Array([-1n, 0n, 2n ** 40n]).buffer)));
  const i32 = byName.get('i32')!;
  assert.ok(i32.data.kind === 'inline' && Buffer.from(i32.data.bytes).equals(Buffer.from(new Int32Array([-5, 5]).buffer)));
  assert.ok(bytesOf(byName.get('f64')!).equals(Buffer.from(new Float64Array([Math.PI]).buffer)));
  assert.deepEqual(byName.get('scalar')?.shape, []);
});

/** y = x · W for a 1 x rows input, computed here in float64 then rounded. */
function matVec(x: Float32Array, w: { rows: number; cols: number; values: Float32Array }): Float32Array {
  const y = new Float32Array(w.cols);
  for (let c = 0; c < w.cols; c++) {
    let s = 0;
    for (let r = 0; r < w.rows; r++) s += x[r]! * w.values[r * w.cols + c]!;
    y[c] = s;
  }
  return y;
}

function matMulModel(weight: Encoded, rows: number, cols: number): Encoded {
  return encodeModel({
    irVersion: 8, opsets: [{ domain: '', version: 17 }],
    graph: encodeGraph({
      name: 'mm',
      nodes: [encodeNode({ name: 'mm', opType: 'MatMul', inputs: ['x', 'W'], outputs: ['y'] })],
      initializers: [weight],
      inputs: [encodeValueInfo({ name: 'x', dtype: 'float32', shape: [1, rows] })],
      outputs: [encodeValueInfo({ name: 'y', dtype: 'float32', shape: [1, cols] })],
    }),
  });
}

test('written models run in onnxruntime-web: inline raw_data and external data give x·W', async () => {
  const dir = scratch();
  const w = await corpusWeight();
  const x = new Float32Array(w.rows).map((_, i) => Math.sin(i + 1));
  const expected = matVec(x, w);
  const feeds = [{ name: 'x', dtype: 'float32' as const, dims: [1, w.rows], data: x }];

  const inline = path.join(dir, 'inline.onnx');
  await writeOnnx(inline, matMulModel(encodeTensor({ name: 'W', dtype: 'float32', dims: [w.rows, w.cols], data: { raw: [w.range] } }), w.rows, w.cols));

  const data = new ExternalDataFile('external.onnx.data');
  data.add([new Uint8Array(10)]); // something before it, so the offset is not 0
  const ref = data.add([w.range]);
  const external = path.join(dir, 'external.onnx');
  await writeOnnx(external, matMulModel(encodeTensor({ name: 'W', dtype: 'float32', dims: [w.rows, w.cols], data: { external: ref } }), w.rows, w.cols), { data });
  assert.deepEqual(fs.readdirSync(dir).sort(), ['external.onnx', 'external.onnx.data', 'inline.onnx']);

  for (const file of [inline, external]) {
    const { outputs } = await runModel(file, feeds, { model: await openOnnx(file) });
    const y = outputs[0]!.data as Float32Array;
    assert.deepEqual(outputs[0]!.dims, [1, w.cols]);
    for (let c = 0; c < w.cols; c++) assert.ok(Math.abs(y[c]! - expected[c]!) <= 1e-4 * (1 + Math.abs(expected[c]!)), `${file} y[${c}]`);
  }
});

test('external data layout: tensors over 1 MiB start on 64 KiB boundaries, small ones are packed', async () => {
  const dir = scratch();
  const big = { length: 1024 * 1024 + 4, fill(position: number, dst: Uint8Array) { for (let i = 0; i < dst.length; i++) dst[i] = (position + i) % 251; } };
  const data = new ExternalDataFile('m.onnx.data');
  const a = data.add([new Uint8Array([1, 2, 3])]);
  const b = data.add([big]);
  const c = data.add([new Uint8Array([4, 5])]);
  const d = data.add([big]);
  assert.deepEqual([a.offset, b.offset, c.offset, d.offset], [0, 65536, 65536 + big.length, 65536 * 18]);
  assert.equal(data.length, d.offset + big.length);
  const tensors = [a, b, c, d].map((ref, i) => encodeTensor({ name: `t${i}`, dtype: 'uint8', dims: [ref.length], data: { external: ref } }));
  const file = path.join(dir, 'm.onnx');
  await writeOnnx(file, encodeModel({
    irVersion: 8, opsets: [{ domain: '', version: 17 }],
    graph: encodeGraph({ name: 'g', nodes: [], initializers: tensors, inputs: [], outputs: [] }),
  }), { data });
  const m = await openOnnx(file);
  const dataPath = path.join(dir, 'm.onnx.data');
  for (const [i, ref] of [a, b, c, d].entries()) {
    const t = m.tensors.find((x) => x.name === `t${i}`)!;
    assert.deepEqual(t.data, { kind: 'range', file: dataPath, offset: ref.offset, length: ref.length });
  }
  const bytes = fs.readFileSync(dataPath);
  assert.deepEqual([...bytes.subarray(0, 3)], [1, 2, 3]);
  assert.ok(bytes.subarray(3, 65536).every((v) => v === 0), 'zero padding');
  assert.equal(bytes[65536 + 1000], 1000 % 251);
});

test('refuses an external data location that leaves the model folder, and a model over 2 GiB', async () => {
  assert.throws(() => new ExternalDataFile('../x.data'), /plain name/);
  assert.throws(() => new ExternalDataFile('/abs.data'), /plain name/);
  const huge = new Encoded([{ length: 2 ** 31, fill() { /* never called */ } }], 2 ** 31);
  await assert.rejects(writeOnnx(path.join(scratch(), 'huge.onnx'), huge), /over protobuf's 2 GiB limit/);
});
