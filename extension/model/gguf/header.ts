// The GGUF header: magic, version, counts, key/value metadata, tensor infos,
// then the aligned data section. Read with our own bounded reader rather
// than @huggingface/gguf 0.4.6, which does not fit the contract here: it
// keeps the whole header in one growing buffer capped at 50 MB (a larger
// header fails with a bare RangeError), pads that buffer past the end of
// the file so a truncated header reads as zeros instead of failing, caps
// counts with constants instead of the file's size, materialises every
// metadata array (a 256k-token vocabulary as JS strings), accepts version 1,
// and reports no byte offsets (neither in errors nor per tensor).
//
// This reader walks the file through one bounded window, checks every
// count and length against the bytes left before it reads or allocates
// anything, keeps metadata arrays as (type, length, offset) with only
// short ones decoded, and names the file and byte offset in every error.
// The rules follow llama.cpp's own loader (ggml/src/gguf.cpp): v2 and v3,
// little-endian, at most 4 dims, non-negative dims, a power-of-two u32
// general.alignment (default 32), offsets multiples of it, tensors inside
// the data section and not overlapping.
import * as fs from 'node:fs';
import { printable } from '../../util/printable';
import { ModelFormatError } from '../types';
import { ggmlType, type GgmlType } from './ggmlTypes';

const FORMAT = 'gguf';
export const GGUF_MAGIC = 0x46554747; // 'GGUF' read as a little-endian u32
export const DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const MAX_DIMS = 4;
/** Longest key or tensor name read (llama.cpp's names are under 64 bytes; keys are short). */
const MAX_NAME_BYTES = 1 << 16;
/** Longest string value decoded (a chat template is tens of KB); longer ones are refused. */
const MAX_STRING_BYTES = 16 << 20;
/** Arrays up to this length are decoded for display; longer ones keep only their type and length. */
export const DECODED_ARRAY_MAX = 64;
const WINDOW = 1 << 20;

/** GGUF metadata value types (gguf_type). */
export enum GgufType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}
const TYPE_NAMES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'];
const FIXED_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

export type GgufScalar = number | bigint | boolean | string;

export type GgufValue =
  | { kind: 'scalar'; type: GgufType; value: GgufScalar }
  /** `values` only when length <= DECODED_ARRAY_MAX. `offset`: where the elements start. */
  | { kind: 'array'; elementType: GgufType; length: number; offset: number; values?: GgufScalar[] };

export interface GgufKv {
  key: string;
  value: GgufValue;
  /** Where the pair starts (its key's length). */
  offset: number;
  /** Bytes the pair takes in the file, key included. */
  length: number;
}

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the fastest-varying (a row's length). */
  dims: number[];
  type: GgmlType;
  /** Relative to the data section. */
  offset: number;
  elementCount: number;
  byteLength: number;
  /** Where the tensor info starts (its name's length). */
  infoOffset: number;
}

export interface GgufHeader {
  file: string;
  fileSize: number;
  version: 2 | 3;
  kvs: GgufKv[];
  tensors: GgufTensorInfo[];
  alignment: number;
  /** Start of the data section (absolute, aligned). */
  dataOffset: number;
  /** Where the tensor infos start and end (before the padding). */
  infosStart: number;
  infosEnd: number;
}

export function typeName(t: GgufType): string {
  return TYPE_NAMES[t] ?? `type ${t}`;
}

/** A bounded forward reader over a file: one reused window, every read checked against the file's end. */
class Cursor {
  pos = 0;
  private readonly buf = Buffer.alloc(WINDOW);
  private start = 0;
  private end = 0;

  constructor(private readonly fd: number, readonly file: string, readonly size: number) {}

