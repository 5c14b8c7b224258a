// Structure-aware mutations of PyTorch checkpoints for the fuzzer: zip
// headers (local, central, end of directory: methods, sizes, offsets, name
// lengths, entry counts), the pickle inside (opcodes found by a light
// scanner: argument values and lengths, hostile globals, opcodes deleted,
// duplicated or inserted, truncation at an opcode boundary) and, for the
// legacy format, the storage counts after the pickles.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Rng, genericMutate, type Mutated } from './mutators';
import { buildCheckpoint, buildZip, type ZipRecordSpec } from '../unit/model/pytorch/zipBuilder';
import { buildLegacy } from '../unit/model/pytorch/pickleBuilder';

/** Opcode argument shapes: fixed byte counts, length-prefixed data, or newline-terminated lines. */
const FIXED: Record<number, number> = { 0x4b: 1, 0x71: 1, 0x68: 1, 0x80: 1, 0x82: 1, 0x4d: 2, 0x83: 2, 0x4a: 4, 0x72: 4, 0x6a: 4, 0x84: 4, 0x47: 8, 0x95: 8 };
const PREFIXED: Record<number, 1 | 4 | 8> = { 0x43: 1, 0x55: 1, 0x8c: 1, 0x8a: 1, 0x58: 4, 0x42: 4, 0x54: 4, 0x8b: 4, 0x8d: 8, 0x8e: 8, 0x96: 8 };
const LINES: Record<number, number> = { 0x49: 1, 0x4c: 1, 0x46: 1, 0x53: 1, 0x56: 1, 0x70: 1, 0x67: 1, 0x50: 1, 0x63: 2, 0x69: 2 };

interface Op { at: number; end: number; code: number; lenAt?: number; lenSize?: 1 | 4 | 8 }

/** Opcodes of the pickle at `start`, up to STOP or the first byte the scanner cannot place. */
export function pickleOps(b: Uint8Array, start = 0): Op[] {
  const ops: Op[] = [];
  let p = start;
  while (p < b.length && ops.length < 200_000) {
    const code = b[p]!;
    let end = p + 1;
    let lenAt: number | undefined;
    let lenSize: 1 | 4 | 8 | undefined;
    if (FIXED[code] !== undefined) end += FIXED[code]!;
    else if (PREFIXED[code] !== undefined) {
      lenSize = PREFIXED[code]!;
      lenAt = end;
      if (end + lenSize > b.length) break;
      const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const n = lenSize === 1 ? b[end]! : lenSize === 4 ? dv.getUint32(end, true) : Number(dv.getBigUint64(end, true));
      end += lenSize + n;
    } else if (LINES[code] !== undefined) {
      for (let k = 0; k < LINES[code]!; k++) { while (end < b.length && b[end] !== 0x0a) end++; end++; }
    }
    if (end > b.length) break;
    ops.push({ at: p, end, code, lenAt, lenSize });
    p = end;
    if (code === 0x2e) break;
  }
  return ops;
}

const INSERTS: Uint8Array[] = [
  [0x28], [0x2e], [0x74], [0x52], [0x62], [0x81], [0x51], [0x30], [0x31], [0x32], [0x61], [0x65], [0x73], [0x75], [0x93], [0x94], [0x85], [0x86], [0x87],
  [0x4e], [0x29], [0x5d], [0x7d], [0x68, 0xff], [0x6a, 0xff, 0xff, 0xff, 0xff], [0x58, 0xff, 0xff, 0xff, 0x7f], [0x8a, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x80],
  Buffer.from('cos\nsystem\n', 'latin1'), Buffer.from('cposix\nsystem\n', 'latin1'), Buffer.from('cbuiltins\neval\n', 'latin1'),
  Buffer.from('ctorch.nn.modules.linear\nLinear\n', 'latin1'), Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n', 'latin1'), Buffer.from('ctorch\nFloatStorage\n', 'latin1'),
  Buffer.from('ccollections\nOrderedDict\n', 'latin1'), Buffer.from('ctorch._utils\n_rebuild_qtensor\n', 'latin1'), Buffer.from('(S\'x\'\nios\nsystem\n', 'latin1'),
  Buffer.alloc(64, 0x28), Buffer.alloc(200, 0x85),
].map((x) => Uint8Array.from(x));

