// Writes a Llama-2-7B-shaped PyTorch zip checkpoint (pytorch_model.bin as
// torch.save writes it: ~13.5 GB of float16, one stored record per storage,
// each record's data 64-byte aligned by padding the local header's extra
// field, ZIP64 where offsets pass 4 GB) into bench/out. The tensors and
// their bytes are those of the safetensors bench file (bench/llamaSafetensors.ts,
// written first if missing), copied in state-dict order: so lm_head.weight is
// a byte-identical copy of model.embed_tokens.weight on a storage of its own.
// data.pkl is protocol 2, as torch.save writes it (_rebuild_tensor_v2 on
// HalfStorage persistent ids). Streamed through one reused buffer; written
// under a temporary name and renamed when complete; a stamp file records the
// generator version, and the file is reused while version and size match.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ensureLlamaSafetensors } from './llamaSafetensors';
import { readSafetensorsHeader } from '../extension/model/safetensors/header';
import { stateDictPickle, type TensorSpec } from '../test/unit/model/pytorch/pickleBuilder';

const FILE_NAME = 'llama-7b-shaped.pytorch_model.bin';
const PREFIX = 'pytorch_model';
const GENERATOR_VERSION = 1;
const BUFFER_BYTES = 32 * 1024 * 1024;
const ALIGN = 64;

export interface LlamaZip {
  path: string;
  bytes: number;
  tensors: number;
  writeSeconds?: number;
}

/** State-dict order: embeddings, the layers by number, the final norm, lm_head. */
function order(name: string): [number, number, string] {
  const m = /^model\.layers\.(\d+)\./.exec(name);
  if (m) return [1, Number(m[1]), name];
  if (name === 'model.embed_tokens.weight') return [0, 0, name];
  if (name === 'model.norm.weight') return [2, 0, name];
  return [3, 0, name];
}

const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; };
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; };
const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };

export async function ensureLlamaZip(outDir: string, log: (line: string) => void): Promise<LlamaZip> {
  const source = await ensureLlamaSafetensors(outDir, log);
  const header = readSafetensorsHeader(source.path);
  const entries = [...header.entries].sort((a, b) => {
    const x = order(a.name), y = order(b.name);
    return x[0] - y[0] || x[1] - y[1] || (x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0);
  });
  const specs: TensorSpec[] = entries.map((e, i) => ({ name: e.name, key: String(i), storage: 'HalfStorage', numel: e.elementCount, size: [...e.shape] }));
  const pickle = stateDictPickle(specs);
  const small = (name: string, data: Buffer) => ({ name, data });
  const file = path.join(outDir, FILE_NAME);
  const stampFile = `${file}.stamp.json`;
  // The size is known before writing: headers, padding and records are all fixed.
  const plan: Array<{ name: string; length: number; data?: Buffer; from?: number }> = [
    { ...small(`${PREFIX}/data.pkl`, pickle), length: pickle.length },
    { ...small(`${PREFIX}/byteorder`, Buffer.from('little')), length: 6 },
    ...entries.map((e, i) => ({ name: `${PREFIX}/data/${i}`, length: e.length, from: e.offset })),
    { ...small(`${PREFIX}/version`, Buffer.from('3\n')), length: 2 },
  ];
  let at = 0;
  const layout = plan.map((p) => {
    const name = Buffer.from(p.name);
    const base = at + 30 + name.length + 4;
    const pad = (ALIGN - (base % ALIGN)) % ALIGN;
    const localAt = at;
    at = base + pad + p.length;
    return { ...p, nameBytes: name, pad, localAt, dataAt: base + pad };
  });
  const centralSize = layout.reduce((n, r) => n + 46 + r.nameBytes.length + (r.localAt >= 0xffffffff ? 12 : 0), 0);
  const total = at + centralSize + 56 + 20 + 22;
  const stamp = JSON.stringify({ version: GENERATOR_VERSION, bytes: total, source: source.bytes });
  if (fs.existsSync(file) && fs.statSync(file).size === total && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp) {
    return { path: file, bytes: total, tensors: entries.length };
  }
  fs.rmSync(stampFile, { force: true });
  const st = fs.statfsSync(outDir);
  const free = st.bavail * st.bsize + (fs.existsSync(file) ? fs.statSync(file).size : 0);
  if (free < total + 1.5e9) throw new Error(`not enough disk space for the ${(total / 1e9).toFixed(1)} GB zip checkpoint in ${outDir}: ${(free / 1e9).toFixed(1)} GB free`);
  log(`writing ${path.relative(process.cwd(), file)} (${(total / 1e9).toFixed(2)} GB, ${entries.length} storages) from ${path.basename(source.path)} ...`);
  const t0 = Date.now();
  const tmp = `${file}.tmp-${process.pid}`;
  const out = fs.openSync(tmp, 'w');
  const src = fs.openSync(source.path, 'r');
  const buf = Buffer.allocUnsafe(BUFFER_BYTES);
  const crcs: number[] = [];
  try {
    let pos = 0;
    const write = (b: Buffer) => { fs.writeSync(out, b, 0, b.length, pos); pos += b.length; };
    for (const r of layout) {
      const extra = Buffer.concat([Buffer.from('FB'), u16(r.pad), Buffer.alloc(r.pad)]);
      write(Buffer.concat([u32(0x04034b50), u16(20), u16(0), u16(0), u16(0), u16(0), u32(0), u32(r.length), u32(r.length), u16(r.nameBytes.length), u16(extra.length), r.nameBytes, extra]));
      let crc = 0;
      if (r.data) { crc = zlib.crc32(r.data); write(r.data); }
      else {
        for (let done = 0; done < r.length;) {
          const n = fs.readSync(src, buf, 0, Math.min(BUFFER_BYTES, r.length - done), r.from! + done);
          const chunk = buf.subarray(0, n);
          crc = zlib.crc32(chunk, crc);
          write(chunk);
          done += n;
        }
      }
      crcs.push(crc >>> 0);
      fs.writeSync(out, u32(crc), 0, 4, r.localAt + 14);
    }
    const cdAt = pos;
    layout.forEach((r, i) => {
      const z64 = r.localAt >= 0xffffffff;
      const extra = z64 ? Buffer.concat([u16(1), u16(8), u64(r.localAt)]) : Buffer.alloc(0);
      write(Buffer.concat([u32(0x02014b50), u16(45), u16(z64 ? 45 : 20), u16(0), u16(0), u16(0), u16(0), u32(crcs[i]!), u32(r.length), u32(r.length),
        u16(r.nameBytes.length), u16(extra.length), u16(0), u16(0), u16(0), u32(0), u32(z64 ? 0xffffffff : r.localAt), r.nameBytes, extra]));
    });
    const cdSize = pos - cdAt;
    const eocd64At = pos;
    write(Buffer.concat([u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(layout.length), u64(layout.length), u64(cdSize), u64(cdAt)]));
    write(Buffer.concat([u32(0x07064b50), u32(0), u64(eocd64At), u32(1)]));
    write(Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(Math.min(0xffff, layout.length)), u16(Math.min(0xffff, layout.length)), u32(cdSize), u32(0xffffffff), u16(0)]));
    if (pos !== total) throw new Error(`internal: wrote ${pos} bytes, planned ${total}`);
    fs.fsyncSync(out);
  } catch (e) {
    fs.closeSync(out);
    fs.rmSync(tmp, { force: true });
    throw e;
  } finally {
    fs.closeSync(src);
  }
  fs.closeSync(out);
  fs.renameSync(tmp, file);
  fs.writeFileSync(stampFile, stamp);
  return { path: file, bytes: total, tensors: entries.length, writeSeconds: (Date.now() - t0) / 1000 };
}
