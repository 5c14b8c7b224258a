// `apply` and `restore` on safetensors checkpoints: every corpus file and
// folder is applied (the re-scan finds nothing left, every input tensor is
// proven recoverable, the size drop is the planned saving up to the header's
// records), the shared copy reports its drops as `record` ties, and
// `weight-sharing restore` gives back the corpus originals byte for byte. A
// synthetic file covers the derived kinds (transposed, cast, reshaped), and
// the proof is shown to fail when the kept bytes or the records are wrong.
// Hostile inputs go through the CLI: exit 2, one stderr line naming the
// file, nothing written.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applySharing, type ApplyResult } from '../../../extension/sharing/apply';
import { openModel } from '../../../extension/model/registry';
import { encodeSafetensorsHeader, readSafetensorsHeader, writerOrder, type SafetensorsHeader } from '../../../extension/model/safetensors/header';
import { DERIVED_KEY, TIES_KEY, decodeDropRecords } from '../../../extension/model/safetensors/records';
import { verifyRecovery } from '../../../extension/sharing/recovery';
import { scanFiles } from '../../../extension/sharing/scan';
import { toJson } from '../../../extension/sharing/report';
import { DEFAULT_MIN_BYTES } from '../../../extension/sharing/types';
import { f32ToF16Bits } from '../../../extension/util/floatCast';

const root = path.join(__dirname, '../../..');
const CORPUS = path.join(root, 'test/fixtures/corpus');
const INDEX = 'model.safetensors.index.json';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-st-apply-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

let serial = 0;
function scratch(): string {
  const dir = path.join(tmp, `case-${serial++}`);
  fs.mkdirSync(dir);
  return dir;
}

/** `weight-sharing ARGS` from the sources (node --import tsx extension/cli.ts). */
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'extension/cli.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

/** Every file under `dir`, relative, sorted (hidden temp files included). */
function listing(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => f.split(path.sep).join('/')).sort();
}

