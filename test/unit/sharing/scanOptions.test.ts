// What scanFiles promises beyond the groups themselves: it reads little,
// gives the same answers whatever its buffer size, filters by size, orders,
// totals each dropped tensor once, reports progress and stops when aborted.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../../../extension/model/registry';
import { scanFiles, scanModels, expandPaths } from '../../../extension/sharing/scan';
import { droppedMembers } from '../../../extension/sharing/groups';
import type { ScanProgress, SharingGroup } from '../../../extension/sharing/types';

const corpus = path.join(__dirname, '../../fixtures/corpus');
const at = (f: string) => path.join(corpus, f);
const tensorBytes = (r: { models: { tensors: { byteLength: number }[] }[] }) => r.models.reduce((n, m) => n + m.tensors.reduce((k, t) => k + t.byteLength, 0), 0);

test('sampling avoids reading: a model without duplicates is decided on a small fraction of its bytes', async () => {
  const m = await openModel(at('gpt2-tiny.onnx'));
  // Many tensors share dtype and size (the two layers), so a size-only filter would read most bytes.
  const sizes = new Map<string, number>();
  for (const t of m.tensors) sizes.set(`${t.dtype}|${t.byteLength}`, (sizes.get(`${t.dtype}|${t.byteLength}`) ?? 0) + 1);
  const sameSize = m.tensors.filter((t) => (sizes.get(`${t.dtype}|${t.byteLength}`) ?? 0) > 1).reduce((n, t) => n + t.byteLength, 0);
  const r = await scanModels([m], { minBytes: 0 });
  assert.equal(r.groups.filter((g) => g.kind !== 'tied').length, 0);
  assert.ok(sameSize > 0.5 * tensorBytes(r), `same-size candidates hold ${sameSize} bytes`);
  assert.ok(r.bytesRead < 0.02 * tensorBytes(r), `read ${r.bytesRead} of ${tensorBytes(r)} bytes`);
});

const signature = (gs: SharingGroup[]) => gs.map((g) => `${g.kind}:${g.bytesSaved}:${g.members.map((m) => `${path.basename(m.path)}:${m.tensor.id}`).join(',')}`);

for (const target of ['bert-tiny-mlm.onnx', 'half-copy.onnx', 'siamese-cnn-dynamo.onnx', 't5-tiny-split']) {
  test(`${target}: the same groups with 1000-byte and 64 KiB buffers as with the default (chunked and tiled paths)`, async () => {
    const ref = await scanFiles([at(target)], { minBytes: 0 });
    for (const chunkBytes of [1000, 65536]) {
      const r = await scanFiles([at(target)], { minBytes: 0, chunkBytes });
      assert.deepEqual(signature(r.groups), signature(ref.groups), `chunkBytes ${chunkBytes}`);
      assert.equal(r.bytesSaved, ref.bytesSaved);
    }
  });
}

test('minBytes hides groups whose tensors are all smaller, and says how many', async () => {
  const all = await scanFiles([at('bert-tiny-mlm.onnx')], { minBytes: 0 });
  const def = await scanFiles([at('bert-tiny-mlm.onnx')]);
  assert.equal(def.minBytes, 1024);
  const largest = (g: SharingGroup) => Math.max(...g.members.map((m) => m.tensor.byteLength));
  assert.ok(def.groups.every((g) => largest(g) >= 1024));
  assert.equal(def.groups.length, all.groups.filter((g) => largest(g) >= 1024).length);
  assert.equal(def.hiddenGroups, all.groups.length - def.groups.length);
  assert.ok((def.hiddenGroups ?? 0) > 0);
});

test('groups are ordered by bytes saved, and the order is stable between runs', async () => {
  const a = await scanFiles([at('t5-tiny.onnx')], { minBytes: 0 });
  const b = await scanFiles([at('t5-tiny.onnx')], { minBytes: 0 });
  for (let i = 1; i < a.groups.length; i++) assert.ok(a.groups[i - 1].bytesSaved >= a.groups[i].bytesSaved);
  assert.deepEqual(signature(a.groups), signature(b.groups));
  assert.equal(a.groups[0].kind, 'transposed');
});

