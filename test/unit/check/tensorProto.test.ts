// TensorProto decoding: every test data file of the corpus, plus the typed
// fields the corpus files do not use (they all carry raw_data), built with
// protobufjs's Writer field by field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writer } from 'protobufjs/minimal';
import {
  decodeTensorProto, encodeTensorProto, floatToHalf, halfToFloat, bfloat16ToFloat, elementAsNumber,
  TensorProtoError, type TensorValue,
} from '../../../extension/check/tensorProto';
import { readTestDataDir, findTestDataDirs, TestDataError } from '../../../extension/check/testData';
import { acceptedModels, modelPath, testDataDir, outputShapes, CORPUS } from './corpus';

test('every corpus test data folder decodes, outputs match the manifest shapes', () => {
  for (const file of acceptedModels) {
    const data = readTestDataDir(testDataDir(file));
    assert.ok(data.inputs.length >= 1, `${file}: inputs`);
    assert.equal(data.outputs.length, 1, `${file}: one output`);
    const expected = outputShapes(file);
    if (expected) assert.deepEqual(data.outputs.map((o) => o.dims), expected, `${file}: output shapes`);
    for (const t of [...data.inputs, ...data.outputs]) {
      const count = t.dims.reduce((a, b) => a * b, 1);
      assert.equal(t.data.length, count, `${file}/${t.name}: element count`);
      if (t.dtype === 'float32') assert.ok(Array.from(t.data as Float32Array).every(Number.isFinite), `${file}/${t.name}: finite`);
    }
  }
});

test('token ids and masks decode as int64 values (bert-tiny-mlm)', () => {
  const data = readTestDataDir(testDataDir('bert-tiny-mlm.onnx'));
  const [ids, mask] = data.inputs;
  assert.equal(ids.name, 'input_ids');
  assert.equal(ids.dtype, 'int64');
  assert.deepEqual(ids.dims, [1, 8]);
  assert.ok(ids.data instanceof BigInt64Array);
  for (const v of ids.data as BigInt64Array) assert.ok(v >= 0n && v < 1000n);
  assert.deepEqual(Array.from(mask.data as BigInt64Array), new Array(8).fill(1n));
});

test('a scalar int64 input (loop-rnn trip count) has no dims', () => {
  const data = readTestDataDir(testDataDir('loop-rnn.onnx'));
  const n = data.inputs[1];
  assert.deepEqual(n.dims, []);
  assert.deepEqual(Array.from(n.data as BigInt64Array), [3n]);
});

/** Field-by-field TensorProto, for the typed data fields. */
function proto(fields: (w: Writer) => void): Uint8Array {
  const w = Writer.create();
  fields(w);
  return w.finish();
}
const dimsField = (w: Writer, dims: number[]) => { w.uint32((1 << 3) | 2).fork(); for (const d of dims) w.int64(d); w.ldelim(); };

test('float_data, packed and unpacked', () => {
  const packed = decodeTensorProto(proto((w) => {
    dimsField(w, [2, 2]);
    w.uint32(2 << 3).int32(1);
    w.uint32((4 << 3) | 2).fork().float(1.5).float(-2).float(0).float(3.25).ldelim();
  }));
  assert.equal(packed.dtype, 'float32');
  assert.deepEqual(Array.from(packed.data as Float32Array), [1.5, -2, 0, 3.25]);
  const unpacked = decodeTensorProto(proto((w) => {
    w.uint32((1 << 3) | 0).int64(2);
    w.uint32(2 << 3).int32(1);
    w.uint32((4 << 3) | 5).float(7);
    w.uint32((4 << 3) | 5).float(-7);
  }));
  assert.deepEqual(unpacked.dims, [2]);
  assert.deepEqual(Array.from(unpacked.data as Float32Array), [7, -7]);
});

test('int64_data keeps all 64 bits, negatives included', () => {
  const big = 2n ** 62n + 12345n;
  const t = decodeTensorProto(proto((w) => {
    dimsField(w, [3]);
    w.uint32(2 << 3).int32(7);
    w.uint32((7 << 3) | 2).fork().int64(-1).int64(big.toString()).int64(42).ldelim();
  }));
  assert.equal(t.dtype, 'int64');
  assert.deepEqual(Array.from(t.data as BigInt64Array), [-1n, big, 42n]);
});