  /** Names from the file are quoted in messages: control characters escaped, long ones cut. */
  fail(problem: string, at = this.pos): never {
    throw new ModelFormatError(this.file, FORMAT, printable(problem.replace(/'([^']{96})[^']+'/g, "'$1…'")), at);
  }

  get left(): number {
    return this.size - this.pos;
  }

  /** Makes [pos, pos + n) readable in the window (n <= WINDOW), or fails as truncated. */
  private need(n: number, what: string): void {
    if (n > this.left) this.fail(`truncated: ${what} needs ${n} bytes, ${this.left} left in the file`);
    if (this.pos >= this.start && this.pos + n <= this.end) return;
    const want = Math.min(WINDOW, this.size - this.pos);
    const got = fs.readSync(this.fd, this.buf, 0, want, this.pos);
    if (got < n) this.fail(`truncated: ${what} could not be read (the file changed while it was read?)`);
    this.start = this.pos;
    this.end = this.pos + got;
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++ - this.start]!;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos - this.start);
    this.pos += 4;
    return v;
  }

  /** A u64 as a number; values past 2^53 fail (no count or offset in a real file is that large). */
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos - this.start);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} is ${v}, beyond any file size`);
    this.pos += 8;
    return Number(v);
  }

  scalar(type: GgufType, what: string): GgufScalar {
    const size = FIXED_SIZE[type]!;
    this.need(size, what);
    const o = this.pos - this.start;
    const b = this.buf;
    this.pos += size;
    switch (type) {
      case GgufType.UINT8: return b.readUInt8(o);
      case GgufType.INT8: return b.readInt8(o);
      case GgufType.UINT16: return b.readUInt16LE(o);
      case GgufType.INT16: return b.readInt16LE(o);
      case GgufType.UINT32: return b.readUInt32LE(o);
      case GgufType.INT32: return b.readInt32LE(o);
      case GgufType.FLOAT32: return b.readFloatLE(o);
      case GgufType.BOOL: return b.readUInt8(o) !== 0;
      case GgufType.UINT64: return b.readBigUInt64LE(o);
      case GgufType.INT64: return b.readBigInt64LE(o);
      default: return b.readDoubleLE(o);
    }
  }

  /** A length-prefixed string, refused past `cap` bytes or past the file's end. */
  string(what: string, cap: number): string {
    const at = this.pos;
    const n = this.u64(`${what}'s length`);
    if (n > this.left) this.fail(`${what} claims ${n} bytes, ${this.left} left in the file`, at);
    if (n > cap) this.fail(`${what} is ${n} bytes long, over the ${cap}-byte limit`, at);
    if (n <= WINDOW) {
      this.need(n, what);
      const s = this.buf.toString('utf8', this.pos - this.start, this.pos - this.start + n);
      this.pos += n;
      return s;
    }
    const big = Buffer.alloc(n);
    if (fs.readSync(this.fd, big, 0, n, this.pos) !== n) this.fail(`truncated: ${what}`);
    this.pos += n;
    return big.toString('utf8');
  }

  /** Skips a string without decoding it (array elements beyond the decoded ones). */
  skipString(what: string): void {
    const at = this.pos;
    const n = this.u64(`${what}'s length`);
    if (n > this.left) this.fail(`${what} claims ${n} bytes, ${this.left} left in the file`, at);
    this.pos += n;
  }
}

function valueType(c: Cursor, what: string, allowArray: boolean): GgufType {
  const at = c.pos;
  const t = c.u32(what);
  if (t > GgufType.FLOAT64 || (t === GgufType.ARRAY && !allowArray)) {
    c.fail(t === GgufType.ARRAY ? `${what}: arrays of arrays are not supported by GGUF readers` : `${what}: unknown value type ${t}`, at);
  }
  return t as GgufType;
}

function readValue(c: Cursor, key: string): GgufValue {
  const type = valueType(c, `value type of '${key}'`, true);
  if (type === GgufType.STRING) return { kind: 'scalar', type, value: c.string(`the value of '${key}'`, MAX_STRING_BYTES) };
  if (type !== GgufType.ARRAY) return { kind: 'scalar', type, value: c.scalar(type, `the value of '${key}'`) };
  const elementType = valueType(c, `element type of '${key}'`, false);
  const at = c.pos;
  const length = c.u64(`length of array '${key}'`);
  // Each element takes at least its fixed size (a string: its 8-byte length).
  const min = elementType === GgufType.STRING ? 8 : FIXED_SIZE[elementType]!;
  if (length * min > c.left) c.fail(`array '${key}' claims ${length} ${typeName(elementType)} elements (at least ${length * min} bytes), ${c.left} left in the file`, at);
  const offset = c.pos;
  const values: GgufScalar[] | undefined = length <= DECODED_ARRAY_MAX ? [] : undefined;
  if (elementType !== GgufType.STRING) {
    if (values) for (let i = 0; i < length; i++) values.push(c.scalar(elementType, `element ${i} of '${key}'`));
    else c.pos += length * min;
  } else {
    for (let i = 0; i < length; i++) {
      if (values) values.push(c.string(`element ${i} of '${key}'`, MAX_STRING_BYTES));
      else c.skipString(`element ${i} of '${key}'`);
    }
  }
  return { kind: 'array', elementType, length, offset, values };
}

function readTensorInfo(c: Cursor, index: number): GgufTensorInfo {
  const infoOffset = c.pos;
  const name = c.string(`the name of tensor ${index}`, MAX_NAME_BYTES);
  const at = c.pos;
  const nDims = c.u32(`dimension count of '${name}'`);
  if (nDims > MAX_DIMS) c.fail(`tensor '${name}' has ${nDims} dimensions; ggml allows at most ${MAX_DIMS}`, at);
  const dims: number[] = [];
  let elementCount = 1;
  for (let d = 0; d < nDims; d++) {
    const dimAt = c.pos;
    const n = c.u64(`dimension ${d} of '${name}'`);
    dims.push(n);
    elementCount *= n;
    // Checked at every step so the product never leaves the exact integers.
    if (!Number.isSafeInteger(elementCount) || elementCount > c.size * 8) {
      c.fail(`tensor '${name}' has dimensions ${dims.join(' x ')}${d + 1 < nDims ? ' x ...' : ''}: more elements than the file could hold`, dimAt);
    }
  }
  const typeAt = c.pos;
  const typeId = c.u32(`ggml type of '${name}'`);
  const type = ggmlType(typeId);
  if (!type) c.fail(`tensor '${name}' has ggml type ${typeId}, which ggml does not define (or has removed)`, typeAt);
  if ((dims[0] ?? 1) % type.blockSize !== 0) {
    c.fail(`tensor '${name}': a row of ${dims[0] ?? 1} values is not a whole number of ${type.name} blocks (${type.blockSize} values each)`, at);
  }
  const offset = c.u64(`data offset of '${name}'`);
  const byteLength = (elementCount / type.blockSize) * type.bytesPerBlock;
  return { name, dims, type, offset, elementCount, byteLength, infoOffset };
}

