// Writes a Llama-2-7B-shaped Q8_0 GGUF (about 7.2 GB) into bench/out, laid
// out as llama.cpp's converter writes one: GGUF v3, llama metadata and a
// 32000-token SentencePiece-style vocabulary, tensors in converter order
// (token_embd, blk.N.*, output_norm, output) at 32-byte aligned offsets.
// 2-D weights are Q8_0 (blocks of an fp16 scale and 32 int8), norms F32.
// `output.weight` is a byte copy of `token_embd.weight` (an untied file
// whose output equals the embedding): the copy the scan must find.
//
// Values come from xorshift32, one seed per tensor (equal seeds, equal
// bytes); each block's scale is patched to a small normal fp16 so no value
// is NaN or Inf. Data streams through one reused buffer; the file is written
// under a temporary name and renamed when complete, and a stamp beside it
// records the generator version, so it is written once and reused.
import * as fs from 'node:fs';
import * as path from 'node:path';

const FILE = 'llama-7b-shaped.q8_0.gguf';
const GENERATOR_VERSION = 1;
const SPARE_BYTES = 1.5e9;
const HIDDEN = 4096, FFN = 11008, LAYERS = 32, VOCAB = 32000, HEADS = 32;
const ALIGN = 32;
/** Whole Q8_0 blocks per write (about 17.8 MB). */
const CHUNK_BYTES = 34 * (1 << 19);

interface Spec { name: string; dims: number[]; type: 0 | 8; seed: number; bytes: number }

export interface LlamaGguf {
  path: string;
  bytes: number;
  headerBytes: number;
  tensors: number;
  writeSeconds?: number;
}

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
const kvU32 = (k: string, v: number) => Buffer.concat([str(k), u32(4), u32(v)]);
const kvF32 = (k: string, v: number) => { const b = Buffer.alloc(4); b.writeFloatLE(v); return Buffer.concat([str(k), u32(6), b]); };
const kvStr = (k: string, v: string) => Buffer.concat([str(k), u32(8), str(v)]);

function specs(): Spec[] {
  const out: Spec[] = [];
  const add = (name: string, dims: number[], type: 0 | 8, seed = out.length + 1) => {
    const n = dims.reduce((a, b) => a * b, 1);
    out.push({ name, dims, type, seed, bytes: type === 0 ? n * 4 : (n / 32) * 34 });
  };
  add('token_embd.weight', [HIDDEN, VOCAB], 8);
  for (let i = 0; i < LAYERS; i++) {
    add(`blk.${i}.attn_norm.weight`, [HIDDEN], 0);
    for (const p of ['q', 'k', 'v', 'output']) add(`blk.${i}.attn_${p}.weight`, [HIDDEN, HIDDEN], 8);
    add(`blk.${i}.ffn_norm.weight`, [HIDDEN], 0);
    add(`blk.${i}.ffn_gate.weight`, [HIDDEN, FFN], 8);
    add(`blk.${i}.ffn_up.weight`, [HIDDEN, FFN], 8);
    add(`blk.${i}.ffn_down.weight`, [FFN, HIDDEN], 8);
  }
  add('output_norm.weight', [HIDDEN], 0);
  add('output.weight', [HIDDEN, VOCAB], 8, out[0]!.seed);
  return out;
}

function header(tensors: Spec[]): Buffer {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  for (let i = 0; tokens.length < VOCAB; i++) tokens.push(`▁t${i.toString(36)}`);
  const types = tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  const scores = Buffer.alloc(VOCAB * 4);
  for (let i = 0; i < VOCAB; i++) scores.writeFloatLE(-i, i * 4);
  const kvs = [
    kvStr('general.architecture', 'llama'), kvStr('general.name', 'llama-7b-shaped'), kvU32('general.file_type', 7),
    kvU32('general.quantization_version', 2), kvU32('llama.context_length', 4096), kvU32('llama.embedding_length', HIDDEN),
    kvU32('llama.feed_forward_length', FFN), kvU32('llama.block_count', LAYERS), kvU32('llama.attention.head_count', HEADS),
    kvU32('llama.attention.head_count_kv', HEADS), kvF32('llama.attention.layer_norm_rms_epsilon', 1e-5),
    kvU32('llama.rope.dimension_count', HIDDEN / HEADS), kvStr('tokenizer.ggml.model', 'llama'),
    Buffer.concat([str('tokenizer.ggml.tokens'), u32(9), u32(8), u64(VOCAB), ...tokens.map(str)]),
    Buffer.concat([str('tokenizer.ggml.scores'), u32(9), u32(6), u64(VOCAB), scores]),
    Buffer.concat([str('tokenizer.ggml.token_type'), u32(9), u32(5), u64(VOCAB), Buffer.from(new Int32Array(types).buffer)]),
    kvU32('tokenizer.ggml.bos_token_id', 1), kvU32('tokenizer.ggml.eos_token_id', 2),
  ];
  const infos: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    infos.push(str(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(t.type), u64(offset));
    offset = Math.ceil((offset + t.bytes) / ALIGN) * ALIGN;
  }
  const head = Buffer.concat([Buffer.from('GGUF'), u32(3), u64(tensors.length), u64(kvs.length), ...kvs, ...infos]);
  return Buffer.concat([head, Buffer.alloc(Math.ceil(head.length / ALIGN) * ALIGN - head.length)]);
}