test('int32_data carries int8, uint16, bool and fp16 bit patterns', () => {
  const i8 = decodeTensorProto(proto((w) => { dimsField(w, [3]); w.uint32(2 << 3).int32(3); w.uint32((5 << 3) | 2).fork().int32(-128).int32(127).int32(-1).ldelim(); }));
  assert.deepEqual(Array.from(i8.data as Int8Array), [-128, 127, -1]);
  const u16 = decodeTensorProto(proto((w) => { dimsField(w, [2]); w.uint32(2 << 3).int32(4); w.uint32((5 << 3) | 2).fork().int32(65535).int32(1).ldelim(); }));
  assert.deepEqual(Array.from(u16.data as Uint16Array), [65535, 1]);
  const bool = decodeTensorProto(proto((w) => { dimsField(w, [2]); w.uint32(2 << 3).int32(9); w.uint32((5 << 3) | 2).fork().int32(1).int32(0).ldelim(); }));
  assert.equal(bool.dtype, 'bool');
  assert.deepEqual(Array.from(bool.data as Uint8Array), [1, 0]);
  const half = decodeTensorProto(proto((w) => {
    dimsField(w, [3]); w.uint32(2 << 3).int32(10);
    w.uint32((5 << 3) | 2).fork().int32(floatToHalf(1)).int32(floatToHalf(-0.5)).int32(floatToHalf(65504)).ldelim();
  }));
  assert.equal(half.dtype, 'float16');
  assert.deepEqual([0, 1, 2].map((i) => elementAsNumber(half, i)), [1, -0.5, 65504]);
});

test('double_data and uint64_data', () => {
  const d = decodeTensorProto(proto((w) => { dimsField(w, [2]); w.uint32(2 << 3).int32(11); w.uint32((10 << 3) | 2).fork().double(Math.PI).double(-1e300).ldelim(); }));
  assert.deepEqual(Array.from(d.data as Float64Array), [Math.PI, -1e300]);
  const u = decodeTensorProto(proto((w) => { dimsField(w, [2]); w.uint32(2 << 3).int32(13); w.uint32((11 << 3) | 2).fork().uint64('18446744073709551615').uint64(5).ldelim(); }));
  assert.deepEqual(Array.from(u.data as BigUint64Array), [2n ** 64n - 1n, 5n]);
  const u32 = decodeTensorProto(proto((w) => { dimsField(w, [1]); w.uint32(2 << 3).int32(12); w.uint32((11 << 3) | 2).fork().uint64(4294967295).ldelim(); }));
  assert.deepEqual(Array.from(u32.data as Uint32Array), [4294967295]);
});

