// Seeds for the fuzzer, per reader, and the inputs made from them.
//
// ONNX: every model in test/fixtures/corpus (with its external `.onnx.data`
// files beside it), the 149 onnx-backend models, a few built here for
// encodings the corpus lacks (typed data fields, sparse and Constant
// tensors, subgraph initializers, functions), and `apply` outputs of corpus
// models (inserted Transpose/Cast nodes, rewritten external data).
// safetensors: the corpus files and Hugging Face folders (single file with
// config.json; five shards with an index), a small file holding every dtype,
// zero-size and scalar tensors, and `apply` outputs (this tool's drop
// records in __metadata__).
// GGUF: the fixtures of test/fixtures/gguf (gpt2 and llama shaped; F32, F16,
// Q8_0; output.weight omitted, copied or in another encoding) and `apply`
// outputs of the two with a copy (output.weight left out).
// PyTorch: the corpus zip and legacy checkpoints, and built ones (CPython's
// protocol-4 state dict in a zip, ZIP64 records, a legacy file, views).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applySharing } from '../../extension/sharing/apply';
import { encodeSafetensorsHeader } from '../../extension/model/safetensors/header';
import { DT, Msg, attr, floatRaw, graph, model, node, tensorProto, valueInfo } from '../unit/model/onnx/onnxBuilder';
import {
  genericMutate, ggufHotspots, ggufStructureMutate, jsonFileMutate, onnxExternalBoundaries, onnxExternalLocations, onnxStructureMutate, parsePb, pbHotspots,
  safetensorsHotspots, safetensorsStructureMutate, type PbTree, type Rng,
} from './mutators';
import { legacyCheckpointMutate, pytorchHotspots, pytorchSeedFiles, zipCheckpointMutate } from './pytorchMutators';

export type Reader = 'onnx' | 'safetensors' | 'gguf' | 'pytorch';
export const READERS: readonly Reader[] = ['onnx', 'safetensors', 'gguf', 'pytorch'];

export const REPO = path.resolve(__dirname, '../..');
const CORPUS = path.join(REPO, 'test/fixtures/corpus');
const BACKEND = path.join(REPO, 'test/fixtures/onnx-backend');

export type FileRole = 'model' | 'data' | 'shard' | 'index' | 'config' | 'other';

export interface SeedFile {
  /** Path inside the input folder. */
  rel: string;
  bytes: Uint8Array;
  role: FileRole;
}

export interface Seed {
  reader: Reader;
  /** Where it came from, for notes: a repository path, `synthetic:NAME` or `derived:NAME`. */
  name: string;
  /** What is opened, inside the input folder: a file or a checkpoint folder. */
  target: string;
  files: SeedFile[];
  /** Selection group: each group gets a share of the inputs, each seed an equal share of its group. */
  group: 'corpus' | 'backend' | 'synthetic';
  /** Parsed once: the ONNX model's field tree, hotspots, external-data boundaries. */
  tree?: PbTree;
  hot?: number[];
  dataBoundaries?: number[];
}

/** One fuzz input: the files to write into a fresh folder and what to open there. */
export interface FuzzCase {
  reader: Reader;
  index: number;
  caseSeed: number;
  source: string;
  mode: 'structure' | 'generic';
  /** Path to open, relative to the input folder. */
  target: string;
  files: Array<{ rel: string; bytes: Uint8Array }>;
  /** The files the mutations changed (or removed). */
  mutated: string[];
  ops: string[];
  /** Also run applySharing on it. */
  apply: boolean;
  /** Also run `node dist/cli.js scan` on it. */
  cli: boolean;
}

function read(file: string): Uint8Array {
  return fs.readFileSync(file);
}

function onnxSeed(name: string, file: string, group: Seed['group'], rel = path.basename(file)): Seed {
  const bytes = read(file);
  const tree = parsePb(bytes);
  const files: SeedFile[] = [{ rel, bytes, role: 'model' }];
  for (const loc of onnxExternalLocations(tree)) {
    const data = path.join(path.dirname(file), loc);
    if (fs.existsSync(data) && fs.statSync(data).isFile()) files.push({ rel: path.join(path.dirname(rel), loc), bytes: read(data), role: 'data' });
  }
  return { reader: 'onnx', name, target: rel, files, group, tree, hot: pbHotspots(tree), dataBoundaries: onnxExternalBoundaries(tree) };
}