const LENGTHS = [0, 1, 2, 7, 255, 0x7fffffff, 0xffffffff, 2 ** 40, 2 ** 53 - 1];

/** Mutations of one pickle, in a copy of `bytes` (the pickle at `start`). */
export function pickleMutate(rng: Rng, bytes: Uint8Array, start = 0, count = rng.geometric(0.4, 3)): Mutated {
  let b = Buffer.from(bytes);
  const ops: string[] = [];
  for (let i = 0; i < count; i++) {
    const list = pickleOps(b, start);
    if (list.length === 0) return genericMutate(rng, b);
    const o = rng.pick(list);
    const r = rng.float();
    if (r < 0.2 && list.some((x) => x.lenAt !== undefined)) {
      const l = rng.pick(list.filter((x) => x.lenAt !== undefined));
      const v = rng.pick(LENGTHS.filter((n) => n < 2 ** (8 * l.lenSize!)));
      if (l.lenSize === 1) b[l.lenAt!] = v; else if (l.lenSize === 4) b.writeUInt32LE(v >>> 0, l.lenAt!); else b.writeBigUInt64LE(BigInt(v), l.lenAt!);
      ops.push(`pickle length@${l.lenAt}: -> ${v}`);
    } else if (r < 0.35 && o.end - o.at > 1) {
      // An argument byte changed (ints, memo indices, protocol).
      const at = rng.range(o.at + 1, o.end - 1);
      b[at] = rng.pick([0, 1, 0x7f, 0x80, 0xff, b[at]! ^ (1 << rng.int(8))]);
      ops.push(`pickle arg@${at}`);
    } else if (r < 0.5) {
      b = Buffer.concat([b.subarray(0, o.at), b.subarray(o.end)]);
      ops.push(`pickle delete op 0x${o.code.toString(16)}@${o.at}`);
    } else if (r < 0.6) {
      b = Buffer.concat([b.subarray(0, o.end), b.subarray(o.at, o.end), b.subarray(o.end)]);
      ops.push(`pickle duplicate op 0x${o.code.toString(16)}@${o.at}`);
    } else if (r < 0.8) {
      const ins = rng.pick(INSERTS);
      b = Buffer.concat([b.subarray(0, o.at), ins, b.subarray(o.at)]);
      ops.push(`pickle insert ${ins.length} bytes (0x${ins[0]!.toString(16)})@${o.at}`);
    } else if (r < 0.9) {
      b = b.subarray(0, o.at);
      ops.push(`pickle truncate@${o.at}`);
    } else {
      // Swap two opcodes (the stack no longer holds what the next opcode expects).
      const p = rng.pick(list);
      if (p.at === o.at) continue;
      const [x, y] = p.at < o.at ? [p, o] : [o, p];
      b = Buffer.concat([b.subarray(0, x.at), b.subarray(y.at, y.end), b.subarray(x.end, y.at), b.subarray(x.at, x.end), b.subarray(y.end)]);
      ops.push(`pickle swap ops@${x.at},${y.at}`);
    }
  }
  return { bytes: b, ops };
}

interface ZipEntry { name: string; data: Uint8Array; }

/** Entries of a stored zip, read from its central directory (lenient: undefined when it is not one). */
function zipEntries(b: Buffer): ZipEntry[] | undefined {
  const eocd = b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > b.length) return undefined;
  const count = b.readUInt16LE(eocd + 10);
  let p = b.readUInt32LE(eocd + 16);
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (p + 46 > b.length || b.readUInt32LE(p) !== 0x02014b50) return undefined;
    const size = b.readUInt32LE(p + 24);
    const n = b.readUInt16LE(p + 28), m = b.readUInt16LE(p + 30), k = b.readUInt16LE(p + 32);
    const local = b.readUInt32LE(p + 42);
    const name = b.toString('utf8', p + 46, p + 46 + n);
    if (local + 30 > b.length) return undefined;
    const data = local + 30 + b.readUInt16LE(local + 26) + b.readUInt16LE(local + 28);
    if (data + size > b.length) return undefined;
    out.push({ name, data: b.subarray(data, data + size) });
    p += 46 + n + m + k;
  }
  return out;
}

