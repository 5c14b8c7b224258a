// The GGUF reader against independent references: the generator's manifest
// (what it wrote), node-llama-cpp's own GGUF parser (tensor offsets, dims and
// types as it reads them) and ggml's block sizes (sizeof() of ggml-common.h's
// structs, ggml-type-sizes.txt).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../../../extension/model/registry';
import { readGgufHeader } from '../../../../extension/model/gguf/header';
import { GGML_TYPES, ggmlType } from '../../../../extension/model/gguf/ggmlTypes';
import { DTYPE_SIZE, isBlockQuantized, singleRange } from '../../../../extension/model/types';

const DIR = path.resolve(__dirname, '../../../fixtures/gguf');
interface ManifestEntry {
  architecture: string; name: string; contextLength: number; embeddingLength: number; blockCount: number; fileType: number;
  vocabularySize: number; kvCount: number; alignment: number; version: number; fileSize: number; outputWeight: string;
  tensors: Array<{ name: string; type: string; dims: number[]; bytes: number }>;
}
const MANIFEST = JSON.parse(fs.readFileSync(path.join(DIR, 'manifest.json'), 'utf8')) as Record<string, ManifestEntry>;
const FILES = Object.keys(MANIFEST);

test('ggml type table matches sizeof() of ggml-common.h block structs and ggml.h ids', () => {
  const lines = fs.readFileSync(path.join(DIR, 'ggml-type-sizes.txt'), 'utf8').trim().split('\n');
  assert.equal(GGML_TYPES.length, lines.length);
  for (const line of lines) {
    const [name, id, block, bytes] = line.split(' ');
    const t = ggmlType(Number(id));
    assert.ok(t, `type id ${id} (${name})`);
    assert.deepEqual([t.name, t.blockSize, t.bytesPerBlock], [name, Number(block), Number(bytes)], name);
    assert.equal(DTYPE_SIZE[t.name], Number(bytes) / Number(block), `DTYPE_SIZE.${name}`);
    assert.equal(isBlockQuantized(t.name), Number(block) > 1, `isBlockQuantized(${name})`);
  }
});

test('every fixture: facts and tensors as the generator recorded them', async () => {
  for (const file of FILES) {
    const m = MANIFEST[file]!;
    const model = await openModel(path.join(DIR, file));
    assert.equal(model.format, 'gguf');
    const facts = new Map(model.facts);
    assert.equal(facts.get('Architecture'), m.architecture, file);
    assert.equal(facts.get('Name'), m.name);
    assert.equal(facts.get('Context length'), String(m.contextLength));
    assert.equal(facts.get('Embedding length'), String(m.embeddingLength));
    assert.equal(facts.get('Block count'), String(m.blockCount));
    assert.equal(facts.get('Vocabulary size'), String(m.vocabularySize));
    assert.match(facts.get('File type')!, new RegExp(`\\(${m.fileType}\\)$`));
    assert.equal(facts.get('Alignment'), String(m.alignment));
    assert.equal(facts.get('GGUF version'), String(m.version));
    assert.match(facts.get('Tensors')!, new RegExp(`^${m.tensors.length} `));
    assert.equal(model.fileSize, m.fileSize);
    assert.equal(Object.keys(model.metadata).length, m.kvCount);
    assert.match(model.metadata['tokenizer.ggml.tokens']!, new RegExp(`^\\[${m.vocabularySize} string values`));
    assert.deepEqual(model.tensors.map((t) => t.name), m.tensors.map((t) => t.name));
    for (const [i, t] of model.tensors.entries()) {
      const r = m.tensors[i]!;
      assert.deepEqual(t.shape, [...r.dims].reverse(), t.name);
      assert.equal(t.byteLength, r.bytes, t.name);
      assert.equal(t.dtype, { F32: 'float32', F16: 'float16', Q8_0: 'q8_0' }[r.type], t.name);
      assert.equal(t.role, 'parameter');
      assert.equal(t.graphPath, '');
      assert.equal(t.consumers.length, 0);
    }
  }
});

test('tensor byte ranges and types agree with node-llama-cpp\'s GGUF parser', async () => {
  const { readGgufFileInfo } = await import('node-llama-cpp');
  for (const file of FILES) {
    const full = path.join(DIR, file);
    const info = await readGgufFileInfo(full, { logWarnings: false, sourceType: 'filesystem' });
    const model = await openModel(full);
    assert.equal(model.tensors.length, info.tensorInfo!.length);
    for (const [i, ti] of info.tensorInfo!.entries()) {
      const t = model.tensors[i]!;
      assert.equal(t.name, ti.name);
      assert.equal(ggmlType(ti.ggmlType)?.name, t.dtype, ti.name);
      assert.deepEqual(t.shape, ti.dimensions.map(Number).reverse(), ti.name);
      assert.ok(t.data.kind === 'range');
      assert.equal(t.data.offset, Number(ti.fileOffset), `${file}: ${ti.name}`);
    }
    assert.equal(model.metadata['general.architecture'], info.metadata.general.architecture);
  }
});

