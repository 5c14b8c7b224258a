// The extension host's analysis in a worker thread (the built
// dist/analysisWorker.js, as the extension runs it): a result whose groups
// still point at the model's own tensors after crossing the thread, progress
// on the way, errors rebuilt with their names, and an abort that stops a
// long parse mid-way instead of waiting for it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writer } from 'protobufjs';
import { runAnalysis } from '../../../extension/analysis/run';
import { unpackGraphPayload } from '../../../extension/view/packedPayload';
import type { ScanProgress } from '../../../extension/sharing/types';

const root = path.join(__dirname, '../../..');
const worker = path.join(root, 'dist/analysisWorker.js');
const corpus = path.join(root, 'test/fixtures/corpus');

test('a corpus model: groups and payload come back, members are the model\'s own tensors, progress arrives', async () => {
  assert.ok(fs.existsSync(worker), 'dist/analysisWorker.js exists: run `npm run build` first');
  const progress: ScanProgress[] = [];
  const r = await runAnalysis(worker, { path: path.join(corpus, 'bert-tiny-mlm-trained.onnx'), minBytes: 1024 }, { onProgress: (p) => progress.push(p) });
  const g = r.report.groups.find((x) => x.kind === 'transposed')!;
  assert.ok(g, 'the transposed embedding pair');
  for (const m of g.members) assert.ok(r.model.tensors.includes(m.tensor), `${m.tensor.name} is the model's tensor object, not a copy`);
  assert.equal(unpackGraphPayload(r.payload).groups[0]!.bytesSaved, 256000);
  assert.ok(progress.length >= 2 && progress.some((p) => p.phase === 'compare'));
});

test('a checkpoint beside an ONNX export: provenance in the result, only the export\'s groups', async () => {
  const r = await runAnalysis(worker, {
    path: path.join(corpus, 'gpt2-tiny-dynamo.onnx'), minBytes: 0, companions: [path.join(corpus, 'gpt2-tiny-untied.safetensors')],
  });
  assert.ok(r.report.provenance.length >= 10);
  for (const g of r.report.groups) assert.ok(g.members.some((m) => m.path === r.model.path), 'groups of the companion alone are left out');
  assert.ok(unpackGraphPayload(r.payload).tensors.some((t) => t.source?.name === 'transformer.h.0.attn.c_attn.weight'));
});

test('a bad file: the reader\'s error, with its name', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'analysis-'));
  try {
    const file = path.join(dir, 'truncated.onnx');
    fs.writeFileSync(file, fs.readFileSync(path.join(corpus, 'bert-tiny-mlm.onnx')).subarray(0, 5000));
    await assert.rejects(runAnalysis(worker, { path: file, minBytes: 1024 }), (e: Error) => e.name === 'ModelFormatError' && e.message.includes('truncated.onnx'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an abort stops a long parse mid-way', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'analysis-'));
  try {
    // 600,000 tiny initializers: seconds of parsing.
    const parts: Uint8Array[] = [];
    let len = 0;
    for (let i = 0; i < 600_000; i++) {
      const t = Writer.create().uint32(8).int64(1).uint32(16).int32(1).uint32(66).string(`w${i}`).uint32(74).bytes(new Uint8Array(new Float32Array([i]).buffer)).finish();
      const f = Writer.create().uint32((5 << 3) | 2).bytes(t).finish();
      parts.push(f);
      len += f.length;
    }
    const head = Writer.create().uint32(8).int64(8).uint32((7 << 3) | 2).uint32(len).finish();
    const file = path.join(dir, 'big.onnx');
    fs.writeFileSync(file, Buffer.concat([head, ...parts]));
    const controller = new AbortController();
    const t0 = Date.now();
    const run = runAnalysis(worker, { path: file, minBytes: 0 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    await assert.rejects(run, (e: Error) => e.name === 'AbortError');
    const waited = Date.now() - t0;
    assert.ok(waited < 1500, `the abort was answered after ${waited} ms, not at the end of the parse`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