/** Header fields of a zip: [offset, size in bytes, what]. */
function zipFields(b: Buffer): Array<[number, 2 | 4, string]> {
  const out: Array<[number, 2 | 4, string]> = [];
  for (let p = b.indexOf(Buffer.from([0x50, 0x4b])); p >= 0 && p + 4 <= b.length; p = b.indexOf(Buffer.from([0x50, 0x4b]), p + 2)) {
    const sig = b.readUInt32LE(p);
    if (sig === 0x04034b50 && p + 30 <= b.length) out.push([p + 6, 2, 'local flags'], [p + 8, 2, 'local method'], [p + 18, 4, 'local csize'], [p + 22, 4, 'local size'], [p + 26, 2, 'local name length'], [p + 28, 2, 'local extra length']);
    else if (sig === 0x02014b50 && p + 46 <= b.length) out.push([p + 8, 2, 'central flags'], [p + 10, 2, 'central method'], [p + 20, 4, 'central csize'], [p + 24, 4, 'central size'], [p + 28, 2, 'central name length'], [p + 30, 2, 'central extra length'], [p + 42, 4, 'central local offset']);
    else if (sig === 0x06054b50 && p + 22 <= b.length) out.push([p + 8, 2, 'eocd entries on disk'], [p + 10, 2, 'eocd entries'], [p + 12, 4, 'eocd cd size'], [p + 16, 4, 'eocd cd offset'], [p + 20, 2, 'eocd comment length']);
  }
  return out;
}

/** A structure-aware mutation of a zip checkpoint: its headers, its records, or the pickle in data.pkl (the zip rebuilt around it). */
export function zipCheckpointMutate(rng: Rng, bytes: Uint8Array): Mutated {
  const b = Buffer.from(bytes);
  const entries = zipEntries(b);
  const r = rng.float();
  if (entries && r < 0.5) {
    const pkl = entries.find((e) => e.name.endsWith('/data.pkl'));
    const k = rng.float();
    const ops: string[] = [];
    let records: ZipRecordSpec[] = entries.map((e) => ({ name: e.name, data: e.data }));
    if (pkl && k < 0.7) {
      const m = pickleMutate(rng, pkl.data);
      records = records.map((x) => (x.name === pkl.name ? { ...x, data: m.bytes } : x));
      ops.push(...m.ops.map((o) => `data.pkl: ${o}`));
    } else if (k < 0.8) {
      const e = rng.pick(records);
      records = records.filter((x) => x !== e);
      ops.push(`record ${e.name} removed`);
    } else if (k < 0.9) {
      const e = rng.pick(records);
      const cut = rng.int(e.data.length + 1);
      records = records.map((x) => (x === e ? { ...x, data: x.data.subarray(0, cut) } : x));
      ops.push(`record ${e.name} cut to ${cut}`);
    } else {
      const e = rng.pick(records);
      const how = rng.pick(['method 8', 'zip64', 'claim 4 GB', 'encrypted'] as const);
      records = records.map((x) => (x === e ? { ...x, ...(how === 'method 8' ? { method: 8 } : how === 'zip64' ? { zip64: true } : how === 'claim 4 GB' ? { claimSize: 0xfffffff0 } : { flags: 1 }) } : x));
      ops.push(`record ${e.name}: ${how}`);
    }
    return { bytes: buildZip(records), ops };
  }
  const fields = zipFields(b);
  if (fields.length === 0) return genericMutate(rng, b);
  const ops: string[] = [];
  for (let i = 0, n = rng.geometric(0.4, 3); i < n; i++) {
    const [at, size, what] = rng.pick(fields);
    const old = size === 2 ? b.readUInt16LE(at) : b.readUInt32LE(at);
    const max = size === 2 ? 0xffff : 0xffffffff;
    const v = rng.pick([0, 1, 8, 12, 64, 0xffff, max, max - 1, Math.min(max, old + 1), Math.max(0, old - 1), Math.min(max, b.length), Math.min(max, old * 2)]);
    if (size === 2) b.writeUInt16LE(v & 0xffff, at); else b.writeUInt32LE(v >>> 0, at);
    ops.push(`${what}@${at}: ${old} -> ${v}`);
  }
  return { bytes: b, ops };
}

