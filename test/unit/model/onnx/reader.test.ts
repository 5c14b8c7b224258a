// The ONNX reader against every real ONNX file in the fixtures: the counts it
// reports must equal the reference facts computed by onnx + numpy, and every
// tensor's bytes must be readable in full through FileSet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openOnnx } from '../../../../extension/model/onnx/reader';
import { FileSet } from '../../../../extension/io/fileSet';
import { storedRanges, type ModelFile, type TensorRef } from '../../../../extension/model/types';

const FIXTURES = path.join(__dirname, '../../../fixtures');
const CORPUS = path.join(FIXTURES, 'corpus');
const BACKEND = path.join(FIXTURES, 'onnx-backend');

interface CorpusEntry {
  file: string;
  format: string;
  facts: {
    opset: Array<[string, number]>;
    producer: string;
    initializers: number;
    nodes: number;
    initializer_bytes: number;
    initializer_names: string[];
    multi_use_all: Record<string, number>;
    graph_input_initializers: string[];
  };
}

interface BackendEntry {
  file: string;
  ir_version: number;
  opset: Array<[string, number]>;
  nodes: number;
  initializers: number;
  multi_use_all: Record<string, number>;
  graph_input_initializers: string[];
}

const corpus = (JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as CorpusEntry[])
  .filter((e) => e.format === 'onnx');
const backend = JSON.parse(fs.readFileSync(path.join(BACKEND, 'manifest.json'), 'utf8')) as BackendEntry[];

function initializers(m: ModelFile): TensorRef[] {
  return m.tensors.filter((t) => t.role === 'initializer');
}

/** Reference `multi_use_all`: initializers read by more than one node input, subgraphs included. */
function multiUse(m: ModelFile): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of initializers(m)) if (t.consumers.length > 1) out[t.id] = t.consumers.length;
  return out;
}