test('an absent output.weight is an omission tie to token_embd.weight; a stored one is not', async () => {
  for (const file of FILES) {
    const model = await openModel(path.join(DIR, file));
    const omitted = MANIFEST[file]!.outputWeight === 'omitted';
    assert.equal(model.ties.length, omitted ? 1 : 0, file);
    if (!omitted) continue;
    const [tie] = model.ties;
    assert.equal(tie!.tiedBy, 'omission');
    assert.equal(tie!.kept.name, 'token_embd.weight');
    assert.equal(tie!.tied.length, 1);
    assert.equal(tie!.tied[0]!.tensor.name, 'output.weight');
    assert.equal(tie!.tied[0]!.stored, false);
    assert.deepEqual(tie!.tied[0]!.tensor.shape, tie!.kept.shape);
  }
});

test('fixtures have llama.cpp\'s layout (no warning); a gap between tensors is read with a warning', async () => {
  for (const file of FILES) assert.deepEqual((await openModel(path.join(DIR, file))).warnings, [], file);
  // llama-tiny.f32 with its last tensor moved 32 bytes on (the file grown by 32 to hold it).
  const src = fs.readFileSync(path.join(DIR, 'llama-tiny.f32.gguf'));
  const model = await openModel(path.join(DIR, 'llama-tiny.f32.gguf'));
  const last = model.tensors.at(-1)!;
  const at = last.recordOffset! + 8 + Buffer.byteLength(last.name) + 4 + 8 * last.shape.length + 4;
  const bytes = Buffer.concat([src, Buffer.alloc(32)]);
  bytes.writeBigUInt64LE(bytes.readBigUInt64LE(at) + 32n, at);
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-')), 'gap.gguf');
  fs.writeFileSync(tmp, bytes);
  const gap = await openModel(tmp);
  assert.equal(gap.warnings.length, 1);
  // llama.cpp itself, on this file: "tensor 'output.weight' has offset 427296, expected 427264".
  assert.match(gap.warnings[0]!, /llama.cpp would refuse this file: tensor 'output.weight' has data offset 427296, where llama.cpp expects 427264/);
});

test('one file of a split model: no omission tie (output.weight may be in another file), and a warning', async () => {
  // llama-tiny.omitted with split.no = 0 and split.count = 3 (u16 values) added after the counts, the data section re-aligned.
  const file = path.join(DIR, 'llama-tiny.omitted.gguf');
  const src = fs.readFileSync(file);
  const h = readGgufHeader(file);
  const kv = (key: string, v: number) => {
    const k = Buffer.from(key);
    const b = Buffer.alloc(8 + k.length + 4 + 2);
    b.writeBigUInt64LE(BigInt(k.length));
    k.copy(b, 8);
    b.writeUInt32LE(2, 8 + k.length);
    b.writeUInt16LE(v, 12 + k.length);
    return b;
  };
  const extra = Buffer.concat([kv('split.no', 0), kv('split.count', 3)]);
  const infosEnd = h.infosEnd + extra.length;
  const dataOffset = Math.ceil(infosEnd / 32) * 32;
  const bytes = Buffer.concat([src.subarray(0, 24), extra, src.subarray(24, h.infosEnd), Buffer.alloc(dataOffset - infosEnd), src.subarray(h.dataOffset)]);
  bytes.writeBigUInt64LE(bytes.readBigUInt64LE(16) + 2n, 16);
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-')), 'split-00001-of-00003.gguf');
  fs.writeFileSync(tmp, bytes);
  const split = await openModel(tmp);
  const whole = await openModel(file);
  assert.equal(whole.ties.length, 1);
  assert.equal(split.ties.length, 0);
  assert.match(split.warnings.join('\n'), /file 1 of a model split in 3 files: only this file's tensors are read/);
  // The tensors are the same bytes, found where they are.
  const f = (m: typeof split, n: string) => { const t = m.tensors.find((x) => x.name === n)!; const r = singleRange(t.data)!; return fs.readFileSync(m.path).subarray(r.offset, r.offset + r.length); };
  assert.ok(f(split, 'token_embd.weight').equals(f(whole, 'token_embd.weight')));
});

test('GGUF v2 (the same layout with u64 counts) is read like v3', async () => {
  const bytes = fs.readFileSync(path.join(DIR, 'llama-tiny.q8_0.gguf'));
  bytes.writeUInt32LE(2, 4);
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-')), 'v2.gguf');
  fs.writeFileSync(tmp, bytes);
  const v2 = await openModel(tmp);
  const v3 = await openModel(path.join(DIR, 'llama-tiny.q8_0.gguf'));
  assert.equal(new Map(v2.facts).get('GGUF version'), '2');
  assert.deepEqual(v2.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength]), v3.tensors.map((t) => [t.name, t.dtype, t.shape, t.byteLength]));
});

test('an architecture whose loader does not fall back gets no tie', async () => {
  const src = path.join(DIR, 'llama-tiny.omitted.gguf');
  const bytes = fs.readFileSync(src);
  // 'llama' -> 'bert ' would change the length; patch the value in place to another 5-letter name llama.cpp does not re-tie.
  const at = bytes.indexOf(Buffer.from('llama', 'ascii'), bytes.indexOf(Buffer.from('general.architecture')));
  Buffer.from('xllam', 'ascii').copy(bytes, at);
  const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-')), 'other.gguf');
  fs.writeFileSync(tmp, bytes);
  const model = await openModel(tmp);
  assert.equal(model.metadata['general.architecture'], 'xllam');
  assert.equal(model.ties.length, 0);
});
