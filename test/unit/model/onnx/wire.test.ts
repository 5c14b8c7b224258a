// The windowed wire iterator: field ranges, nesting, bounds, and values that
// straddle the reader's 1 MiB window.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WireFile, fieldAt, listFields, int64Value, longToSafe, WIRE_LEN, WIRE_VARINT, WIRE_I32, WIRE_I64 } from '../../../../extension/model/onnx/wire';
import { openOnnx, readOnnxLayout } from '../../../../extension/model/onnx/reader';
import { ModelFormatError } from '../../../../extension/model/types';
import { DT, Msg, graph, model, node, tensorProto } from './onnxBuilder';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-wire-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
}

test('fields carry their absolute ranges, values and wire types', () => {
  const inner = new Msg().string(1, 'hello');
  const bytes = new Msg().varint(1, 300).msg(2, inner).fixed32(3, 0xdeadbeef).fixed64(4, 1, 2).string(5, '').encode();
  const p = file('fields.bin', bytes);
  const w = new WireFile(p);
  try {
    const fields = listFields(w, 0, w.size, 'test message');
    assert.deepEqual(fields.map((f) => [f.field, f.wireType]), [[1, WIRE_VARINT], [2, WIRE_LEN], [3, WIRE_I32], [4, WIRE_I64], [5, WIRE_LEN]]);
    assert.equal(fields[0].lo, 300);
    assert.equal(fields[0].start, 0);
    assert.equal(fields[0].end, fields[1].start, 'fields are contiguous');
    assert.equal(fields.at(-1)?.end, bytes.length);
    const f2 = fields[1];
    assert.deepEqual(Buffer.from(bytes.subarray(f2.offset, f2.end)), Buffer.from(inner.encode()), 'payload range is the nested message');
    const nested = [...w.nested(f2, 'inner')];
    assert.equal(nested.length, 1);
    assert.equal(w.string(nested[0], 100, 'greeting'), 'hello');
    assert.equal(nested[0].offset, f2.offset + 2);
    assert.equal(fields[2].lo, 0xdeadbeef);
    assert.deepEqual([fields[3].lo, fields[3].hi], [1, 2]);
    assert.equal(fields[4].length, 0);
  } finally {
    w.close();
  }
});

test('bounds: lengths past the range, reads past the file, caps before allocating', () => {
  const bytes = new Msg().msg(1, new Msg().string(1, 'abcdef')).encode();
  const p = file('bounds.bin', bytes);
  const w = new WireFile(p);
  try {
    // Iterating the outer message's first 3 bytes: field 1 claims more than that.
    assert.throws(() => listFields(w, 0, 3, 'cut message'), (e: unknown) => e instanceof ModelFormatError && /claims 8 bytes but only 1 remain/.test(e.problem) && e.offset === 0);
    assert.throws(() => w.fields(0, w.size + 1, 'too long'), ModelFormatError);
    assert.throws(() => w.bytes(0, 1 << 30, 1 << 20, 'a big blob'), (e: unknown) => e instanceof ModelFormatError && /over the 1048576-byte limit/.test(e.problem));
    assert.throws(() => w.bytes(2, 100, 1 << 20, 'a blob'), (e: unknown) => e instanceof ModelFormatError && /runs past the end of the file/.test(e.problem));
  } finally {
    w.close();
  }
});

test('int64 values: exact up to 2^53, negative, refused beyond', () => {
  const p = file('ints.bin', new Msg().varint(1, 2 ** 53 - 1).varint(1, -5n).varint(1, 2n ** 60n).encode());
  const w = new WireFile(p);
  try {
    const [a, b, c] = listFields(w, 0, w.size, 'ints');
    assert.equal(int64Value(w, a, 'a'), 2 ** 53 - 1);
    assert.equal(int64Value(w, b, 'b'), -5);
    assert.throws(() => int64Value(w, c, 'c'), (e: unknown) => e instanceof ModelFormatError && /exceeds 2\^53/.test(e.problem));
    assert.equal(longToSafe(w, 0xffffffff, 0xffffffff, 'minus one', 0), -1);
    assert.throws(() => longToSafe(w, 0, 0x80000000, 'int64 min', 0), ModelFormatError);
  } finally {
    w.close();
  }
});

