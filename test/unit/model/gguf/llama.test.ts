// Proof in llama.cpp itself (node-llama-cpp 3.21.1, CPU, one thread):
// - the reader's facts are what llama.cpp's loader prints (print_info);
// - `apply` on a GGUF whose output.weight is a byte copy of token_embd.weight
//   writes a file llama.cpp loads with its fallback to token_embd.weight, and
//   the same tokens give bit-identical token probabilities in both files;
// - the comparison is sensitive: one changed byte in a tensor changes them.
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../../../extension/model/registry';
import { applySharing } from '../../../../extension/sharing/apply';
import { evaluate, llamaSession } from './llamaRun';

const DIR = path.resolve(__dirname, '../../../fixtures/gguf');
const TOKENS = [1, 259, 300, 301, 5, 260, 2];
let unavailable: string | undefined;

before(async () => {
  try {
    await llamaSession();
  } catch (e) {
    unavailable = `node-llama-cpp cannot load llama.cpp on this machine: ${(e as Error).message}`;
  }
});

function sameBits(a: Float64Array[], b: Float64Array[]): boolean {
  return a.length === b.length && a.every((row, i) => Buffer.from(row.buffer, row.byteOffset, row.byteLength).equals(Buffer.from(b[i]!.buffer, b[i]!.byteOffset, b[i]!.byteLength)));
}

/** The loader loads token_embd.weight in place of a missing output.weight: its log names them one after the other. */
function fellBack(log: string[]): boolean {
  const i = log.findIndex((l) => l.includes('loading tensor output.weight'));
  return i >= 0 && (log[i + 1] ?? '').includes('loading tensor token_embd.weight');
}

function printed(log: string[], key: string): string | undefined {
  const line = log.find((l) => new RegExp(`^print_info: ${key}\\s+=`).test(l));
  return line?.split('=').slice(1).join('=').trim();
}

test('reader facts agree with what llama.cpp prints when it loads each fixture', async (t) => {
  if (unavailable) return t.skip(unavailable);
  for (const name of fs.readdirSync(DIR).filter((n) => n.endsWith('.gguf')).sort()) {
    const file = path.join(DIR, name);
    const model = await openModel(file);
    const facts = new Map(model.facts);
    const { log, probabilities } = await evaluate(file, TOKENS.slice(0, 2));
    assert.equal(printed(log, 'arch'), facts.get('Architecture'), name);
    assert.equal(printed(log, 'n_ctx_train'), facts.get('Context length'), name);
    assert.equal(printed(log, 'n_embd'), facts.get('Embedding length'), name);
    assert.equal(printed(log, 'n_layer'), facts.get('Block count'), name);
    assert.equal(printed(log, 'n_vocab'), facts.get('Vocabulary size'), name);
    assert.equal(probabilities[0]!.length <= Number(facts.get('Vocabulary size')), true);
    // llama.cpp's file type name ("all F32", "Q8_0") is in ours ("all F32 (0)", "mostly Q8_0 (7)").
    assert.ok(facts.get('File type')!.includes(printed(log, 'file type')!.replace(/^MOSTLY /, '')), `${name}: ${printed(log, 'file type')} vs ${facts.get('File type')}`);
    // The omission tie is exactly where llama.cpp falls back.
    assert.equal(model.ties.some((x) => x.tiedBy === 'omission'), fellBack(log), name);
  }
});

for (const name of ['gpt2-tiny.output-copy.gguf', 'llama-tiny.output-copy.q8_0.gguf']) {
  test(`apply ${name}: llama.cpp gives bit-identical token probabilities for the rewritten file`, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-apply-'));
    const input = path.join(dir, name);
    fs.copyFileSync(path.join(DIR, name), input);
    const res = await applySharing(input);
    assert.ok(res.output, 'something was applied');
    assert.equal(path.basename(res.output), name.replace(/\.gguf$/, '.shared.gguf'));
    assert.deepEqual(res.plan.replacements.map((r) => r.realised.dropped.name), ['output.weight']);
    assert.deepEqual(res.unrecovered, []);
    assert.equal(res.remaining.length, 0);
    assert.equal(res.bytesBefore - res.bytesAfter >= res.plan.replacements[0]!.realised.dropped.byteLength, true);

    // The output: every other tensor and all metadata kept, output.weight an omission tie.
    const before = await openModel(input);
    const after = await openModel(res.output);
    assert.deepEqual(after.tensors.map((x) => x.name), before.tensors.map((x) => x.name).filter((n) => n !== 'output.weight'));
    assert.deepEqual(after.metadata, before.metadata);
    assert.deepEqual(after.ties.map((x) => [x.tiedBy, x.kept.name, x.tied[0]!.tensor.name]), [['omission', 'token_embd.weight', 'output.weight']]);

    const original = await evaluate(input, TOKENS);
    const rewritten = await evaluate(res.output, TOKENS);
    assert.equal(fellBack(original.log), false);
    assert.equal(fellBack(rewritten.log), true, 'llama.cpp falls back to token_embd.weight');
    assert.equal(original.probabilities.length, TOKENS.length);
    assert.ok(sameBits(original.probabilities, rewritten.probabilities), 'bit-identical token probabilities');
  });
}

test('the comparison is sensitive: one changed byte of a tensor changes llama.cpp\'s probabilities', async (t) => {
  if (unavailable) return t.skip(unavailable);
  const file = path.join(DIR, 'llama-tiny.omitted.gguf');
  const model = await openModel(file);
  const embd = model.tensors.find((x) => x.name === 'token_embd.weight')!;
  assert.ok(embd.data.kind === 'range');
  const bytes = fs.readFileSync(file);
  // token 300's row, first value: its low mantissa byte.
  bytes[embd.data.offset + 300 * 64 * 4] ^= 0x01;
  const broken = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-broken-')), 'broken.gguf');
  fs.writeFileSync(broken, bytes);
  const a = await evaluate(file, TOKENS);
  const b = await evaluate(broken, TOKENS);
  assert.equal(sameBits(a.probabilities, b.probabilities), false);
});
