// Input synthesis over every ONNX model of the corpus, read by the real ONNX
// reader: which inputs are fed, ids inside the vocabulary, masks, seeded floats.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openOnnx } from '../../../extension/model/onnx/reader';
import type { ModelFile } from '../../../extension/model/types';
import {
  synthesizeInputs, resolveDims, findVocabulary, feedableInputs, createRng, createNormal, InputSynthesisError, inputSourceOf,
} from '../../../extension/check/inputs';
import { acceptedModels, rejectedModels, modelPath, outputShapes } from './corpus';

const models = new Map<string, ModelFile>();
async function model(file: string): Promise<ModelFile> {
  if (!models.has(file)) models.set(file, await openOnnx(modelPath(file)));
  return models.get(file)!;
}

/** Language-model heads: the output's last dim is the vocabulary. */
const LM_MODELS = ['bert-tiny-mlm.onnx', 'albert-tiny-mlm.onnx', 't5-tiny.onnx', 'gpt2-tiny-op18.onnx', 'bert-tiny-mlm-trained.onnx',
  'gpt2-tiny-op18-int8.onnx', 't5-tiny-split/decoder_model.onnx', 'half-copy.onnx', 'gpt2-trained-neardup.onnx'];

test('every corpus ONNX model gets one feed per non-initializer graph input, with concrete dims', async () => {
  for (const file of [...acceptedModels, ...rejectedModels.map((r) => r.file)]) {
    const m = await model(file);
    const { feeds, descriptions } = synthesizeInputs(inputSourceOf(m)!);
    const initializers = new Set(m.graph!.main.initializerNames);
    assert.deepEqual(feeds.map((f) => f.name), m.graph!.main.inputs.filter((i) => !initializers.has(i.name)).map((i) => i.name), file);
    assert.equal(descriptions.length, feeds.length);
    for (const f of feeds) {
      assert.ok(f.dims.every((d) => Number.isInteger(d) && d > 0), `${file}/${f.name}: dims ${f.dims}`);
      assert.equal(f.data.length, f.dims.reduce((a, b) => a * b, 1));
    }
  }
});

test('initializers listed as graph inputs are not fed (mlp-init-as-inputs)', async () => {
  const m = await model('mlp-init-as-inputs.onnx');
  assert.equal(m.graph!.main.inputs.length, 5);
  assert.deepEqual(feedableInputs(inputSourceOf(m)!).map((i) => i.name), ['x']);
});

test('token ids stay inside the vocabulary of the table they index', async () => {
  for (const file of LM_MODELS) {
    const m = await model(file);
    const shapes = outputShapes(file);
    assert.ok(shapes, `${file}: manifest output shape`);
    const vocab = shapes[0][shapes[0].length - 1];
    const { feeds, descriptions } = synthesizeInputs(inputSourceOf(m)!);
    const idInputs = descriptions.filter((d) => d.kind === 'token-ids');
    assert.ok(idInputs.length >= 1, `${file}: has token ids (${descriptions.map((d) => `${d.name}:${d.kind}`).join(', ')})`);
    for (const d of idInputs) {
      assert.equal(findVocabulary(inputSourceOf(m)!, d.name)?.size, vocab, `${file}/${d.name}: vocabulary`);
      const values = Array.from(feeds.find((f) => f.name === d.name)!.data as BigInt64Array, Number);
      assert.ok(values.every((v) => Number.isInteger(v) && v >= 0 && v < vocab), `${file}/${d.name}: ${values}`);
      assert.ok(Math.max(...values) >= vocab / 4, `${file}/${d.name}: ids spread over the vocabulary (${values})`);
    }
  }
});

test('the int8 model reads ids through its quantized table; half-copy through GatherND', async () => {
  assert.equal(findVocabulary(inputSourceOf(await model('gpt2-tiny-op18-int8.onnx'))!, 'input_ids')?.tables[0], 'm.lm_head.weight_quantized');
  assert.deepEqual(findVocabulary(inputSourceOf(await model('half-copy.onnx'))!, 'input_ids'), { size: 500, tables: ['val_0'] });
  assert.equal(findVocabulary(inputSourceOf(await model('vit-tiny.onnx'))!, 'pixel_values'), undefined);
});