test('packed varints spanning several windows decode exactly', () => {
  // Over 2 MiB of varints of mixed widths: crosses the 1 MiB window repeatedly.
  const values: bigint[] = [];
  for (let i = 0; i < 400_000; i++) values.push(BigInt(i) * 7919n * (i % 3 === 0 ? -1n : 1n) * (i % 5 === 0 ? 1_000_000_007n : 1n));
  const p = file('packed.bin', new Msg().string(2, 'x').packed(7, values).encode());
  const w = new WireFile(p);
  try {
    const f = listFields(w, 0, w.size, 'packed').find((x) => x.field === 7);
    assert.ok(f && f.length > 2 << 20, `${f?.length} bytes of varints`);
    let k = 0;
    const n = w.packedVarints(f.offset, f.length, 'packed', (lo, hi) => {
      const got = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
      if (got !== values[k]) assert.fail(`value ${k}: ${got} !== ${values[k]}`);
      k++;
    });
    assert.equal(n, values.length);
  } finally {
    w.close();
  }
});

test('a model with 60k nodes (names straddling window edges) reads every name', async () => {
  const nodes: Msg[] = [];
  for (let i = 0; i < 60_000; i++) nodes.push(node('Relu', [`t${i}`], [`t${i + 1}`], { name: `node_${'x'.repeat(i % 37)}_${i}` }));
  const p = file('many.onnx', model(graph({ nodes, initializers: [tensorProto('t0', DT.FLOAT, [0])] })).encode());
  assert.ok(fs.statSync(p).size > 2 << 20);
  const m = await openOnnx(p);
  assert.equal(m.graph!.main.nodes.length, 60_000);
  m.graph!.main.nodes.forEach((n, i) => {
    if (n.name !== `node_${'x'.repeat(i % 37)}_${i}` || n.inputs[0] !== `t${i}`) assert.fail(`node ${i}: ${n.name}`);
  });
  assert.equal(m.tensors[0].consumers.length, 1);
});

test('readOnnxLayout lists ModelProto and GraphProto field ranges of a real model', () => {
  const p = path.join(__dirname, '../../../fixtures/corpus/gpt2-tiny.onnx');
  const layout = readOnnxLayout(p);
  const bytes = fs.readFileSync(p);
  assert.equal(layout.fileSize, bytes.length);
  assert.equal(layout.model[0].start, 0);
  assert.equal(layout.model.at(-1)?.end, bytes.length);
  assert.equal(layout.graphFields[0].start, layout.graph.offset);
  assert.equal(layout.graphFields.at(-1)?.end, layout.graph.end);
  assert.equal(layout.graphFields.filter((f) => f.field === 5).length, 28, 'initializers');
  assert.equal(layout.graphFields.filter((f) => f.field === 1).length, 81, 'nodes');
  // Concatenating the fields verbatim rebuilds the message byte for byte.
  const rebuilt = Buffer.concat(layout.graphFields.map((f) => bytes.subarray(f.start, f.end)));
  assert.ok(rebuilt.equals(bytes.subarray(layout.graph.offset, layout.graph.end)));
});

test('fieldAt finds the TensorProto field a TensorRef points at', async () => {
  const p = path.join(__dirname, '../../../fixtures/corpus/gpt2-tiny.onnx');
  const m = await openOnnx(p);
  const layout = readOnnxLayout(p);
  const w = new WireFile(p);
  try {
    for (const t of m.tensors) {
      const f = fieldAt(w, t.recordOffset!, layout.graph.end, t.id);
      assert.equal(f.field, 5, `${t.id} is an initializer field`);
      assert.ok(layout.graphFields.some((g) => g.start === f.start && g.end === f.end));
      if (t.data.kind === 'range') assert.ok(t.data.offset > f.offset && t.data.offset < f.end);
    }
  } finally {
    w.close();
  }
});