/** A structure-aware mutation of a legacy checkpoint: one of its five pickles, or the storage counts and bytes after them. */
export function legacyCheckpointMutate(rng: Rng, bytes: Uint8Array): Mutated {
  const b = Buffer.from(bytes);
  // The pickles' starts, found by scanning each to its STOP.
  const starts: number[] = [];
  let p = 0;
  for (let i = 0; i < 5 && p < b.length; i++) {
    const list = pickleOps(b, p);
    const last = list[list.length - 1];
    if (!last || last.code !== 0x2e) break;
    starts.push(p);
    p = last.end;
  }
  if (starts.length < 5 || rng.chance(0.6)) {
    const at = starts.length ? rng.pick(starts) : 0;
    const m = pickleMutate(rng, b, at);
    return { bytes: m.bytes, ops: m.ops.map((o) => `pickle@${at}: ${o}`) };
  }
  // After the pickles: counts (8 bytes, little-endian) then bytes, per storage.
  const k = rng.float();
  if (k < 0.5 && p + 8 <= b.length) {
    const v = rng.pick([0n, 1n, 2n ** 31n, 2n ** 62n, -1n, b.readBigInt64LE(p) + 1n]);
    b.writeBigInt64LE(v, p);
    return { bytes: b, ops: [`first storage count@${p} -> ${v}`] };
  }
  const cut = rng.range(p, b.length);
  return { bytes: b.subarray(0, cut), ops: [`truncate@${cut} (storages from ${p})`] };
}

/** Offsets worth aiming generic mutations at: zip header fields, or the legacy pickles' opcodes. */
export function pytorchHotspots(bytes: Uint8Array): number[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 4 && b.readUInt32LE(0) === 0x04034b50) return zipFields(b).map(([at]) => at);
  return pickleOps(b).map((o) => o.at).slice(0, 4096);
}

/** The fuzzer's PyTorch seeds: [name, file name, bytes]. */
export function pytorchSeedFiles(corpus: string, fixtures: string): Array<[string, string, Uint8Array]> {
  const out: Array<[string, string, Uint8Array]> = [];
  for (const n of ['gpt2-tiny.pytorch_model.bin', 'gpt2-tiny.legacy.pt']) out.push([`test/fixtures/corpus/${n}`, n, fs.readFileSync(path.join(corpus, n))]);
  const f32 = (n: number) => { const b = Buffer.alloc(n * 4); for (let i = 0; i < n; i++) b.writeFloatLE(i % 7, i * 4); return b; };
  const p4 = fs.readFileSync(path.join(fixtures, 'statedict-p4.pkl'));
  const storages = { '0': f32(6), '1': f32(4) };
  out.push(['synthetic:protocol-4 state dict', 'p4.pt', buildCheckpoint({ pickle: p4, storages })]);
  out.push(['synthetic:zip64 records', 'zip64.pt', buildCheckpoint({ pickle: p4, storages, tweak: { 'data.pkl': { zip64: true }, 'data/0': { zip64: true } } })]);
  out.push(['synthetic:legacy from protocol 2', 'legacy.pt', buildLegacy(fs.readFileSync(path.join(fixtures, 'statedict-p2.pkl')), [{ key: '0', numel: 6, data: f32(6) }, { key: '1', numel: 4, data: f32(4) }])]);
  out.push(['synthetic:views and a strided view', 'views.bin', buildCheckpoint({
    tensors: [{ name: 'full', key: '0', numel: 8, size: [8] }, { name: 'half', key: '0', numel: 8, size: [4], offset: 4 }, { name: 't', key: '0', numel: 8, size: [2, 4], stride: [1, 2] }, { name: 'same', key: '0', numel: 8, size: [8] }],
    storages: { '0': f32(8) }, byteorder: 'little',
  })]);
  return out;
}
