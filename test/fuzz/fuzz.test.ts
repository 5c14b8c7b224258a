// The CI slice of the fuzzer (test/fuzz/run.ts): a fixed seed, a few hundred
// inputs per reader through the real readers, scan and apply (and a few
// through the built CLI), and no input may crash, hang or go over memory.
// A failure is kept, minimized, under test-results/fuzz-ci/<reader>/ with a
// note saying how to replay it.
//
// The harness itself is tested first: each kind of failure, raised on
// purpose inside the worker, must be classified as such, so a quiet slice
// means the readers held, not that the harness looked away.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { READERS, REPO } from './corpus';
import { CLI_PATH, DEFAULT_LIMITS, fuzzReader, runCli, WorkerSlot, writeCase, type FuzzOptions, type ReaderStats } from './harness';
import { genericMutate, ggufFields, ggufStructureMutate, mixSeed, onnxStructureMutate, parsePb, Rng, safetensorsStructureMutate, serializePb } from './mutators';
import type { WorkerRequest } from './worker';

const SEED = 20261201;
const PER_READER = 300;
const CORPUS = path.join(REPO, 'test/fixtures/corpus');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-fuzz-test-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function sliceOptions(reader: FuzzOptions['reader'], extra: Partial<FuzzOptions> = {}): FuzzOptions {
  return {
    reader, count: PER_READER, seed: SEED, mode: 'both', jobs: 2, limits: { ...DEFAULT_LIMITS }, cliEvery: 100, applyFraction: 0.1,
    saveDir: path.join(REPO, 'test-results/fuzz-ci'), minimize: true, keepPerSignature: 1, minimizeBudget: 300, minimizeMs: 15_000,
    progressEvery: 0, log: () => undefined, ...extra,
  };
}

function describeFailures(s: ReaderStats): string {
  return s.failures.map((f) => `${f.cls} (${f.via}, ${f.stage ?? '-'}) input ${f.index} from ${f.source}: ${f.name ?? ''} ${f.message ?? ''} ${f.detail ?? ''}\n  mutations: ${f.ops.join('; ')}${f.saved ? `\n  kept: ${path.relative(REPO, f.saved)}` : ''}`).join('\n');
}

test('mutators: the same seed gives the same bytes; an unedited tree re-encodes byte for byte', () => {
  const onnx = fs.readFileSync(path.join(CORPUS, 'gpt2-tiny.onnx'));
  const st = fs.readFileSync(path.join(CORPUS, 'gpt2-tiny-untied.safetensors'));
  const gguf = fs.readFileSync(path.join(CORPUS, '../gguf/llama-tiny.q8_0.gguf'));
  const tree = parsePb(onnx);
  assert.equal(tree.root.tailStart, onnx.length, 'the whole model parses');
  assert.ok(Buffer.from(serializePb(tree, new Map())).equals(onnx));
  for (let i = 0; i < 20; i++) {
    const s = mixSeed(SEED, 'test', i);
    const a = onnxStructureMutate(new Rng(s), tree);
    const b = onnxStructureMutate(new Rng(s), tree);
    assert.deepEqual(a.ops, b.ops);
    assert.ok(Buffer.from(a.bytes).equals(b.bytes));
    assert.ok(Buffer.from(genericMutate(new Rng(s), onnx).bytes).equals(genericMutate(new Rng(s), onnx).bytes));
    assert.ok(Buffer.from(safetensorsStructureMutate(new Rng(s), st).bytes).equals(safetensorsStructureMutate(new Rng(s), st).bytes));
    assert.ok(Buffer.from(ggufStructureMutate(new Rng(s), gguf).bytes).equals(ggufStructureMutate(new Rng(s), gguf).bytes));
  }
  // The GGUF field map finds every tensor info of a fixture (3 fields each besides its dims) and both counts.
  const { fields } = ggufFields(gguf);
  assert.equal(fields.filter((f) => f.kind === 'ggml type').length, 21);
  assert.equal(fields.filter((f) => f.kind === 'count').length, 2);
});

test('harness: each kind of failure raised in the worker is classified as such', async () => {
  const limits = { ...DEFAULT_LIMITS, hangMs: 1500, memoryMb: 96 };
  const file = fs.readFileSync(path.join(CORPUS, 'loop-rnn.onnx'));
  const slot = new WorkerSlot(limits);
  try {
    const run = async (inject?: WorkerRequest['inject']) => {
      const paths = writeCase(path.join(tmp, `inject-${inject ?? 'none'}`), { target: 'loop-rnn.onnx', files: [{ rel: 'loop-rnn.onnx', bytes: file }] });
      return slot.run({ target: paths.target, caseDir: paths.dir, applyOutput: paths.output, inject });
    };
    assert.equal((await run()).cls, 'ok');
    const expected: Array<[NonNullable<WorkerRequest['inject']>, string, RegExp]> = [
      ['type-error', 'crash', /TypeError/],
      ['reject-unnamed', 'crash', /names no file/],
      ['exit', 'crash', /exited with code 7/],
      ['unhandled', 'crash', /unhandled rejection|uncaught/],
      ['hang', 'hang', /no answer within 1500 ms/],
      ['alloc', 'over-memory', /2147483648-byte Buffer/],
      ['heap', 'over-memory', /heap over 96 MiB/],
    ];
    for (const [inject, cls, text] of expected) {
      const o = await run(inject);
      assert.equal(o.cls, cls, `${inject}: ${JSON.stringify(o)}`);
      const outcome = o as { name?: string; message?: string; detail?: string };
      assert.match(`${outcome.name} ${outcome.message} ${outcome.detail}`, text, inject);
    }
    // A fresh worker after each failure: the next input is fine again.
    assert.equal((await run()).cls, 'ok');
  } finally {
    slot.close();
  }
});

