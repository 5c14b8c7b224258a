// Full verification: a candidate whose samples match but whose bytes differ
// somewhere else must not be reported. Each case copies a real corpus model
// to a temp folder and changes one byte of the copy in the middle of a tensor
// (away from the sampled positions), then scans the changed copy.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../../extension/model/registry';
import { scanFiles } from '../../../extension/sharing/scan';
import type { SharingGroup } from '../../../extension/sharing/types';

const corpus = path.join(__dirname, '../../fixtures/corpus');

/** Copies `files` of the corpus into a fresh temp folder; returns the folder. */
function copyCorpus(files: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-sharing-'));
  for (const f of files) fs.copyFileSync(path.join(corpus, f), path.join(dir, f));
  return dir;
}

/** Flips bits of one byte at `at` bytes into tensor `name`'s data. */
async function flipByte(model: string, name: string, at: number): Promise<number> {
  const m = await openModel(model);
  const t = m.tensors.find((x) => x.name === name);
  assert.ok(t && t.data.kind === 'range', `${name} has one byte range`);
  const r = t.data;
  assert.ok(at < r.length);
  const fd = fs.openSync(r.file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, r.offset + at);
  b[0] ^= 0x01;
  fs.writeSync(fd, b, 0, 1, r.offset + at);
  fs.closeSync(fd);
  return t.byteLength;
}

const ids = (g: SharingGroup) => g.members.map((m) => m.tensor.id).sort();
const has = (groups: SharingGroup[], kind: string, a: string, b: string) =>
  groups.some((g) => g.kind === kind && ids(g).includes(a) && ids(g).includes(b));

const cases = [
  { files: ['bert-tiny-mlm.onnx'], model: 'bert-tiny-mlm.onnx', kind: 'transposed', a: 'm.bert.embeddings.word_embeddings.weight', b: 'onnx::MatMul_377', flip: 'onnx::MatMul_377', at: 128000 + 2 },
  { files: ['siamese-cnn-dynamo.onnx', 'siamese-cnn-dynamo.onnx.data'], model: 'siamese-cnn-dynamo.onnx', kind: 'exact', a: 'a.2.weight', b: 'b.2.weight', flip: 'b.2.weight', at: 4608 + 1 },
  { files: ['half-copy.onnx', 'half-copy.onnx.data'], model: 'half-copy.onnx', kind: 'cast', a: 'val_0', b: 't', flip: 't', at: 32000 },
];

for (const c of cases) {
  test(`${c.model}: a ${c.kind} copy with one byte changed is not reported`, async () => {
    const original = await scanFiles([path.join(corpus, c.model)], { minBytes: 0 });
    assert.ok(has(original.groups, c.kind, c.a, c.b), 'the unchanged model has the group');

    const dir = copyCorpus(c.files);
    try {
      const bytes = await flipByte(path.join(dir, c.model), c.flip, c.at);
      const changed = await scanFiles([path.join(dir, c.model)], { minBytes: 0 });
      assert.ok(!has(changed.groups, c.kind, c.a, c.b), 'the changed copy is not a duplicate');
      // The change sits away from the sampled positions: rejecting it took a full read.
      assert.ok(changed.bytesRead >= bytes, `verified beyond the samples (read ${changed.bytesRead} of ${bytes})`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
