// Files a model names are only read where they really are: inside the
// model's folder once links are resolved, and regular files (issue 13,
// defects 1-4). Each case runs the built CLI and expects one clear line and
// exit 2, quickly (a FIFO or /dev/zero must never be opened); a trusted
// folder (the documented --trust-links-into) lets links in.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DT, Msg, graph, node, tensorProto, valueInfo, writeModel } from '../model/onnx/onnxBuilder';
import { encodeTensorProto } from '../../../extension/check/tensorProto';

const root = path.join(__dirname, '../../..');
const cli = path.join(root, 'dist/cli.js');
const corpus = path.join(root, 'test/fixtures/corpus');

function cliRun(args: string[]) {
  assert.ok(fs.existsSync(cli), 'dist/cli.js exists: run `npm run build` first');
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr), ms: Date.now() - t0, timedOut: r.error !== undefined };
}

/** One line, exit 2, no stack trace, within a few seconds. */
function refused(r: ReturnType<typeof cliRun>, problem: RegExp): void {
  assert.equal(r.timedOut, false, 'it did not hang');
  assert.equal(r.code, 2, `exit code (stderr: ${r.err})`);
  assert.equal(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at /);
  assert.match(r.err, problem);
}

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-files-'));
}

function mkfifo(file: string): boolean {
  try { execFileSync('mkfifo', [file]); return true; } catch { return false; }
}

/** gpt2-tiny-op18.onnx with its external data replaced by `link` (the data file name stays). */
function externalDataModel(dir: string, makeData: (dataPath: string) => void): string {
  const m = path.join(dir, 'gpt2-tiny-op18.onnx');
  fs.copyFileSync(path.join(corpus, 'gpt2-tiny-op18.onnx'), m);
  makeData(path.join(dir, 'gpt2-tiny-op18.onnx.data'));
  return m;
}