function alignmentOf(c: Cursor, kvs: GgufKv[]): number {
  const kv = kvs.find((k) => k.key === 'general.alignment');
  if (!kv) return DEFAULT_ALIGNMENT;
  const v = kv.value;
  if (v.kind !== 'scalar' || v.type !== GgufType.UINT32) c.fail(`general.alignment must be a u32, not ${v.kind === 'array' ? 'an array' : typeName(v.type)}`, kv.offset);
  const n = v.value as number;
  if (n === 0 || (n & (n - 1)) !== 0) c.fail(`general.alignment is ${n}, not a power of two`, kv.offset);
  return n;
}

export function readGgufHeader(file: string): GgufHeader {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new ModelFormatError(file, FORMAT, `cannot open: ${(e as Error).message}`);
  }
  try {
    return parse(new Cursor(fd, file, fs.fstatSync(fd).size));
  } finally {
    fs.closeSync(fd);
  }
}

function parse(c: Cursor): GgufHeader {
  if (c.size < 4) c.fail(`truncated: ${c.size} bytes, not even the magic`);
  const magic = c.u32('the magic');
  if (magic !== GGUF_MAGIC) c.fail('not a GGUF file: the first bytes are not "GGUF"', 0);
  const version = c.u32('the version');
  if ((version & 0xffff) === 0 && version !== 0) {
    const swapped = ((version >>> 24) | ((version >>> 8) & 0xff00)) >>> 0;
    c.fail(`a big-endian GGUF file (version ${swapped}): only little-endian GGUF is read, as llama.cpp on little-endian machines does`, 4);
  }
  if (version === 1) c.fail('GGUF version 1 (before August 2023) is not supported: convert the model again with a current llama.cpp', 4);
  if (version !== 2 && version !== 3) c.fail(`GGUF version ${version} is not one this reader knows (2 and 3 are)`, 4);
  const countsAt = c.pos;
  const tensorCount = c.u64('the tensor count');
  const kvCount = c.u64('the metadata count');
  // Smallest possible entries: a KV pair is 8 (key length) + 4 (type) + 1; a tensor info 8 + 4 + 4 + 8.
  if (kvCount * 13 > c.left) c.fail(`the header claims ${kvCount} metadata pairs (at least ${kvCount * 13} bytes), ${c.left} left in the file`, countsAt + 8);
  if (tensorCount * 24 > c.left) c.fail(`the header claims ${tensorCount} tensors (at least ${tensorCount * 24} bytes of tensor infos), ${c.left} left in the file`, countsAt);

  const kvs: GgufKv[] = [];
  const keys = new Set<string>();
  for (let i = 0; i < kvCount; i++) {
    const offset = c.pos;
    const key = c.string(`metadata key ${i}`, MAX_NAME_BYTES);
    if (keys.has(key)) c.fail(`metadata key '${key}' appears twice`, offset);
    keys.add(key);
    const value = readValue(c, key);
    kvs.push({ key, value, offset, length: c.pos - offset });
  }
  const infosStart = c.pos;
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const t = readTensorInfo(c, i);
    if (names.has(t.name)) c.fail(`tensor '${t.name}' is listed twice`, t.infoOffset);
    names.add(t.name);
    tensors.push(t);
  }
  const infosEnd = c.pos;
  const alignment = alignmentOf(c, kvs);
  const dataOffset = Math.ceil(infosEnd / alignment) * alignment;
  const dataBytes = c.size - dataOffset;
  for (const t of tensors) {
    if (t.offset % alignment !== 0) c.fail(`tensor '${t.name}' starts at data offset ${t.offset}, not a multiple of the alignment ${alignment}`, t.infoOffset);
    if (t.byteLength > 0 && (dataBytes < 0 || t.offset + t.byteLength > dataBytes)) {
      c.fail(`tensor '${t.name}' (${t.byteLength} bytes at data offset ${t.offset}) ends past the end of the file (the data section holds ${Math.max(0, dataBytes)} bytes from byte ${dataOffset})`, t.infoOffset);
    }
  }
  const byOffset = tensors.filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const a = byOffset[i - 1]!, b = byOffset[i]!;
    if (b.offset < a.offset + a.byteLength) c.fail(`tensors '${a.name}' and '${b.name}' overlap (data offsets ${a.offset}+${a.byteLength} and ${b.offset})`, b.infoOffset);
  }
  return { file: c.file, fileSize: c.size, version, kvs, tensors, alignment, dataOffset, infosStart, infosEnd };
}
