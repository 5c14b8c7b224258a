// Cross-layer similarity against what PyTorch measured when the corpus was
// made (manifest `training.relative_l2_layer0_vs_i`: ‖wᵢ − w₀‖ / max norms,
// for the trained GPT-2 whose layers 1-3 started as copies of layer 0), from
// both the ONNX export and the checkpoint; independent random layers sit
// near √2.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../../extension/model/registry';
import { analyzeLayers } from '../../../extension/sharing/layers';
import { useLayerKernel } from '../../../extension/sharing/layerSums';
import { toLayersJson } from '../../../extension/cli/layers';
import { parsePb, type PbNode } from '../../fuzz/mutators';
import { writeSafetensors } from '../model/safetensors/handWritten';

const corpus = path.join(__dirname, '..', '..', 'fixtures', 'corpus');
const manifest = JSON.parse(fs.readFileSync(path.join(corpus, 'manifest.json'), 'utf8')) as Array<{ file: string; training?: { relative_l2_layer0_vs_i: Record<string, number> } }>;
const reference = manifest.find((e) => e.file === 'gpt2-trained-neardup.onnx')!.training!.relative_l2_layer0_vs_i;

for (const file of ['gpt2-trained-neardup.onnx', 'gpt2-trained-neardup.safetensors']) {
  for (const bufferBytes of [undefined, 16 * 1024]) {
    test(`${file}${bufferBytes ? ' (streamed in 16 kB chunks)' : ''}: layer-0 distances equal PyTorch's within 2e-5`, async () => {
      const report = await analyzeLayers(await openModel(path.join(corpus, file)), { bufferBytes });
      let checked = 0;
      for (const [key, want] of Object.entries(reference)) {
        // "h.0~h.2.mlp.c_fc.weight": layer 0 against layer 2, role mlp.c_fc.weight.
        const m = /^h\.0~h\.(\d+)\.(.+)$/.exec(key)!;
        const family = report.families.find((f) => f.role === m[2] && /(^|\.)h$/.test(f.stack))!;
        assert.ok(family, `a family for ${m[2]}`);
        const i = family.layers.indexOf(Number(m[1]));
        assert.ok(Math.abs(family.relL2[0]![i]! - want) <= 2e-5, `${key}: ${family.relL2[0]![i]} vs ${want}`);
        assert.equal(family.relL2[i]![0], family.relL2[0]![i], 'symmetric');
        checked++;
      }
      assert.equal(checked, 12);
    });
  }
}

test('independent random layers (gpt2-tiny-untied, random init) sit near √2; LayerNorm ones are identical; JSON carries the matrices', async () => {
  const report = await analyzeLayers(await openModel(path.join(corpus, 'gpt2-tiny-untied.safetensors')));
  const attn = report.families.find((f) => f.role === 'attn.c_attn.weight')!;
  assert.deepEqual(attn.layers, [0, 1]);
  assert.ok(Math.abs(attn.relL2[0]![1]! - Math.SQRT2) < 0.05, `rel L2 ${attn.relL2[0]![1]}`);
  assert.ok(Math.abs(attn.centredCosine[0]![1]!) < 0.05, `centred cosine ${attn.centredCosine[0]![1]}`);
  // Random init leaves LayerNorm weights all ones: identical, and no variance to correlate.
  const ln = report.families.find((f) => f.role === 'ln_1.weight')!;
  assert.equal(ln.relL2[0]![1], 0);
  assert.ok(Number.isNaN(ln.centredCosine[0]![1]!));
  const json = toLayersJson([{ ...report, filters: [] }]) as { schema: number; lossless: boolean; models: Array<{ families: Array<{ role: string; members: string[]; relL2: number[][] }> }> };
  assert.equal(json.schema, 1);
  assert.equal(json.lossless, false);
  const fam = json.models[0]!.families.find((f) => f.role === 'attn.c_attn.weight')!;
  assert.deepEqual(fam.members, ['transformer.h.0.attn.c_attn.weight', 'transformer.h.1.attn.c_attn.weight']);
  assert.equal(fam.relL2.length, 2);
});