test('1. external data that is a link out of the model folder is refused by scan, apply and check; a trusted folder lets it in', () => {
  const outside = scratch();
  const dir = scratch();
  try {
    fs.copyFileSync(path.join(corpus, 'gpt2-tiny-op18.onnx.data'), path.join(outside, 'blob'));
    const m = externalDataModel(dir, (d) => fs.symlinkSync(path.join(outside, 'blob'), d));
    for (const cmd of [['scan', m], ['apply', m, '-o', path.join(dir, 'out.onnx')], ['check', m, m]]) {
      refused(cliRun(cmd), /gpt2-tiny-op18\.onnx\.data' is a link to .*blob, outside the model's folder/);
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), ['gpt2-tiny-op18.onnx', 'gpt2-tiny-op18.onnx.data'], 'apply wrote nothing');
    const trusted = cliRun(['scan', m, '--trust-links-into', outside]);
    assert.equal(trusted.code, 0, trusted.err);
    // /etc/passwd through a link: refused even though it is readable.
    fs.rmSync(path.join(dir, 'gpt2-tiny-op18.onnx.data'));
    fs.symlinkSync('/etc/passwd', path.join(dir, 'gpt2-tiny-op18.onnx.data'));
    refused(cliRun(['scan', m]), /is a link to \/etc\/passwd, outside the model's folder/);
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('1. a folder link inside the model folder that points outside it is refused too', () => {
  const outside = scratch();
  const dir = scratch();
  try {
    // Rename the data location in place (same length): 'd/…' goes through d, a link to a folder outside.
    const bytes = fs.readFileSync(path.join(corpus, 'gpt2-tiny-op18.onnx'));
    const from = Buffer.from('gpt2-tiny-op18.onnx.data');
    const to = Buffer.from('d/gpt2-tiny-op18.onnx.da');
    assert.equal(from.length, to.length);
    let i = bytes.indexOf(from);
    assert.ok(i > 0);
    while (i >= 0) { to.copy(bytes, i); i = bytes.indexOf(from, i + 1); }
    const m = path.join(dir, 'm.onnx');
    fs.writeFileSync(m, bytes);
    fs.copyFileSync(path.join(corpus, 'gpt2-tiny-op18.onnx.data'), path.join(outside, 'gpt2-tiny-op18.onnx.da'));
    fs.symlinkSync(outside, path.join(dir, 'd'));
    refused(cliRun(['scan', m]), /'d\/gpt2-tiny-op18\.onnx\.da' is a link to .*, outside the model's folder/);
    assert.equal(cliRun(['scan', m, '--trust-links-into', outside]).code, 0);
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A model with one segmented initializer stored as external data in `location`. */
function segmentedModel(dir: string, location: string): string {
  const t = tensorProto('w', DT.FLOAT, [4])
    .msg(3, new Msg().varint(1, 0).varint(2, 4)) // segment {begin, end}
    .msg(13, new Msg().string(1, 'location').string(2, location))
    .varint(14, 1); // data_location EXTERNAL
  const g = graph({ nodes: [node('Identity', ['w'], ['y'])], initializers: [t], outputs: [valueInfo('y', DT.FLOAT, [4])] });
  return writeModel(dir, 'segmented.onnx', g);
}

test('2. a segmented tensor\'s external location is checked like any other: a link to /dev/zero, a FIFO, a link outside', () => {
  const dir = scratch();
  try {
    const m = segmentedModel(dir, 'w.bin');
    fs.symlinkSync('/dev/zero', path.join(dir, 'w.bin'));
    refused(cliRun(['scan', m]), /'w\.bin' is a link to \/dev\/zero, outside the model's folder/);
    refused(cliRun(['check', m, m]), /'w\.bin' is a link to \/dev\/zero/);
    fs.rmSync(path.join(dir, 'w.bin'));
    if (mkfifo(path.join(dir, 'w.bin'))) {
      refused(cliRun(['scan', m]), /'w\.bin' is not a regular file \(a pipe\)/);
      refused(cliRun(['check', m, m]), /'w\.bin' is not a regular file \(a pipe\)/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('3. check --inputs: a FIFO, a /dev/zero link, a folder, negative and huge dims, an oversized file: one line naming the file', () => {
  const dir = scratch();
  try {
    const m = path.join(dir, 'mlp.onnx');
    fs.copyFileSync(path.join(corpus, 'mlp-init-as-inputs.onnx'), m);
    const inputs = path.join(dir, 'inputs');
    fs.mkdirSync(inputs);
    const input = path.join(inputs, 'input_0.pb');
    const check = () => cliRun(['check', m, '--inputs', inputs]);
    if (mkfifo(input)) {
      refused(check(), /input_0\.pb: is not a regular file \(a pipe\)/);
      fs.rmSync(input);
    }
    fs.symlinkSync('/dev/zero', input);
    refused(check(), /input_0\.pb: is a link to \/dev\/zero/);
    fs.rmSync(input);
    fs.mkdirSync(input);
    refused(check(), /input_0\.pb: is not a regular file \(a folder\)/);
    fs.rmSync(input, { recursive: true });
    fs.writeFileSync(input, encodeTensorProto({ name: 'x', dtype: 'float32', dims: [-1, 4], data: new Float32Array(0) }));
    refused(check(), /input_0\.pb: .*dims \[-1, 4\] hold -1, not a size/);
    fs.writeFileSync(input, encodeTensorProto({ name: 'x', dtype: 'float32', dims: [1 << 20, 1 << 20], data: new Float32Array(0) }));
    refused(check(), /input_0\.pb: .*more than the \d+ a test tensor may hold/);
    // A sparse 1.1 GB file: over the size limit, refused before it is read.
    fs.rmSync(input);
    const fd = fs.openSync(input, 'w');
    fs.ftruncateSync(fd, (1 << 30) + 4096);
    fs.closeSync(fd);
    refused(check(), /input_0\.pb: is \d+ bytes, over the \d+-byte limit/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('4. a FIFO (or a device) as the model is refused by scan, apply and check without opening it for reading', () => {
  const dir = scratch();
  try {
    const fifo = path.join(dir, 'model.onnx');
    if (!mkfifo(fifo)) return;
    for (const cmd of [['scan', fifo], ['apply', fifo, '-o', path.join(dir, 'o.onnx')], ['check', fifo, fifo]]) {
      refused(cliRun(cmd), /model\.onnx: .*not a regular file/);
    }
    refused(cliRun(['scan', '/dev/zero']), /\/dev\/zero: .*not a regular file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('1. a Hugging Face cache snapshot (links into blobs) opens only with its blobs folder trusted', () => {
  const cache = scratch();
  try {
    const blobs = path.join(cache, 'blobs');
    const snap = path.join(cache, 'snapshots', 'abc123');
    fs.mkdirSync(blobs, { recursive: true });
    fs.mkdirSync(snap, { recursive: true });
    for (const f of ['config.json', 'model.safetensors']) {
      fs.copyFileSync(path.join(corpus, 'gpt2-tiny-hf', f), path.join(blobs, `${f}.blob`));
      fs.symlinkSync(path.join('..', '..', 'blobs', `${f}.blob`), path.join(snap, f));
    }
    refused(cliRun(['scan', snap]), /model\.safetensors: safetensors: is a link to .*blobs\/model\.safetensors\.blob, outside the model's folder/);
    const ok = cliRun(['scan', snap, '--json', '--trust-links-into', blobs]);
    assert.equal(ok.code, 0, ok.err);
    const report = JSON.parse(ok.out) as { groups: Array<{ kind: string; tiedBy?: string }> };
    assert.ok(report.groups.some((g) => g.kind === 'tied' && g.tiedBy === 'config'), 'the trusted config.json is read too');
  } finally {
    fs.rmSync(cache, { recursive: true, force: true });
  }
});