test('attention masks are all ones', async () => {
  for (const file of ['bert-tiny-mlm.onnx', 'albert-tiny-mlm.onnx']) {
    const { feeds, descriptions } = synthesizeInputs(inputSourceOf(await model(file))!);
    assert.equal(descriptions.find((d) => d.name === 'attention_mask')?.kind, 'mask');
    assert.deepEqual(Array.from(feeds.find((f) => f.name === 'attention_mask')!.data as BigInt64Array), new Array(8).fill(1n));
  }
});

test('a Loop trip count (integer scalar, no table) is 1', async () => {
  const { feeds } = synthesizeInputs(inputSourceOf(await model('loop-rnn.onnx'))!);
  const n = feeds.find((f) => f.name === 'n')!;
  assert.deepEqual(n.dims, []);
  assert.deepEqual(Array.from(n.data as BigInt64Array), [1n]);
});

test('floats are standard normal, deterministic per seed, independent per input name', async () => {
  const vit = await model('vit-tiny.onnx');
  const a = synthesizeInputs(inputSourceOf(vit)!, { seed: 7 }).feeds[0].data as Float32Array;
  const b = synthesizeInputs(inputSourceOf(vit)!, { seed: 7 }).feeds[0].data as Float32Array;
  const c = synthesizeInputs(inputSourceOf(vit)!, { seed: 8 }).feeds[0].data as Float32Array;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  assert.ok(Math.abs(mean) < 0.1 && Math.abs(std - 1) < 0.1, `mean ${mean}, std ${std} over ${a.length}`);
  const siamese = synthesizeInputs(inputSourceOf(await model('siamese-cnn.onnx'))!).feeds;
  assert.notDeepEqual(siamese[0].data, siamese[1].data, 'x and y draw different values');
});

test('symbolic dimensions resolve to batch and sequence defaults, or to named values', () => {
  assert.deepEqual(resolveDims(['batch_size', 'sequence_length', 64]), [1, 8, 64]);
  assert.deepEqual(resolveDims(['batch', 'seq'], { batch: 2, sequence: 16 }), [2, 16]);
  assert.deepEqual(resolveDims([null, null, 3]), [1, 8, 3]);
  assert.deepEqual(resolveDims(['s0', 's1'], { dims: { s1: 5 } }), [1, 5]);
  assert.deepEqual(resolveDims(['N', 'past_sequence_length']), [1, 8]);
  assert.deepEqual(resolveDims([]), []);
});

