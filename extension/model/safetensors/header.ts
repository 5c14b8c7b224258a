// Reads and validates a safetensors file's header (the 8-byte length and the
// JSON that follows it) without reading any tensor bytes, and encodes a
// header exactly as the reference writer (huggingface/safetensors) does.
// Validation follows the reference reader: tensors sorted by data_offsets
// must tile the data buffer from 0 to the end of the file, and each one's
// byte length must match its shape and dtype. Every defect is one
// ModelFormatError naming the file, the problem and, where it helps, the
// byte offset.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, type DType } from '../types';

/** Largest header accepted (the reference reader's MAX_HEADER_SIZE). */
export const MAX_HEADER_BYTES = 100_000_000;
/** Deepest bracket nesting accepted; a real header nests 3 deep (object, entry, shape). */
export const MAX_JSON_DEPTH = 64;
/** Most dimensions a tensor may have (numpy's limit). */
export const MAX_DIMS = 64;

const FORMAT = 'safetensors';
const METADATA_KEY = '__metadata__';
const LENGTH_BYTES = 8;

export interface SafetensorsDtype {
  dtype: DType;
  /** Bits per element; sub-byte types are packed. */
  bits: number;
}

/** The dtypes of the current safetensors spec, by the name files use. Look up with Object.hasOwn. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, SafetensorsDtype>> = Object.freeze({
  F64: { dtype: 'float64', bits: 64 },
  F32: { dtype: 'float32', bits: 32 },
  F16: { dtype: 'float16', bits: 16 },
  BF16: { dtype: 'bfloat16', bits: 16 },
  F8_E4M3: { dtype: 'float8e4m3fn', bits: 8 },
  F8_E5M2: { dtype: 'float8e5m2', bits: 8 },
  F8_E8M0: { dtype: 'float8e8m0', bits: 8 },
  F8_E4M3FNUZ: { dtype: 'float8e4m3fnuz', bits: 8 },
  F8_E5M2FNUZ: { dtype: 'float8e5m2fnuz', bits: 8 },
  I64: { dtype: 'int64', bits: 64 },
  I32: { dtype: 'int32', bits: 32 },
  I16: { dtype: 'int16', bits: 16 },
  I8: { dtype: 'int8', bits: 8 },
  U64: { dtype: 'uint64', bits: 64 },
  U32: { dtype: 'uint32', bits: 32 },
  U16: { dtype: 'uint16', bits: 16 },
  U8: { dtype: 'uint8', bits: 8 },
  BOOL: { dtype: 'bool', bits: 8 },
  F4: { dtype: 'float4e2m1', bits: 4 },
  F6_E2M3: { dtype: 'float6e2m3', bits: 6 },
  F6_E3M2: { dtype: 'float6e3m2', bits: 6 },
  C64: { dtype: 'complex64', bits: 64 },
});

function dtypeInfo(stDtype: string): SafetensorsDtype | undefined {
  return Object.hasOwn(SAFETENSORS_DTYPES, stDtype) ? SAFETENSORS_DTYPES[stDtype] : undefined;
}

const NAME_OF_DTYPE = new Map<DType, string>(Object.entries(SAFETENSORS_DTYPES).map(([name, d]) => [d.dtype, name]));

/** The safetensors name of a DType ('bfloat16' -> 'BF16'); undefined where safetensors has none (int4, string, complex128). */
export function safetensorsDtypeName(dtype: DType): string | undefined {
  return NAME_OF_DTYPE.get(dtype);
}

/**
 * The reference `Dtype` enum, in declaration order (increasing alignment).
 * Its derived Ord is what the reference writer sorts by.
 */
export const SAFETENSORS_DTYPE_ORDER: readonly string[] = Object.freeze([
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ',
  'F8_E5M2FNUZ', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
]);
const RANK = new Map(SAFETENSORS_DTYPE_ORDER.map((name, i) => [name, i]));