test('harness: the CLI check sees exit codes, stack traces and unnamed errors', async () => {
  const limits = { ...DEFAULT_LIMITS, hangMs: 5000 };
  const paths = writeCase(path.join(tmp, 'cli'), { target: 'loop-rnn.onnx', files: [{ rel: 'loop-rnn.onnx', bytes: fs.readFileSync(path.join(CORPUS, 'loop-rnn.onnx')) }] });
  assert.ok(fs.existsSync(CLI_PATH), 'dist/cli.js exists: build first');
  assert.equal((await runCli(paths.target, paths.dir, limits)).cls, 'ok');
  fs.writeFileSync(paths.target, Buffer.from([0x08, 0x07, 0x3a, 0x7f]));
  const bad = await runCli(paths.target, paths.dir, limits);
  assert.equal(bad.cls, 'rejected', JSON.stringify(bad));
  const fake = (name: string, body: string) => { const f = path.join(tmp, `${name}.js`); fs.writeFileSync(f, body); return f; };
  const cases: Array<[string, string, RegExp]> = [
    [fake('exit3', 'process.exit(3)'), 'crash', /exit code 3/],
    [fake('stack', 'console.error("weight-sharing: x\\n    at f (y.js:1:1)"); process.exit(2)'), 'crash', /stack trace/],
    [fake('unnamed', 'console.error("weight-sharing: Cannot read properties of undefined"); process.exit(2)'), 'crash', /names no file/],
    [fake('engine', `console.error("weight-sharing: " + process.argv.at(-1) + ": Cannot read properties of undefined (reading 'x')"); process.exit(2)`), 'crash', /engine error/],
    [fake('twolines', 'console.error("weight-sharing: a\\nweight-sharing: b"); process.exit(2)'), 'crash', /2 lines/],
    [fake('sleep', 'setTimeout(() => {}, 60000)'), 'hang', /no answer/],
  ];
  for (const [cli, cls, text] of cases) {
    const o = await runCli(paths.target, paths.dir, { ...limits, hangMs: cli.endsWith('sleep.js') ? 1000 : 5000 }, [], cli);
    assert.equal(o.cls, cls, `${path.basename(cli)}: ${JSON.stringify(o)}`);
    assert.match(o.detail ?? '', text);
  }
});

test('harness: a fault on some inputs is counted as a crash, kept and minimized', async () => {
  const saveDir = path.join(tmp, 'kept');
  const s = await fuzzReader(sliceOptions('onnx', { count: 24, saveDir, minimizeBudget: 60, minimizeMs: 10_000, cliEvery: 0, inject: { kind: 'type-error', every: 3 } }));
  assert.ok(s.crashes > 0, `crashes counted: ${JSON.stringify({ ok: s.ok, rejected: s.rejected, crashes: s.crashes })}`);
  const kept = s.failures.find((f) => f.saved);
  assert.ok(kept?.saved && kept.minimized, 'one reproducer kept and minimized');
  const note = JSON.parse(fs.readFileSync(path.join(kept.saved, 'note.json'), 'utf8')) as { class: string; name: string; mutations: string[]; caseSeed: number };
  assert.equal(note.class, 'crash');
  assert.equal(note.name, 'TypeError');
  assert.ok(note.mutations.length > 0);
  assert.ok(kept.minimized.after <= kept.minimized.before);
  assert.ok(fs.readdirSync(path.join(kept.saved, 'in')).length > 0);
});

test('harness: memory outside the heap (process RSS) is caught and re-checked alone', async () => {
  // Every input that opens holds 400 MiB of Buffers for a while; the others are rejected as usual.
  const s = await fuzzReader(sliceOptions('safetensors', { count: 16, jobs: 1, saveDir: undefined, cliEvery: 0, limits: { ...DEFAULT_LIMITS, memoryMb: 96 }, inject: { kind: 'rss', every: 1 } }));
  assert.ok(s.overMemory > 0, JSON.stringify(s.failures));
  assert.equal(s.ok, 0, 'no input that opened got through');
  assert.equal(s.overMemory + s.rejected, s.inputs);
  for (const f of s.failures) assert.match(f.detail ?? '', /RSS grew by more than 96 MiB|MiB of ArrayBuffers still held/);
});

for (const reader of READERS) {
  test(`fuzz slice: ${PER_READER} ${reader} inputs (seed ${SEED}) neither crash, hang nor go over memory`, async () => {
    const s = await fuzzReader(sliceOptions(reader));
    assert.equal(s.harnessErrors, 0, 'the fuzzer itself failed on no input');
    assert.equal(s.inputs, PER_READER);
    assert.ok(s.ok > 0 && s.rejected > 0, `both valid and rejected inputs: ok ${s.ok}, rejected ${s.rejected}`);
    assert.ok(s.cliRuns > 0, 'some inputs went through the CLI');
    assert.equal(s.crashes + s.hangs + s.overMemory, 0, `${s.crashes} crash(es), ${s.hangs} hang(s), ${s.overMemory} over memory:\n${describeFailures(s)}`);
  });
}
