// The built CLI (dist/cli.js, made by `npm run build`, which `npm test` runs
// first) on corpus files: what a CI pipeline would see.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.join(__dirname, '../../..');
const cli = path.join(root, 'dist/cli.js');
const corpus = path.join(root, 'test/fixtures/corpus');

function run(...args: string[]) {
  assert.ok(fs.existsSync(cli), 'dist/cli.js exists: run `npm run build` first');
  const r = spawnSync(process.execPath, [cli, 'scan', ...args], { cwd: corpus, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('table: per model, groups by bytes saved with human sizes, cross-file groups, a total', () => {
  const r = run('t5-tiny-split', 'bert-tiny-mlm.onnx');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  const lines = r.out.split('\n');
  assert.ok(lines.some((l) => l.startsWith('t5-tiny-split/decoder_model.onnx  (onnx, ')), r.out);
  assert.ok(lines.some((l) => l.startsWith('bert-tiny-mlm.onnx  (onnx, ')));
  assert.match(r.out, /256 kB\s+transposed\s+m\.bert\.embeddings\.word_embeddings\.weight, onnx::MatMul_377\s+float32\[1000,64\] \/ float32\[64,1000\]/);
  assert.match(r.out, /Across files\n.*\n\s+256 kB\s+exact \(not applicable\)\s+t5-tiny-split\/decoder_model\.onnx:m\.shared\.weight, t5-tiny-split\/encoder_model\.onnx:m\.shared\.weight/);
  assert.match(r.out, /Total lossless saving: [\d.]+ kB \([\d.]+% of [\d.]+ MB tensor data\)/);
  // Within a model's table, savings do not increase downwards.
  const bert = r.out.slice(r.out.indexOf('bert-tiny-mlm.onnx  (')).split('\n\n')[0].split('\n').slice(2);
  const bytes = bert.map((l) => { const m = /^\s+([\d.]+) (B|kB|MB)/.exec(l); assert.ok(m, l); return Number(m[1]) * (m[2] === 'B' ? 1 : m[2] === 'kB' ? 1e3 : 1e6); });
  for (let i = 1; i < bytes.length; i++) assert.ok(bytes[i - 1] >= bytes[i], bert.join('\n'));
});

test('--json: the documented schema', () => {
  const r = run('half-copy.onnx', 'mlp-init-as-inputs.onnx', '--json', '--min-bytes', '0');
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out) as Record<string, unknown> & { models: Record<string, unknown>[]; groups: Array<Record<string, unknown> & { tensors: Record<string, unknown>[] }> };
  assert.equal(doc.schema, 1);
  assert.equal(typeof doc.bytesSaved, 'number');
  assert.equal(doc.models.length, 2);
  for (const m of doc.models) {
    assert.equal(typeof m.path, 'string');
    assert.equal(m.format, 'onnx');
    assert.equal(typeof m.tensors, 'number');
    assert.equal(typeof m.tensorBytes, 'number');
  }
  const kinds = new Set(['tied', 'exact', 'transposed', 'reshaped', 'cast', 'quantized']);
  for (const g of doc.groups) {
    assert.ok(kinds.has(g.kind as string), String(g.kind));
    assert.equal(typeof g.lossless, 'boolean');
    assert.equal(typeof g.bytesSaved, 'number');
    for (const t of g.tensors) {
      for (const k of ['path', 'name', 'dtype', 'file']) assert.equal(typeof t[k], 'string', k);
      for (const k of ['bytes', 'consumers']) assert.equal(typeof t[k], 'number', k);
      assert.ok(Array.isArray(t.shape));
    }
  }
  const cast = doc.groups.find((g) => g.kind === 'cast');
  assert.ok(cast);
  assert.deepEqual(cast.tensors.map((t) => [t.name, t.dtype, t.shape, t.bytes]), [['val_0', 'float32', [500, 64], 128000], ['t', 'float16', [64, 500], 64000]]);
  const unsafe = doc.groups.find((g) => g.kind === 'exact' && g.lossless === false);
  assert.ok(unsafe && typeof unsafe.reason === 'string');
  assert.equal(doc.bytesSaved, 64000, 'the graph-input duplicate is not counted');
  assert.equal(cast.tensors[0].file, 'half-copy.onnx');
});

test('--fail-over: exit 1 above the threshold, 0 at or below it', () => {
  const over = run('half-copy.onnx', '--fail-over', '63999');
  assert.equal(over.code, 1);
  assert.match(over.err, /exceeds --fail-over 63999/);
  assert.equal(run('half-copy.onnx', '--fail-over', '64000').code, 0);
  assert.equal(run('half-copy.onnx', '--fail-over', '1M').code, 0);
});

test('errors: one line on stderr, exit 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-cli-'));
  try {
    const bad = path.join(dir, 'broken.onnx');
    // A real model cut in half: the reader must say what is wrong, not crash.
    const whole = fs.readFileSync(path.join(corpus, 'bert-tiny-mlm.onnx'));
    fs.writeFileSync(bad, whole.subarray(0, whole.length >> 1));
    for (const args of [[bad], ['no-such-file.onnx'], ['half-copy.onnx', '--min-bytes', 'lots'], ['--frobnicate', 'half-copy.onnx'], []]) {
      const r = run(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.out, '');
      const lines = r.err.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.err);
      assert.match(lines[0], /^weight-sharing: /);
    }
    assert.match(run(bad).err, /broken\.onnx/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