/** Position of a dtype in the reference enum (BOOL 0 ... U64 21); throws for unknown names. */
export function safetensorsDtypeRank(stDtype: string): number {
  const r = RANK.get(stDtype);
  if (r === undefined) throw new Error(`unknown safetensors dtype ${JSON.stringify(stDtype)}`);
  return r;
}

/**
 * The reference writer's tensor order: dtype rank descending (so the most
 * aligned data comes first), then name ascending, compared as UTF-8 bytes as
 * Rust compares strings (JS `<` compares UTF-16 units, which differs for
 * characters above U+FFFF).
 */
export function writerOrder(a: { stDtype: string; name: string }, b: { stDtype: string; name: string }): number {
  return safetensorsDtypeRank(b.stDtype) - safetensorsDtypeRank(a.stDtype)
    || Buffer.compare(Buffer.from(a.name, 'utf8'), Buffer.from(b.name, 'utf8'));
}

/**
 * The 8-byte length and padded header JSON, byte for byte as the reference
 * writer produces it: compact JSON, `__metadata__` first (when given), then
 * the entries in the order given (sort them with writerOrder), each as
 * dtype, shape, data_offsets; spaces pad the JSON to a multiple of 8 bytes.
 * serde_json and JSON.stringify escape strings identically (`"`, `\`, and
 * control characters, with the same short forms and lowercase \u00xx).
 */
export function encodeSafetensorsHeader(
  metadata: Record<string, string> | undefined,
  entries: ReadonlyArray<{ name: string; stDtype: string; shape: readonly number[]; begin: number; end: number }>,
): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined) {
    const pairs = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${pairs.join(',')}}`);
  }
  for (const e of entries) {
    parts.push(`${JSON.stringify(e.name)}:{"dtype":${JSON.stringify(e.stDtype)},"shape":[${e.shape.join(',')}],"data_offsets":[${e.begin},${e.end}]}`);
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(LENGTH_BYTES + padded).fill(0x20, LENGTH_BYTES);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, LENGTH_BYTES);
  return out;
}

export interface SafetensorsEntry {
  name: string;
  /** As written in the file, e.g. 'BF16'. */
  stDtype: string;
  dtype: DType;
  shape: readonly number[];
  elementCount: number;
  /** data_offsets, relative to the data buffer. */
  begin: number;
  end: number;
  /** Absolute byte offset in the file (dataStart + begin). */
  offset: number;
  /** end - begin. */
  length: number;
  /** Absolute byte offset of this entry's key in the file (for messages). */
  headerOffset: number;
}

export interface SafetensorsHeader {
  /** Absolute path. */
  file: string;
  fileSize: number;
  /** N: the header JSON's length in bytes, padding included. */
  headerLength: number;
  /** 8 + N. */
  dataStart: number;
  /** The `__metadata__` object (null prototype: no inherited keys); undefined when the file has none. */
  metadata?: Record<string, string>;
  /** Sorted by begin (data order). */
  entries: SafetensorsEntry[];
}

export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const abs = path.resolve(file);
  const fail = (problem: string, offset?: number) => new ModelFormatError(abs, FORMAT, problem, offset);
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO without a writer must not wait; fstat then refuses it.
    fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw fail(`cannot open: ${(e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw fail(`not a regular file (${fileKind(st)})`);
    const fileSize = st.size;
    if (fileSize === 0) throw fail('empty file (a safetensors file starts with an 8-byte header length)', 0);
    if (fileSize < LENGTH_BYTES) throw fail(`file is only ${fileSize} bytes, too short for the 8-byte header length`, 0);

    const n = readExactly(fd, 0, LENGTH_BYTES, fail).readBigUInt64LE(0);
    if (n === 0n) throw fail('header length is 0 (the header must hold at least "{}")', 0);
    // Compared as BigInt, before any allocation: a u64 need not fit a double.
    if (n > BigInt(MAX_HEADER_BYTES)) throw fail(`header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`, 0);
    const headerLength = Number(n);
    const dataStart = LENGTH_BYTES + headerLength;
    if (dataStart > fileSize) {
      throw fail(`header length ${headerLength} runs past the end of the file (only ${fileSize - LENGTH_BYTES} bytes follow the length field)`, 0);
    }
    const bytes = readExactly(fd, LENGTH_BYTES, headerLength, fail);
    const { metadata, entries } = parseHeaderJson(bytes, dataStart, fail);
    checkLayout(entries, fileSize - dataStart, dataStart, fail);
    const header: SafetensorsHeader = { file: abs, fileSize, headerLength, dataStart, entries };
    if (metadata) header.metadata = metadata;
    return header;
  } finally {
    fs.closeSync(fd);
  }
}

