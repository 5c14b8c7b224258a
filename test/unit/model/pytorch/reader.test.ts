// The PyTorch reader against the corpus (zip and legacy gpt2-tiny, facts from
// the corpus manifest) and against built checkpoints: wrappers, views,
// strided views, _rebuild_tensor_v3, byte order, short storages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModel } from '../../../../extension/model/registry';
import { scanModels } from '../../../../extension/sharing/scan';
import { ModelFormatError, singleRange, type ModelFile } from '../../../../extension/model/types';
import { normalise } from '../../sharing/facts';
import { buildCheckpoint, tempDir } from './zipBuilder';
import { buildLegacy, cat, f32, op, stateDictPickle, tensorPickle, type TensorSpec } from './pickleBuilder';

const CORPUS = path.join(__dirname, '../../../fixtures/corpus');
interface ManifestEntry { file: string; facts?: { tensors?: number; storages?: number; alias_groups?: string[][]; byteorder?: string; exact_duplicate_groups?: string[][] } }
const manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as ManifestEntry[];
const entry = (file: string) => manifest.find((e) => e.file === file)!;
const ZIP = path.join(CORPUS, 'gpt2-tiny.pytorch_model.bin');
const LEGACY = path.join(CORPUS, 'gpt2-tiny.legacy.pt');