test('the PRNG is the same sequence in every run (mulberry32, Box–Muller)', () => {
  // Pinned: the webview and the CLI must draw the same inputs from the same seed.
  const u = createRng(0);
  assert.deepEqual([u(), u(), u()], [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
  const n = createNormal(createRng(1));
  const xs = Array.from({ length: 20000 }, n);
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
  const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / xs.length;
  assert.ok(Math.abs(mean) < 0.03 && Math.abs(variance - 1) < 0.05, `mean ${mean}, variance ${variance}`);
});

test('inputs that cannot be synthesised fail with the input name', () => {
  const base = { graph: { nodes: [], initializerNames: [] }, tensors: [] };
  assert.throws(() => synthesizeInputs({ ...base, graph: { ...base.graph, inputs: [{ name: 'x', dtype: 'float32' }] } }),
    (e: unknown) => e instanceof InputSynthesisError && /input 'x': the model gives no shape/.test(e.message));
  assert.throws(() => synthesizeInputs({ ...base, graph: { ...base.graph, inputs: [{ name: 'b', dtype: 'bfloat16', shape: [2] }] } }), /input 'b': cannot synthesise bfloat16/);
  const fromTypeString = synthesizeInputs({ ...base, graph: { ...base.graph, inputs: [{ name: 'h', type: 'tensor(float16)', shape: ['batch', 3] }] } });
  assert.equal(fromTypeString.feeds[0].dtype, 'float16');
  assert.deepEqual(fromTypeString.feeds[0].dims, [1, 3]);
});

test('the webview graph payload shape works too: flat nodes, attributes as strings, type strings', async () => {
  // The protocol's GraphPayload (extension/protocol.ts) carries these fields; built here from the real model.
  const m = await model('bert-tiny-mlm.onnx');
  const payload = {
    graph: {
      inputs: m.graph!.main.inputs.map((i) => ({ name: i.name, type: i.type, shape: i.shape })),
      nodes: m.graph!.main.nodes.map((n) => ({ opType: n.opType, inputs: n.inputs, outputs: n.outputs, attributes: Object.fromEntries(Object.entries(n.attributes).map(([k, v]) => [k, String(v)])) })),
    },
    tensors: m.tensors.map((t) => ({ name: t.name, shape: t.shape, isGraphInput: t.isGraphInput })),
  };
  const fromPayload = synthesizeInputs(payload, { seed: 4 });
  const fromModel = synthesizeInputs(inputSourceOf(m)!, { seed: 4 });
  assert.deepEqual(fromPayload.feeds, fromModel.feeds);
  assert.deepEqual(fromPayload.descriptions, fromModel.descriptions);
});

test('a Gather on axis 1 bounds ids by that axis', () => {
  const source = {
    graph: { inputs: [{ name: 'ids', dtype: 'int64' as const, shape: [64] }], nodes: [{ opType: 'Gather', inputs: ['table', 'ids'], outputs: ['y'], attributes: { axis: 1 } }] },
    tensors: [{ name: 'table', shape: [1000, 7] }],
  };
  assert.equal(findVocabulary(source, 'ids')?.size, 7);
  const ids = Array.from(synthesizeInputs(source).feeds[0].data as BigInt64Array, Number);
  assert.ok(ids.every((v) => v >= 0 && v < 7) && new Set(ids).size > 1, String(ids));
});

test('chosen values: a constant, a range of ids inside the vocabulary, a range of floats; the plan says so without allocating', async () => {
  const m = inputSourceOf(await model('bert-tiny-mlm.onnx'))!;
  const names = feedableInputs(m).map((i) => i.name);
  const ids = names.find((n) => /input_ids/.test(n))!;
  const other = names.find((n) => /mask/.test(n))!;
  const vocab = findVocabulary(m, ids)!.size;
  const { feeds, descriptions } = synthesizeInputs(m, { values: { [ids]: { low: 100, high: 110 }, [other]: { fill: 0 } } });
  const idValues = Array.from(feeds.find((f) => f.name === ids)!.data as BigInt64Array, Number);
  assert.ok(idValues.every((v) => v >= 100 && v < 110), `ids in [100, 110): ${idValues}`);
  assert.ok(new Set(idValues).size > 1, 'drawn, not constant');
  // The mask, all ones by its name, holds the chosen 0 instead.
  assert.deepEqual(Array.from(feeds.find((f) => f.name === other)!.data as BigInt64Array, Number), idValues.map(() => 0));
  const d = descriptions.find((x) => x.name === ids)!;
  assert.equal(d.kind, 'token-ids');
  assert.deepEqual(d.range, [100, 110]);
  assert.equal(d.vocabulary, vocab);
  assert.match(descriptions.find((x) => x.name === other)!.detail, /all 0 \(chosen\)/);

  const floats = inputSourceOf(await model('siamese-cnn.onnx'))!;
  const x = feedableInputs(floats)[0]!.name;
  const { feeds: f } = synthesizeInputs(floats, { values: { [x]: { low: -0.5, high: 0.5 } } });
  const values = Array.from(f[0]!.data as Float32Array);
  assert.ok(values.every((v) => v >= -0.5 && v < 0.5) && Math.max(...values) > 0.4 && Math.min(...values) < -0.4, 'uniform over the range');
});

test('chosen values the input cannot hold are refused, naming the input and the problem', async () => {
  const m = inputSourceOf(await model('bert-tiny-mlm.onnx'))!;
  const ids = feedableInputs(m).map((i) => i.name).find((n) => /input_ids/.test(n))!;
  const vocab = findVocabulary(m, ids)!.size;
  const refuse = (values: Record<string, { fill: number } | { low: number; high: number }>, pattern: RegExp) =>
    assert.throws(() => synthesizeInputs(m, { values }), (e: Error) => e instanceof InputSynthesisError && e.message.includes(`'${ids}'`) && pattern.test(e.message));
  refuse({ [ids]: { low: 0, high: vocab + 1 } }, new RegExp(`outside the vocabulary .*keep them in \\[0, ${vocab}\\)`));
  refuse({ [ids]: { low: 5, high: 5 } }, /is empty/);
  refuse({ [ids]: { fill: 1.5 } }, /not a int64 value/);
  refuse({ [ids]: { fill: Number.NaN } }, /not a finite number/);
});

test('a symbolic dimension named like an Object property is a name like any other', () => {
  assert.deepEqual(resolveDims(['constructor', 4], { dims: { constructor: 3 } }), [3, 4]);
  assert.deepEqual(resolveDims(['constructor', 'toString'], {}), [1, 8]);
});