type Fail = (problem: string, offset?: number) => ModelFormatError;

function fileKind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a file';
}

function readExactly(fd: number, position: number, length: number, fail: Fail): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    let got: number;
    try {
      got = fs.readSync(fd, buf, done, length - done, position + done);
    } catch (e) {
      throw fail(`cannot read: ${(e as Error).message}`, position + done);
    }
    if (got === 0) throw fail(`file ended while reading (it changed after it was opened)`, position + done);
    done += got;
  }
  return buf;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Header JSON bytes -> metadata and entries (in file order; layout not yet checked). */
function parseHeaderJson(bytes: Uint8Array, dataStart: number, fail: Fail): { metadata?: Record<string, string>; entries: SafetensorsEntry[] } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw fail('header is not valid UTF-8', LENGTH_BYTES + firstInvalidUtf8(bytes));
  }
  let first = 0;
  while (first < bytes.length && isJsonSpace(bytes[first])) first++;
  if (first === bytes.length) throw fail('header is blank (only whitespace, no JSON object)', LENGTH_BYTES);
  if (bytes[first] !== 0x7b) throw fail(`header does not start with '{' (found ${describeByte(bytes[first])}): it must be a JSON object`, LENGTH_BYTES + first);

  const keyOffsets = scanJson(bytes, fail);
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw jsonSyntaxError(e, text, bytes.length, fail);
  }
  if (!isObject(root)) throw fail('header is not a JSON object', LENGTH_BYTES + first);

  let metadata: Record<string, string> | undefined;
  const entries: SafetensorsEntry[] = [];
  // Own properties only: '__proto__' and 'constructor' are ordinary tensor names here.
  for (const [name, value] of Object.entries(root)) {
    const at = keyOffsets.get(name) ?? LENGTH_BYTES + first;
    if (name === METADATA_KEY) metadata = readMetadata(value, at, fail);
    else entries.push(readEntry(name, value, at, dataStart, fail));
  }
  return { metadata, entries };
}

function readMetadata(value: unknown, at: number, fail: Fail): Record<string, string> {
  if (!isObject(value)) throw fail(`${METADATA_KEY} is ${describe(value)}, not an object of strings`, at);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw fail(`${METADATA_KEY} value for ${quote(k)} is ${describe(v)}, not a string`, at);
    out[k] = v;
  }
  return out;
}

const TWO_53 = 'more than 2^53 - 1';

