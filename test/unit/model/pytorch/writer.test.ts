// Apply on PyTorch checkpoints: a deduplicated safetensors file (storage
// aliases written once and recorded, copies dropped and recorded), proven
// recoverable by apply itself, and `restore` gives every input tensor back
// bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applySharing } from '../../../../extension/sharing/apply';
import { formatOf, openModel } from '../../../../extension/model/registry';
import { storedRanges, type ModelFile, type TensorRef } from '../../../../extension/model/types';
import { TIES_KEY } from '../../../../extension/model/safetensors/records';
import { sharedOutputName } from '../../../../extension/model/pytorch/writer';
import { runRestore } from '../../../../extension/cli/restore';
import { buildCheckpoint, tempDir } from './zipBuilder';
import { f32 } from './pickleBuilder';

const CORPUS = path.join(__dirname, '../../../fixtures/corpus');

function bytesOf(t: TensorRef): Buffer {
  const r = storedRanges(t.data);
  assert.ok(r, t.name);
  return Buffer.concat(r.map((x) => { const fd = fs.openSync(x.file, 'r'); const b = Buffer.alloc(x.length); fs.readSync(fd, b, 0, x.length, x.offset); fs.closeSync(fd); return b; }));
}

function headerOf(file: string): Record<string, unknown> {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  return JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
}

/** Every tensor of `input` is in `full` with the same dtype, shape and bytes. */
function sameTensors(input: ModelFile, full: ModelFile) {
  const byName = new Map(full.tensors.map((t) => [t.name, t]));
  assert.equal(full.tensors.length, input.tensors.length);
  for (const t of input.tensors) {
    const o = byName.get(t.name);
    assert.ok(o, `${t.name} missing`);
    assert.equal(o.dtype, t.dtype);
    assert.deepEqual(o.shape, t.shape);
    assert.ok(bytesOf(o).equals(bytesOf(t)), `${t.name} differs`);
  }
}

for (const [source, name, expectOut] of [
  ['gpt2-tiny.pytorch_model.bin', 'pytorch_model.bin', 'pytorch_model.shared.safetensors'],
  ['gpt2-tiny.legacy.pt', 'gpt2-tiny.legacy.pt', 'gpt2-tiny.legacy.shared.safetensors'],
] as const) {
  test(`${source}: apply writes ${expectOut}, each weight once, proven recoverable; restore gives back every tensor bit for bit`, async () => {
    const dir = tempDir('apply');
    const input = path.join(dir, name);
    fs.copyFileSync(path.join(CORPUS, source), input);
    fs.copyFileSync(path.join(CORPUS, 'gpt2-tiny-hf/config.json'), path.join(dir, 'config.json'));
    const r = await applySharing(input, { minBytes: 0 });
    assert.equal(r.output, path.join(dir, expectOut));
    assert.deepEqual(r.unrecovered, []);
    assert.deepEqual(r.remaining, []);
    const header = headerOf(r.output!);
    const meta = header.__metadata__ as Record<string, string>;
    assert.equal(meta.format, 'pt');
    const ties = JSON.parse(meta[TIES_KEY]!) as Record<string, string>;
    // The storage alias is written once, under the input embedding's name.
    assert.equal(ties['lm_head.weight'], 'transformer.wte.weight');
    assert.ok('transformer.wte.weight' in header && !('lm_head.weight' in header));
    const stored = Object.keys(header).filter((k) => k !== '__metadata__');
    assert.equal(stored.length + Object.keys(ties).length, 29);
    assert.match(r.loadingNote ?? '', /safetensors/);
    assert.match(r.loadingNote ?? '', /transformers re-ties lm_head\.weight/);

    // `weight-sharing restore OUT.safetensors -o FULL.safetensors`, as the CLI runs it (exit 0: proven).
    const full = path.join(dir, 'full.safetensors');
    const write = process.stdout.write;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    let code: number;
    try { code = await runRestore([r.output!, '-o', full]); } finally { process.stdout.write = write; }
    assert.equal(code, 0);
    sameTensors(await openModel(input), await openModel(full));
  });
}

