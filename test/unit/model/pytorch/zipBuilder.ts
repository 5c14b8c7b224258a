// A tiny stored-zip writer for tests: records laid out as torch.save lays
// them out (uncompressed, data 64-byte aligned by padding the local extra
// field), with knobs to make hostile archives: a compression method, sizes
// that claim more than is there, encryption flags, ZIP64 records.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import * as zlib from 'node:zlib';
import { cat, stateDictPickle, type TensorSpec } from './pickleBuilder';

export interface ZipRecordSpec {
  name: string;
  data: Uint8Array;
  /** Compression method written (8: deflate; the data is then deflated). */
  method?: number;
  /** Sizes claimed in the central directory (a zip bomb claims far more than is there). */
  claimSize?: number;
  flags?: number;
  /** Write ZIP64 extra fields (sizes and offset 0xffffffff in the 32-bit fields). */
  zip64?: boolean;
}

function crc32(data: Uint8Array): number {
  return zlib.crc32(data) >>> 0;
}

export function buildZip(records: readonly ZipRecordSpec[], align = 64): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let at = 0;
  for (const r of records) {
    const name = Buffer.from(r.name, 'utf8');
    const data = r.method === 8 ? zlib.deflateRawSync(r.data) : Buffer.from(r.data);
    const zip64 = r.zip64 === true;
    const size = r.claimSize ?? r.data.length;
    const csize = r.method === 8 ? data.length : (r.claimSize ?? data.length);
    const z64local = zip64 ? cat([0x01, 0x00, 16, 0x00], u64(size), u64(csize)) : Buffer.alloc(0);
    // Pad the local extra field so the data starts aligned, as torch does ('FB' field).
    let extra = z64local;
    const base = at + 30 + name.length + extra.length;
    const pad = align > 1 ? (align - ((base + 4) % align)) % align : 0;
    if (align > 1) extra = cat(extra, [0x46, 0x42], u16(pad), Buffer.alloc(pad));
    const local = cat(u32(0x04034b50), u16(zip64 ? 45 : 20), u16(r.flags ?? 0), u16(r.method ?? 0), u16(0), u16(0),
      u32(crc32(r.data)), u32(zip64 ? 0xffffffff : csize), u32(zip64 ? 0xffffffff : size), u16(name.length), u16(extra.length), name, extra);
    const z64central = zip64 ? cat([0x01, 0x00, 24, 0x00], u64(size), u64(csize), u64(at)) : Buffer.alloc(0);
    central.push(cat(u32(0x02014b50), u16(zip64 ? 45 : 20), u16(zip64 ? 45 : 20), u16(r.flags ?? 0), u16(r.method ?? 0), u16(0), u16(0),
      u32(crc32(r.data)), u32(zip64 ? 0xffffffff : csize), u32(zip64 ? 0xffffffff : size), u16(name.length), u16(z64central.length), u16(0), u16(0), u16(0), u32(0),
      u32(zip64 ? 0xffffffff : at), name, z64central));
    parts.push(local, data);
    at += local.length + data.length;
  }
  const cd = Buffer.concat(central);
  const eocd = cat(u32(0x06054b50), u16(0), u16(0), u16(records.length), u16(records.length), u32(cd.length), u32(at), u16(0));
  return Buffer.concat([...parts, cd, eocd]);
}

function u16(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; }
function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n >>> 0); return b; }
function u64(n: number): Buffer { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; }

export interface CheckpointSpec {
  prefix?: string;
  pickle?: Uint8Array;
  tensors?: TensorSpec[];
  storages: Record<string, Uint8Array>;
  byteorder?: string;
  /** Overrides for single records (by name inside the prefix), e.g. { 'data/0': { method: 8 } }. */
  tweak?: Record<string, Partial<ZipRecordSpec>>;
  omit?: string[];
}

/** A torch.save-shaped zip checkpoint. */
export function buildCheckpoint(spec: CheckpointSpec): Buffer {
  const prefix = spec.prefix ?? 'archive';
  const pickle = spec.pickle ?? stateDictPickle(spec.tensors ?? []);
  const records: ZipRecordSpec[] = [
    { name: 'data.pkl', data: pickle },
    ...(spec.byteorder === undefined ? [] : [{ name: 'byteorder', data: Buffer.from(spec.byteorder) }]),
    ...Object.entries(spec.storages).map(([k, data]) => ({ name: `data/${k}`, data })),
    { name: 'version', data: Buffer.from('3\n') },
  ].filter((r) => !spec.omit?.includes(r.name)).map((r) => ({ ...r, ...spec.tweak?.[r.name], name: `${prefix}/${r.name}` }));
  return buildZip(records);
}

const made: string[] = [];
process.on('exit', () => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

/** A fresh folder under the system temp folder, removed when the test process exits. */
export function tempDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `wsi-pt-${tag}-`));
  made.push(d);
  return d;
}
