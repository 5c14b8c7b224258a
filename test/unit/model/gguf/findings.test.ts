// What the scan finds in the GGUF fixtures: exact copies, the omission tie,
// and the lossy group of one weight in two encodings, with figures checked
// against what the encodings allow (Q8_0 rounds each value to within half a
// step of max|block| / 127; F16 to within 2^-11 relative).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../../../../extension/model/registry';
import { scanModels } from '../../../../extension/sharing/scan';
import { toJson } from '../../../../extension/sharing/report';
import { DerivedBytes } from '../../../../extension/io/derivedBytes';
import { FileSet } from '../../../../extension/io/fileSet';

const DIR = path.resolve(__dirname, '../../../fixtures/gguf');
const open = (name: string) => openModel(path.join(DIR, name));

test('output.weight stored as a byte copy of token_embd.weight is an exact group', async () => {
  for (const name of ['gpt2-tiny.output-copy.gguf', 'llama-tiny.output-copy.q8_0.gguf']) {
    const report = await scanModels([await open(name)]);
    const g = report.groups.find((x) => x.kind === 'exact' && x.members.some((m) => m.tensor.name === 'output.weight'));
    assert.ok(g, name);
    assert.deepEqual(g.members.map((m) => m.tensor.name), ['token_embd.weight', 'output.weight']);
    assert.equal(g.lossless, true);
    assert.equal(g.bytesSaved, g.members[1]!.tensor.byteLength);
  }
});

test('an omitted output.weight is a tied group, tiedBy omission, the absent name not stored', async () => {
  for (const name of ['gpt2-tiny.f32.gguf', 'gpt2-tiny.q8_0.gguf', 'llama-tiny.omitted.gguf']) {
    const report = await scanModels([await open(name)]);
    const tied = report.groups.filter((g) => g.kind === 'tied');
    assert.equal(tied.length, 1, name);
    assert.equal(tied[0]!.tiedBy, 'omission');
    assert.deepEqual(tied[0]!.members.map((m) => [m.tensor.name, m.stored]), [['token_embd.weight', true], ['output.weight', false]]);
    assert.equal(tied[0]!.bytesSaved, 0);
  }
});

test('token_embd Q8_0 and output F16 of the same values: one lossy cast group with the measured difference', async () => {
  const model = await open('llama-tiny.two-encodings.gguf');
  const report = await scanModels([model]);
  const lossy = report.groups.filter((g) => g.difference !== undefined);
  assert.equal(lossy.length, 1);
  const g = lossy[0]!;
  assert.equal(g.kind, 'cast');
  assert.equal(g.lossless, false);
  assert.equal(g.applicable, false);
  assert.deepEqual(g.members.map((m) => `${m.tensor.name}:${m.tensor.dtype}`), ['token_embd.weight:q8_0', 'output.weight:float16']);
  assert.match(g.reason!, /one weight in two encodings.*max abs difference [0-9.e-]+, [0-9.]+% of the largest value/);
  // Q8_0 error per value <= d/2 with d = max|block| / 127, plus F16 rounding (2^-11 relative): maxRel <= 1/254 + 2^-11.
  assert.ok(g.difference!.maxAbs > 0 && g.difference!.maxRel > 0);
  assert.ok(g.difference!.maxRel <= 1 / 254 + 2 ** -11, `maxRel ${g.difference!.maxRel}`);
  // The JSON report carries the figures.
  const json = toJson(report);
  const jg = json.groups.find((x) => x.difference !== undefined)!;
  assert.deepEqual(jg.difference, g.difference);
  assert.equal(jg.lossless, false);
  // Never a lossless saving.
  assert.equal(report.bytesSaved, 0);
});

test('same shape, different encodings, different weights: no lossy group', async () => {
  // llama-tiny.two-encodings' token_embd (Q8_0) beside another file's output.weight (F16, its own random weights).
  const a = await open('llama-tiny.two-encodings.gguf');
  const b = await open('llama-tiny.f16.gguf');
  const report = await scanModels([
    { ...a, tensors: a.tensors.filter((t) => t.name !== 'output.weight') },
    { ...b, tensors: b.tensors.filter((t) => t.name === 'output.weight') },
  ]);
  assert.equal(report.groups.filter((g) => g.difference !== undefined).length, 0);
});

test('a block type without a dequantizer is not compared, and the model says so', async () => {
  const a = await open('llama-tiny.two-encodings.gguf');
  const tensors = a.tensors.map((t) => (t.name === 'token_embd.weight' ? { ...t, dtype: 'iq4_xs' as const } : t));
  const model = { ...a, tensors, warnings: [] };
  const report = await scanModels([model]);
  assert.equal(report.groups.filter((g) => g.difference !== undefined).length, 0);
  assert.ok(model.warnings.some((w) => /not compared .*iq4_xs is not dequantized/.test(w)), model.warnings.join('\n'));
});

test('fixtures stay small', () => {
  for (const n of fs.readdirSync(DIR).filter((x) => x.endsWith('.gguf'))) assert.ok(fs.statSync(path.join(DIR, n)).size < 2 << 20, n);
});

test('block-quantized bytes are never elements: equal bytes under another shape are no reshaped copy, and nothing derives them', async () => {
  const reshapedCopy = async (name: string) => {
    const m = await open(name);
    const tensors = m.tensors.map((t) => (t.name === 'output.weight' ? { ...t, shape: [t.shape[0]! / 2, t.shape[1]! * 2] } : t));
    return (await scanModels([{ ...m, tensors }])).groups.filter((g) => g.members.some((x) => x.tensor.name === 'output.weight'));
  };
  // float32: the same bytes as another shape are a reshaped copy ...
  assert.deepEqual((await reshapedCopy('gpt2-tiny.output-copy.gguf')).map((g) => g.kind), ['reshaped']);
  // ... Q8_0 blocks run along rows: no group at all.
  assert.deepEqual((await reshapedCopy('llama-tiny.output-copy.q8_0.gguf')).map((g) => g.kind), []);
  const q = (await open('llama-tiny.q8_0.gguf')).tensors.find((t) => t.dtype === 'q8_0')!;
  const files = new FileSet();
  try {
    assert.throws(() => new DerivedBytes(files, q, ['reshape'], 'q8_0', [q.elementCount]), /block-quantized tensors are only ever stored as they are/);
  } finally {
    files.close();
  }
});
