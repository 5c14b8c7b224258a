// Writes a BERT-base-shaped ONNX model (~530 MB of float32 weights) with the
// project's own writer: 12 encoder layers of width 768 (Q, K, V, O 768x768,
// FFN 768x3072 and 3072x768, biases, LayerNorms), a 30522x768 word embedding,
// and an MLM head whose logits MatMul reads an exact transposed copy of the
// embedding, as the TorchScript exporter's constant folding leaves it.
//
// Weights come from a counter-based generator (value = hash(seed, index)), so
// any chunk of any tensor, and of its transpose, is produced on demand into
// the writer's one reused buffer: the model is never in memory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PieceSource } from '../extension/io/atomicWrite';
import {
  encodeGraph, encodeModel, encodeNode, encodeTensor, encodeValueInfo, writeOnnx,
  type AttributeSpec, type Encoded,
} from '../extension/model/onnx/writer';

const HIDDEN = 768;
const FFN = 3072;
const LAYERS = 12;
const HEADS = 12;
const VOCAB = 30522;
const MAX_POSITIONS = 512;
/** Bump when the model's content changes, so a cached file is rewritten. */
const GENERATOR_VERSION = 1;

/** 32-bit avalanche mix (murmur3's finaliser) of a seed and an index. */
function mix(seed: number, index: number): number {
  let h = (Math.imul(seed, 0x9e3779b1) ^ index) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  // Tensors above 2^32 elements do not exist here; fold the high part in anyway.
  return (h ^ Math.floor(index / 0x100000000)) >>> 0;
}

/** Uniform in [center - spread, center + spread). */
function valueAt(seed: number, index: number, center: number, spread: number): number {
  return center + spread * ((mix(seed, index) / 0x100000000) * 2 - 1);
}

interface WeightInit { seed: number; center: number; spread: number }

/** float32 tensor of `count` elements; element k is produced from `indexOf(k)` of the init. */
function floatSource(count: number, init: WeightInit, indexOf: (k: number) => number = (k) => k): PieceSource {
  return {
    length: count * 4,
    fill(position, dst) {
      if (position % 4 !== 0 || dst.length % 4 !== 0) throw new RangeError('float sources are read in whole elements');
      const first = position / 4;
      const n = dst.length / 4;
      const aligned = dst.byteOffset % 4 === 0;
      const out = aligned ? new Float32Array(dst.buffer, dst.byteOffset, n) : undefined;
      const view = aligned ? undefined : new DataView(dst.buffer, dst.byteOffset, dst.length);
      for (let k = 0; k < n; k++) {
        const v = valueAt(init.seed, indexOf(first + k), init.center, init.spread);
        if (out) out[k] = v; else view!.setFloat32(k * 4, v, true);
      }
    },
  };
}

class ModelBuilder {
  readonly nodes: Encoded[] = [];
  readonly initializers: Encoded[] = [];
  private seed = 1;
  private counter = 0;
  weightBytes = 0;

  weight(name: string, dims: number[], center = 0, spread = 0.05): { name: string; init: WeightInit } {
    const init = { seed: this.seed++, center, spread };
    const count = dims.reduce((a, b) => a * b, 1);
    this.initializers.push(encodeTensor({ name, dtype: 'float32', dims, data: { raw: [floatSource(count, init)] } }));
    this.weightBytes += count * 4;
    return { name, init };
  }

  /** The exact transpose of a 2-D weight [rows, cols], stored as [cols, rows]. */
  transposedCopy(name: string, of: { init: WeightInit }, rows: number, cols: number): string {
    // Element (c, r) of the copy is element (r, c) of the original.
    const indexOf = (k: number): number => (k % rows) * cols + Math.floor(k / rows);
    this.initializers.push(encodeTensor({ name, dtype: 'float32', dims: [cols, rows], data: { raw: [floatSource(rows * cols, of.init, indexOf)] } }));
    this.weightBytes += rows * cols * 4;
    return name;
  }

  constInt64(name: string, values: number[], dims: number[] = [values.length]): string {
    this.initializers.push(encodeTensor({ name, dtype: 'int64', dims, data: { int64: values } }));
    return name;
  }