function readEntry(name: string, value: unknown, at: number, dataStart: number, fail: Fail): SafetensorsEntry {
  const bad = (problem: string) => fail(`tensor ${quote(name)}: ${problem}`, at);
  if (name === '') throw fail('a tensor has an empty name', at);
  if (!isObject(value)) throw bad(`entry is ${describe(value)}, not an object with dtype, shape and data_offsets`);

  const stDtype = own(value, 'dtype');
  if (stDtype === undefined) throw bad('no dtype');
  if (typeof stDtype !== 'string') throw bad(`dtype is ${describe(stDtype)}, not a string`);
  const info = dtypeInfo(stDtype);
  if (!info) throw bad(`unknown dtype ${quote(stDtype)}`);

  const shape = own(value, 'shape');
  if (shape === undefined) throw bad('no shape');
  if (!Array.isArray(shape)) throw bad(`shape is ${describe(shape)}, not an array`);
  if (shape.length > MAX_DIMS) throw bad(`shape has ${shape.length} dimensions, more than ${MAX_DIMS}`);
  for (let i = 0; i < shape.length; i++) {
    const problem = notCount(shape[i]);
    if (problem) throw bad(`shape[${i}] is ${describe(shape[i])}, ${problem}`);
  }
  const dims = shape as number[];

  const offsets = own(value, 'data_offsets');
  if (offsets === undefined) throw bad('no data_offsets');
  if (!Array.isArray(offsets)) throw bad(`data_offsets is ${describe(offsets)}, not an array [begin, end]`);
  if (offsets.length !== 2) throw bad(`data_offsets has ${offsets.length} value${offsets.length === 1 ? '' : 's'}, not 2 ([begin, end])`);
  for (let i = 0; i < 2; i++) {
    const problem = notCount(offsets[i]);
    if (problem) throw bad(`data_offsets[${i}] is ${describe(offsets[i])}, ${problem}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw bad(`data_offsets [${begin}, ${end}]: end ${end} is before begin ${begin}`);

  // BigInt: a product of safe integers overflows doubles long before it is refused.
  const count = dims.reduce((p, d) => p * BigInt(d), 1n);
  const bits = count * BigInt(info.bits);
  const shown = `shape [${dims.join(', ')}] of ${stDtype}`;
  if (count > BigInt(Number.MAX_SAFE_INTEGER) || bits / 8n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw bad(`${shown} holds ${count} elements (${bits / 8n} bytes), ${TWO_53}`);
  }
  if (bits % 8n !== 0n) throw bad(`${shown}: ${count} elements of ${info.bits} bits make ${bits} bits, not a whole number of bytes`);
  const byteLength = Number(bits / 8n);
  if (byteLength !== end - begin) throw bad(`${shown} needs ${byteLength} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`);

  return {
    name, stDtype, dtype: info.dtype, shape: dims, elementCount: Number(count),
    begin, end, offset: dataStart + begin, length: end - begin, headerOffset: at,
  };
}

/** Sorts entries by data_offsets and checks they tile [0, dataLength) exactly. */
function checkLayout(entries: SafetensorsEntry[], dataLength: number, dataStart: number, fail: Fail): void {
  // Ties (zero-length tensors) keep file order.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || a.headerOffset - b.headerOffset);
  let prev: SafetensorsEntry | undefined;
  for (const e of entries) {
    const expected = prev ? prev.end : 0;
    if (!prev && e.begin !== 0) {
      throw fail(`tensor ${quote(e.name)}, first in the data, starts at data offset ${e.begin}, not 0 (${e.begin} unused bytes before it)`, e.headerOffset);
    }
    if (prev && e.begin < expected) {
      throw fail(`tensors ${quote(prev.name)} (data_offsets [${prev.begin}, ${prev.end}]) and ${quote(e.name)} ([${e.begin}, ${e.end}]) overlap`, e.headerOffset);
    }
    if (prev && e.begin > expected) {
      throw fail(`${e.begin - expected} unused bytes between tensor ${quote(prev.name)} (ends at ${prev.end}) and tensor ${quote(e.name)} (starts at ${e.begin})`, e.headerOffset);
    }
    prev = e;
  }
  const end = prev ? prev.end : 0;
  if (end > dataLength) {
    throw fail(`file is truncated: the tensors need ${end} data bytes after the header, but only ${dataLength} follow (${end - dataLength} bytes missing)`, dataStart + dataLength);
  }
  if (end < dataLength) {
    const after = prev ? `after the last tensor ${quote(prev.name)} (its data ends at ${end}, the file holds ${dataLength} data bytes)` : 'of data, but the header lists no tensors';
    throw fail(`${dataLength - end} extra bytes ${after}`, dataStart + end);
  }
}

/**
 * One pass over the header bytes, before JSON.parse sees them: refuses
 * nesting deeper than MAX_JSON_DEPTH (V8's parser recurses), bare words
 * such as NaN with their position (V8's message gives none), integral
 * numbers in a shape or data_offsets written as floats (`2.0`, `1e3`:
 * JSON.parse would silently accept them, the reference reader does not),
 * and duplicate top-level keys (JSON.parse keeps the last one silently).
 * Returns each top-level key's absolute offset.
 */
function scanJson(bytes: Uint8Array, fail: Fail): Map<string, number> {
  const keys = new Map<string, number>();
  const stack: number[] = [];      // open brackets
  let expectKey = false;           // the next string is an object key
  let topKey: string | undefined;  // current top-level key (tensor name)
  let countKey: 'shape' | 'data_offsets' | undefined; // current key inside that entry, when it holds integers
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (isJsonSpace(c)) continue;
    if (c === 0x7b || c === 0x5b) { // { [
      stack.push(c);
      if (stack.length > MAX_JSON_DEPTH) throw fail(`JSON nesting deeper than ${MAX_JSON_DEPTH} levels`, LENGTH_BYTES + i);
      expectKey = c === 0x7b;
      if (stack.length === 2) countKey = undefined;
    } else if (c === 0x7d || c === 0x5d) { // } ]
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c) { // ,
      expectKey = stack[stack.length - 1] === 0x7b;
    } else if (c === 0x3a) { // :
      expectKey = false;
    } else if (c === 0x22) { // "
      const close = stringEnd(bytes, i);
      if (close < 0) throw fail('unterminated string in JSON', LENGTH_BYTES + i);
      if (expectKey && stack.length <= 2) {
        if (stack.length === 1) {
          const key = decodeString(bytes, i, close);
          if (key !== undefined) {
            if (keys.has(key)) {
              throw fail(`duplicate ${key === METADATA_KEY ? 'key' : 'tensor name'} ${quote(key)} (first at byte ${keys.get(key)})`, LENGTH_BYTES + i);
            }
            keys.set(key, LENGTH_BYTES + i);
          }
          topKey = key;
        } else {
          countKey = literalIs(bytes, i, close, 'shape') ? 'shape' : literalIs(bytes, i, close, 'data_offsets') ? 'data_offsets' : undefined;
        }
      }
      expectKey = false;
      i = close;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) { // - 0-9
      let j = i + 1;
      let digitsOnly = c !== 0x2d;
      for (; j < n && isNumberByte(bytes[j]); j++) if (bytes[j] < 0x30 || bytes[j] > 0x39) digitsOnly = false;
      if (!digitsOnly && stack.length === 3 && countKey !== undefined && topKey !== METADATA_KEY) {
        const literal = latin1(bytes, i, j);
        const v = Number(literal);
        // Negative and fractional values are refused later, with the entry's other checks.
        if (Number.isSafeInteger(v) && v >= 0) {
          throw fail(`tensor ${quote(topKey ?? '')}: ${countKey} holds ${literal}, which is not written as an integer`, LENGTH_BYTES + i);
        }
      }
      i = j - 1;
    } else if (isWordByte(c)) {
      let j = i + 1;
      while (j < n && isWordByte(bytes[j])) j++;
      if (!bytesAre(bytes, i, j, 'true') && !bytesAre(bytes, i, j, 'false') && !bytesAre(bytes, i, j, 'null')) {
        const word = latin1(bytes, i, j);
        const minus = i > 0 && bytes[i - 1] === 0x2d ? '-' : '';
        const hint = word === 'NaN' || word === 'Infinity' ? ' (JSON has no NaN or Infinity; shapes and offsets are non-negative integers)' : '';
        const where = topKey !== undefined && stack.length >= 2 ? ` in tensor ${quote(topKey)}` : '';
        throw fail(`${quote(minus + word)}${where} is not valid JSON${hint}`, LENGTH_BYTES + i - minus.length);
      }
      i = j - 1;
    } else {
      throw fail(`unexpected ${describeByte(c)} in JSON`, LENGTH_BYTES + i);
    }
  }
  return keys;
}

/** Index of the quote closing the string that opens at `open`, or -1. */
function stringEnd(bytes: Uint8Array, open: number): number {
  let j = open + 1;
  for (;;) {
    j = bytes.indexOf(0x22, j);
    if (j < 0) return -1;
    // Escaped when preceded by an odd run of backslashes. Runs lie between
    // quotes, so the counting stays linear over the whole header.
    let k = j - 1;
    while (k > open && bytes[k] === 0x5c) k--;
    if ((j - 1 - k) % 2 === 0) return j;
    j++;
  }
}

/** The string literal bytes[open..close] (quotes included), or undefined when its escapes are invalid (JSON.parse reports it). */
function decodeString(bytes: Uint8Array, open: number, close: number): string | undefined {
  // Quotes are ASCII, so the slice is valid UTF-8 when the whole header is.
  if (!hasBackslash(bytes, open, close)) return utf8.decode(bytes.subarray(open + 1, close));
  try {
    const v: unknown = JSON.parse(utf8.decode(bytes.subarray(open, close + 1)));
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the string literal bytes[open..close] means `name` (ASCII), without decoding it in the usual case. */
function literalIs(bytes: Uint8Array, open: number, close: number, name: string): boolean {
  if (bytesAre(bytes, open + 1, close, name)) return true;
  return hasBackslash(bytes, open, close) && decodeString(bytes, open, close) === name;
}

function hasBackslash(bytes: Uint8Array, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (bytes[k] === 0x5c) return true;
  return false;
}

/** Whether bytes[from..to) are the ASCII string `s`. */
function bytesAre(bytes: Uint8Array, from: number, to: number, s: string): boolean {
  if (to - from !== s.length) return false;
  for (let k = 0; k < s.length; k++) if (bytes[from + k] !== s.charCodeAt(k)) return false;
  return true;
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');
}

/** A JSON.parse failure as a ModelFormatError, with V8's position turned into a byte offset. */
function jsonSyntaxError(e: unknown, text: string, byteLength: number, fail: Fail): ModelFormatError {
  const message = e instanceof Error ? e.message : String(e);
  const m = /\s*in JSON at position (\d+)/.exec(message);
  if (m) {
    const pos = Number(m[1]); // UTF-16 units into `text`
    const problem = message.slice(0, m.index) + message.slice(m.index + m[0].length);
    return fail(`header is not valid JSON: ${problem}`, LENGTH_BYTES + Buffer.byteLength(text.slice(0, pos), 'utf8'));
  }
  if (/end of JSON input/.test(message)) return fail(`header is not valid JSON: ${message}`, LENGTH_BYTES + byteLength);
  return fail(`header is not valid JSON: ${message}`);
}

/** Index of the first byte that starts an invalid UTF-8 sequence (as TextDecoder judges: no overlongs, surrogates, or > U+10FFFF). */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let need: number, lo = 0x80, hi = 0xbf;
    if (c < 0x80) { i++; continue; }
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) { need = 2; if (c === 0xe0) lo = 0xa0; if (c === 0xed) hi = 0x9f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 3; if (c === 0xf0) lo = 0x90; if (c === 0xf4) hi = 0x8f; }
    else return i;
    for (let k = 1; k <= need; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return b.length;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isNumberByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

function isWordByte(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24;
}

/** Why a value is not a usable dimension or offset, or undefined when it is. */
function notCount(v: unknown): string | undefined {
  if (typeof v !== 'number') return 'not a non-negative integer';
  if (Number.isInteger(v) && v > Number.MAX_SAFE_INTEGER) return `${TWO_53} (too large to be exact)`;
  if (!Number.isSafeInteger(v) || v < 0) return 'not a non-negative integer';
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A name or string for a message: quoted, escaped, and cut when long. */
function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function describeByte(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}