test('bytesSaved: the applicable groups\' dropped tensors, each once (what apply saves)', async () => {
  const cases: Array<[string, number]> = [
    ['half-copy.onnx', 64000],             // the fp16 transposed copy
    ['siamese-cnn-dynamo.onnx', 9216],     // b.2.weight
    ['mlp-init-as-inputs.onnx', 0],        // its duplicate is a graph input: not lossless
    ['bert-tiny-mlm.onnx', -1],
    ['t5-tiny-split', -1],   // the decoder's transposed copy only: apply rewrites one file, so the shared embedding across files does not count
  ];
  for (const [f, want] of cases) {
    const r = await scanFiles([at(f)]);
    const dropped = new Map<string, number>();
    for (const g of r.groups) if (g.applicable) for (const m of droppedMembers(g)) dropped.set(`${m.path}|${m.tensor.id}`, m.tensor.byteLength);
    const union = [...dropped.values()].reduce((n, x) => n + x, 0);
    assert.equal(r.bytesSaved, union, f);
    if (want >= 0) assert.equal(r.bytesSaved, want, f);
  }
  const mlp = await scanFiles([at('mlp-init-as-inputs.onnx')]);
  const g = mlp.groups.find((x) => x.kind === 'exact');
  assert.ok(g && !g.lossless && !g.applicable && /graph input/.test(g.reason ?? ''));
});

test('t5-tiny-split: the shared embedding across files is found but not applicable; the total is the decoder\'s transposed copy', async () => {
  const r = await scanFiles([at('t5-tiny-split')]);
  const cross = r.groups.find((g) => g.crossFile && g.kind === 'exact' && g.members[0].tensor.id === 'm.shared.weight');
  const tr = r.groups.find((g) => g.kind === 'transposed');
  assert.ok(cross && tr);
  assert.equal(path.basename(tr.members[0].path), 'decoder_model.onnx');
  assert.equal(tr.members[0].tensor.id, 'm.shared.weight', 'the decoder keeps its own embedding as the transpose source');
  assert.equal(cross.applicable, false);
  assert.match(cross.reason ?? '', /different files/);
  assert.ok(tr.applicable);
  assert.equal(r.bytesSaved, tr.bytesSaved);
});

test('progress: fractions rise to 1; an abort stops the scan with an AbortError', async () => {
  const seen: ScanProgress[] = [];
  await scanFiles([at('bert-tiny-mlm.onnx')], { onProgress: (p) => seen.push(p) });
  assert.ok(seen.length >= 3);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].fraction >= seen[i - 1].fraction, 'non-decreasing');
  assert.equal(seen.at(-1)?.fraction, 1);
  assert.equal(seen[0].phase, 'open');

  const before = new AbortController();
  before.abort();
  await assert.rejects(scanFiles([at('bert-tiny-mlm.onnx')], { signal: before.signal }));

  const during = new AbortController();
  await assert.rejects(
    scanFiles([at('bert-tiny-mlm.onnx')], { signal: during.signal, onProgress: (p) => { if (p.phase === 'compare') during.abort(); } }),
    (e: Error) => e.name === 'AbortError',
  );
});

test('paths: folders expand to their model files, duplicates once, missing paths are errors', () => {
  const files = expandPaths([at('t5-tiny-split'), at('t5-tiny-split/encoder_model.onnx')]);
  assert.deepEqual(files.map((f) => path.basename(f)), ['decoder_model.onnx', 'encoder_model.onnx']);
  assert.throws(() => expandPaths([at('no-such-model.onnx')]), /no-such-model\.onnx: no such file or folder/);
  assert.throws(() => expandPaths([at('bert-tiny-mlm.test_data_set_0')]), /no model files/);
});