test('worker threads and the sketch: split across threads, the matrices are the single-thread ones; sketched, within the stated error, closest pairs exact', async () => {
  const model = await openModel(path.join(corpus, 'gpt2-trained-neardup.safetensors'));
  const one = await analyzeLayers(model, { threads: 1 });
  // A tiny model: let threads take ranges of 1,000 elements, so every family is split across the workers.
  const split = await analyzeLayers(model, { threads: 3, minElementsPerThread: 1000, exactWork: 1e12 });
  const sketchSplit = await analyzeLayers(model, { threads: 3, minElementsPerThread: 1000, exactWork: 0, sketchBuckets: 1 << 12 });
  for (const [k, f] of one.families.entries()) {
    f.relL2.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - split.families[k]!.relL2[i]![j]!) < 1e-12)));
  }
  const sketched = await analyzeLayers(model, { exactWork: 0, sketchBuckets: 1 << 12, threads: 1 });
  let worst = 0;
  for (const [k, f] of sketched.families.entries()) {
    f.relL2.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - sketchSplit.families[k]!.relL2[i]![j]!) < 1e-12, 'the sketch split across threads is the same sketch')));
    const exact = one.families[k]!;
    assert.equal(f.role, exact.role);
    const est = f.estimate!;
    assert.equal(est.method, 'count-sketch');
    assert.equal(est.buckets, 4096);
    const isExact = new Set(est.exactPairs.map(([i, j]) => `${i},${j}`));
    assert.ok(isExact.size >= Math.ceil(f.members.length / 2));
    for (let i = 0; i < f.members.length; i++) {
      for (let j = i + 1; j < f.members.length; j++) {
        const want = exact.relL2[i]![j]!, got = f.relL2[i]![j]!;
        if (isExact.has(`${i},${j}`)) {
          assert.ok(Math.abs(got - want) < 1e-9, `${f.role} ${i},${j}: exact pair ${got} vs ${want}`);
          assert.ok(Math.abs(f.centredCosine[i]![j]! - exact.centredCosine[i]![j]!) < 1e-9 || Number.isNaN(exact.centredCosine[i]![j]!));
        } else if (want > 0) {
          worst = Math.max(worst, Math.abs(got - want) / want / est.relL2RelativeStd);
        }
      }
    }
  }
  // Every estimate within 5 standard deviations of the exact value.
  assert.ok(worst < 5, `worst estimate off by ${worst.toFixed(2)} standard deviations`);
});

test('the sketch on weights whose mean is far from zero (scales near 1): estimates still within the stated error', async () => {
  // Six layers of 256x256 values near 1: layer k is layer 0 shifted by 0.01·k plus k times a fresh perturbation
  // (a difference with a non-zero mean: without random signs a sketch adds it up coherently).
  const n = 256 * 256;
  let s = 99;
  const rand = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; };
  const base = Float32Array.from({ length: n }, () => 0.1 * rand());
  const layers = Array.from({ length: 6 }, (_, k) => Float32Array.from(base, (v) => 1 + v + 0.01 * k + 0.02 * k * rand()));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-layers-'));
  try {
    const file = path.join(dir, 'scales.safetensors');
    writeSafetensors(file, layers.map((l, k) => ({ name: `blk.${k}.scale`, dtype: 'F32', shape: [256, 256], bytes: new Uint8Array(l.buffer) })));
    const model = await openModel(file);
    const exact = (await analyzeLayers(model, { threads: 1 })).families[0]!;
    const sketched = (await analyzeLayers(model, { threads: 1, exactWork: 0, sketchBuckets: 1024 })).families[0]!;
    assert.equal(sketched.members.length, 6);
    const std = sketched.estimate!.relL2RelativeStd;
    for (let i = 0; i < 6; i++) {
      for (let j = i + 1; j < 6; j++) {
        const want = exact.relL2[i]![j]!, got = sketched.relL2[i]![j]!;
        assert.ok(Math.abs(got - want) / want < 5 * std, `${i},${j}: ${got} vs ${want} (std ${std})`);
        assert.ok(Math.abs(sketched.centredCosine[i]![j]! - exact.centredCosine[i]![j]!) < 0.1, `centred cosine ${i},${j}`);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a torchscript export whose block weights are anonymous (onnx::MatMul_N): families from the scope of the nodes that read them', async () => {
  // The reference comes from the file's own protobuf fields, read here with
  // the fuzzer's field parser (not the project's reader): which initializer
  // each `/m/bert/encoder/layer.K/attention/self/query/MatMul` reads as its
  // weight, and that initializer's float32 raw_data.
  const file = path.join(corpus, 'bert-tiny-mlm-trained.onnx');
  const bytes = fs.readFileSync(file);
  const tree = parsePb(bytes);
  const text = (n: PbNode) => bytes.subarray(n.valueStart, n.end).toString('utf8');
  const graph = tree.root.children.find((c) => c.field === 7)!.msg!;
  const weightOf = new Map<number, string>();
  for (const node of graph.children.filter((c) => c.field === 1)) {
    const name = node.msg!.children.find((c) => c.field === 3);
    const m = name && /^\/m\/bert\/encoder\/layer\.(\d+)\/attention\/self\/query\/MatMul$/.exec(text(name));
    if (m) weightOf.set(Number(m[1]), text(node.msg!.children.filter((c) => c.field === 1)[1]!));
  }
  const valuesOf = (wanted: string) => {
    const t = graph.children.find((c) => c.field === 5 && text(c.msg!.children.find((f) => f.field === 8)!) === wanted)!.msg!;
    const raw = t.children.find((f) => f.field === 9)!;
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset + raw.valueStart, bytes.byteOffset + raw.end));
  };
  assert.deepEqual([...weightOf.keys()].sort(), [0, 1]);
  assert.ok([...weightOf.values()].every((n) => n.startsWith('onnx::MatMul_')), 'the weights are anonymous');
  const [a, b] = [valuesOf(weightOf.get(0)!), valuesOf(weightOf.get(1)!)];
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += (a[i]! - b[i]!) ** 2; na += a[i]! ** 2; nb += b[i]! ** 2; }

  const report = await analyzeLayers(await openModel(file));
  const f = report.families.find((x) => x.role === 'attention.self.query.MatMul[1]');
  assert.ok(f, `families: ${report.families.map((x) => x.role).join(', ')}`);
  assert.equal(f.stack, 'm.bert.encoder.layer');
  assert.deepEqual(f.members.map((m) => m.name), [weightOf.get(0), weightOf.get(1)]);
  assert.ok(Math.abs(f.relL2[0]![1]! - Math.sqrt(d / Math.max(na, nb))) < 1e-12);
  // Six anonymous weights per block (query, key, value, attention output, intermediate, output), beside the named biases and norms.
  assert.equal(report.families.filter((x) => x.role.endsWith('MatMul[1]')).length, 6);
});