/** Asserts `a` and `b` (files, or folders of files) are byte-identical: `cmp` for each file, same file list. */
function assertIdentical(a: string, b: string): void {
  if (fs.statSync(a).isDirectory()) {
    assert.ok(fs.statSync(b).isDirectory(), `${b} is a folder`);
    assert.deepEqual(listing(b), listing(a), 'same file list');
    for (const f of listing(a)) assertIdentical(path.join(a, f), path.join(b, f));
    return;
  }
  const r = spawnSync('cmp', [a, b], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cmp ${a} ${b}: ${r.stdout}${r.stderr}`);
  assert.ok(fs.readFileSync(a).equals(fs.readFileSync(b)), `${b} equals ${a}`);
}

/** The safetensors files of a checkpoint (a folder, or a folder's index) by base name; a single file under ''. */
function shardHeaders(target: string): Map<string, SafetensorsHeader> {
  const dir = folderOf(target);
  if (!dir) return new Map([['', readSafetensorsHeader(target)]]);
  return new Map(fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).map((f) => [f, readSafetensorsHeader(path.join(dir, f))]));
}

/** The folder holding a checkpoint's files (the target itself for folders and indexes). */
function folderOf(target: string): string | undefined {
  return fs.statSync(target).isDirectory() ? target : path.basename(target) === INDEX ? path.dirname(target) : undefined;
}

/** Bytes of the JSON pairs `"k":"v"` (each with its comma) that `records` add to a header's __metadata__. */
function recordBytes(records: Record<string, string>, hadMetadata: boolean): number {
  const pairs = Object.entries(records).reduce((n, [k, v]) => n + Buffer.byteLength(`${JSON.stringify(k)}:${JSON.stringify(v)},`), 0);
  return pairs + (hadMetadata ? 0 : Buffer.byteLength('"__metadata__":{},'));
}

// --- the corpus --------------------------------------------------------------------

interface Target {
  /** Relative to the corpus. */
  input: string;
  /** What restore gives back, to compare with (the folder for a folder's index). */
  original: string;
  /** Output name in the scratch folder (a folder for folder checkpoints). */
  output: string;
}

const targets: Target[] = [
  { input: 'gpt2-tiny-untied.safetensors', original: 'gpt2-tiny-untied.safetensors', output: 'untied.shared.safetensors' },
  { input: 'gpt2-tiny-hf', original: 'gpt2-tiny-hf', output: 'gpt2-tiny-hf.shared' },
  { input: 'gpt2-tiny-hf/model.safetensors', original: 'gpt2-tiny-hf/model.safetensors', output: 'model.shared.safetensors' },
  { input: 'gpt2-tiny-sharded', original: 'gpt2-tiny-sharded', output: 'gpt2-tiny-sharded.shared' },
  // A folder is written (named with a dot; a plain name works too, see below).
  { input: `gpt2-tiny-sharded/${INDEX}`, original: 'gpt2-tiny-sharded', output: 'sharded-by-index.shared' },
  { input: 'gpt2-trained-neardup.safetensors', original: 'gpt2-trained-neardup.safetensors', output: 'neardup.shared.safetensors' },
];

/** Shared copies the tests below re-open: `${minBytes}:${input}` -> result. */
const applied = new Map<string, ApplyResult>();

for (const minBytes of [0, DEFAULT_MIN_BYTES]) {
  for (const t of targets) {
    test(`apply ${t.input} (--min-bytes ${minBytes}): nothing left, recoverable, smaller by the plan; restore gives the original back byte for byte`, async () => {
      const input = path.join(CORPUS, t.input);
      const dir = scratch();
      const output = path.join(dir, t.output);
      const corpusBefore = listing(CORPUS);
      const report = await scanFiles([input], { minBytes });
      const lossless = report.groups.filter((g) => g.lossless && g.kind !== 'tied');
      const res = await applySharing(input, { output, minBytes });
      assert.deepEqual(listing(CORPUS), corpusBefore, 'nothing written beside the input');

      if (lossless.length === 0) {
        assert.equal(t.input, 'gpt2-trained-neardup.safetensors', 'only the trained file has no exact copies');
        assert.equal(res.output, undefined, 'nothing to apply: nothing written');
        assert.deepEqual(res.plan.replacements, []);
        assert.deepEqual(listing(dir), []);
        return;
      }
      assert.equal(res.output, output);
      assert.equal(res.format, 'safetensors');
      assert.deepEqual(res.remaining, [], 'the re-scan finds no applicable group');
      assert.equal(res.remainingBytes, 0);
      assert.deepEqual(res.unrecovered, [], 'every input tensor is proven recoverable');
      assert.deepEqual(res.plan.skipped, []);
      assert.equal(res.plan.bytesSaved, lossless.reduce((s, g) => s + g.bytesSaved, 0), 'every reported saving applied');
      assert.match(res.loadingNote ?? '', /weight-sharing restore SHARED -o FULL/);

      // What was written: one file, or a folder with the original's file names.
      const inFolder = folderOf(input);
      if (inFolder) assert.deepEqual(listing(output), listing(path.join(CORPUS, t.original)), 'same file names as the input folder');
      else assert.deepEqual(listing(dir), [t.output]);
      assert.deepEqual(listing(dir).filter((f) => f.startsWith('.')), [], 'no temp files left');

      // Sizes: the data shrinks by exactly the plan; the headers change only by the records (and the dropped entries).
      const before = shardHeaders(input);
      const afterH = shardHeaders(output);
      assert.deepEqual([...afterH.keys()].sort(), [...before.keys()].sort(), 'same shards');
      let dataDrop = 0;
      let headerGrowth = 0;
      const dropped = new Map<string, string>();
      for (const [name, hIn] of before) {
        const hOut = afterH.get(name)!;
        dataDrop += (hIn.fileSize - hIn.dataStart) - (hOut.fileSize - hOut.dataStart);
        headerGrowth += hOut.headerLength - hIn.headerLength;
        const records: Record<string, string> = {};
        for (const k of [TIES_KEY, DERIVED_KEY]) if (hOut.metadata?.[k] !== undefined) records[k] = hOut.metadata[k]!;
        assert.deepEqual({ ...hOut.metadata }, { ...hIn.metadata, ...records }, `${name}: metadata is the input's plus the records`);
        assert.equal(records[DERIVED_KEY], undefined, 'exact copies are recorded as ties, not derivations');
        assert.ok(hOut.headerLength <= hIn.headerLength + recordBytes(records, hIn.metadata !== undefined) + 8, `${name}: header grows by the records at most`);
        const { drops, problems } = decodeDropRecords(hOut.metadata);
        assert.deepEqual(problems, []);
        for (const d of drops) {
          assert.deepEqual(d.ops, []);
          assert.ok(!dropped.has(d.dropped), `${d.dropped} recorded once`);
          dropped.set(d.dropped, d.kept);
          assert.ok(hIn.entries.some((e) => e.name === d.dropped), `${d.dropped} is recorded in the shard that held it`);
          assert.ok(!hOut.entries.some((e) => e.name === d.dropped), `${d.dropped} is no longer stored`);
        }
        // Every tensor kept is the input's (bytes checked by the proof and by restore).
        assert.deepEqual(hOut.entries.map((e) => e.name).sort(), hIn.entries.map((e) => e.name).filter((n) => !dropped.has(n)).sort());
      }
      assert.deepEqual(new Map([...dropped].sort()), new Map(res.plan.replacements.map((r) => [r.realised.dropped.name, r.realised.kept.name] as [string, string]).sort()));
      assert.equal(dataDrop, res.plan.bytesSaved, 'the data shrinks by exactly the planned saving');
      let indexGrowth = 0;
      if (inFolder && fs.existsSync(path.join(inFolder, INDEX))) {
        const iIn = JSON.parse(fs.readFileSync(path.join(inFolder, INDEX), 'utf8')) as { metadata: { total_size: number }; weight_map: Record<string, string> };
        const iOut = JSON.parse(fs.readFileSync(path.join(output, INDEX), 'utf8')) as typeof iIn;
        assert.equal(iOut.metadata.total_size, iIn.metadata.total_size - res.plan.bytesSaved);
        assert.deepEqual(Object.keys(iOut.weight_map).sort(), Object.keys(iIn.weight_map).filter((n) => !dropped.has(n)).sort());
        indexGrowth = fs.statSync(path.join(output, INDEX)).size - fs.statSync(path.join(inFolder, INDEX)).size;
      }
      const stSize = (m: Map<string, SafetensorsHeader>) => [...m.values()].reduce((n, x) => n + x.fileSize, 0);
      assert.equal(stSize(before) - stSize(afterH), res.plan.bytesSaved - headerGrowth, 'every byte of the safetensors files\' size change is explained');
      const sizeOf = (files: string[]) => files.reduce((n, f) => n + fs.statSync(f).size, 0);
      const opened = await openModel(input);
      const again = await openModel(output);
      assert.equal(res.bytesBefore, sizeOf(opened.files));
      assert.equal(res.bytesAfter, sizeOf(again.files));
      if (opened.files.length === again.files.length) {
        // The same kind of files on both sides (config.json with config.json, index with index).
        assert.equal(res.bytesBefore - res.bytesAfter, res.plan.bytesSaved - headerGrowth - indexGrowth, 'every byte of the size change is explained');
      }

      // restore SHARED -o FULL: the corpus original, byte for byte.
      const full = path.join(dir, inFolder ? 'full' : 'full.safetensors');
      const r = cli('restore', output, '-o', full);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.err, '');
      assert.match(r.out, new RegExp(`restored ${dropped.size} tensors?`));
      assert.match(r.out, /verified: /);
      assertIdentical(path.join(CORPUS, t.original), full);
      applied.set(`${minBytes}:${t.input}`, res);
    });
  }
}

