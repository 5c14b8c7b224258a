// Hostile PyTorch checkpoints, table-driven: pickles that would run a command
// (each plants `touch` of a marker file), INST/OBJ/EXT, user classes and
// nn.Modules, absurd nesting, memo indices and lengths, inside a zip
// checkpoint and a legacy one; then zip-level (bombs, compression,
// encryption, missing records) and legacy-level attacks. Each must be one
// ModelFormatError naming the file and the problem, fast, and the marker must
// never appear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { openModel } from '../../../../extension/model/registry';
import { ModelFormatError } from '../../../../extension/model/types';
import { readPickle } from '../../../../extension/model/pytorch/pickle';
import { bufferSource } from '../../../../extension/model/pytorch/pickleInput';
import { torchHooks } from '../../../../extension/model/pytorch/allowlist';
import { buildCheckpoint, buildZip, tempDir } from './zipBuilder';
import { buildLegacy, callPickle, cat, f32, op, plantedStateDict, stateDictPickle, type TensorSpec } from './pickleBuilder';

const FIXTURES = path.join(__dirname, '../../../fixtures/pytorch');
const FIXTURE_MARKER = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as { marker: string }).marker;
const dir = tempDir('hostile');
const W: TensorSpec[] = [{ name: 'w', key: '0', numel: 4, size: [4] }];
const STORAGES = { '0': f32([1, 2, 3, 4]) };

const newMarker = () => `/tmp/wsi-marker-${crypto.randomBytes(6).toString('hex')}`;
const touch = (m: string) => `touch ${m}`;
const args = (...items: Array<Uint8Array | number[]>) => cat(op.mark, ...items, op.tuple);

interface PickleCase {
  name: string;
  /** The object pickle (a whole pickle, PROTO to STOP), given the marker to plant. */
  pickle: (marker: string) => Uint8Array;
  error: RegExp;
}

const planted = (payload: Uint8Array) => plantedStateDict(W, payload);