  constFloat(name: string, value: number): string {
    this.initializers.push(encodeTensor({ name, dtype: 'float32', dims: [], data: { float: [value] } }));
    return name;
  }

  node(opType: string, inputs: string[], attributes: AttributeSpec[] = [], prefix = opType): string {
    const name = `/${prefix}_${this.counter++}`;
    const out = `${name}_output_0`;
    this.nodes.push(encodeNode({ name, opType, inputs, outputs: [out], attributes }));
    return out;
  }
}

function buildModel(): { model: Encoded; weightBytes: number } {
  const b = new ModelBuilder();
  const ax = (v: number): AttributeSpec => ({ name: 'axis', kind: 'int', value: v });
  const lnAttrs: AttributeSpec[] = [ax(-1), { name: 'epsilon', kind: 'float', value: 1e-12 }];
  const one = b.constFloat('const_one', 1);
  const half = b.constFloat('const_half', 0.5);
  const sqrt2 = b.constFloat('const_sqrt2', Math.SQRT2);
  const scale = b.constFloat('const_attention_scale', Math.sqrt(HIDDEN / HEADS));
  const headsShape = b.constInt64('const_heads_shape', [0, 0, HEADS, HIDDEN / HEADS]);
  const mergedShape = b.constInt64('const_merged_shape', [0, 0, HIDDEN]);
  const seqIndex = b.constInt64('const_seq_axis', [1], []);
  const zero1d = b.constInt64('const_zero', [0]);

  const layerNorm = (x: string, prefix: string): string => {
    const g = b.weight(`${prefix}.weight`, [HIDDEN], 1, 0.02);
    const beta = b.weight(`${prefix}.bias`, [HIDDEN], 0, 0.02);
    return b.node('LayerNormalization', [x, g.name, beta.name], lnAttrs, prefix);
  };
  const linear = (x: string, prefix: string, inDim: number, outDim: number): string => {
    // MatMul weights are stored [in, out], as exporters write them.
    const w = b.weight(`${prefix}.weight`, [inDim, outDim]);
    const bias = b.weight(`${prefix}.bias`, [outDim], 0, 0.02);
    return b.node('Add', [b.node('MatMul', [x, w.name], [], prefix), bias.name], [], prefix);
  };
  const gelu = (x: string, prefix: string): string => {
    // Erf form, as the TorchScript exporter writes GELU before opset 20.
    const e = b.node('Erf', [b.node('Div', [x, sqrt2], [], prefix)], [], prefix);
    return b.node('Mul', [b.node('Mul', [x, b.node('Add', [e, one], [], prefix)], [], prefix), half], [], prefix);
  };

  // Embeddings
  const word = b.weight('bert.embeddings.word_embeddings.weight', [VOCAB, HIDDEN]);
  const position = b.weight('bert.embeddings.position_embeddings.weight', [MAX_POSITIONS, HIDDEN]);
  const tokenType = b.weight('bert.embeddings.token_type_embeddings.weight', [2, HIDDEN]);
  const we = b.node('Gather', [word.name, 'input_ids'], [ax(0)], 'embeddings');
  const seqLen = b.node('Unsqueeze', [b.node('Gather', [b.node('Shape', ['input_ids']), seqIndex], [ax(0)]), zero1d]);
  const pe = b.node('Slice', [position.name, zero1d, seqLen, zero1d], [], 'embeddings');
  const te = b.node('Gather', [tokenType.name, 'token_type_ids'], [ax(0)], 'embeddings');
  let h = layerNorm(b.node('Add', [b.node('Add', [we, pe]), te]), 'bert.embeddings.LayerNorm');

  for (let l = 0; l < LAYERS; l++) {
    const p = `bert.encoder.layer.${l}`;
    const heads = (x: string, perm: number[]): string =>
      b.node('Transpose', [b.node('Reshape', [x, headsShape])], [{ name: 'perm', kind: 'ints', value: perm }]);
    const q = heads(linear(h, `${p}.attention.self.query`, HIDDEN, HIDDEN), [0, 2, 1, 3]);
    const k = heads(linear(h, `${p}.attention.self.key`, HIDDEN, HIDDEN), [0, 2, 3, 1]);
    const v = heads(linear(h, `${p}.attention.self.value`, HIDDEN, HIDDEN), [0, 2, 1, 3]);
    const probs = b.node('Softmax', [b.node('Div', [b.node('MatMul', [q, k]), scale])], [ax(-1)]);
    const context = b.node('Reshape', [
      b.node('Transpose', [b.node('MatMul', [probs, v])], [{ name: 'perm', kind: 'ints', value: [0, 2, 1, 3] }]),
      mergedShape,
    ]);
    const attn = linear(context, `${p}.attention.output.dense`, HIDDEN, HIDDEN);
    h = layerNorm(b.node('Add', [attn, h]), `${p}.attention.output.LayerNorm`);
    const ffn = linear(gelu(linear(h, `${p}.intermediate.dense`, HIDDEN, FFN), `${p}.intermediate`), `${p}.output.dense`, FFN, HIDDEN);
    h = layerNorm(b.node('Add', [ffn, h]), `${p}.output.LayerNorm`);
  }

  // MLM head: the decoder reads the transposed embedding copy.
  const t = layerNorm(gelu(linear(h, 'cls.predictions.transform.dense', HIDDEN, HIDDEN), 'cls.predictions.transform'), 'cls.predictions.transform.LayerNorm');
  const decoder = b.transposedCopy('onnx::MatMul_1591', word, VOCAB, HIDDEN);
  const decoderBias = b.weight('cls.predictions.bias', [VOCAB], 0, 0.02);
  const logitsRaw = b.node('MatMul', [t, decoder], [], 'cls.predictions.decoder');
  b.nodes.push(encodeNode({ name: '/cls/predictions/decoder/Add', opType: 'Add', inputs: [logitsRaw, decoderBias.name], outputs: ['logits'] }));

  const graph = encodeGraph({
    name: 'main_graph',
    nodes: b.nodes,
    initializers: b.initializers,
    inputs: [
      encodeValueInfo({ name: 'input_ids', dtype: 'int64', shape: ['batch', 'sequence'] }),
      encodeValueInfo({ name: 'token_type_ids', dtype: 'int64', shape: ['batch', 'sequence'] }),
    ],
    outputs: [encodeValueInfo({ name: 'logits', dtype: 'float32', shape: ['batch', 'sequence', VOCAB] })],
  });
  const model = encodeModel({
    irVersion: 8,
    opsets: [{ domain: '', version: 17 }],
    producerName: 'weight-sharing-inspector bench',
    producerVersion: String(GENERATOR_VERSION),
    docString: 'BERT-base-shaped benchmark model: random weights, tied embedding stored twice (transposed).',
    graph,
    metadata: { generator_version: String(GENERATOR_VERSION) },
  });
  return { model, weightBytes: b.weightBytes };
}