for (const t of targets.filter((x) => x.input !== 'gpt2-trained-neardup.safetensors')) {
  test(`the shared copy of ${t.input} reports each drop as a tied group (tiedBy record), the dropped name not stored`, async () => {
    const res = applied.get(`0:${t.input}`);
    assert.ok(res?.output, 'the apply test above ran');
    const report = await scanFiles([res.output], { minBytes: 0 });
    const records = report.groups.filter((g) => g.kind === 'tied' && g.tiedBy === 'record');
    const got = new Map<string, string>();
    for (const g of records) {
      assert.equal(g.members[0]!.stored, true, 'the kept tensor is stored');
      assert.ok(g.members.length >= 2);
      for (const m of g.members.slice(1)) {
        assert.equal(m.stored, false, `${m.tensor.name} is not stored`);
        assert.equal(m.tensor.data.kind, 'unavailable');
        got.set(m.tensor.name, g.members[0]!.tensor.name);
      }
    }
    const want = new Map(res.plan.replacements.map((r) => [r.realised.dropped.name, r.realised.kept.name] as [string, string]));
    assert.deepEqual(new Map([...got].sort()), new Map([...want].sort()));
    assert.deepEqual(report.groups.filter((g) => g.kind !== 'tied'), [], 'no copies left at --min-bytes 0');
    // The JSON report says the same.
    const json = toJson(report).groups.filter((g) => g.tiedBy === 'record');
    assert.equal(json.length, records.length);
    for (const g of json) assert.deepEqual(g.tensors.map((x) => x.stored), [true, ...g.tensors.slice(1).map(() => false)]);
    // Folders written with their config.json keep its tie, reported once; a lone file has no config beside it.
    const config = report.groups.filter((g) => g.tiedBy === 'config');
    assert.equal(config.length, fs.statSync(res.output).isDirectory() ? 1 : 0);
  });
}

