// The built CLI (dist/cli.js; `npm test` builds first): `weight-sharing apply`
// output, --json, and the hostile cases of issue 3, each with a clear
// message, the right exit code and no file (or temp file) left behind.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applySharing } from '../../../extension/sharing/apply';

const root = path.join(__dirname, '../../..');
const cli = path.join(root, 'dist/cli.js');
const corpus = path.join(root, 'test/fixtures/corpus');

function run(args: string[], options: SpawnSyncOptions = {}) {
  assert.ok(fs.existsSync(cli), 'dist/cli.js exists: run `npm run build` first');
  const r = spawnSync(process.execPath, [cli, 'apply', ...args], { encoding: 'utf8', timeout: 120_000, ...options });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

function scratch(...copies: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'apply-cli-'));
  fs.chmodSync(dir, 0o755);
  for (const c of copies) fs.copyFileSync(path.join(corpus, c), path.join(dir, path.basename(c)));
  return dir;
}

function listing(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

test('default output NAME.shared.onnx beside the input; prints what was applied, bytes before/after, the verification', () => {
  const dir = scratch('bert-tiny-mlm.onnx');
  const r = run([path.join(dir, 'bert-tiny-mlm.onnx')]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.deepEqual(listing(dir), ['bert-tiny-mlm.onnx', 'bert-tiny-mlm.shared.onnx']);
  assert.match(r.out, /-> .*bert-tiny-mlm\.shared\.onnx\n/);
  assert.match(r.out, /transposed\s+256 kB\s+onnx::MatMul_377 -> m\.bert\.embeddings\.word_embeddings\.weight\s+\(Transpose node inserted\)/);
  const bytes = /bytes: (\d+) -> (\d+)/.exec(r.out);
  assert.ok(bytes);
  assert.equal(Number(bytes[1]), fs.statSync(path.join(dir, 'bert-tiny-mlm.onnx')).size);
  assert.equal(Number(bytes[2]), fs.statSync(path.join(dir, 'bert-tiny-mlm.shared.onnx')).size);
  assert.match(r.out, /verified: re-read the output and scanned it again: no lossless group/);
});

test('--json: applied groups, bytes, verification; external data goes to a new data file', () => {
  const dir = scratch('cond-branches.onnx', 'cond-branches.onnx.data');
  const before = fs.readFileSync(path.join(dir, 'cond-branches.onnx.data'));
  const r = run([path.join(dir, 'cond-branches.onnx'), '-o', path.join(dir, 'out.onnx'), '--json']);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as Record<string, unknown> & { applied: Array<{ kind: string; replacements: Array<{ kept: { name: string }; dropped: { name: string } }> }>; verified: { ok: boolean } };
  assert.equal(doc.schema, 1);
  assert.equal(doc.written, true);
  assert.equal(doc.dataFile, path.join(dir, 'out.onnx.data'));
  assert.deepEqual(doc.applied.map((a) => [a.kind, a.replacements.map((x) => `${x.dropped.name}->${x.kept.name}`)]), [['exact', ['w_copy->w']]]);
  assert.equal(doc.verified.ok, true);
  assert.equal(doc.bytesSaved, (doc.bytesBefore as number) - (doc.bytesAfter as number));
  assert.deepEqual(listing(dir), ['cond-branches.onnx', 'cond-branches.onnx.data', 'out.onnx', 'out.onnx.data']);
  assert.ok(fs.readFileSync(path.join(dir, 'cond-branches.onnx.data')).equals(before), 'the input data file is untouched');
  assert.equal(fs.statSync(path.join(dir, 'out.onnx.data')).size, before.length - 24576);
});

test('--kinds narrows what is applied; an unknown kind is an error', () => {
  const dir = scratch('bert-tiny-mlm.onnx');
  const r = run([path.join(dir, 'bert-tiny-mlm.onnx'), '--kinds', 'exact']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /nothing to apply \(no lossless sharing group found\); no file written/);
  assert.deepEqual(listing(dir), ['bert-tiny-mlm.onnx']);
  const bad = run([path.join(dir, 'bert-tiny-mlm.onnx'), '--kinds', 'tied']);
  assert.equal(bad.code, 2);
  assert.equal(bad.err, "weight-sharing: apply: --kinds: 'tied' is not a kind that can be applied (exact, transposed, cast, reshaped, quantized; tied weights are already stored once)\n");
});

test('hostile: output path equal to the input (also by another spelling, or to its data file) is refused, nothing written', () => {
  const dir = scratch('cond-branches.onnx', 'cond-branches.onnx.data');
  const model = path.join(dir, 'cond-branches.onnx');
  const before = fs.readFileSync(model);
  for (const o of [model, path.join(dir, '.', 'cond-branches.onnx'), path.join(dir, 'cond-branches.onnx.data')]) {
    const r = run([model, '-o', o]);
    assert.equal(r.code, 2, r.out);
    assert.equal(r.out, '');
    assert.equal(r.err.split('\n').length, 2, 'one line');
    assert.match(r.err, /refusing to write over the input file .*cond-branches\.onnx(\.data)?: choose another output path/);
  }
  assert.ok(fs.readFileSync(model).equals(before));
  assert.deepEqual(listing(dir), ['cond-branches.onnx', 'cond-branches.onnx.data']);
});

test('hostile: unwritable output folder', () => {
  const dir = scratch('bert-tiny-mlm.onnx');
  const locked = path.join(dir, 'locked');
  fs.mkdirSync(locked);
  fs.chmodSync(locked, 0o555);
  // root ignores folder permissions: run as `nobody` then.
  const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
  const r = run([path.join(dir, 'bert-tiny-mlm.onnx'), '-o', path.join(locked, 'out.onnx')], asNobody);
  assert.equal(r.code, 2, r.out);
  assert.equal(r.err, `weight-sharing: ${path.join(locked, 'out.onnx')}: cannot write in ${locked}: permission denied (EACCES)\n`);
  assert.deepEqual(listing(locked), []);
});

test('hostile: the disk fails in the middle of the write (file-size limit): clear message, no partial or temp file', () => {
  const dir = scratch('t5-tiny.onnx');
  // 512 blocks of 512 bytes = 256 KiB; the output is ~780 KB. Node ignores
  // SIGXFSZ, so the write gets a real EFBIG.
  const r = spawnSync('/bin/sh', ['-c', `ulimit -f 512 && exec "${process.execPath}" "${cli}" apply "${path.join(dir, 't5-tiny.onnx')}"`], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /^weight-sharing: .*t5-tiny\.shared\.onnx: write failed at byte \d+: the file is larger than this system allows \(EFBIG\)\n$/);
  assert.deepEqual(listing(dir), ['t5-tiny.onnx']);
});

test('hostile: initializers that are graph inputs are not merged: the reason is given, nothing written', () => {
  const dir = scratch('mlp-init-as-inputs.onnx');
  const r = run([path.join(dir, 'mlp-init-as-inputs.onnx')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /nothing to apply; no file written\.\n/);
  assert.match(r.out, /not applied: exact 0\.weight, 2\.weight: '0\.weight' is also a graph input: a caller may override it/);
  assert.deepEqual(listing(dir), ['mlp-init-as-inputs.onnx']);
});

test('a pipeline folder (t5-tiny-split) is reported as not applicable, with the reason', () => {
  const r = run([path.join(corpus, 't5-tiny-split')]);
  assert.equal(r.code, 2);
  assert.match(r.err, /t5-tiny-split: is a folder of model files\. apply rewrites one model\. Sharing across the files of a pipeline .* is not applicable: .*Apply each file on its own/);
  assert.equal(r.err.split('\n').length, 2);
});

test('usage errors: no model, two models, missing option value', () => {
  assert.equal(run([]).err, 'weight-sharing: apply: give one model file\n');
  assert.match(run(['a.onnx', 'b.onnx']).err, /give one model file \(got 2/);
  assert.equal(run(['a.onnx', '-o']).err, 'weight-sharing: apply: -o needs a value\n');
  assert.equal(run([path.join(corpus, 'nope.onnx')]).err, `weight-sharing: ${path.join(corpus, 'nope.onnx')}: no such file\n`);
});

test('cancelling apply during the write leaves no output and no temp file', async () => {
  const dir = scratch('t5-tiny.onnx');
  const controller = new AbortController();
  await assert.rejects(
    applySharing(path.join(dir, 't5-tiny.onnx'), {
      signal: controller.signal,
      onProgress: (message, fraction) => { if (message === 'writing the shared model' && fraction > 0.3) controller.abort(); },
    }),
    /t5-tiny\.shared\.onnx: cancelled; nothing was written/,
  );
  assert.deepEqual(listing(dir), ['t5-tiny.onnx']);
});