export interface BenchModel {
  path: string;
  bytes: number;
  weightBytes: number;
  /** Seconds spent writing it, or undefined when an up-to-date copy was reused. */
  writeSeconds?: number;
}

/** Writes the model into `outDir` unless an up-to-date copy is there already. */
export async function ensureBertModel(outDir: string): Promise<BenchModel> {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, 'bert-base-shaped.onnx');
  const stampFile = `${file}.stamp.json`;
  const { model, weightBytes } = buildModel();
  const stamp = JSON.stringify({ version: GENERATOR_VERSION, bytes: model.length });
  if (fs.existsSync(file) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp && fs.statSync(file).size === model.length) {
    return { path: file, bytes: model.length, weightBytes };
  }
  const start = process.hrtime.bigint();
  const { modelBytes } = await writeOnnx(file, model, { bufferSize: 8 * 1024 * 1024 });
  const writeSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.writeFileSync(stampFile, stamp);
  return { path: file, bytes: modelBytes, weightBytes, writeSeconds };
}

if (require.main === module) {
  const out = process.argv[2] ?? path.join(__dirname, 'out');
  ensureBertModel(out).then((m) => {
    const rss = process.resourceUsage().maxRSS / 1024;
    console.log(`${m.path}: ${m.bytes} bytes (${m.weightBytes} of weights)${m.writeSeconds === undefined ? ' (up to date)' : `, written in ${m.writeSeconds.toFixed(2)} s`}, peak RSS ${rss.toFixed(0)} MB`);
  });
}
