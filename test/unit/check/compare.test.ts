// Output comparison: metrics, tolerance, NaN/Inf/±0, shape and dtype
// mismatches, exact integer outputs, pairing of whole runs. Real reference
// outputs from the corpus are used where a real tensor serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareTensors, compareOutputs, unravelIndex, DEFAULT_TOLERANCE } from '../../../extension/check/compare';
import { floatToHalf, type TensorValue } from '../../../extension/check/tensorProto';
import { readTestDataDir } from '../../../extension/check/testData';
import { testDataDir } from './corpus';

const f32 = (name: string, dims: number[], values: number[]): TensorValue => ({ name, dtype: 'float32', dims, data: new Float32Array(values) });
const clone = (t: TensorValue, name = t.name): TensorValue => ({ ...t, name, data: (t.data as Float32Array).slice() });
const reference = readTestDataDir(testDataDir('bert-tiny-mlm.onnx')).outputs[0];

test('a tensor against its own copy: bit-identical, zero differences, cosine 1', () => {
  const c = compareTensors(reference, clone(reference));
  assert.equal(c.pass, true);
  assert.equal(c.bitIdentical, true);
  assert.equal(c.maxAbsDiff, 0);
  assert.equal(c.maxRelDiff, 0);
  assert.equal(c.differingCount, 0);
  assert.ok(Math.abs(c.cosine - 1) < 1e-12);
  assert.equal(c.elementCount, 8000);
  assert.equal(c.tolerance, DEFAULT_TOLERANCE);
});

test('one element nudged: located by flat and multi-dim index; pass or fail by tolerance', () => {
  const other = clone(reference);
  const data = other.data as Float32Array;
  let scale = 0;
  for (const v of reference.data as Float32Array) scale = Math.max(scale, Math.abs(v));
  const flat = 1 * 8 * 1000 - 1000 * 3 + 17; // [0, 5, 17]
  data[flat] += scale * 1e-3;
  const strict = compareTensors(reference, other, { tolerance: 1e-5 });
  assert.equal(strict.pass, false);
  assert.equal(strict.bitIdentical, false);
  assert.equal(strict.differingCount, 1);
  assert.equal(strict.exceedingCount, 1);
  assert.deepEqual(strict.firstDifferences.map((p) => [p.flatIndex, p.index, p.exceeds]), [[flat, [0, 5, 17], true]]);
  assert.ok(Math.abs(strict.maxRelDiff - 1e-3) < 1e-5, `rel ${strict.maxRelDiff}`);
  assert.match(strict.reason!, /1 of 8000 elements beyond relative tolerance 0.00001/);
  const loose = compareTensors(reference, other, { tolerance: 1e-2 });
  assert.equal(loose.pass, true);
  assert.equal(loose.bitIdentical, false);
  assert.equal(loose.exceedingCount, 0);
  assert.equal(loose.firstDifferences[0].exceeds, false, 'non-identical positions are still reported');
});

test('relative difference is normwise: near-zero elements do not dominate', () => {
  const a = f32('y', [3], [100, 1e-6, -50]);
  const b = f32('y', [3], [100, 2e-6, -50]);
  const c = compareTensors(a, b);
  assert.ok(Math.abs(c.maxRelDiff - 1e-8) < 1e-12);
  assert.ok(c.maxElementRelDiff > 0.4, 'per-element figure still shows the near-zero element');
  assert.equal(c.pass, true);
});

test('NaN: equal where both are NaN, a failure where only one is', () => {
  const both = compareTensors(f32('y', [2], [NaN, 1]), f32('y', [2], [NaN, 1]));
  assert.equal(both.pass, true);
  assert.equal(both.bitIdentical, true);
  const one = compareTensors(f32('y', [3], [NaN, 1, 2]), f32('y', [3], [0, 1, 2]));
  assert.equal(one.pass, false);
  assert.equal(one.nanMismatchCount, 1);
  assert.equal(one.maxAbsDiff, 0, 'max abs diff covers finite pairs');
  assert.match(one.reason!, /NaN on one side only/);
  assert.deepEqual(one.firstDifferences[0].index, [0]);
});

test('infinities: equal ones pass, disagreeing ones fail with infinite difference', () => {
  assert.equal(compareTensors(f32('y', [2], [Infinity, -1]), f32('y', [2], [Infinity, -1])).pass, true);
  const c = compareTensors(f32('y', [2], [Infinity, 1]), f32('y', [2], [-Infinity, 1]));
  assert.equal(c.pass, false);
  assert.equal(c.maxAbsDiff, Infinity);
});

test('+0 and -0 are equal in value, not in bits', () => {
  const c = compareTensors(f32('y', [2], [0, 1]), f32('y', [2], [-0, 1]));
  assert.equal(c.pass, true);
  assert.equal(c.bitIdentical, false);
  assert.equal(c.differingCount, 1);
});

test('shape and dtype mismatches fail with a reason', () => {
  const s = compareTensors(f32('y', [2, 2], [1, 2, 3, 4]), f32('y', [4], [1, 2, 3, 4]));
  assert.equal(s.pass, false);
  assert.match(s.reason!, /shape differs: expected float32\[2, 2\], got float32\[4\]/);
  const d = compareTensors(f32('y', [2], [1, 2]), { name: 'y', dtype: 'float64', dims: [2], data: new Float64Array([1, 2]) });
  assert.equal(d.pass, false);
  assert.match(d.reason!, /dtype differs/);
  assert.equal(d.maxAbsDiff, 0, 'values still compared');
});