test('untied lm_head.weight vs transformer.wte.weight: transformer.wte.weight is kept (loaders re-create the output embedding); the note says restore', async () => {
  const res = applied.get(`${DEFAULT_MIN_BYTES}:gpt2-tiny-untied.safetensors`);
  assert.ok(res, 'the apply test above ran');
  const r = res.plan.replacements.find((x) => [x.realised.kept.name, x.realised.dropped.name].includes('lm_head.weight'));
  assert.ok(r);
  assert.equal(r.realised.kept.name, 'transformer.wte.weight');
  assert.equal(r.realised.dropped.name, 'lm_head.weight');
  assert.deepEqual(r.realised.ops, []);
  assert.match(res.loadingNote!, /must be re-tied by the loader .*weight-sharing restore SHARED -o FULL/);
  assert.doesNotMatch(res.loadingNote!, /transformers re-creates/, 'no config.json says the loader ties them');
});

test('the untied file as a Hugging Face folder whose config ties the embeddings: lm_head dropped, the note says transformers re-creates it', async () => {
  const dir = scratch();
  const model = path.join(dir, 'model');
  fs.mkdirSync(model);
  fs.copyFileSync(path.join(CORPUS, 'gpt2-tiny-untied.safetensors'), path.join(model, 'model.safetensors'));
  fs.copyFileSync(path.join(CORPUS, 'gpt2-tiny-hf/config.json'), path.join(model, 'config.json'));
  const res = await applySharing(model, { output: path.join(dir, 'shared') });
  assert.deepEqual(res.unrecovered, []);
  assert.deepEqual(res.plan.replacements.map((r) => `${r.realised.dropped.name}->${r.realised.kept.name}`), ['lm_head.weight->transformer.wte.weight', 'transformer.h.1.mlp.c_fc.bias->transformer.h.0.mlp.c_fc.bias']);
  assert.match(res.loadingNote!, /^loading: transformers re-creates lm_head\.weight by itself \(config\.json ties the embeddings\); 1 other dropped tensor must be re-tied/);
  const report = await scanFiles([path.join(dir, 'shared')], { minBytes: 0 });
  const lm = report.groups.filter((g) => g.members.some((m) => m.tensor.name === 'lm_head.weight'));
  assert.deepEqual(lm.map((g) => g.tiedBy), ['record'], 'recorded once, not also as a config tie');
  const r = cli('restore', path.join(dir, 'shared'), '-o', path.join(dir, 'full'));
  assert.equal(r.code, 0, r.err);
  assertIdentical(model, path.join(dir, 'full'));
});

// --- derived copies: transposed, cast, reshaped -----------------------------------------

/** `n` floats from a seeded LCG, spread over several binades (so a flipped exponent bit changes every derivation). */
function values(n: number): Float32Array {
  let s = 12345;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32 - 0.5) * 8;
  });
}

interface SynTensor { name: string; stDtype: string; shape: number[]; data: Buffer }

/** A safetensors file as the reference writer lays it out (sorted by writerOrder). */
function writeSafetensors(file: string, tensors: SynTensor[], metadata: Record<string, string> | undefined): void {
  const sorted = [...tensors].sort(writerOrder);
  let at = 0;
  const spans = sorted.map((t) => {
    const e = { name: t.name, stDtype: t.stDtype, shape: t.shape, begin: at, end: at + t.data.length };
    at = e.end;
    return e;
  });
  fs.writeFileSync(file, Buffer.concat([encodeSafetensorsHeader(metadata, spans), ...sorted.map((t) => t.data)]));
}

function synthetic(file: string, withMetadata = true): void {
  const rows = 64, cols = 48;
  const W = values(rows * cols);
  const WT = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) WT[c * rows + r] = W[r * cols + c]!;
  const bits = new Uint32Array(W.buffer);
  const H = Uint16Array.from(bits, (b) => f32ToF16Bits(b));
  const buf = (a: Float32Array | Uint16Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  writeSafetensors(file, [
    { name: 'W', stDtype: 'F32', shape: [rows, cols], data: buf(W) },
    { name: 'WT', stDtype: 'F32', shape: [cols, rows], data: buf(WT) },
    { name: 'H', stDtype: 'F16', shape: [rows, cols], data: buf(H) },
    { name: 'R', stDtype: 'F32', shape: [rows * cols], data: buf(W.slice()) },
  ], withMetadata ? { format: 'pt' } : undefined);
}