test('a file scanned with a copy of itself: every tensor of the copy is found once across files; apply counts each file\'s own copies', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-pair-'));
  try {
    fs.copyFileSync(at('bert-tiny-mlm.onnx'), path.join(dir, 'copy.onnx'));
    const alone = await scanFiles([at('bert-tiny-mlm.onnx')], { minBytes: 0 });
    const both = await scanFiles([at('bert-tiny-mlm.onnx'), path.join(dir, 'copy.onnx')], { minBytes: 0 });
    const readable = alone.models[0].tensors.filter((t) => t.data.kind !== 'unavailable').reduce((n, t) => n + t.byteLength, 0);
    // Apply rewrites each file on its own: each saves what it saves alone.
    assert.equal(both.bytesSaved, 2 * alone.bytesSaved);
    // Every readable tensor of the copy is found (in-file groups and cross-file ones together), each once;
    // the cross-file groups are not applicable.
    const across = both.groups.filter((x) => x.crossFile);
    assert.ok(across.length > 0 && across.every((x) => !x.applicable && /different files/.test(x.reason ?? '')));
    const ofCopy = both.groups.flatMap((x) => droppedMembers(x)).filter((m) => m.path.endsWith('copy.onnx'));
    const dropped = new Map(ofCopy.map((m) => [m.tensor.id, m.tensor.byteLength]));
    assert.equal([...dropped.values()].reduce((n, x) => n + x, 0), readable);
    // Cross-file groups drop one member per extra file; the in-file groups drop the rest.
    for (const g of across) {
      assert.deepEqual(droppedMembers(g).map((m) => path.basename(m.path)), ['copy.onnx']);
      assert.equal(g.bytesSaved, g.members[0].tensor.byteLength);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('reshaped: the same bytes under other shapes are one reshaped group, not exact', async () => {
  const m = await openModel(at('bert-tiny-mlm.onnx'));
  const emb = m.tensors.find((t) => t.name === 'm.bert.embeddings.word_embeddings.weight');
  assert.ok(emb);
  const flat = { ...emb, id: 'flat', name: 'flat', shape: [64000], consumers: [] };
  const other = { ...emb, id: 'other', name: 'other', shape: [500, 128], consumers: [] };
  const r = await scanModels([{ ...m, tensors: [...m.tensors, flat, other] }], { minBytes: 0 });
  const g = r.groups.filter((x) => x.members.some((mm) => mm.tensor.id === 'flat'));
  assert.equal(g.length, 1);
  assert.equal(g[0].kind, 'reshaped');
  assert.deepEqual(g[0].members.map((x) => x.tensor.id), [emb.id, 'flat', 'other']);
  assert.equal(g[0].bytesSaved, 2 * emb.byteLength);
});

test('a folder: external data that looks like a model (weights.bin) is data of the ONNX beside it, not a model', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-folder-'));
  try {
    // siamese-cnn-dynamo.onnx names its data file in the model; rename it to a .bin by rewriting that name in place (same length).
    const model = fs.readFileSync(at('siamese-cnn-dynamo.onnx'));
    const from = Buffer.from('siamese-cnn-dynamo.onnx.data');
    const to = Buffer.from('siamese-cnn-dynamo-onnx-.bin');
    assert.equal(from.length, to.length);
    const i = model.indexOf(from);
    assert.ok(i > 0);
    let j = i;
    while (j >= 0) { to.copy(model, j); j = model.indexOf(from, j + 1); }
    fs.writeFileSync(path.join(dir, 'model.onnx'), model);
    fs.copyFileSync(at('siamese-cnn-dynamo.onnx.data'), path.join(dir, to.toString()));
    assert.deepEqual(expandPaths([dir]).map((f) => path.basename(f)), ['model.onnx', to.toString()]);
    const r = await scanFiles([dir], { minBytes: 0 });
    assert.deepEqual(r.models.map((m) => path.basename(m.path)), ['model.onnx']);
    assert.ok(r.groups.some((g) => g.kind === 'exact' && g.members.map((m) => m.tensor.id).join() === 'a.2.weight,b.2.weight'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a transposed copy whose source lives only in another file: one cross-file transposed group', async () => {
  const enc = await openModel(at('t5-tiny-split/encoder_model.onnx'));
  const dec = await openModel(at('t5-tiny-split/decoder_model.onnx'));
  // The decoder without its own embedding: only the transposed copy remains there.
  const decOnlyCopy = { ...dec, tensors: dec.tensors.filter((t) => t.id !== 'm.shared.weight') };
  const r = await scanModels([enc, decOnlyCopy], { minBytes: 0 });
  const tr = r.groups.filter((g) => g.kind === 'transposed');
  assert.equal(tr.length, 1);
  assert.ok(tr[0].crossFile);
  assert.deepEqual(tr[0].members.map((m) => `${path.basename(m.path)}:${m.tensor.id}`), ['encoder_model.onnx:m.shared.weight', 'decoder_model.onnx:onnx::MatMul_573']);
  assert.equal(tr[0].bytesSaved, 256000);
});
