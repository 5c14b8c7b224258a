// The sharing analysis against the corpus's reference facts (computed by
// onnx + numpy, not by this project): with minBytes 0, the groups among
// initializers must equal them exactly, none missing, none extra.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scanFiles } from '../../../extension/sharing/scan';
import { factsOf, normalise } from './facts';

const corpus = path.join(__dirname, '../../fixtures/corpus');

interface CorpusEntry {
  file: string;
  format: string;
  facts: {
    exact_duplicate_groups?: string[][];
    transposed_duplicate_pairs?: string[][];
    multi_use_all?: Record<string, number>;
    cast_duplicate_pairs?: string[][];
    transposed_cast_pairs?: string[][];
    cross_file_exact_groups?: string[][];
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(corpus, 'manifest.json'), 'utf8')) as CorpusEntry[];
const onnxEntries = manifest.filter((e) => e.format === 'onnx');

test('the corpus has the ONNX files the reference facts describe', () => {
  assert.ok(onnxEntries.length >= 17);
  for (const e of onnxEntries) assert.ok(fs.existsSync(path.join(corpus, e.file)), e.file);
});

for (const e of onnxEntries) {
  test(`${e.file}: groups among initializers equal the reference facts`, async () => {
    const report = await scanFiles([path.join(corpus, e.file)], { minBytes: 0 });
    const got = factsOf(report);
    const f = e.facts;
    assert.deepEqual(got.exact, normalise(f.exact_duplicate_groups ?? []), 'exact duplicate groups');
    assert.deepEqual(got.transposed, normalise(f.transposed_duplicate_pairs ?? []), 'transposed pairs');
    assert.deepEqual(got.multiUse, f.multi_use_all ?? {}, 'tied (multi_use_all)');
    assert.deepEqual(got.cast, normalise(f.cast_duplicate_pairs ?? []), 'cast pairs');
    assert.deepEqual(got.transposedCast, normalise(f.transposed_cast_pairs ?? []), 'transposed cast pairs');
    assert.deepEqual(got.crossFile, [], 'no cross-file groups in one file');
  });
}

for (const e of manifest.filter((x) => x.format === 'onnx-pipeline')) {
  test(`${e.file} scanned as one pipeline: cross-file groups equal the reference`, async () => {
    const report = await scanFiles([path.join(corpus, e.file)], { minBytes: 0 });
    assert.ok(report.models.length >= 2, 'the folder expands to its model files');
    const got = factsOf(report);
    assert.deepEqual(got.crossFile, normalise(e.facts.cross_file_exact_groups ?? []));
    for (const g of report.groups.filter((x) => x.crossFile)) {
      assert.equal(g.bytesSaved, g.members[0].tensor.byteLength * (new Set(g.members.map((m) => m.path)).size - 1));
    }
  });
}

test('several files given together are one scan: cross-file groups name both files', async () => {
  const dir = path.join(corpus, 't5-tiny-split');
  const report = await scanFiles([path.join(dir, 'encoder_model.onnx'), path.join(dir, 'decoder_model.onnx')], { minBytes: 0 });
  const cross = report.groups.filter((g) => g.crossFile && g.kind === 'exact');
  const names = cross.map((g) => g.members.map((m) => `${path.basename(m.path)}:${m.tensor.id}`));
  assert.ok(names.some((n) => n.includes('encoder_model.onnx:m.shared.weight') && n.includes('decoder_model.onnx:m.shared.weight')), JSON.stringify(names));
});

// ONNX's own backend test models: old IR versions, initializers as graph
// inputs, hundreds of nodes. Reference facts from onnx 1.12 + numpy.
const backend = path.join(__dirname, '../../fixtures/onnx-backend');
interface BackendEntry { file: string; exact_duplicate_groups: string[][]; multi_use_all: Record<string, number> }
const backendManifest = JSON.parse(fs.readFileSync(path.join(backend, 'manifest.json'), 'utf8')) as BackendEntry[];

test('onnx-backend: every model scans, and exact groups and tied counts equal the reference', async () => {
  assert.equal(backendManifest.length, 149);
  const failures: string[] = [];
  let groupsSeen = 0;
  for (const e of backendManifest) {
    const report = await scanFiles([path.join(backend, e.file)], { minBytes: 0 });
    const got = factsOf(report);
    groupsSeen += got.exact.length;
    try {
      assert.deepEqual(got.exact, normalise(e.exact_duplicate_groups));
      assert.deepEqual(got.multiUse, e.multi_use_all);
    } catch (err) {
      failures.push(`${e.file}: ${(err as Error).message.split('\n').slice(0, 12).join('\n')}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(groupsSeen >= 16, 'the reference has exact groups in 16 models');
});