test('default output names: pytorch_model.bin -> pytorch_model.shared.safetensors, x.pt -> x.shared.safetensors', () => {
  assert.equal(sharedOutputName('/m/pytorch_model.bin'), '/m/pytorch_model.shared.safetensors');
  assert.equal(sharedOutputName('/m/x.pt'), '/m/x.shared.safetensors');
  assert.equal(sharedOutputName('/m/x.pth'), '/m/x.shared.safetensors');
  assert.equal(sharedOutputName('/m/last.ckpt'), '/m/last.shared.safetensors');
});

test('a checkpoint whose only sharing is a storage alias is still converted (the alias recorded, stored once)', async () => {
  const dir = tempDir('alias');
  const f = path.join(dir, 'a.pt');
  fs.writeFileSync(f, buildCheckpoint({ tensors: [{ name: 'emb.weight', key: '0', numel: 4, size: [2, 2] }, { name: 'lm_head.weight', key: '0', numel: 4, size: [2, 2] }], storages: { '0': f32([1, 2, 3, 4]) } }));
  const r = await applySharing(f, { minBytes: 0 });
  assert.equal(r.plan.replacements.length, 0);
  assert.ok(r.output && fs.existsSync(r.output));
  assert.deepEqual(r.unrecovered, []);
  const meta = headerOf(r.output).__metadata__ as Record<string, string>;
  assert.deepEqual(JSON.parse(meta[TIES_KEY]!), { 'lm_head.weight': 'emb.weight' });
});

test('a copy that is also a storage alias: every name on the dropped storage is recorded against the kept copy', async () => {
  const dir = tempDir('both');
  const f = path.join(dir, 'b.pt');
  fs.writeFileSync(f, buildCheckpoint({
    tensors: [{ name: 'c', key: '1', numel: 300, size: [300] }, { name: 'a', key: '0', numel: 300, size: [300] }, { name: 'b', key: '0', numel: 300, size: [300] }],
    storages: { '0': f32(Array.from({ length: 300 }, (_, i) => i)), '1': f32(Array.from({ length: 300 }, (_, i) => i)) },
  }));
  const r = await applySharing(f, { minBytes: 0 });
  assert.deepEqual(r.unrecovered, []);
  const header = headerOf(r.output!);
  assert.deepEqual(Object.keys(header).filter((k) => k !== '__metadata__'), ['c']);
  assert.deepEqual(JSON.parse((header.__metadata__ as Record<string, string>)[TIES_KEY]!), { a: 'c', b: 'c' });
  const shared = await openModel(r.output!);
  const full = path.join(dir, 'full.safetensors');
  await formatOf(shared).restore!(shared, full, {});
  sameTensors(await openModel(f), await openModel(full));
});

test('a strided view is written packed, and restore gives it back bit for bit', async () => {
  const dir = tempDir('strided');
  const f = path.join(dir, 's.pt');
  fs.writeFileSync(f, buildCheckpoint({ tensors: [{ name: 't', key: '0', numel: 6, size: [3, 2], stride: [1, 3] }, { name: 'u', key: '1', numel: 6, size: [2, 3] }], storages: { '0': f32([1, 2, 3, 4, 5, 6]), '1': f32([1, 4, 2, 5, 3, 6]) } }));
  const r = await applySharing(f, { minBytes: 0 });
  assert.deepEqual(r.unrecovered, []);
  const out = await openModel(r.output!);
  // 't' holds the same bytes as 'u' once packed: stored, or recorded as a copy of the one stored.
  const t = out.tensors.find((x) => x.name === 't') ?? out.ties.find((x) => x.tied.some((y) => y.tensor.name === 't'))!.kept;
  assert.ok(bytesOf(t).equals(f32([1, 4, 2, 5, 3, 6])));
});

test('apply refuses a big-endian checkpoint, with the reason, and writes nothing', async () => {
  const dir = tempDir('refuse');
  const be = path.join(dir, 'be.pt');
  fs.writeFileSync(be, buildCheckpoint({ tensors: [{ name: 'a', key: '0', numel: 4, size: [4] }], storages: { '0': f32([1, 2, 3, 4]) }, byteorder: 'big' }));
  await assert.rejects(applySharing(be, { minBytes: 0 }), /big-endian/);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['be.pt']);
});