test('synthetic W, its transpose WT, its float16 cast H and reshape R: apply records the derivations, restore reproduces the file', async () => {
  const dir = scratch();
  const file = path.join(dir, 'syn.safetensors');
  synthetic(file);
  const report = await scanFiles([file], { minBytes: 0 });
  assert.deepEqual(report.groups.map((g) => `${g.kind}:${g.members.map((m) => m.tensor.name).sort().join(',')}`).sort(), ['cast:H,W', 'reshaped:R,W', 'transposed:W,WT']);

  const shared = path.join(dir, 'syn.shared.safetensors');
  const res = await applySharing(file, { output: shared, minBytes: 0 });
  assert.deepEqual(res.unrecovered, []);
  assert.deepEqual(res.remaining, []);
  assert.deepEqual(res.plan.replacements.map((r) => `${r.group.kind}:${r.realised.dropped.name}<-${r.realised.kept.name}:${r.realised.ops.join('+')}`).sort(),
    ['cast:H<-W:cast', 'reshaped:R<-W:reshape', 'transposed:WT<-W:transpose']);
  assert.equal(res.plan.bytesSaved, 48 * 64 * 4 * 2 + 48 * 64 * 2);
  const h = readSafetensorsHeader(shared);
  assert.deepEqual(h.entries.map((e) => e.name), ['W']);
  assert.equal(h.metadata?.[TIES_KEY], undefined);
  assert.deepEqual(JSON.parse(h.metadata![DERIVED_KEY]!), {
    WT: { from: 'W', ops: ['transpose'], dtype: 'F32', shape: [48, 64] },
    R: { from: 'W', ops: ['reshape'], dtype: 'F32', shape: [3072] },
    H: { from: 'W', ops: ['cast'], dtype: 'F16', shape: [64, 48] },
  });
  assert.equal(h.metadata!.format, 'pt');
  const again = await scanFiles([shared], { minBytes: 0 });
  assert.deepEqual(again.groups.map((g) => [g.tiedBy, g.members.map((m) => `${m.tensor.name}:${m.stored}`).join(',')]).sort(),
    [['record', 'W:true,H:false'], ['record', 'W:true,R:false'], ['record', 'W:true,WT:false']]);
  const derivedTie = (await openModel(shared)).ties.find((x) => x.tied[0]!.tensor.name === 'H')!;
  assert.deepEqual([derivedTie.tied[0]!.tensor.dtype, derivedTie.tied[0]!.tensor.shape, derivedTie.tied[0]!.ops], ['float16', [64, 48], ['cast']]);

  const r = cli('restore', shared, '-o', path.join(dir, 'full.safetensors'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /restored 3 tensors: /);
  assertIdentical(file, path.join(dir, 'full.safetensors'));

  // A file without __metadata__: the records are its only metadata, and restore leaves none behind.
  const bare = path.join(dir, 'bare.safetensors');
  synthetic(bare, false);
  assert.equal(readSafetensorsHeader(bare).metadata, undefined);
  const bareShared = path.join(dir, 'bare.shared.safetensors');
  const bareRes = await applySharing(bare, { output: bareShared, minBytes: 0 });
  assert.deepEqual(bareRes.unrecovered, []);
  assert.deepEqual(Object.keys(readSafetensorsHeader(bareShared).metadata ?? {}), [DERIVED_KEY]);
  const rb = cli('restore', bareShared, '-o', path.join(dir, 'bare.full.safetensors'));
  assert.equal(rb.code, 0, rb.err);
  assertIdentical(bare, path.join(dir, 'bare.full.safetensors'));
});

test("tensors named '__proto__', 'constructor' and 'toString' are recorded and restored like any other name", async () => {
  const dir = scratch();
  const file = path.join(dir, 'proto.safetensors');
  const data = Buffer.from(values(1024).buffer);
  const names = ['A', '__proto__', 'constructor', 'toString', 'hasOwnProperty']; // 'A' sorts first: it is the one kept
  writeSafetensors(file, names.map((name) => ({ name, stDtype: 'F32', shape: [1024], data })), JSON.parse('{"__proto__": "kept", "format": "pt"}') as Record<string, string>);
  const shared = path.join(dir, 'proto.shared.safetensors');
  const res = await applySharing(file, { output: shared, minBytes: 0 });
  assert.deepEqual(res.unrecovered, []);
  const h = readSafetensorsHeader(shared);
  assert.equal(h.entries.length, 1);
  const kept = h.entries[0]!.name;
  assert.equal(kept, 'A');
  // JSON.parse makes `__proto__` an own key, as an independent reader of the record would see it.
  const ties = JSON.parse(h.metadata![TIES_KEY]!) as Record<string, string>;
  assert.deepEqual(Object.keys(ties).sort(), names.filter((n) => n !== kept).sort());
  assert.ok(Object.values(ties).every((k) => k === kept));
  assert.ok(Object.hasOwn(h.metadata!, '__proto__'), "the input's own __proto__ metadata entry is kept");
  const r = cli('restore', shared, '-o', path.join(dir, 'full.safetensors'));
  assert.equal(r.code, 0, r.err);
  assertIdentical(file, path.join(dir, 'full.safetensors'));
});

test('the proof can fail: one corrupted byte of the kept W, and records that do not reproduce the input, are reported', async () => {
  const dir = scratch();
  const file = path.join(dir, 'syn.safetensors');
  synthetic(file);
  const shared = path.join(dir, 'syn.shared.safetensors');
  const res = await applySharing(file, { output: shared, minBytes: 0 });
  assert.deepEqual(res.unrecovered, []);
  const original = await openModel(file);
  assert.deepEqual(await verifyRecovery(original, await openModel(shared)), [], 'the untouched copy is proven');

  // Flip an exponent bit of W's first element (the high byte, little-endian): W, and every derivation of it, differ.
  const bytes = fs.readFileSync(shared);
  const h = readSafetensorsHeader(shared);
  const w = h.entries.find((e) => e.name === 'W')!;
  const corrupted = Buffer.from(bytes);
  corrupted[w.offset + 3]! ^= 0x08;
  const bad = path.join(dir, 'corrupted.safetensors');
  fs.writeFileSync(bad, corrupted);
  const problems = await verifyRecovery(original, await openModel(bad));
  assert.deepEqual(problems.sort(), [
    "'H' is recorded as cast of 'W', which does not reproduce it",
    "'R' is recorded as reshape of 'W', which does not reproduce it",
    "'W' is stored in the output but differs from the input",
    "'WT' is recorded as transpose of 'W', which does not reproduce it",
  ]);

  // Records whose dtype or shape differ from the input's: restore would rebuild other tensors, so the proof must fail.
  const derived = JSON.parse(h.metadata![DERIVED_KEY]!) as Record<string, { dtype: string; shape: number[] }>;
  for (const [name, edit] of [['H', (d: { dtype: string }) => { d.dtype = 'BF16'; }], ['R', (d: { shape: number[] }) => { d.shape = [1, 3072]; }], ['WT', (d: { shape: number[] }) => { d.shape = [64, 48]; }]] as const) {
    const copy = JSON.parse(JSON.stringify(derived)) as typeof derived;
    (edit as (d: { dtype: string; shape: number[] }) => void)(copy[name]!);
    const tampered = path.join(dir, `tampered-${name}.safetensors`);
    fs.writeFileSync(tampered, Buffer.concat([encodeSafetensorsHeader({ ...h.metadata, [DERIVED_KEY]: JSON.stringify(copy) }, h.entries), bytes.subarray(h.dataStart)]));
    const found = await verifyRecovery(original, await openModel(tampered));
    assert.equal(found.length, 1, `${name}: ${JSON.stringify(found)}`);
    assert.match(found[0]!, new RegExp(`^'${name}' `));
  }

  // A record naming a tensor the output does not store, and a missing record.
  const missing = path.join(dir, 'missing.safetensors');
  const { H: _dropped, ...rest } = derived;
  void _dropped;
  fs.writeFileSync(missing, Buffer.concat([encodeSafetensorsHeader({ ...h.metadata, [DERIVED_KEY]: JSON.stringify(rest) }, h.entries), bytes.subarray(h.dataStart)]));
  assert.deepEqual(await verifyRecovery(original, await openModel(missing)), ["'H' is neither stored in the output nor recorded as a copy"]);
});

// --- hostile input -----------------------------------------------------------------

const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
/** An 8-byte length and exactly this JSON (unpadded), then `data` bytes. */
const withHeader = (json: string, data = 0) => Buffer.concat([u64(BigInt(Buffer.byteLength(json))), Buffer.from(json), Buffer.alloc(data, 7)]);
const validFile = (): Buffer => {
  const h = encodeSafetensorsHeader(undefined, [{ name: 'a', stDtype: 'F32', shape: [256], begin: 0, end: 1024 }, { name: 'b', stDtype: 'F32', shape: [256], begin: 1024, end: 2048 }]);
  return Buffer.concat([h, Buffer.alloc(2048, 1)]);
};

const hostile: Array<[string, Buffer, RegExp]> = [
  ['truncated header (5 bytes)', validFile().subarray(0, 5), /^file is only 5 bytes, too short for the 8-byte header length \(at byte 0\)$/],
  ['truncated header (cut in the JSON)', validFile().subarray(0, 40), /^header length \d+ runs past the end of the file \(only 32 bytes follow the length field\) \(at byte 0\)$/],
  ['overlapping spans', withHeader('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}', 24), /^tensors "a" \(data_offsets \[0, 16\]\) and "b" \(\[8, 24\]\) overlap \(at byte \d+\)$/],
  ['header length past the end', Buffer.concat([u64(1000n), Buffer.from('{}')]), /^header length 1000 runs past the end of the file \(only 2 bytes follow the length field\) \(at byte 0\)$/],
  ['2^60 header length', Buffer.concat([u64(1n << 60n), Buffer.from('{}      ')]), /^header length 1152921504606846976 is over the 100000000-byte limit \(at byte 0\)$/],
  ['JSON nesting bomb', withHeader(`{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`), /^JSON nesting deeper than 64 levels \(at byte \d+\)$/],
  ['a NaN dim', withHeader('{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,16]}}', 16), /^"NaN" in tensor "a" is not valid JSON \(JSON has no NaN or Infinity; shapes and offsets are non-negative integers\) \(at byte \d+\)$/],
];

for (const [label, bytes, problem] of hostile) {
  test(`hostile (CLI apply): ${label}: exit 2, one stderr line naming the file, nothing written`, () => {
    const dir = scratch();
    const file = path.join(dir, 'bad.safetensors');
    fs.writeFileSync(file, bytes);
    for (const extra of [[], ['-o', path.join(dir, 'out.safetensors')], ['--min-bytes', '0', '--json']]) {
      const r = cli('apply', file, ...extra);
      assert.equal(r.code, 2, r.out + r.err);
      assert.equal(r.out, '');
      assert.equal(r.err.split('\n').length, 2, `one line: ${r.err}`);
      const prefix = `weight-sharing: ${file}: safetensors: `;
      assert.ok(r.err.startsWith(prefix), r.err);
      assert.match(r.err.slice(prefix.length, -1), problem);
      assert.deepEqual(listing(dir), ['bad.safetensors'], 'no output, no temp file');
      assert.ok(fs.readFileSync(file).equals(bytes), 'the input is untouched');
    }
  });
}

test('hostile: an output equal to the input (any spelling, or a shard of the input folder) is refused, nothing written', () => {
  const dir = scratch();
  const file = path.join(dir, 'm.safetensors');
  fs.copyFileSync(path.join(CORPUS, 'gpt2-tiny-untied.safetensors'), file);
  fs.cpSync(path.join(CORPUS, 'gpt2-tiny-sharded'), path.join(dir, 'sharded'), { recursive: true });
  const before = listing(dir);
  const cases: Array<[string, string, RegExp]> = [
    [file, file, /refusing to write over the input file .*m\.safetensors: choose another output path/],
    [file, path.join(dir, '.', 'sub', '..', 'm.safetensors'), /refusing to write over the input file/],
    [path.join(dir, 'sharded'), path.join(dir, 'sharded', 'model-00001-of-00005.safetensors'), /refusing to write over the input file .*model-00001-of-00005\.safetensors/],
    [path.join(dir, 'sharded'), path.join(dir, 'sharded'), /sharded: already exists: choose another output folder, or remove it first/],
  ];
  for (const [input, output, message] of cases) {
    const r = cli('apply', input, '-o', output, '--min-bytes', '0');
    assert.equal(r.code, 2, r.out + r.err);
    assert.equal(r.out, '');
    assert.equal(r.err.split('\n').length, 2, r.err);
    assert.match(r.err, /^weight-sharing: /);
    assert.match(r.err, message);
    assert.deepEqual(listing(dir), before, 'nothing written, no temp files');
  }
  assertIdentical(path.join(CORPUS, 'gpt2-tiny-untied.safetensors'), file);
  assertIdentical(path.join(CORPUS, 'gpt2-tiny-sharded'), path.join(dir, 'sharded'));
});

test('hostile: an existing output folder for a folder apply is refused, left as it was', () => {
  const dir = scratch();
  for (const [input, existing] of [['gpt2-tiny-sharded', 'taken'], ['gpt2-tiny-hf', 'taken-hf']] as const) {
    fs.mkdirSync(path.join(dir, existing));
    fs.writeFileSync(path.join(dir, existing, 'keep.txt'), 'mine');
    const before = listing(dir);
    const r = cli('apply', path.join(CORPUS, input), '-o', path.join(dir, existing));
    assert.equal(r.code, 2, r.out + r.err);
    assert.equal(r.err, `weight-sharing: ${path.join(dir, existing)}: already exists: choose another output folder, or remove it first\n`);
    assert.deepEqual(listing(dir), before, 'not merged into, no temp folder left');
    assert.equal(fs.readFileSync(path.join(dir, existing, 'keep.txt'), 'utf8'), 'mine');
  }
});

test('cancelling a folder apply during the write leaves no output folder and no temp folder', async () => {
  const dir = scratch();
  const controller = new AbortController();
  await assert.rejects(
    applySharing(path.join(CORPUS, 'gpt2-tiny-sharded'), {
      output: path.join(dir, 'out'),
      minBytes: 0,
      signal: controller.signal,
      onProgress: (message, fraction) => { if (message === 'writing the shared model' && fraction > 0.3) controller.abort(); },
    }),
    /out.*cancelled; nothing was written/,
  );
  assert.deepEqual(listing(dir), []);
});

// --- restore ---------------------------------------------------------------------------

test('restore on a safetensors checkpoint with no records writes an identical copy (restored 0 tensors, exit 0)', () => {
  const dir = scratch();
  for (const [input, out] of [['gpt2-trained-neardup.safetensors', 'copy.safetensors'], ['gpt2-tiny-sharded', 'copy-sharded'], ['gpt2-tiny-hf', 'copy-hf']] as const) {
    const r = cli('restore', path.join(CORPUS, input), '-o', path.join(dir, out));
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.match(r.out, /\nrestored 0 tensors\n/);
    assertIdentical(path.join(CORPUS, input), path.join(dir, out));
  }
  const json = cli('restore', path.join(CORPUS, 'gpt2-tiny-untied.safetensors'), '-o', path.join(dir, 'j.safetensors'), '--json');
  assert.equal(json.code, 0, json.err);
  const doc = JSON.parse(json.out) as { ok: boolean; restored: string[]; missing: string[] };
  assert.deepEqual([doc.ok, doc.restored, doc.missing], [true, [], []]);
  assertIdentical(path.join(CORPUS, 'gpt2-tiny-untied.safetensors'), path.join(dir, 'j.safetensors'));
});

test('restore usage: no -o is a usage error (exit 2), as are no input and an unknown option; restore never writes over its input', () => {
  const dir = scratch();
  const file = path.join(dir, 'm.safetensors');
  fs.copyFileSync(path.join(CORPUS, 'gpt2-tiny-untied.safetensors'), file);
  const noOut = cli('restore', file);
  assert.equal(noOut.code, 2);
  assert.equal(noOut.out, '');
  assert.equal(noOut.err, 'weight-sharing: restore: name the output with -o FULL (restore never writes over its input)\n');
  assert.equal(cli('restore', file, '-o').err, 'weight-sharing: restore: -o needs a value\n');
  assert.equal(cli('restore', '-o', path.join(dir, 'x.safetensors')).err, 'weight-sharing: restore: give one shared model (a file or folder that apply wrote)\n');
  const unknown = cli('restore', file, '--frobnicate', '-o', path.join(dir, 'x.safetensors'));
  assert.equal(unknown.code, 2);
  assert.equal(unknown.err, "weight-sharing: restore: unknown option '--frobnicate'\n");
  const over = cli('restore', file, '-o', file);
  assert.equal(over.code, 2);
  assert.match(over.err, /^weight-sharing: .*m\.safetensors: refusing to write over the input file .*: choose another output path\n$/);
  assert.deepEqual(listing(dir), ['m.safetensors']);
  assertIdentical(path.join(CORPUS, 'gpt2-tiny-untied.safetensors'), file);
});

// --- found while writing these tests, fixed since ----------------------------------------

test('apply on a sharded index file writes a folder, so an output name without an extension is accepted', async () => {
  const dir = scratch();
  const res = await applySharing(path.join(CORPUS, 'gpt2-tiny-sharded', INDEX), { output: path.join(dir, 'out') });
  assert.equal(res.output, path.join(dir, 'out'));
});

test('an output folder gets the usual folder permissions, like its files', async () => {
  const dir = scratch();
  fs.mkdirSync(path.join(dir, 'probe'));
  const usual = fs.statSync(path.join(dir, 'probe')).mode & 0o777;
  await applySharing(path.join(CORPUS, 'gpt2-tiny-sharded'), { output: path.join(dir, 'out') });
  assert.equal((fs.statSync(path.join(dir, 'out')).mode & 0o777).toString(8), usual.toString(8));
});

test('apply of a folder\'s model.safetensors as a lone file compares the same files before and after', async () => {
  const dir = scratch();
  const res = await applySharing(path.join(CORPUS, 'gpt2-tiny-hf/model.safetensors'), { output: path.join(dir, 'out.safetensors') });
  const h = readSafetensorsHeader(path.join(dir, 'out.safetensors'));
  assert.equal(res.bytesAfter, h.fileSize);
  assert.equal(res.bytesBefore, fs.statSync(path.join(CORPUS, 'gpt2-tiny-hf/model.safetensors')).size);
});