function listFiles(dir: string, ext: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      const st = fs.statSync(p);
      if (st.isDirectory()) walk(p);
      else if (n.endsWith(ext)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

function folderSeed(name: string, dir: string, group: Seed['group']): Seed {
  const base = path.basename(dir);
  const files: SeedFile[] = fs.readdirSync(dir).sort().map((n) => ({
    rel: path.join(base, n),
    bytes: read(path.join(dir, n)),
    role: n.endsWith('.index.json') ? 'index' : n === 'config.json' ? 'config' : n.endsWith('.safetensors') ? (n === 'model.safetensors' ? 'model' : 'shard') : 'other',
  }));
  return { reader: 'safetensors', name, target: base, files, group };
}

function stSeed(name: string, file: string, group: Seed['group'], rel = path.basename(file)): Seed {
  const bytes = read(file);
  return { reader: 'safetensors', name, target: rel, files: [{ rel, bytes, role: 'model' }], group, hot: safetensorsHotspots(bytes) };
}

const rel = (p: string) => path.relative(REPO, p);

/** Seeds for `reader`. Derived seeds are written with the project's own apply into `scratch`. */
export async function loadSeeds(reader: Reader, scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-fuzz-seeds-'))): Promise<Seed[]> {
  const seeds: Seed[] = [];
  if (reader === 'onnx') {
    for (const f of [...fs.readdirSync(CORPUS).filter((n) => n.endsWith('.onnx')).sort().map((n) => path.join(CORPUS, n)), ...listFiles(path.join(CORPUS, 't5-tiny-split'), '.onnx')]) {
      seeds.push(onnxSeed(rel(f), f, 'corpus'));
    }
    for (const f of listFiles(BACKEND, '.onnx')) seeds.push(onnxSeed(rel(f), f, 'backend'));
    const synth = path.join(scratch, 'onnx-synthetic');
    fs.mkdirSync(synth, { recursive: true });
    for (const [n, bytes] of Object.entries(syntheticOnnx())) {
      const f = path.join(synth, `${n}.onnx`);
      fs.writeFileSync(f, bytes);
      seeds.push(onnxSeed(`synthetic:${n}`, f, 'synthetic'));
    }
    for (const n of ['bert-tiny-mlm.onnx', 'siamese-cnn-dynamo.onnx', 'half-copy.onnx', 'gpt2-tiny-op18.onnx', 'cond-branches.onnx']) {
      const out = path.join(scratch, 'onnx-derived', n.replace(/\.onnx$/, ''), n.replace(/\.onnx$/, '.shared.onnx'));
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const r = await applySharing(path.join(CORPUS, n), { output: out, minBytes: 0 });
      if (r.output) seeds.push(onnxSeed(`derived:apply(${n})`, out, 'synthetic'));
    }
  } else if (reader === 'gguf') {
    const dir = path.join(REPO, 'test/fixtures/gguf');
    const ggufSeed = (name: string, file: string, group: Seed['group']): Seed => {
      const bytes = read(file);
      return { reader: 'gguf', name, target: path.basename(file), files: [{ rel: path.basename(file), bytes, role: 'model' }], group, hot: ggufHotspots(bytes) };
    };
    for (const n of fs.readdirSync(dir).filter((x) => x.endsWith('.gguf')).sort()) seeds.push(ggufSeed(rel(path.join(dir, n)), path.join(dir, n), 'corpus'));
    for (const n of ['gpt2-tiny.output-copy.gguf', 'llama-tiny.output-copy.q8_0.gguf']) {
      const out = path.join(scratch, 'gguf-derived', n.replace(/\.gguf$/, '.shared.gguf'));
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const r = await applySharing(path.join(dir, n), { output: out, minBytes: 0 });
      if (r.output) seeds.push(ggufSeed(`derived:apply(${n})`, out, 'synthetic'));
    }
  } else if (reader === 'pytorch') {
    for (const [name, rel, bytes] of pytorchSeedFiles(CORPUS, path.join(REPO, 'test/fixtures/pytorch'))) {
      seeds.push({ reader: 'pytorch', name, target: rel, files: [{ rel, bytes, role: 'model' }], group: name.startsWith('synthetic:') ? 'synthetic' : 'corpus', hot: pytorchHotspots(bytes) });
    }
  } else {
    for (const n of ['gpt2-tiny-untied.safetensors', 'gpt2-trained-neardup.safetensors']) seeds.push(stSeed(rel(path.join(CORPUS, n)), path.join(CORPUS, n), 'corpus'));
    for (const n of ['gpt2-tiny-hf', 'gpt2-tiny-sharded']) seeds.push(folderSeed(rel(path.join(CORPUS, n)), path.join(CORPUS, n), 'corpus'));
    const synth = path.join(scratch, 'st-synthetic');
    fs.mkdirSync(synth, { recursive: true });
    for (const [n, bytes] of Object.entries(syntheticSafetensors())) {
      const f = path.join(synth, `${n}.safetensors`);
      fs.writeFileSync(f, bytes);
      seeds.push(stSeed(`synthetic:${n}`, f, 'synthetic'));
    }
    const derived = path.join(scratch, 'st-derived');
    fs.mkdirSync(derived, { recursive: true });
    for (const [n, src] of [['untied', path.join(CORPUS, 'gpt2-tiny-untied.safetensors')], ['dtypes', path.join(synth, 'dtypes.safetensors')]] as const) {
      const out = path.join(derived, `${n}.shared.safetensors`);
      const r = await applySharing(src, { output: out, minBytes: 0 });
      if (r.output) seeds.push(stSeed(`derived:apply(${n})`, out, 'synthetic'));
    }
    const out = path.join(derived, 'gpt2-tiny-sharded.shared');
    const r = await applySharing(path.join(CORPUS, 'gpt2-tiny-sharded'), { output: out, minBytes: 0 });
    if (r.output) seeds.push(folderSeed('derived:apply(gpt2-tiny-sharded)', out, 'synthetic'));
  }
  return seeds;
}

/** A seed, each group getting its share: ONNX corpus+synthetic 60%, backend 40%; safetensors corpus 60%, synthetic 40%. */
export function pickSeed(rng: Rng, seeds: readonly Seed[]): Seed {
  const groups = new Map<string, Seed[]>();
  for (const s of seeds) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  const share: Record<string, number> = { corpus: 0.45, synthetic: 0.15, backend: 0.4 };
  const g = rng.weighted([...groups].map(([k, v]) => [share[k] ?? 0.2, v] as const));
  return rng.pick(g);
}

export interface CaseOptions {
  mode: 'structure' | 'generic' | 'both';
  applyFraction: number;
  cliEvery: number;
}

/** Builds input `index` from a seed: the mutated files, the rest as they are. */
export function makeCase(seed: Seed, rng: Rng, index: number, caseSeed: number, opts: CaseOptions): FuzzCase {
  const mode: FuzzCase['mode'] = opts.mode === 'both' ? (rng.chance(0.5) ? 'structure' : 'generic') : opts.mode;
  const files = new Map<string, Uint8Array>(seed.files.map((f) => [f.rel, f.bytes]));
  const ops: string[] = [];
  const mutated: string[] = [];
  const change = (f: SeedFile, m: { bytes: Uint8Array; ops: string[] }) => {
    files.set(f.rel, m.bytes);
    mutated.push(f.rel);
    ops.push(...m.ops.map((o) => `${f.rel}: ${o}`));
  };
  const remove = (f: SeedFile) => {
    files.delete(f.rel);
    mutated.push(f.rel);
    ops.push(`${f.rel}: removed`);
  };
  const main = seed.files.find((f) => f.rel === seed.target) ?? seed.files.find((f) => f.role === 'model' || f.role === 'shard')!;

  if (seed.reader === 'onnx') {
    const data = seed.files.filter((f) => f.role === 'data');
    const r = rng.float();
    const mutateModel = data.length === 0 || r < 0.82 || r >= 0.95;
    const mutateData = data.length > 0 && r >= 0.82;
    if (mutateModel) {
      if (mode === 'structure' && seed.tree) {
        const m = onnxStructureMutate(rng, seed.tree);
        change(main, rng.chance(0.2) ? { bytes: genericMutate(rng, m.bytes, seed.hot, 1).bytes, ops: [...m.ops, 'then one generic mutation'] } : m);
      } else {
        change(main, genericMutate(rng, main.bytes, seed.hot));
      }
    }
    if (mutateData) {
      // The model's data file: cut at a tensor boundary or anywhere, grown, emptied, removed, or damaged.
      const d = rng.pick(data);
      const k = rng.float();
      const bounds = seed.dataBoundaries ?? [];
      if (k < 0.45) {
        const at = bounds.length && rng.chance(0.6) ? Math.max(0, Math.min(d.bytes.length, rng.pick(bounds) + rng.range(-1, 1))) : rng.int(d.bytes.length);
        change(d, { bytes: d.bytes.subarray(0, at), ops: [`truncate@${at}`] });
      } else if (k < 0.55) change(d, { bytes: Buffer.concat([d.bytes, Buffer.alloc(rng.pick([1, 7, 4096]))]), ops: ['grown'] });
      else if (k < 0.65) change(d, { bytes: new Uint8Array(0), ops: ['emptied'] });
      else if (k < 0.75) remove(d);
      else change(d, genericMutate(rng, d.bytes, bounds));
    }
  } else if (seed.reader === 'gguf') {
    if (mode === 'structure') {
      const m = ggufStructureMutate(rng, main.bytes);
      change(main, rng.chance(0.15) ? { bytes: genericMutate(rng, m.bytes, seed.hot, 1).bytes, ops: [...m.ops, 'then one generic mutation'] } : m);
    } else {
      change(main, genericMutate(rng, main.bytes, seed.hot));
    }
  } else if (seed.reader === 'pytorch') {
    if (mode === 'structure') {
      const zip = main.bytes[0] === 0x50 && main.bytes[1] === 0x4b;
      const m = zip ? zipCheckpointMutate(rng, main.bytes) : legacyCheckpointMutate(rng, main.bytes);
      change(main, rng.chance(0.15) ? { bytes: genericMutate(rng, m.bytes, undefined, 1).bytes, ops: [...m.ops, 'then one generic mutation'] } : m);
    } else {
      change(main, genericMutate(rng, main.bytes, seed.hot));
    }
  } else {
    const jsons = seed.files.filter((f) => f.role === 'index' || f.role === 'config');
    const tensorsFiles = seed.files.filter((f) => f.role === 'model' || f.role === 'shard');
    const r = rng.float();
    if (jsons.length > 0 && r < 0.25) {
      const f = rng.pick(jsons);
      const shardNames = tensorsFiles.map((t) => path.basename(t.rel));
      change(f, mode === 'structure' ? jsonFileMutate(rng, f.bytes, f.role as 'index' | 'config', shardNames) : genericMutate(rng, f.bytes));
    } else if (seed.files.length > 1 && r < 0.3) {
      remove(rng.pick(seed.files));
    } else {
      const f = tensorsFiles.length ? rng.pick(tensorsFiles) : main;
      const hot = f === main && seed.hot ? seed.hot : safetensorsHotspots(f.bytes);
      if (mode === 'structure') {
        const m = safetensorsStructureMutate(rng, f.bytes);
        change(f, rng.chance(0.15) ? { bytes: genericMutate(rng, m.bytes, undefined, 1).bytes, ops: [...m.ops, 'then one generic mutation'] } : m);
      } else {
        change(f, genericMutate(rng, f.bytes, hot));
      }
    }
  }
  return {
    reader: seed.reader,
    index,
    caseSeed,
    source: seed.name,
    mode,
    target: seed.target,
    files: [...files].map(([r, bytes]) => ({ rel: r, bytes })),
    mutated,
    ops,
    apply: rng.chance(opts.applyFraction),
    cli: opts.cliEvery > 0 && index % opts.cliEvery === opts.cliEvery - 1,
  };
}

// --- synthetic seeds ---------------------------------------------------------

/** Small ONNX models with encodings the corpus lacks. */
function syntheticOnnx(): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  const f32 = floatRaw([1, 2, 3, 4, 5, 6]);
  // Typed data fields: float_data (packed), int64_data, int32_data holding fp16, double_data, string_data; raw duplicates.
  const typed = [
    tensorProto('w_float_data', DT.FLOAT, [2, 3]).bytes(4, f32),
    tensorProto('w_raw', DT.FLOAT, [2, 3]).bytes(9, f32),
    tensorProto('w_raw_t', DT.FLOAT, [3, 2]).bytes(9, floatRaw([1, 4, 2, 5, 3, 6])),
    tensorProto('i64', DT.INT64, [3]).packed(7, [1, -2, 3]),
    tensorProto('i64_raw', DT.INT64, [3]).bytes(9, Buffer.from(new BigInt64Array([1n, -2n, 3n]).buffer)),
    tensorProto('fp16_int32', DT.FLOAT16, [2]).packed(5, [0x3c00, 0x4000]),
    tensorProto('f64', DT.DOUBLE, [2]).bytes(10, Buffer.from(new Float64Array([1, 2]).buffer)),
    tensorProto('s', DT.STRING, [2]).string(6, 'a').string(6, 'b'),
    tensorProto('u4', DT.UINT4, [3]).bytes(9, Buffer.from([0x21, 0x03])),
    tensorProto('scalar', DT.FLOAT, []).bytes(9, floatRaw([7])),
    tensorProto('empty', DT.FLOAT, [0, 4]),
  ];
  out.typed = model(graph({
    nodes: [node('MatMul', ['x', 'w_raw_t'], ['y'], { name: 'mm' }), node('Add', ['y', 'w_float_data'], ['z'], { name: 'add' })],
    initializers: typed,
    inputs: [valueInfo('x', DT.FLOAT, [2, 2])],
    outputs: [valueInfo('z', DT.FLOAT, [2, 3])],
  })).encode();
  // Constant nodes whose values equal an initializer; a sparse initializer.
  const sparse = new Msg().msg(1, tensorProto('sp', DT.FLOAT, [2]).bytes(9, floatRaw([1, 2]))).msg(2, tensorProto('sp_i', DT.INT64, [2]).packed(7, [0, 3])).packed(3, [2, 2]);
  out.constants = model(graph({
    nodes: [
      node('Constant', [], ['c1'], { name: 'c1', attrs: [attr.tensor('value', tensorProto('c1v', DT.FLOAT, [2, 3]).bytes(9, f32))] }),
      node('Constant', [], ['c2'], { name: 'c2', attrs: [attr.tensor('value', tensorProto('c2v', DT.FLOAT, [2, 3]).bytes(9, f32))] }),
      node('Gemm', ['x', 'c1', 'w'], ['y'], { name: 'gemm', attrs: [attr.int('transB', 1), attr.float('alpha', 0x3f800000)] }),
      node('Add', ['y', 'c2'], ['z'], { name: 'add' }),
    ],
    initializers: [tensorProto('w', DT.FLOAT, [2, 3]).bytes(9, f32)],
    sparse: [sparse],
    inputs: [valueInfo('x', DT.FLOAT, [2, 3])],
    outputs: [valueInfo('z', DT.FLOAT, [2, 3])],
  })).encode();
  // An If whose branches hold their own initializers (copies of an outer one).
  const branch = (n: string) => graph({
    name: n,
    nodes: [node('Add', ['x', `${n}_w`], [`${n}_y`], { name: `${n}_add` })],
    initializers: [tensorProto(`${n}_w`, DT.FLOAT, [2, 3]).bytes(9, f32)],
    outputs: [valueInfo(`${n}_y`, DT.FLOAT, [2, 3])],
  });
  out.subgraphs = model(graph({
    nodes: [node('If', ['cond'], ['y'], { name: 'If_0', attrs: [attr.graph('then_branch', branch('then')), attr.graph('else_branch', branch('else'))] })],
    initializers: [tensorProto('outer_w', DT.FLOAT, [2, 3]).bytes(9, f32)],
    inputs: [valueInfo('cond', DT.BOOL as number as typeof DT.FLOAT, []), valueInfo('x', DT.FLOAT, [2, 3])],
    outputs: [valueInfo('y', DT.FLOAT, [2, 3])],
  })).encode();
  // A model-local function and metadata; an IR 3 model whose initializers are graph inputs.
  const fn = new Msg().string(1, 'MyAdd').string(4, 'a').string(5, 'b').msg(7, node('Add', ['a', 'a'], ['b'])).string(10, 'local').msg(9, new Msg().string(1, '').varint(2, 17));
  out.functions = new Msg().raw(model(graph({
    nodes: [node('MyAdd', ['w'], ['y'], { name: 'f', domain: 'local' })],
    initializers: [tensorProto('w', DT.FLOAT, [2, 3]).bytes(9, f32), tensorProto('w2', DT.FLOAT, [2, 3]).bytes(9, f32)],
    outputs: [valueInfo('y', DT.FLOAT, [2, 3])],
  })).encode()).msg(25, fn).msg(14, new Msg().string(1, 'k').string(2, 'v')).encode();
  out.ir3 = model(graph({
    nodes: [node('Add', ['a', 'b'], ['y'], { name: 'add' })],
    initializers: [tensorProto('a', DT.FLOAT, [2, 3]).bytes(9, f32), tensorProto('b', DT.FLOAT, [2, 3]).bytes(9, f32)],
    inputs: [valueInfo('a', DT.FLOAT, [2, 3]), valueInfo('b', DT.FLOAT, [2, 3])],
    outputs: [valueInfo('y', DT.FLOAT, [2, 3])],
  }), { irVersion: 3, opset: 9 }).encode();
  return out;
}

/** Small safetensors files: every dtype (sub-byte ones too), zero-size and scalar tensors, exact / transposed / cast copies; an empty one. */
function syntheticSafetensors(): Record<string, Uint8Array> {
  const parts: Uint8Array[] = [];
  const entries: Array<{ name: string; stDtype: string; shape: number[]; begin: number; end: number }> = [];
  let at = 0;
  const add = (name: string, stDtype: string, shape: number[], bytes: Uint8Array) => {
    entries.push({ name, stDtype, shape, begin: at, end: at + bytes.length });
    parts.push(bytes);
    at += bytes.length;
  };
  const f32 = floatRaw([1, 2, 3, 4, 5, 6]);
  add('a.weight', 'F32', [2, 3], f32);
  add('b.weight', 'F32', [2, 3], f32);
  add('a_t.weight', 'F32', [3, 2], floatRaw([1, 4, 2, 5, 3, 6]));
  add('a.f16', 'F16', [2, 3], Buffer.from([0x00, 0x3c, 0x00, 0x40, 0x00, 0x42, 0x00, 0x44, 0x00, 0x45, 0x00, 0x46]));
  add('a.f64', 'F64', [6], Buffer.from(new Float64Array([1, 2, 3, 4, 5, 6]).buffer));
  add('bf', 'BF16', [2], Buffer.from([0x80, 0x3f, 0x00, 0x40]));
  add('i64', 'I64', [2], Buffer.from(new BigInt64Array([1n, -1n]).buffer));
  add('u8', 'U8', [3], Buffer.from([1, 2, 3]));
  add('flag', 'BOOL', [2], Buffer.from([0, 1]));
  add('f8', 'F8_E4M3', [2], Buffer.from([0x38, 0x40]));
  add('f4', 'F4', [4], Buffer.from([0x21, 0x43]));
  add('f6', 'F6_E2M3', [4], Buffer.from([1, 2, 3]));
  add('c64', 'C64', [1], Buffer.from(new Float32Array([1, 2]).buffer));
  add('scalar', 'F32', [], floatRaw([9]));
  add('zero', 'F32', [0, 3], new Uint8Array(0));
  const header = encodeSafetensorsHeader({ format: 'pt' }, entries);
  return {
    dtypes: Buffer.concat([header, ...parts]),
    empty: encodeSafetensorsHeader(undefined, []),
  };
}