test('encode then decode round-trips every array dtype, strings and scalars', () => {
  const cases: TensorValue[] = [
    { name: 'f', dtype: 'float32', dims: [2, 3], data: new Float32Array([1, -2, 3.5, NaN, Infinity, -0]) },
    { name: 'd', dtype: 'float64', dims: [2], data: new Float64Array([1e-300, -5]) },
    { name: 'h', dtype: 'float16', dims: [2], data: new Uint16Array([floatToHalf(0.1), floatToHalf(-3)]) },
    { name: 'b16', dtype: 'bfloat16', dims: [1], data: new Uint16Array([0x3f80]) },
    { name: 'i8', dtype: 'int8', dims: [2], data: new Int8Array([-3, 4]) },
    { name: 'u8', dtype: 'uint8', dims: [2], data: new Uint8Array([0, 255]) },
    { name: 'i16', dtype: 'int16', dims: [1], data: new Int16Array([-300]) },
    { name: 'i32', dtype: 'int32', dims: [1, 1], data: new Int32Array([-7]) },
    { name: 'u32', dtype: 'uint32', dims: [1], data: new Uint32Array([4e9]) },
    { name: 'i64', dtype: 'int64', dims: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    { name: 'u64', dtype: 'uint64', dims: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    { name: 'bool', dtype: 'bool', dims: [3], data: new Uint8Array([1, 0, 1]) },
    { name: 'scalar', dtype: 'int64', dims: [], data: new BigInt64Array([9n]) },
    { name: 'empty', dtype: 'float32', dims: [0, 4], data: new Float32Array(0) },
    { name: 's', dtype: 'string', dims: [2], data: ['monday', 'naïve'] },
  ];
  for (const t of cases) {
    const back = decodeTensorProto(encodeTensorProto(t), t.name);
    assert.equal(back.name, t.name);
    assert.equal(back.dtype, t.dtype, t.name);
    assert.deepEqual(back.dims, t.dims, t.name);
    assert.deepEqual(Array.from(back.data as ArrayLike<unknown>), Array.from(t.data as ArrayLike<unknown>), t.name);
  }
});

test('raw_data at an odd offset still decodes (copied, not viewed)', () => {
  // A 1-character name shifts raw_data off 4-byte alignment.
  const t: TensorValue = { name: 'x', dtype: 'float32', dims: [3], data: new Float32Array([1, 2, 3]) };
  const bytes = encodeTensorProto(t);
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const back = decodeTensorProto(shifted.subarray(1));
  assert.deepEqual(Array.from(back.data as Float32Array), [1, 2, 3]);
});

test('corrupt and inconsistent messages fail with the source and a reason', () => {
  const good = encodeTensorProto({ name: 'x', dtype: 'float32', dims: [4], data: new Float32Array(4) });
  assert.throws(() => decodeTensorProto(good.subarray(0, good.length - 3), 'cut.pb'), (e: unknown) => e instanceof TensorProtoError && /cut\.pb/.test(e.message) && /truncated/.test(e.message));
  const wrongCount = proto((w) => { dimsField(w, [5]); w.uint32(2 << 3).int32(1); w.uint32((9 << 3) | 2).bytes(new Uint8Array(8)); });
  assert.throws(() => decodeTensorProto(wrongCount, 'w.pb'), /raw_data holds 8 bytes, float32 with 5 elements needs 20/);
  const unknownType = proto((w) => { w.uint32(2 << 3).int32(99); });
  assert.throws(() => decodeTensorProto(unknownType, 'u.pb'), /unknown data_type 99/);
  const external = proto((w) => { dimsField(w, [1]); w.uint32(2 << 3).int32(1); w.uint32(14 << 3).int32(1); });
  assert.throws(() => decodeTensorProto(external, 'e.pb'), /externally/);
});

test('half and bfloat16 conversions', () => {
  for (const v of [0, 1, -1, 0.5, 65504, 6.103515625e-5, 5.960464477539063e-8, -2.5]) assert.equal(halfToFloat(floatToHalf(v)), v, String(v));
  assert.equal(floatToHalf(1e6), 0x7c00); // overflow to +Inf
  assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  assert.equal(halfToFloat(floatToHalf(1 + 2 ** -11)), 1); // round half to even
  assert.equal(bfloat16ToFloat(0x3f80), 1);
  assert.equal(bfloat16ToFloat(0xc040), -3);
});

test('test data folders: discovery beside a model, numeric order, missing index', () => {
  assert.deepEqual(findTestDataDirs(modelPath('bert-tiny-mlm.onnx')), [join(CORPUS, 'bert-tiny-mlm.test_data_set_0')]);
  assert.deepEqual(findTestDataDirs(modelPath('t5-tiny-split/decoder_model.onnx')), [join(CORPUS, 't5-tiny-split/decoder_model.test_data_set_0')]);
  assert.deepEqual(findTestDataDirs(modelPath('gpt2-tiny.onnx')), []);
  assert.throws(() => readTestDataDir(join(CORPUS, 'no-such-folder')), (e: unknown) => e instanceof TestDataError && /ENOENT/.test(e.message));
  assert.throws(() => readTestDataDir(join(CORPUS, 'generate')), /no input_K\.pb or output_K\.pb/);
  const names = readdirSync(testDataDir('t5-tiny.onnx')).sort();
  assert.deepEqual(names, ['input_0.pb', 'input_1.pb', 'output_0.pb']);
});