function sorted<T>(o: Record<string, T>): Array<[string, T]> {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Reads every available tensor in full, in bounded chunks, through FileSet. */
function readAll(m: ModelFile): number {
  const files = new FileSet();
  const chunk = new Uint8Array(1 << 16);
  let total = 0;
  try {
    for (const t of m.tensors) {
      if (t.data.kind === 'unavailable') continue;
      const ranges = storedRanges(t.data);
      if (ranges) {
        assert.equal(ranges.reduce((s, r) => s + r.length, 0), t.byteLength, `${t.id}: ranges cover byteLength`);
        for (const r of ranges) assert.ok(path.isAbsolute(r.file), `${t.id}: absolute path`);
      } else if (t.data.kind === 'inline') {
        assert.equal(t.data.bytes.length, t.byteLength, `${t.id}: inline bytes length`);
      }
      for (let at = 0; at < t.byteLength; at += chunk.length) {
        const n = Math.min(chunk.length, t.byteLength - at);
        files.readTensor(t, at, chunk, 0, n);
        total += n;
      }
    }
  } finally {
    files.close();
  }
  return total;
}

test('corpus ONNX files: structure and counts equal the reference facts', async (t) => {
  assert.ok(corpus.length >= 19, 'corpus manifest lists the ONNX files');
  for (const e of corpus) {
    await t.test(e.file, async () => {
      const m = await openOnnx(path.join(CORPUS, e.file));
      const f = e.facts;
      const inits = initializers(m);
      assert.equal(m.format, 'onnx');
      assert.equal(inits.length, f.initializers, 'initializers (all graphs)');
      assert.deepEqual(inits.map((x) => x.id).sort(), [...f.initializer_names].sort(), 'initializer ids');
      assert.equal(m.graph!.main.nodes.length, f.nodes, 'main-graph nodes');
      assert.equal(inits.reduce((s, x) => s + x.byteLength, 0), f.initializer_bytes, 'initializer bytes');
      assert.deepEqual(sorted(multiUse(m)), sorted(f.multi_use_all), 'multi_use_all from consumers');
      assert.deepEqual(inits.filter((x) => x.isGraphInput).map((x) => x.name).sort(), [...f.graph_input_initializers].sort(), 'graph-input initializers');
      assert.deepEqual(m.graph!.opsets.map((o) => [o.domain, o.version]), f.opset, 'opsets');
      assert.equal(m.producer, f.producer.trim(), 'producer');
      assert.equal(readAll(m), m.tensors.filter((x) => x.data.kind !== 'unavailable').reduce((s, x) => s + x.byteLength, 0));
    });
  }
});

test('onnx backend models: all 149 open and match the reference facts', async (t) => {
  assert.equal(backend.length, 149);
  for (const e of backend) {
    await t.test(e.file, async () => {
      const m = await openOnnx(path.join(BACKEND, e.file));
      assert.equal(m.graph!.irVersion, e.ir_version, 'ir_version');
      assert.deepEqual(m.graph!.opsets.map((o) => [o.domain, o.version]), e.opset, 'opsets');
      assert.equal(m.graph!.main.nodes.length, e.nodes, 'nodes');
      assert.equal(initializers(m).length, e.initializers, 'initializers');
      assert.deepEqual(sorted(multiUse(m)), sorted(e.multi_use_all), 'multi_use_all');
      assert.deepEqual(initializers(m).filter((x) => x.isGraphInput).map((x) => x.name).sort(), [...e.graph_input_initializers].sort());
      readAll(m);
    });
  }
});

function tensor(m: ModelFile, id: string): TensorRef {
  const t = m.tensors.find((x) => x.id === id);
  assert.ok(t, `tensor ${id} exists`);
  return t;
}

function bytesOf(t: TensorRef): Buffer {
  const files = new FileSet();
  try {
    const b = Buffer.alloc(t.byteLength);
    files.readTensor(t, 0, b);
    return b;
  } finally {
    files.close();
  }
}

test('values: int64 shapes, negative int64_data, int32_data zero points, external data', async () => {
  // The light model-zoo files keep each weight's shape as an int64 initializer.
  const alex = await openOnnx(path.join(BACKEND, 'light/light_bvlc_alexnet.onnx'));
  assert.deepEqual([...new BigInt64Array(new Uint8Array(bytesOf(tensor(alex, 'conv1_w_0__SHAPE'))).buffer)], [96n, 3n, 11n, 11n]);

  // int64_data (varint, sign-extended negatives) decoded to canonical bytes.
  const seq = await openOnnx(path.join(BACKEND, 'simple/test_sequence_model3/model.onnx'));
  const erase = tensor(seq, 'pos_erase');
  assert.equal(erase.data.kind, 'inline');
  assert.equal(bytesOf(erase).readBigInt64LE(0), -3n);
  assert.equal(bytesOf(tensor(seq, 'pos_insert')).readBigInt64LE(0), -1n);

  // onnxruntime's quantizer writes scalar zero points in int32_data.
  const q = await openOnnx(path.join(CORPUS, 'gpt2-tiny-op18-int8.onnx'));
  const zp = tensor(q, 'm.lm_head.weight_zero_point');
  assert.equal(zp.dtype, 'uint8');
  assert.equal(zp.data.kind, 'inline');
  assert.equal(zp.byteLength, 1);
  // The quantized lm_head shares its triplet with the embedding (manifest):
  // the Gather and the MatMul read the same zero point.
  assert.ok(zp.consumers.length >= 1);

  // External data: ranges point into the .onnx.data file beside the model.
  const ext = await openOnnx(path.join(CORPUS, 'siamese-cnn-dynamo.onnx'));
  const files = new Set(ext.tensors.flatMap((x) => (storedRanges(x.data) ?? []).map((r) => r.file)));
  assert.ok(files.has(path.join(CORPUS, 'siamese-cnn-dynamo.onnx.data')));
});

test('subgraphs: If branches and Loop bodies read outer initializers', async () => {
  const cond = await openOnnx(path.join(CORPUS, 'cond-branches.onnx'));
  const b = cond.tensors.find((x) => x.name === 'b');
  assert.ok(b);
  const graphs = new Set(b.consumers.map((c) => c.graphPath));
  assert.ok(graphs.size >= 2, `b is read in both branches (${[...graphs].join(', ')})`);
  for (const g of graphs) assert.notEqual(g, '', 'read inside the If subgraphs');
  const ifNode = cond.graph!.main.nodes.find((n) => n.opType === 'If');
  assert.ok(ifNode);
  assert.equal(ifNode.subgraphs.length, 2);
  assert.deepEqual(ifNode.subgraphs.map((s) => s.path).sort(), [`${ifNode.name}/else_branch`, `${ifNode.name}/then_branch`]);

  const loop = await openOnnx(path.join(CORPUS, 'loop-rnn.onnx'));
  const w = loop.tensors.find((x) => x.name === 'cell.weight');
  assert.ok(w);
  assert.ok(w.consumers.some((c) => c.graphPath !== ''), 'the Loop body reads cell.weight');
});

test('Constant nodes become constant tensors named by their output', async () => {
  const m = await openOnnx(path.join(CORPUS, 'bert-tiny-mlm.onnx'));
  const constants = m.tensors.filter((x) => x.role === 'constant');
  assert.ok(constants.length > 0);
  for (const c of constants) {
    const node = m.graph!.main.nodes.find((n) => n.opType === 'Constant' && n.outputs[0] === c.name);
    assert.ok(node, `${c.id} comes from a Constant node`);
    assert.deepEqual(node.attributes.value, { tensor: c.id });
  }
});

test('structure of a large file is read without touching tensor bytes (timing is printed, not asserted)', async () => {
  const file = path.join(CORPUS, 't5-tiny.onnx');
  const t0 = performance.now();
  const m = await openOnnx(file);
  const ms = performance.now() - t0;
  assert.ok(m.tensors.length > 0);
  console.log(`t5-tiny.onnx: ${m.tensors.length} tensors, ${m.graph!.main.nodes.length} nodes in ${ms.toFixed(1)} ms`);
});

test('an aborted signal stops the read', async () => {
  const controller = new AbortController();
  controller.abort(new Error('user cancelled'));
  await assert.rejects(openOnnx(path.join(CORPUS, 'gpt2-tiny.onnx'), { signal: controller.signal }), /user cancelled/);
});
