// Writes a Llama-shaped safetensors checkpoint (Llama-2-7B: ~13.5 GB of float16; or
// the twenty narrower blocks of LLAMA_20L, ~4.5 GB) into
// bench/out, laid out byte for byte as huggingface safetensors' `save_file`
// (with metadata {"format": "pt"}, as transformers' save_pretrained passes)
// writes it: an 8-byte little-endian header length, the compact JSON header
// with "__metadata__" first and then the tensors in name order (all F16, so
// the writer's dtype-then-name sort is a name sort), padded with spaces to a
// multiple of 8, then the tensors' bytes back to back.
//
// Names are Llama's in Hugging Face naming, shapes those of the LlamaShape. `lm_head.weight`
// is a byte-identical copy of `model.embed_tokens.weight` (tied weights saved
// untied); every other tensor has its own contents. Values come from
// xorshift32, one seed per tensor, masked into small normal fp16 numbers
// (norm weights near 1.0), so there is no NaN or Inf.
//
// The data streams through two reused buffers (one is filled while the other
// is being written); no tensor is ever held in memory. The file is written
// under a temporary name and renamed when complete, so a killed run never
// leaves a file that looks finished; a stamp file beside it records the
// generator version, and the file is reused while version, size and header
// match.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The shape of a Llama-style checkpoint to write. */
export interface LlamaShape {
  fileName: string;
  hidden: number;
  ffn: number;
  layers: number;
  vocab: number;
}

/** Llama-2-7B: ~13.5 GB of F16. */
export const LLAMA_7B: LlamaShape = { fileName: 'llama-7b-shaped.safetensors', hidden: 4096, ffn: 11008, layers: 32, vocab: 32000 };
/** Twenty Llama blocks of width 3072: ~4.5 GB of F16 (the layers bench's big model). */
export const LLAMA_20L: LlamaShape = { fileName: 'llama-20-layers.safetensors', hidden: 3072, ffn: 7168, layers: 20, vocab: 32000 };

/** Bump when the file's content changes, so a cached file is rewritten. */
const GENERATOR_VERSION = 1;
/** Refuse to start a write that would leave less free space than this. */
const SPARE_BYTES = 1.5e9;
/** Each of the two write buffers. */
const BUFFER_BYTES = 32 * 1024 * 1024;
const PROGRESS_EVERY = 1e9;

type Kind = 'weight' | 'norm';

interface TensorSpec {
  name: string;
  shape: number[];
  kind: Kind;
  /** xorshift32 seed (never 0); equal seeds give equal bytes. */
  seed: number;
}

export interface LlamaSafetensors {
  path: string;
  bytes: number;
  /** Seconds spent writing it, or undefined when an up-to-date copy was reused. */
  writeSeconds?: number;
}

/** murmur3's 32-bit finaliser: spreads tensor indices into unrelated nonzero seeds. */
function seedOf(index: number): number {
  let h = Math.imul(index + 1, 0x9e3779b1) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  return h === 0 ? 0x6d2b79f5 : h;
}

function tensorSpecs({ hidden: HIDDEN, ffn: FFN, layers: LAYERS, vocab: VOCAB }: LlamaShape): TensorSpec[] {
  const specs: TensorSpec[] = [];
  const add = (name: string, shape: number[], kind: Kind = 'weight'): TensorSpec => {
    const spec = { name, shape, kind, seed: seedOf(specs.length) };
    specs.push(spec);
    return spec;
  };
  const embed = add('model.embed_tokens.weight', [VOCAB, HIDDEN]);
  for (let i = 0; i < LAYERS; i++) {
    const p = `model.layers.${i}`;
    add(`${p}.input_layernorm.weight`, [HIDDEN], 'norm');
    add(`${p}.post_attention_layernorm.weight`, [HIDDEN], 'norm');
    for (const proj of ['q', 'k', 'v', 'o']) add(`${p}.self_attn.${proj}_proj.weight`, [HIDDEN, HIDDEN]);
    add(`${p}.mlp.gate_proj.weight`, [FFN, HIDDEN]);
    add(`${p}.mlp.up_proj.weight`, [FFN, HIDDEN]);
    add(`${p}.mlp.down_proj.weight`, [HIDDEN, FFN]);
  }
  add('model.norm.weight', [HIDDEN], 'norm');
  // The untied copy of the embedding: same generator, same seed, same bytes.
  specs.push({ name: 'lm_head.weight', shape: [VOCAB, HIDDEN], kind: 'weight', seed: embed.seed });
  // save_file sorts by dtype, then by name (byte order; all names are ASCII).
  return specs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

interface Layout {
  header: Buffer;
  tensors: { spec: TensorSpec; begin: number; end: number }[];
  bytes: number;
}

function layout(shape: LlamaShape): Layout {
  const tensors: Layout['tensors'] = [];
  let offset = 0;
  for (const spec of tensorSpecs(shape)) {
    const bytes = spec.shape.reduce((a, b) => a * b, 1) * 2;
    tensors.push({ spec, begin: offset, end: offset + bytes });
    offset += bytes;
  }
  // serde_json's compact output, in this key order, is what the Rust writer emits.
  const entries = tensors.map(({ spec, begin, end }) =>
    `${JSON.stringify(spec.name)}:{"dtype":"F16","shape":[${spec.shape.join(',')}],"data_offsets":[${begin},${end}]}`);
  let json = `{"__metadata__":{"format":"pt"},${entries.join(',')}}`;
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const header = Buffer.alloc(8 + json.length);
  header.writeBigUInt64LE(BigInt(json.length), 0);
  header.write(json, 8, 'latin1');
  return { header, tensors, bytes: header.length + offset };
}

/**
 * Fills `dst` (whole 32-bit words, two fp16 values each) from the xorshift32
 * state `x` and returns the new state.
 * Weights: random sign and mantissa, exponent 8..11 (|v| in [2^-7, 2^-3)).
 * Norms: exponent 15, random low 7 mantissa bits (v in [1, 1.125)).
 */
function fill(dst: Uint32Array, n: number, x: number, kind: Kind): number {
  const keep = kind === 'norm' ? 0x007f007f : 0x8fff8fff;
  const set = kind === 'norm' ? 0x3c003c00 : 0x20002000;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    dst[i] = (x & keep) | set;
  }
  return x;
}