const PICKLE_CASES: PickleCase[] = [
  { name: 'os.system', pickle: (m) => callPickle('os', 'system', touch(m)), error: /refuses global os\.system: .*nothing was executed/ },
  { name: 'posix.system in a state dict', pickle: (m) => planted(cat(op.global('posix', 'system'), op.str(touch(m)), op.tuple1, op.reduce)), error: /refuses global posix\.system/ },
  { name: 'nt.system', pickle: (m) => callPickle('nt', 'system', touch(m)), error: /refuses global nt\.system/ },
  { name: 'builtins.eval', pickle: (m) => callPickle('builtins', 'eval', `__import__('os').system('${touch(m)}')`), error: /refuses global builtins\.eval/ },
  { name: 'builtins.exec', pickle: (m) => callPickle('builtins', 'exec', `import os; os.system('${touch(m)}')`), error: /refuses global builtins\.exec/ },
  { name: '__builtin__.eval (Python 2 name)', pickle: (m) => callPickle('__builtin__', 'eval', `__import__('os').system('${touch(m)}')`), error: /refuses global builtins\.eval/ },
  { name: 'subprocess.Popen', pickle: (m) => planted(cat(op.global('subprocess', 'Popen'), op.emptyList, op.str('touch'), op.append, op.str(m), op.append, op.tuple1, op.reduce)), error: /refuses global subprocess\.Popen/ },
  { name: 'subprocess.check_output', pickle: (m) => callPickle('subprocess', 'check_output', touch(m)), error: /refuses global subprocess\.check_output/ },
  {
    name: 'a __reduce__ chain: getattr(__import__("os"), "system")(cmd)',
    pickle: (m) => cat(op.proto(2), op.global('builtins', 'getattr'), args(cat(op.global('builtins', '__import__'), op.str('os'), op.tuple1, op.reduce), op.str('system')), op.reduce, op.str(touch(m)), op.tuple1, op.reduce, op.stop),
    error: /refuses global builtins\.getattr/,
  },
  { name: 'STACK_GLOBAL os.system (protocol 4)', pickle: (m) => cat(op.proto(4), op.shortStr('os'), op.memoize, op.shortStr('system'), op.memoize, op.stackGlobal, op.shortStr(touch(m)), op.tuple1, op.reduce, op.stop), error: /refuses global os\.system/ },
  { name: 'protocol 0 text GLOBAL', pickle: (m) => Buffer.from(`cos\nsystem\n(S'${touch(m)}'\ntR.`, 'latin1'), error: /refuses global os\.system/ },
  { name: 'INST os.system', pickle: (m) => Buffer.from(`(S'${touch(m)}'\nios\nsystem\n.`, 'latin1'), error: /refuses INST os\.system/ },
  { name: 'OBJ on an allowed class', pickle: () => cat(op.proto(2), op.mark, op.global('collections', 'OrderedDict'), [0x6f], op.stop), error: /refuses OBJ/ },
  { name: 'EXT1 (extension registry)', pickle: () => cat(op.proto(2), [0x82, 0x01], op.stop), error: /refuses EXT/ },
  { name: 'a user class with state (NEWOBJ + BUILD)', pickle: () => cat(op.proto(2), op.global('trainer', 'Net'), op.emptyTuple, op.newobj, op.emptyDict, op.build, op.stop), error: /refuses global trainer\.Net/ },
  { name: 'an nn.Module (torch.save(model))', pickle: () => cat(op.proto(2), op.global('torch.nn.modules.linear', 'Linear'), op.emptyTuple, op.newobj, op.emptyDict, op.build, op.stop), error: /refuses global torch\.nn\.modules\.linear\.Linear: the file pickles a whole model object \(an nn\.Module\)/ },
  { name: 'copyreg._reconstructor', pickle: () => cat(op.proto(2), op.global('copy_reg', '_reconstructor'), op.emptyTuple, op.reduce, op.stop), error: /refuses global copyreg\._reconstructor/ },
  { name: 'torch.storage._load_from_bytes (pickled storages)', pickle: () => cat(op.proto(2), op.global('torch.storage', '_load_from_bytes'), op.binbytes(Buffer.from('x')), op.tuple1, op.reduce, op.stop), error: /refuses global torch\.storage\._load_from_bytes/ },
  { name: 'numpy reconstruct', pickle: () => cat(op.proto(2), op.global('numpy.core.multiarray', '_reconstruct'), op.emptyTuple, op.reduce, op.stop), error: /refuses global numpy\.core\.multiarray\._reconstruct/ },
  { name: 'REDUCE of a plain string', pickle: () => cat(op.proto(2), op.str('os.system'), op.emptyTuple, op.reduce, op.stop), error: /refuses to call string/ },
  { name: 'BUILD on a tuple', pickle: () => cat(op.proto(2), op.emptyTuple, op.emptyDict, op.build, op.stop), error: /refuses BUILD of a tuple/ },
  { name: 'a persistent id naming a module source (legacy nn.Module)', pickle: () => cat(op.proto(2), args(op.str('module'), op.str('Net'), op.str('net.py'), op.str('class Net: ...')), op.binpersid, op.stop), error: /pickled module source: the file pickles a whole model object/ },
  { name: '_rebuild_tensor_v2 of something that is not a storage', pickle: () => planted(cat(op.global('torch._utils', '_rebuild_tensor_v2'), args(op.str('x'), op.int(0), op.emptyTuple, op.emptyTuple), op.reduce)), error: /a tensor's storage is string, not a storage record/ },
  { name: 'a million nested MARKs', pickle: () => cat(op.proto(2), Buffer.alloc(1_000_000, 0x28)), error: /nested deeper than 1000 levels/ },
  { name: 'a million nested 1-tuples', pickle: () => cat(op.proto(2), op.emptyDict, op.str('x'), op.none, Buffer.alloc(1_000_000, 0x85), op.setitem, op.stop), error: /nested deeper than 64 levels/ },
  { name: 'a list shared under itself 2^40 times (a value DAG: walked once, then no tensors)', pickle: () => cat(op.proto(2), op.emptyDict, op.str('x'), op.emptyList, op.binput(0), [0x30], ...Array.from({ length: 40 }, () => cat(op.emptyList, op.mark, op.binget(0), op.binget(0), op.appends, op.binput(0), [0x30])), op.binget(0), op.setitem, op.stop), error: /no tensors/ },
  { name: 'memo index 2^32-1 never stored', pickle: () => cat(op.proto(2), op.longBinget(0xffffffff), op.stop), error: /memo entry 4294967295 was never stored/ },
  { name: 'a 2 GB string length in a small file', pickle: () => cat(op.proto(2), [0x58, 0xff, 0xff, 0xff, 0x7f], op.stop), error: /BINUNICODE claims 2147483647 bytes but only/ },
  { name: 'a 2^52-byte BINBYTES8', pickle: () => cat(op.proto(4), [0x8e, 0, 0, 0, 0, 0, 0, 0x10, 0], op.stop), error: /BINBYTES8 claims 4503599627370496 bytes/ },
  { name: 'a tensor of 65 dimensions', pickle: () => stateDictPickle([{ name: 'w', key: '0', numel: 4, size: new Array(65).fill(1) }]), error: /65 dimensions/ },
  { name: 'a tensor far bigger than its storage', pickle: () => stateDictPickle([{ name: 'w', key: '0', numel: 4, size: [65536, 65536] }]), error: /tensor 'w' .*needs 17179869184 bytes/ },
  { name: 'no STOP', pickle: () => cat(op.proto(2), op.emptyDict), error: /ends before its STOP|unknown pickle opcode|corrupt/ },
];

function marked(name: string, run: (marker: string) => Promise<void>) {
  test(name, async () => {
    const marker = newMarker();
    try {
      await run(marker);
    } finally {
      const appeared = fs.existsSync(marker);
      if (appeared) fs.rmSync(marker);
      assert.equal(appeared, false, `the planted command ran: ${marker} exists`);
    }
  });
}

async function refused(file: string, error: RegExp): Promise<string> {
  const t0 = Date.now();
  let message = '';
  await assert.rejects(openModel(file), (e: unknown) => {
    assert.ok(e instanceof ModelFormatError, `not a ModelFormatError: ${String(e)}`);
    message = e.message;
    assert.ok(e.message.startsWith(file), e.message);
    assert.match(e.message, error);
    return true;
  });
  assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  return message;
}

let n = 0;
for (const c of PICKLE_CASES) {
  marked(`zip data.pkl: ${c.name}`, async (m) => {
    await refused(writeFile(`z${n++}.pt`, buildCheckpoint({ pickle: c.pickle(m), storages: STORAGES })), c.error);
  });
  marked(`legacy object pickle: ${c.name}`, async (m) => {
    const pickle = c.pickle(m);
    // The storage list holds what the pickle names (torch asserts each listed key was named).
    const legacyStorages = Buffer.from(pickle).includes(Buffer.from('FloatStorage')) ? [{ key: '0', numel: 4, data: f32([1, 2, 3, 4]) }] : [];
    await refused(writeFile(`l${n++}.pt`, buildLegacy(pickle, legacyStorages)), c.error);
  });
}

function writeFile(name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

// CPython-made hostile pickles (generate/make_pickles.py): real __reduce__ payloads.
const FIXTURE_CASES: Array<[string, RegExp]> = [
  ...['os-system', 'subprocess-popen', 'builtins-eval', 'builtins-exec'].flatMap((k) => [0, 2, 4].map((p): [string, RegExp] => [
    `hostile-${k}-p${p}.pkl`, { 'os-system': /refuses global posix\.system/, 'subprocess-popen': /refuses global subprocess\.Popen/, 'builtins-eval': /refuses global builtins\.eval/, 'builtins-exec': /refuses global builtins\.exec/ }[k]!,
  ])),
  ['hostile-nn-module-p2.pkl', /refuses global torch\.nn\.modules\.linear\.Linear: the file pickles a whole model object \(an nn\.Module\), and only state dicts are read/],
  ['hostile-user-class-p2.pkl', /refuses global trainer_models\.Net: the file pickles a whole model object/],
];
for (const [file, error] of FIXTURE_CASES) {
  test(`CPython's ${file}, as a zip's data.pkl and as a legacy object pickle, is refused and never run`, async () => {
    if (fs.existsSync(FIXTURE_MARKER)) fs.rmSync(FIXTURE_MARKER);
    const pickle = fs.readFileSync(path.join(FIXTURES, file));
    await refused(writeFile(`fz-${file}.pt`, buildCheckpoint({ pickle, storages: STORAGES })), error);
    await refused(writeFile(`fl-${file}.pt`, buildLegacy(pickle, [])), error);
    assert.equal(fs.existsSync(FIXTURE_MARKER), false);
  });
}

test('the planted payloads are live: Python itself runs them (so the tests above could fail)', (t) => {
  const py = spawnSync('python3', ['-c', 'import sys, pickle; pickle.loads(sys.stdin.buffer.read())'], { input: callPickle('os', 'system', 'true') });
  if (py.error) { t.skip('python3 is not available'); return; }
  const marker = newMarker();
  try {
    spawnSync('python3', ['-c', 'import sys, pickle; pickle.loads(sys.stdin.buffer.read())'], { input: callPickle('os', 'system', touch(marker)) });
    assert.equal(fs.existsSync(marker), true, 'Python did not run the payload');
  } finally {
    if (fs.existsSync(marker)) fs.rmSync(marker);
  }
  spawnSync('python3', ['-c', 'import sys, pickle; pickle.load(open(sys.argv[1], "rb"))', path.join(FIXTURES, 'hostile-os-system-p2.pkl')]);
  const ran = fs.existsSync(FIXTURE_MARKER);
  if (ran) fs.rmSync(FIXTURE_MARKER);
  assert.equal(ran, true, 'the CPython-made fixture did not run its payload under Python');
});

test('truncated at every byte of the corpus data.pkl: a PickleError each time, never a crash', (t) => {
  const zip = path.join(__dirname, '../../../fixtures/corpus/gpt2-tiny.pytorch_model.bin');
  // data.pkl as Python's zipfile extracts it.
  const py = spawnSync('python3', ['-c', 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("gpt2-tiny.pytorch_model/data.pkl"))', zip]);
  if (py.error || py.status !== 0) { t.skip('python3 is not available'); return; }
  const pkl = py.stdout;
  assert.equal(readPickle(bufferSource(pkl), torchHooks()).end, pkl.length);
  for (let cut = 0; cut < pkl.length; cut++) {
    assert.throws(() => readPickle(bufferSource(pkl.subarray(0, cut)), torchHooks()), (e: unknown) => (e as Error).name === 'PickleError', `cut at ${cut}`);
  }
});

// Zip-level attacks.
const ZIP_CASES: Array<{ name: string; bytes: () => Uint8Array; error: RegExp }> = [
  { name: 'a storage record claiming 4 GB (zip bomb)', bytes: () => buildCheckpoint({ tensors: W, storages: STORAGES, tweak: { 'data/0': { claimSize: 0xfffffff0 } } }), error: /zip entry 'archive\/data\/0' claims 4294967280 bytes .* past the end/ },
  { name: 'data.pkl claiming 4 GB', bytes: () => buildCheckpoint({ tensors: W, storages: STORAGES, tweak: { 'data.pkl': { claimSize: 0xfffffff0 } } }), error: /zip entry 'archive\/data\.pkl' claims 4294967280 bytes/ },
  { name: 'a ZIP64 record claiming 2^40 bytes', bytes: () => buildCheckpoint({ tensors: W, storages: STORAGES, tweak: { 'data/0': { zip64: true, claimSize: 2 ** 40 } } }), error: /claims 1099511627776 bytes .* past the end/ },
  { name: 'a deflated storage record', bytes: () => buildCheckpoint({ tensors: W, storages: STORAGES, tweak: { 'data/0': { method: 8 } } }), error: /record 'archive\/data\/0' is compressed \(method 8\)/ },
  { name: 'a deflated data.pkl', bytes: () => buildCheckpoint({ tensors: W, storages: STORAGES, tweak: { 'data.pkl': { method: 8 } } }), error: /record 'archive\/data\.pkl' is compressed/ },
  { name: 'an encrypted storage record', bytes: () => buildCheckpoint({ tensors: W, storages: STORAGES, tweak: { 'data/0': { flags: 1, claimSize: 16 } } }), error: /encrypted|size mismatch|corrupt/ },
  { name: 'no data.pkl', bytes: () => buildCheckpoint({ tensors: W, storages: STORAGES, omit: ['data.pkl'] }), error: /not a PyTorch checkpoint: the zip archive has no archive\/data\.pkl/ },
  { name: 'data.pkl outside the archive folder', bytes: () => buildZip([{ name: 'archive/version', data: Buffer.from('3') }, { name: 'other/data.pkl', data: stateDictPickle(W) }]), error: /no archive\/data\.pkl \(it has other\/data\.pkl/ },
  { name: 'a storage record missing', bytes: () => buildCheckpoint({ tensors: W, storages: {} }), error: /names storage '0', but the archive has no record archive\/data\/0/ },
  { name: 'a storage record shorter than its tensors', bytes: () => buildCheckpoint({ tensors: W, storages: { '0': f32([1, 2]) } }), error: /storage archive\/data\/0 holds 8 bytes, shorter than the 16 bytes/ },
  { name: 'a TorchScript archive', bytes: () => buildZip([{ name: 'm/constants.pkl', data: Buffer.from('x') }, { name: 'm/code/m.py', data: Buffer.from('x') }]), error: /TorchScript archive/ },
  { name: 'a byteorder record that is neither little nor big', bytes: () => buildCheckpoint({ tensors: W, storages: STORAGES, byteorder: 'middle' }), error: /byteorder says 'middle'/ },
  { name: 'a local header that is not where the directory says', bytes: () => { const b = buildCheckpoint({ tensors: W, storages: STORAGES }); b.writeUInt32LE(0, b.indexOf(Buffer.from('PK\x03\x04', 'latin1'), 4)); return b; }, error: /no local file header/ },
  { name: 'a truncated archive (no end of central directory)', bytes: () => buildCheckpoint({ tensors: W, storages: STORAGES }).subarray(0, 300), error: /not a readable zip archive/ },
  { name: 'an empty archive', bytes: () => buildZip([]), error: /not a PyTorch checkpoint|not a readable zip archive|empty/ },
  { name: 'a directory claiming 65535 entries', bytes: () => { const b = buildCheckpoint({ tensors: W, storages: STORAGES }); b.writeUInt16LE(0xffff, b.length - 12); b.writeUInt16LE(0xffff, b.length - 14); return b; }, error: /claims 65535 entries|corrupt|not a readable/ },
  { name: 'one record name twice', bytes: () => buildZip([{ name: 'archive/data.pkl', data: stateDictPickle(W) }, { name: 'archive/data/0', data: f32([1, 2, 3, 4]) }, { name: 'archive/data/0', data: f32([1, 2, 3, 4]) }]), error: /appears twice/ },
  { name: 'a tensor offset far past its storage', bytes: () => buildCheckpoint({ tensors: [{ name: 'w', key: '0', numel: 4, size: [4], offset: 2 ** 40 }], storages: STORAGES }), error: /tensor 'w' .* needs/ },
  { name: 'a central directory offset past the file', bytes: () => { const b = buildCheckpoint({ tensors: W, storages: STORAGES }); b.writeUInt32LE(0x7fffffff, b.length - 6); return b; }, error: /not a readable zip archive|corrupt/ },
  { name: 'a planted os.system in data.pkl behind real tensors', bytes: () => buildCheckpoint({ pickle: plantedStateDict(W, cat(op.global('os', 'system'), op.str('touch /tmp/wsi-marker-zipcase'), op.tuple1, op.reduce)), storages: STORAGES }), error: /refuses global os\.system/ },
];
for (const c of ZIP_CASES) {
  marked(`zip: ${c.name}`, async () => {
    await refused(writeFile(`zc${n++}.pt`, c.bytes()), c.error);
  });
}

test('zip: a ZIP64 archive (records marked with ZIP64 extra fields) is read', async () => {
  const f = writeFile('zip64.pt', buildCheckpoint({ tensors: W, storages: STORAGES, tweak: { 'data/0': { zip64: true }, 'data.pkl': { zip64: true } } }));
  const m = await openModel(f);
  assert.deepEqual(m.tensors.map((t) => t.name), ['w']);
});

// Legacy-level attacks.
const legacyW = [{ key: '0', numel: 4, data: f32([1, 2, 3, 4]) }];
const legacyPickle = stateDictPickle(W.map((t) => ({ ...t, legacy: true })));
const LEGACY_CASES: Array<{ name: string; bytes: () => Uint8Array; error: RegExp }> = [
  { name: 'a pickle without the magic number', bytes: () => cat(stateDictPickle(W)), error: /not a PyTorch checkpoint: a pickle stream that does not start with torch's magic number/ },
  { name: 'the wrong protocol version', bytes: () => { const b = buildLegacy(legacyPickle, legacyW); const i = b.indexOf(Buffer.from([0x4d, 0xe9, 0x03])); b[i + 1] = 0xea; return b; }, error: /legacy protocol version 1002/ },
  { name: 'an element count that disagrees with the pickle', bytes: () => buildLegacy(legacyPickle, [{ key: '0', numel: 5, data: f32([1, 2, 3, 4, 5]) }]), error: /storage '0' holds 5 elements, but the object pickle says 4/ },
  { name: 'storage bytes cut short', bytes: () => buildLegacy(legacyPickle, legacyW).subarray(0, -4), error: /storage '0' \(16 bytes at \d+\) runs past the end/ },
  { name: 'the file ending before a storage count', bytes: () => buildLegacy(legacyPickle, []).subarray(0), error: /names storage '0', which the storage-keys list does not hold/ },
  { name: 'a storage key listed that no tensor names', bytes: () => buildLegacy(legacyPickle, [...legacyW, { key: '9', numel: 1, data: f32([1]) }]), error: /storage key '9' is listed but no tensor names it/ },
  { name: 'a keys pickle that is not a list', bytes: () => buildLegacy(legacyPickle, legacyW, cat(op.proto(2), op.int(7), op.stop)), error: /storage-keys pickle is not a list of keys/ },
  { name: 'truncated inside the object pickle', bytes: () => { const b = buildLegacy(legacyPickle, legacyW); return b.subarray(0, b.indexOf(Buffer.from('_rebuild_tensor_v2')) + 5); }, error: /the object pickle: .*(remain|truncated|ends|no newline)/ },
  { name: 'a storage count past the end', bytes: () => { const keys = cat(op.proto(2), op.emptyList, op.str('0'), op.append, op.stop); return buildLegacy(legacyPickle, [], keys); }, error: /the file ends before its element count/ },
];
for (const c of LEGACY_CASES) {
  marked(`legacy: ${c.name}`, async () => {
    await refused(writeFile(`lc${n++}.pt`, c.bytes()), c.error);
  });
}

test('there are at least 20 hostile cases for each reader', () => {
  assert.ok(PICKLE_CASES.length + ZIP_CASES.length >= 20);
  assert.ok(PICKLE_CASES.length + LEGACY_CASES.length >= 20);
});
