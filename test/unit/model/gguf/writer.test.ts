// The GGUF writer: what it realises and declines, and its output laid out as
// llama.cpp's converter lays out a tied model (the generator's own file
// without output.weight is the reference, byte for byte).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatOf, openModel } from '../../../../extension/model/registry';
import { verifyRecovery } from '../../../../extension/sharing/recovery';
import { applySharing } from '../../../../extension/sharing/apply';
import { singleRange, type ModelFile } from '../../../../extension/model/types';

const DIR = path.resolve(__dirname, '../../../fixtures/gguf');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-writer-'));

function copyOf(name: string): string {
  const f = path.join(tmp(), name);
  fs.copyFileSync(path.join(DIR, name), f);
  return f;
}

const byName = (m: ModelFile, n: string) => m.tensors.find((t) => t.name === n)!;

test('dropping a byte copy of token_embd writes exactly the file the converter writes for a tied gpt2', async () => {
  const input = copyOf('gpt2-tiny.output-copy.gguf');
  const res = await applySharing(input);
  assert.ok(res.output);
  assert.ok(fs.readFileSync(res.output).equals(fs.readFileSync(path.join(DIR, 'gpt2-tiny.f32.gguf'))), 'byte-identical to the generator\'s tied file');
  assert.match(res.loadingNote!, /llama.cpp re-creates output.weight from token_embd.weight/);
});

test('the realiser declines what GGUF cannot express, with the reason', async () => {
  const model = await openModel(path.join(DIR, 'gpt2-tiny.output-copy.gguf'));
  const r = formatOf(model).writer!.realiser(model);
  const embd = byName(model, 'token_embd.weight'), out = byName(model, 'output.weight');
  const b0 = byName(model, 'blk.0.ffn_up.bias'), b1 = byName(model, 'blk.1.ffn_up.bias');
  assert.equal(typeof r.realise({ kept: embd, dropped: out, ops: [] }, false), 'object');
  assert.match(r.realise({ kept: b0, dropped: b1, ops: [] }, false) as string, /only output.weight can be left out/);
  assert.match(r.realise({ kept: embd, dropped: out, ops: ['cast'] }, false) as string, /not a byte-identical copy/);
  // An architecture whose loader does not fall back.
  const other = { ...model, metadata: { ...model.metadata, 'general.architecture': 'bert' } };
  assert.match(formatOf(other).writer!.realiser(other).realise({ kept: embd, dropped: out, ops: [] }, false) as string, /'bert' does not fall back to token_embd.weight/);
  // Keep token_embd, drop output.
  assert.ok(r.keepRank!(out)[0]! > r.keepRank!(embd)[0]!);
});

test('a Q8_0 file: every other tensor keeps its bytes, offsets aligned, metadata and alignment kept', async () => {
  const input = copyOf('llama-tiny.output-copy.q8_0.gguf');
  const res = await applySharing(input);
  const a = await openModel(input), b = await openModel(res.output!);
  const fa = fs.readFileSync(input), fb = fs.readFileSync(res.output!);
  for (const t of b.tensors) {
    const s = byName(a, t.name);
    const rt = singleRange(t.data)!, rs = singleRange(s.data)!;
    assert.ok(rt && rs);
    assert.equal(rt.offset % 32, 0, `${t.name} aligned`);
    assert.ok(fb.subarray(rt.offset, rt.offset + rt.length).equals(fa.subarray(rs.offset, rs.offset + rs.length)), t.name);
  }
  assert.deepEqual(b.metadata, a.metadata);
  assert.deepEqual(new Map(b.facts).get('Alignment'), '32');
});

test('never over the input, and an existing output is refused without force', async () => {
  const input = copyOf('llama-tiny.output-copy.q8_0.gguf');
  await assert.rejects(applySharing(input, { output: input }), /input/i);
  const first = await applySharing(input);
  await assert.rejects(applySharing(input), /exists/);
  const again = await applySharing(input, { force: true });
  assert.equal(again.output, first.output);
});

test('restore: output.weight stored again after the other tensors; apply then restore gives the input back byte for byte', async () => {
  // The converter-style tied gpt2 restored is exactly the file with a stored copy.
  const tied = await openModel(path.join(DIR, 'gpt2-tiny.f32.gguf'));
  const out = path.join(tmp(), 'full.gguf');
  const r = await formatOf(tied).restore!(tied, out, {});
  assert.deepEqual(r.files, [out]);
  assert.ok(fs.readFileSync(out).equals(fs.readFileSync(path.join(DIR, 'gpt2-tiny.output-copy.gguf'))));
  assert.deepEqual(await verifyRecovery(await openModel(out), tied), []);
  // Round trip.
  const input = copyOf('llama-tiny.output-copy.q8_0.gguf');
  const shared = await openModel((await applySharing(input)).output!);
  const back = path.join(tmp(), 'back.gguf');
  await formatOf(shared).restore!(shared, back, {});
  assert.ok(fs.readFileSync(back).equals(fs.readFileSync(input)));
  // Nothing left out: nothing to restore.
  const untied = await openModel(path.join(DIR, 'llama-tiny.f32.gguf'));
  await assert.rejects(formatOf(untied).restore!(untied, path.join(tmp(), 'x.gguf'), {}), /nothing to restore/);
});