/** The bytes of a tensor's one byte range. */
function readRange(t: ModelFile['tensors'][number]): Buffer {
  const r = singleRange(t.data)!;
  const fd = fs.openSync(r.file, 'r');
  try {
    const b = Buffer.alloc(r.length);
    fs.readSync(fd, b, 0, r.length, r.offset);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

async function findings(m: ModelFile) {
  const report = await scanModels([m], { minBytes: 0 });
  const names = (g: (typeof report.groups)[number]) => g.members.map((x) => x.tensor.name);
  return {
    tied: normalise(report.groups.filter((g) => g.kind === 'tied').map(names)),
    tiedBy: report.groups.filter((g) => g.kind === 'tied').map((g) => g.tiedBy),
    exact: normalise(report.groups.filter((g) => g.kind === 'exact').map(names)),
  };
}

for (const file of [ZIP, LEGACY]) {
  test(`${path.basename(file)}: the manifest's tensors, storages, alias group and byte order`, async () => {
    const facts = entry('gpt2-tiny.pytorch_model.bin').facts!;
    const m = await openModel(file);
    assert.equal(m.format, 'pytorch');
    assert.equal(m.tensors.length, facts.tensors);
    assert.equal(new Set(m.tensors.map((t) => t.storage!.key)).size, facts.storages);
    assert.equal(m.metadata.storages, String(facts.storages));
    assert.equal(m.metadata.byteorder, facts.byteorder);
    assert.deepEqual(m.warnings, []);
    const f = await findings(m);
    assert.deepEqual(f.tied, normalise(facts.alias_groups!));
    assert.deepEqual(f.tiedBy, ['storage']);
  });

  test(`${path.basename(file)}: separate storages with equal bytes are exact copies (the gpt2-tiny-hf manifest's groups: the same weights)`, async () => {
    const m = await openModel(file);
    const hf = await openModel(path.join(CORPUS, 'gpt2-tiny-hf/model.safetensors'));
    // Same weights byte for byte, so the safetensors manifest's exact groups are this file's reference.
    const wte = (x: ModelFile) => readRange(x.tensors.find((t) => t.name === 'transformer.wte.weight')!);
    assert.ok(wte(m).equals(wte(hf)));
    assert.deepEqual((await findings(m)).exact, normalise(entry('gpt2-tiny-hf/model.safetensors').facts!.exact_duplicate_groups!));
  });
}

test('the zip and legacy copies of gpt2-tiny give the same tensors, byte ranges of equal bytes', async () => {
  const a = await openModel(ZIP);
  const b = await openModel(LEGACY);
  assert.deepEqual(a.tensors.map((t) => [t.name, t.dtype, t.shape.join(',')]), b.tensors.map((t) => [t.name, t.dtype, t.shape.join(',')]));
  for (let i = 0; i < a.tensors.length; i++) assert.ok(readRange(a.tensors[i]!).equals(readRange(b.tensors[i]!)), a.tensors[i]!.name);
});

function write(dir: string, name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

test('a training checkpoint {state_dict: ..., epoch, optimizer} is read from its state_dict key, and says so', async () => {
  const dir = tempDir('wrap');
  const inner = stateDictPickle([{ name: 'w', key: '0', numel: 4, size: [4] }]);
  // {'epoch': 3, 'state_dict': OrderedDict(...)}: the inner pickle's body without PROTO/STOP.
  const body = inner.subarray(2, inner.length - 1);
  const pickle = cat(op.proto(2), op.emptyDict, op.mark, op.str('epoch'), op.int(3), op.str('state_dict'), body, op.setitems, op.stop);
  const m = await openModel(write(dir, 'ckpt.pt', buildCheckpoint({ pickle, storages: { '0': f32([1, 2, 3, 4]) } })));
  assert.deepEqual(m.tensors.map((t) => t.name), ['w']);
  assert.equal(m.metadata.state_dict_key, 'state_dict');
  assert.ok(m.facts.some(([k, v]) => k === 'State dict' && v.includes("'state_dict'")));
  assert.ok(m.warnings.some((w) => w.includes('epoch')));
});

test('nested dicts of tensors are flattened with dots', async () => {
  const dir = tempDir('nest');
  const t = (spec: TensorSpec) => tensorPickle(spec);
  const pickle = cat(op.proto(2), op.emptyDict, op.mark, op.str('encoder'), op.emptyDict, op.mark, op.str('w'), t({ name: '', key: '0', numel: 4, size: [4] }), op.setitems, op.str('b'), t({ name: '', key: '1', numel: 2, size: [2] }), op.setitems, op.stop);
  const m = await openModel(write(dir, 'n.pt', buildCheckpoint({ pickle, storages: { '0': f32([1, 2, 3, 4]), '1': f32([1, 2]) } })));
  assert.deepEqual(m.tensors.map((t) => t.name), ['encoder.w', 'b']);
});

test('views into one storage at other offsets are reported as views (pinned), not as copies; equal views are tied', async () => {
  const dir = tempDir('views');
  const data = f32([1, 2, 3, 4, 1, 2, 3, 4]);
  const tensors: TensorSpec[] = [
    { name: 'full', key: '0', numel: 8, size: [8] },
    { name: 'half', key: '0', numel: 8, size: [4], offset: 4 }, // overlaps 'full'
    { name: 'same', key: '0', numel: 8, size: [8] }, // the same view as 'full'
    { name: 'copy', key: '1', numel: 4, size: [4] }, // a separate storage with equal bytes to 'half'
  ];
  const m = await openModel(write(dir, 'v.pt', buildCheckpoint({ tensors, storages: { '0': data, '1': f32([1, 2, 3, 4]) } })));
  assert.ok(m.tensors.find((t) => t.name === 'half')!.pinned?.includes('view'));
  assert.ok(m.warnings.some((w) => w.startsWith("'half' is a view into the storage of 'full'")));
  const report = await scanModels([m], { minBytes: 0 });
  const tied = report.groups.filter((g) => g.kind === 'tied');
  assert.deepEqual(tied.map((g) => g.members.map((x) => x.tensor.name)), [['full', 'same']]);
  // 'half' and 'copy' hold equal bytes: a group, but never an applicable one ('half' is a view).
  for (const g of report.groups.filter((g) => g.members.some((x) => x.tensor.name === 'half') && g.kind !== 'tied')) assert.equal(g.applicable, false);
});

test('a strided (transposed) view is gathered into packed row-major bytes; its storage view keeps the strides', async () => {
  const dir = tempDir('strided');
  // Storage [[1, 2, 3], [4, 5, 6]] viewed transposed as 3 x 2: [[1, 4], [2, 5], [3, 6]].
  const m = await openModel(write(dir, 's.pt', buildCheckpoint({ tensors: [{ name: 't', key: '0', numel: 6, size: [3, 2], stride: [1, 3] }], storages: { '0': f32([1, 2, 3, 4, 5, 6]) } })));
  const t = m.tensors[0]!;
  assert.equal(t.data.kind, 'inline');
  assert.ok(Buffer.from((t.data as { bytes: Uint8Array }).bytes).equals(f32([1, 4, 2, 5, 3, 6])));
  assert.deepEqual(t.storage, { key: '0', offset: 0, strides: [1, 3] });
});

test('_rebuild_tensor_v3 takes its dtype from its argument (float8 on an untyped storage)', async () => {
  const dir = tempDir('v3');
  const pid = cat(op.mark, op.str('storage'), op.global('torch', 'UntypedStorage'), op.str('0'), op.str('cpu'), op.int(8), op.tuple, op.binpersid);
  const tensor = cat(op.global('torch._utils', '_rebuild_tensor_v3'), op.mark, pid, op.int(0), cat(op.mark, op.int(8), op.tuple), cat(op.mark, op.int(1), op.tuple), op.false,
    cat(op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce), op.global('torch', 'float8_e4m3fn'), op.tuple, op.reduce);
  const pickle = cat(op.proto(2), op.emptyDict, op.str('f8'), tensor, op.setitem, op.stop);
  const m = await openModel(write(dir, 'f8.pt', buildCheckpoint({ pickle, storages: { '0': Buffer.alloc(8, 0x38) } })));
  assert.equal(m.tensors[0]!.dtype, 'float8e4m3fn');
  assert.equal(m.tensors[0]!.byteLength, 8);
});

test('a big-endian checkpoint (byteorder record) is read, warned about, and its apply refused with the reason', async () => {
  const dir = tempDir('be');
  const be = Buffer.alloc(16);
  [1, 2, 3, 4].forEach((v, i) => be.writeFloatBE(v, i * 4));
  const f = write(dir, 'be.pt', buildCheckpoint({ tensors: [{ name: 'a', key: '0', numel: 4, size: [4] }, { name: 'b', key: '1', numel: 4, size: [4] }], storages: { '0': be, '1': be }, byteorder: 'big' }));
  const m = await openModel(f);
  assert.equal(m.metadata.byteorder, 'big');
  assert.ok(m.warnings.some((w) => w.includes('big-endian')));
  const report = await scanModels([m], { minBytes: 0 });
  const g = report.groups.find((x) => x.kind === 'exact')!;
  assert.deepEqual(g.members.map((x) => x.tensor.name), ['a', 'b']);
  assert.equal(g.applicable, false);
  assert.match(g.reason ?? '', /big-endian/);
});

test('a storage record shorter than its tensors is one clear error naming the tensor and the record', async () => {
  const dir = tempDir('short');
  const f = write(dir, 's.pt', buildCheckpoint({ tensors: [{ name: 'w', key: '0', numel: 4, size: [2, 2], offset: 1 }], storages: { '0': f32([1, 2, 3, 4]) } }));
  await assert.rejects(openModel(f), (e: unknown) => e instanceof ModelFormatError && /tensor 'w' .* needs 20 bytes of storage archive\/data\/0, which holds 16/.test(e.message));
  const g = write(dir, 'g.pt', buildCheckpoint({ tensors: [{ name: 'w', key: '0', numel: 8, size: [8] }], storages: { '0': f32([1, 2, 3, 4]) } }));
  await assert.rejects(openModel(g), (e: unknown) => e instanceof ModelFormatError && /storage archive\/data\/0 holds 16 bytes, shorter than the 32 bytes/.test(e.message));
});

test('a legacy checkpoint built like torch 1.5 writes it reads the same as its zip twin', async () => {
  const dir = tempDir('legacy');
  const specs: TensorSpec[] = [{ name: 'a', key: '140', numel: 4, size: [2, 2] }, { name: 'b', key: '140', numel: 4, size: [2, 2] }];
  const f = write(dir, 'l.pt', buildLegacy(stateDictPickle(specs.map((s) => ({ ...s, legacy: true }))), [{ key: '140', numel: 4, data: f32([1, 2, 3, 4]) }]));
  const m = await openModel(f);
  assert.deepEqual(m.tensors.map((t) => [t.name, t.storage?.key]), [['a', '140'], ['b', '140']]);
  assert.equal(singleRange(m.tensors[0]!.data)!.offset, fs.statSync(f).size - 16);
});

for (const p of [2, 3, 4, 5]) {
  test(`CPython's protocol-${p} state dict as data.pkl: three tensors, the alias tied by storage`, async () => {
    const dir = tempDir(`p${p}`);
    const pickle = fs.readFileSync(path.join(__dirname, `../../../fixtures/pytorch/statedict-p${p}.pkl`));
    const m = await openModel(write(dir, 'sd.pt', buildCheckpoint({ pickle, storages: { '0': f32([1, 2, 3, 4, 5, 6]), '1': f32([1, 2, 3, 4]) } })));
    assert.deepEqual(m.tensors.map((t) => [t.name, t.shape.join('x')]), [['a.weight', '2x3'], ['a.alias', '2x3'], ['b.bias', '4']]);
    const f = await findings(m);
    assert.deepEqual(f.tied, [['a.alias', 'a.weight']]);
  });
}