test('half-precision families (the SIMD kernel, or the half table as they stream) give the matrices of the same values stored as float32', async () => {
  const n = 128 * 64, layers = 4;
  let s = 7;
  const next = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s; };
  // Finite normal halves, and the test's own decoding of them: (-1)^s · 2^(e−15) · (1 + m/1024).
  const halves = Array.from({ length: layers }, () => Uint16Array.from({ length: n }, () => { const r = next(); return (r & 0x8000) | ((8 + (r >>> 16) % 14) << 10) | ((r >>> 4) & 0x3ff); }));
  const floats = halves.map((h) => Float32Array.from(h, (b) => (b & 0x8000 ? -1 : 1) * 2 ** (((b >>> 10) & 31) - 15) * (1 + (b & 0x3ff) / 1024)));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-layers-'));
  try {
    const file = path.join(dir, 'halves.safetensors');
    writeSafetensors(file, [
      ...halves.map((h, k) => ({ name: `half.${k}.w`, dtype: 'F16', shape: [128, 64], bytes: new Uint8Array(h.buffer) })),
      ...floats.map((f, k) => ({ name: `single.${k}.w`, dtype: 'F32', shape: [128, 64], bytes: new Uint8Array(f.buffer) })),
    ]);
    const model = await openModel(file);
    // The kernel sums four lanes at a time: the same values, other rounding (within 1e-12).
    const near = (a: number[][], b: number[][], what: string) => a.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - b[i]![j]!) <= 1e-12, `${what} [${i}][${j}]: ${v} vs ${b[i]![j]}`)));
    for (const kernel of [true, false]) {
      useLayerKernel(kernel);
      for (const options of [{}, { exactWork: 0, sketchBuckets: 1024 }]) {
        const { families } = await analyzeLayers(model, { threads: 1, ...options });
        const half = families.find((f) => f.stack === 'half')!, single = families.find((f) => f.stack === 'single')!;
        assert.equal(half.dtype, 'float16');
        const what = `${kernel ? 'kernel' : 'table'} ${JSON.stringify(options)}`;
        near(half.relL2, single.relL2, `${what} rel L2`);
        near(half.centredCosine, single.centredCosine, `${what} centred cosine`);
        assert.ok(half.relL2[0]![1]! > 1, 'independent values: the pair is far apart');
      }
    }
    useLayerKernel(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