function sameHeader(file: string, header: Buffer): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const got = Buffer.alloc(header.length);
    return fs.readSync(fd, got, 0, got.length, 0) === got.length && got.equals(header);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes bench/out/<shape.fileName> unless an up-to-date copy is there. */
export async function ensureLlamaSafetensors(
  outDir: string,
  log: (line: string) => void = (line) => console.log(line),
  shape: LlamaShape = LLAMA_7B,
): Promise<LlamaSafetensors> {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, shape.fileName);
  const stampFile = `${file}.stamp.json`;
  const { header, tensors, bytes } = layout(shape);
  const stamp = JSON.stringify({ version: GENERATOR_VERSION, bytes });
  if (fs.existsSync(file) && fs.statSync(file).size === bytes && fs.existsSync(stampFile)
    && fs.readFileSync(stampFile, 'utf8') === stamp && sameHeader(file, header)) {
    return { path: file, bytes };
  }

  // A killed earlier run may have left its temporary file: it would hold the disk space we need.
  for (const name of fs.readdirSync(outDir)) {
    if (name.startsWith(`${shape.fileName}.tmp-`)) fs.rmSync(path.join(outDir, name), { force: true });
  }
  fs.rmSync(stampFile, { force: true });
  const existing = fs.existsSync(file) ? fs.statSync(file).size : 0;
  const st = fs.statfsSync(outDir);
  const free = st.bavail * st.bsize + existing; // the stale file is replaced
  if (free < bytes + SPARE_BYTES) {
    throw new Error(`not enough disk space for the ${(bytes / 1e9).toFixed(1)} GB Llama-shaped checkpoint in ${outDir}:`
      + ` ${(free / 1e9).toFixed(1)} GB free, at least ${((bytes + SPARE_BYTES) / 1e9).toFixed(1)} GB needed`);
  }

  const tmp = `${file}.tmp-${process.pid}`;
  const start = process.hrtime.bigint();
  log(`writing ${path.basename(file)}: ${tensors.length} tensors, ${(bytes / 1e9).toFixed(2)} GB (${(free / 1e9).toFixed(0)} GB free)`);
  const handle = await fs.promises.open(tmp, 'w');
  try {
    await handle.write(header, 0, header.length, 0);
    let position = header.length;
    let nextReport = PROGRESS_EVERY;
    const buffers = [new Uint32Array(BUFFER_BYTES / 4), new Uint32Array(BUFFER_BYTES / 4)];
    let pending: Promise<unknown> = Promise.resolve();
    let turn = 0;
    for (const { spec, begin, end } of tensors) {
      let x = spec.seed;
      for (let done = begin; done < end;) {
        const chunk = Math.min(BUFFER_BYTES, end - done);
        const words = buffers[turn]!;
        turn ^= 1;
        // Fill this buffer while the other one is still being written (libuv thread).
        x = fill(words, chunk / 4, x, spec.kind);
        await pending;
        pending = handle.write(new Uint8Array(words.buffer, 0, chunk), 0, chunk, position);
        position += chunk;
        done += chunk;
        if (position >= nextReport) {
          const s = Number(process.hrtime.bigint() - start) / 1e9;
          log(`  ${(position / 1e9).toFixed(1)} / ${(bytes / 1e9).toFixed(1)} GB, ${s.toFixed(1)} s (${(position / 1e9 / s).toFixed(2)} GB/s)`);
          nextReport += PROGRESS_EVERY;
        }
      }
    }
    await pending;
    if (position !== bytes) throw new Error(`internal error: wrote ${position} bytes, expected ${bytes}`);
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.renameSync(tmp, file);
  fs.writeFileSync(stampFile, stamp);
  const writeSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { path: file, bytes, writeSeconds };
}

if (require.main === module) {
  const out = process.argv[2] ?? path.join(__dirname, 'out');
  const shape = process.argv[3] === '20-layers' ? LLAMA_20L : LLAMA_7B;
  ensureLlamaSafetensors(out, undefined, shape).then((m) => {
    const rss = process.resourceUsage().maxRSS / 1024;
    console.log(`${m.path}: ${m.bytes} bytes${m.writeSeconds === undefined ? ' (up to date)' : `, written in ${m.writeSeconds.toFixed(1)} s`}, peak RSS ${rss.toFixed(0)} MB`);
  }, (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