/** Random words from xorshift32 state `x`; Q8_0: each block's fp16 scale set small and normal; F32 norms near 1. */
function fill(buf: Buffer, n: number, x: number, type: 0 | 8): number {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, n >>> 2);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    words[i] = type === 0 ? 0x3f800000 | (x & 0x7fff) : x >>> 0;
  }
  buf.fill(0, words.length * 4, n); // a tail shorter than a word: never stale bytes of another tensor
  if (type === 8) for (let o = 0; o < n; o += 34) buf.writeUInt16LE(0x2000 | (buf[o]! & 0x0fff), o);
  return x;
}

export async function ensureLlamaGguf(outDir: string, log: (line: string) => void): Promise<LlamaGguf> {
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, FILE);
  const stampFile = `${file}.stamp.json`;
  const tensors = specs();
  const head = header(tensors);
  let bytes = head.length;
  for (const t of tensors) bytes = Math.ceil((bytes + t.bytes) / ALIGN) * ALIGN;
  bytes -= (ALIGN - (tensors.at(-1)!.bytes % ALIGN)) % ALIGN; // no padding after the last tensor
  const stamp = JSON.stringify({ version: GENERATOR_VERSION, bytes, header: head.length });
  const result = { path: file, bytes, headerBytes: head.length, tensors: tensors.length };
  if (fs.existsSync(file) && fs.statSync(file).size === bytes && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) return result;

  for (const n of fs.readdirSync(outDir)) if (n.startsWith(`${FILE}.tmp-`)) fs.rmSync(path.join(outDir, n), { force: true });
  fs.rmSync(stampFile, { force: true });
  const st = fs.statfsSync(outDir);
  const free = st.bavail * st.bsize + (fs.existsSync(file) ? fs.statSync(file).size : 0);
  if (free < bytes + SPARE_BYTES) throw new Error(`not enough disk space for the ${(bytes / 1e9).toFixed(1)} GB GGUF in ${outDir}: ${(free / 1e9).toFixed(1)} GB free`);
  const tmp = `${file}.tmp-${process.pid}`;
  const start = process.hrtime.bigint();
  log(`writing ${FILE}: ${tensors.length} tensors, ${(bytes / 1e9).toFixed(2)} GB, header ${(head.length / 1e6).toFixed(2)} MB`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, head, 0, head.length, 0);
    let position = head.length;
    const buf = Buffer.alloc(CHUNK_BYTES);
    const zeros = Buffer.alloc(ALIGN);
    for (const t of tensors) {
      let x = t.seed * 0x9e3779b1 || 1;
      for (let done = 0; done < t.bytes;) {
        const n = Math.min(CHUNK_BYTES, t.bytes - done);
        x = fill(buf, n, x, t.type);
        fs.writeSync(fd, buf, 0, n, position);
        position += n;
        done += n;
      }
      const pad = position < bytes ? (ALIGN - (position % ALIGN)) % ALIGN : 0;
      if (pad) { fs.writeSync(fd, zeros, 0, pad, position); position += pad; }
    }
    if (position !== bytes) throw new Error(`internal: wrote ${position} bytes, expected ${bytes}`);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  fs.writeFileSync(stampFile, stamp);
  return { ...result, writeSeconds: Number(process.hrtime.bigint() - start) / 1e9 };
}