test('integer outputs must match exactly, whatever the tolerance', () => {
  const a: TensorValue = { name: 'ids', dtype: 'int64', dims: [3], data: new BigInt64Array([1n, 2n, 2n ** 60n]) };
  const b: TensorValue = { name: 'ids', dtype: 'int64', dims: [3], data: new BigInt64Array([1n, 2n, 2n ** 60n + 1n]) };
  const c = compareTensors(a, b, { tolerance: 0.5 });
  assert.equal(c.pass, false, 'a difference beyond float64 precision is still seen');
  assert.equal(c.exceedingCount, 1);
  assert.match(c.reason!, /1 of 3 int64 elements differ/);
  assert.equal(compareTensors(a, { ...a, data: (a.data as BigInt64Array).slice() }).bitIdentical, true);
});

test('float16 outputs are compared as values', () => {
  const a: TensorValue = { name: 'h', dtype: 'float16', dims: [2], data: new Uint16Array([floatToHalf(1), floatToHalf(2)]) };
  const b: TensorValue = { name: 'h', dtype: 'float16', dims: [2], data: new Uint16Array([floatToHalf(1), floatToHalf(2.001953125)]) };
  const c = compareTensors(a, b, { tolerance: 1e-2 });
  assert.equal(c.pass, true);
  assert.ok(Math.abs(c.maxAbsDiff - 0.001953125) < 1e-12);
  assert.equal(compareTensors(a, b, { tolerance: 1e-4 }).pass, false);
});

test('strings: equal or not', () => {
  const a: TensorValue = { name: 's', dtype: 'string', dims: [2], data: ['a', 'b'] };
  assert.equal(compareTensors(a, { ...a, data: ['a', 'b'] }).bitIdentical, true);
  const c = compareTensors(a, { ...a, data: ['a', 'c'] });
  assert.equal(c.pass, false);
  assert.deepEqual(c.firstDifferences.map((p) => [p.expected, p.actual]), [['b', 'c']]);
});

test('the first differing positions are capped', () => {
  const a = f32('y', [10], new Array(10).fill(1));
  const b = f32('y', [10], new Array(10).fill(2));
  const c = compareTensors(a, b, { maxPositions: 3 });
  assert.equal(c.exceedingCount, 10);
  assert.deepEqual(c.firstDifferences.map((p) => p.flatIndex), [0, 1, 2]);
  assert.ok(Math.abs(c.cosine - 1) < 1e-12, 'parallel vectors: cosine 1 even though values differ');
});

test('unravelIndex', () => {
  assert.deepEqual(unravelIndex(0, [2, 3, 4]), [0, 0, 0]);
  assert.deepEqual(unravelIndex(23, [2, 3, 4]), [1, 2, 3]);
  assert.deepEqual(unravelIndex(0, []), []);
});

test('whole runs: paired by name, missing and extra outputs, by position when names differ', () => {
  const x = f32('x', [1], [1]);
  const y = f32('y', [1], [2]);
  const ok = compareOutputs([x, y], [clone(y), clone(x)]);
  assert.equal(ok.pass, true);
  assert.equal(ok.pairedBy, 'name');
  assert.deepEqual(ok.outputs.map((o) => o.name), ['x', 'y']);
  const missing = compareOutputs([x, y], [clone(x)]);
  assert.equal(missing.pass, false);
  assert.deepEqual(missing.missing, ['y']);
  assert.match(missing.failures[0], /output 'y' missing/);
  const extra = compareOutputs([x], [clone(x), clone(y)]);
  assert.equal(extra.pass, true);
  assert.deepEqual(extra.extra, ['y']);
  // Reference files whose names are not the model's output names (backend test layout).
  const byPosition = compareOutputs([{ ...x, name: '' }], [clone(x, 'out')]);
  assert.equal(byPosition.pairedBy, 'position');
  assert.equal(byPosition.pass, true);
  const failing = compareOutputs([x, y], [clone(x), f32('y', [1], [3])]);
  assert.equal(failing.pass, false);
  assert.equal(failing.failures.length, 1);
  assert.match(failing.failures[0], /^y: /);
  assert.equal(compareOutputs([], []).pass, false, 'nothing compared is not a pass');
});

test('the cost of a lossy change: relL2 against the first tensor, and top-1 agreement over the last axis', () => {
  const a = { name: 'logits', dtype: 'float32' as const, dims: [2, 3], data: new Float32Array([1, 2, 3, 3, 2, 1]) };
  const b = { name: 'logits', dtype: 'float32' as const, dims: [2, 3], data: new Float32Array([1, 2, 4, 1, 2, 3]) };
  const c = compareTensors(a, b);
  // ‖b−a‖ = √(0+0+1+4+0+4) = 3, ‖a‖ = √28; row 0 agrees (index 2), row 1 does not (0 vs 2).
  assert.ok(Math.abs(c.relL2 - 3 / Math.sqrt(28)) < 1e-12, String(c.relL2));
  assert.equal(c.top1Agreement, 0.5);
  const same = compareTensors(a, a);
  assert.equal(same.relL2, 0);
  assert.equal(same.top1Agreement, 1);
  const ints = compareTensors({ ...a, dtype: 'int64', data: new BigInt64Array([1n, 2n, 3n, 3n, 2n, 1n]) }, { ...a, dtype: 'int64', data: new BigInt64Array([1n, 2n, 3n, 3n, 2n, 1n]) });
  assert.equal(ints.top1Agreement, undefined, 'ids have no argmax to agree on');
});
