// Protobuf wire-level access to a file through one bounded, reused window.
// The ONNX reader walks messages with it without ever holding the file (or
// a tensor's bytes) in memory, and the ONNX rewriter reuses it to copy fields
// verbatim: every field it yields carries its absolute byte range.
//
// Varints are decoded by protobufjs's wire-level Reader, pointed at the
// window; this module owns only windowing, bounds and error reporting.
import * as fs from 'node:fs';
import { Reader } from 'protobufjs/minimal';
import { ModelFormatError } from '../types';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** One field of a message, located in the file. */
export interface WireField {
  /** Protobuf field number. */
  field: number;
  wireType: number;
  /** Absolute offset of the tag: the whole field spans [start, end). */
  start: number;
  /** Absolute offset of the value (for length-delimited fields, the payload after the length). */
  offset: number;
  /** Bytes of the value (the payload for length-delimited fields). */
  length: number;
  /** Absolute offset just past the field. */
  end: number;
  /** Varint / fixed32 / fixed64 value as two unsigned 32-bit halves (0 for length-delimited fields). */
  lo: number;
  hi: number;
}

/** Largest window the reader keeps; reads start small and grow while sequential. */
const WINDOW_BYTES = 1 << 20;
const FIRST_READ_BYTES = 4 << 10;
/** Enough for a tag and a length varint, each of at most 10 bytes. */
const HEADER_BYTES = 24;

const TWO_32 = 4294967296;

/** Structural view of the Long that protobufjs returns for 64-bit varints. */
interface LongLike { low: number; high: number }

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

/** A file opened for wire-level reads. Close it when done. */
export class WireFile {
  readonly path: string;
  readonly size: number;
  private readonly fd: number;
  private readonly window = Buffer.allocUnsafe(WINDOW_BYTES);
  private winStart = 0;
  private winLen = 0;
  private nextRead = FIRST_READ_BYTES;
  /** protobufjs reader re-pointed at the window for each decode. */
  private readonly reader = new Reader(this.window);
  private closed = false;

  constructor(path: string, readonly format = 'onnx') {
    this.path = path;
    try {
      this.fd = fs.openSync(path, 'r');
    } catch (e) {
      throw new ModelFormatError(path, format, `cannot open: ${(e as Error).message}`);
    }
    const st = fs.fstatSync(this.fd);
    if (!st.isFile()) {
      fs.closeSync(this.fd);
      throw new ModelFormatError(path, format, 'not a regular file');
    }
    this.size = st.size;
  }

  close(): void {
    if (!this.closed) fs.closeSync(this.fd);
    this.closed = true;
  }

  error(problem: string, offset?: number): ModelFormatError {
    return new ModelFormatError(this.path, this.format, problem, offset);
  }

  /** Iterates the fields of the message occupying [start, end). */
  fields(start: number, end: number, what: string): FieldIterator {
    if (start < 0 || end > this.size || start > end) throw this.error(`${what} range [${start}, ${end}) is outside the file (${this.size} bytes)`, start);
    return new FieldIterator(this, start, end, what);
  }

  /** Iterates the fields of the message held by a length-delimited field. */
  nested(field: WireField, what: string): FieldIterator {
    if (field.wireType !== WIRE_LEN) throw this.error(`${what}: field ${field.field} has wire type ${field.wireType}, expected a length-delimited message`, field.start);
    return new FieldIterator(this, field.offset, field.offset + field.length, what);
  }

  /**
   * Copies [offset, offset+length) into a new Buffer. Refuses lengths over
   * `cap` before allocating, so a corrupt length cannot exhaust memory.
   */
  bytes(offset: number, length: number, cap: number, what: string): Buffer {
    if (length > cap) throw this.error(`${what} is ${length} bytes, over the ${cap}-byte limit`, offset);
    if (offset < 0 || offset + length > this.size) throw this.error(`${what} of ${length} bytes runs past the end of the file (${this.size} bytes)`, offset);
    const out = Buffer.allocUnsafe(length);
    if (offset >= this.winStart && offset + length <= this.winStart + this.winLen) {
      this.window.copy(out, 0, offset - this.winStart, offset - this.winStart + length);
    } else {
      this.readInto(out, 0, length, offset);
    }
    return out;
  }

  /**
   * The UTF-8 string held by a length-delimited field (names, op types,
   * keys). `strict`: invalid UTF-8 is an error, not replaced: a name decoded
   * lossily would no longer match its own bytes where it is copied verbatim.
   */
  string(field: WireField, cap: number, what: string, strict = false): string {
    if (field.wireType !== WIRE_LEN) throw this.error(`${what} has wire type ${field.wireType}, expected a string`, field.start);
    if (field.length === 0) return '';
    let bytes: Uint8Array;
    if (field.offset >= this.winStart && field.offset + field.length <= this.winStart + this.winLen) {
      if (field.length > cap) throw this.error(`${what} is ${field.length} bytes, over the ${cap}-byte limit`, field.offset);
      const start = field.offset - this.winStart;
      const end = start + field.length;
      // Most names are ASCII: read in place, without a view object per string (GC time at 50k nodes).
      if (isAscii(this.window, start, end)) return this.window.toString('latin1', start, end);
      bytes = this.window.subarray(start, end);
    } else {
      bytes = this.bytes(field.offset, field.length, cap, what);
    }
    if (!strict) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    try {
      return STRICT_UTF8.decode(bytes);
    } catch {
      throw this.error(`${what} is not valid UTF-8 (ONNX names must be): it cannot be kept exactly when the model is rewritten`, field.offset);
    }
  }

  /**
   * Calls `onValue(lo, hi)` for each varint packed in [offset, offset+length)
   * (a packed repeated field). Returns the count.
   */
  packedVarints(offset: number, length: number, what: string, onValue: (lo: number, hi: number) => void): number {
    const end = offset + length;
    let pos = offset;
    let count = 0;
    while (pos < end) {
      const r = this.prepare(pos, end);
      // Decode as many as the window safely holds before re-preparing.
      const safe = Math.min(r.len, this.winLen - HEADER_BYTES);
      do {
        const at = this.winStart + r.pos;
        let v: LongLike;
        try {
          v = r.uint64() as unknown as LongLike;
        } catch (e) {
          throw this.varintError(e, what, at);
        }
        onValue(v.low >>> 0, v.high >>> 0);
        count++;
      } while (r.pos < safe && r.pos < r.len);
      pos = this.winStart + r.pos;
    }
    return count;
  }

  /** Points the reader at the window so that [pos, min(pos + HEADER_BYTES, end)) is readable; reads stop at `end`. */
  prepare(pos: number, end: number): Reader {
    const need = Math.min(HEADER_BYTES, end - pos);
    if (pos < this.winStart || pos + need > this.winStart + this.winLen) this.fill(pos, need);
    const r = this.reader;
    r.pos = pos - this.winStart;
    r.len = Math.min(this.winLen, end - this.winStart);
    return r;
  }

  /** Absolute offset of the reader's position. */
  at(r: Reader): number {
    return this.winStart + r.pos;
  }

  private fill(pos: number, need: number): void {
    // Sequential reads grow (fewer syscalls over dense metadata); a jump
    // (skipping tensor bytes) starts small again, so skipping costs little.
    const sequential = pos >= this.winStart && pos <= this.winStart + this.winLen;
    this.nextRead = sequential ? Math.min(WINDOW_BYTES, this.nextRead * 2) : FIRST_READ_BYTES;
    const n = Math.min(Math.max(this.nextRead, need), WINDOW_BYTES, this.size - pos);
    this.winStart = pos;
    this.winLen = 0;
    this.readInto(this.window, 0, n, pos);
    this.winLen = n;
  }

  private readInto(dst: Buffer, dstOffset: number, length: number, pos: number): void {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, dst, dstOffset + done, length - done, pos + done);
      if (n === 0) throw this.error(`file ended early (it shrank while being read?)`, pos + done);
      done += n;
    }
  }

  varintError(e: unknown, what: string, at: number): ModelFormatError {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg.startsWith('index out of range')) return this.error(`truncated varint in ${what}`, at);
    return this.error(`invalid varint in ${what} (${msg})`, at);
  }
}

/** Walks the fields of one message; every length is checked against the message's end. */
export class FieldIterator implements Iterable<WireField> {
  private pos: number;

  constructor(
    private readonly file: WireFile,
    readonly start: number,
    readonly end: number,
    /** What the message is, for error messages (e.g. `TensorProto 'w'`). */
    readonly what: string,
  ) {
    this.pos = start;
  }

  /** The next field, or undefined at the end of the message. The iterator moves past the field's value. */
  next(): WireField | undefined {
    if (this.pos >= this.end) return undefined;
    const file = this.file;
    const start = this.pos;
    const r = file.prepare(start, this.end);
    let tag: number;
    try {
      tag = r.tag();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      throw file.error(msg.startsWith('index out of range') ? `truncated field tag in ${this.what}` : `invalid field tag in ${this.what}`, start);
    }
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw file.error(`invalid field number 0 in ${this.what}`, start);
    let offset = file.at(r);
    let length: number;
    let lo = 0;
    let hi = 0;
    switch (wireType) {
      case WIRE_VARINT: {
        let v: LongLike;
        try {
          v = r.uint64() as unknown as LongLike;
        } catch (e) {
          throw file.varintError(e, `field ${field} of ${this.what}`, offset);
        }
        lo = v.low >>> 0;
        hi = v.high >>> 0;
        length = file.at(r) - offset;
        break;
      }
      case WIRE_I64:
      case WIRE_I32: {
        length = wireType === WIRE_I64 ? 8 : 4;
        if (offset + length > this.end) throw file.error(`truncated ${length * 8}-bit value of field ${field} in ${this.what}`, offset);
        lo = r.fixed32();
        if (wireType === WIRE_I64) hi = r.fixed32();
        break;
      }
      case WIRE_LEN: {
        try {
          length = r.size();
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          throw file.error(msg.startsWith('index out of range') ? `truncated length of field ${field} in ${this.what}` : `invalid length of field ${field} in ${this.what}`, offset);
        }
        offset = file.at(r);
        if (length > this.end - offset) {
          throw file.error(`field ${field} of ${this.what} claims ${length} bytes but only ${this.end - offset} remain in it (it ends at byte ${this.end}; the file has ${file.size})`, start);
        }
        break;
      }
      case 3:
      case 4:
        throw file.error(`unsupported group wire type ${wireType} (field ${field}) in ${this.what}`, start);
      default:
        throw file.error(`invalid wire type ${wireType} (field ${field}) in ${this.what}`, start);
    }
    const end = offset + length;
    this.pos = end;
    return { field, wireType, start, offset, length, end, lo, hi };
  }

  *[Symbol.iterator](): Iterator<WireField> {
    for (let f = this.next(); f; f = this.next()) yield f;
  }
}

/**
 * The single field whose tag is at `offset` (e.g. a TensorRef's fileOffset),
 * bounded by `end`: gives its full range [start, end) for verbatim copying.
 */
export function fieldAt(file: WireFile, offset: number, end: number, what: string): WireField {
  const f = file.fields(offset, end, what).next();
  if (!f) throw file.error(`${what}: no field at byte ${offset}`, offset);
  return f;
}

/** Lists the fields of the message in [start, end) with their byte ranges (for verbatim copying). */
export function listFields(file: WireFile, start: number, end: number, what: string): WireField[] {
  return [...file.fields(start, end, what)];
}

// --- value helpers ---------------------------------------------------------

const f32 = new DataView(new ArrayBuffer(8));

/** An int64 varint as a JS number; throws when it does not fit exactly. */
export function int64Value(file: WireFile, f: WireField, what: string): number {
  expectWire(file, f, WIRE_VARINT, what);
  return longToSafe(file, f.lo, f.hi, what, f.offset);
}

export function longToSafe(file: WireFile, lo: number, hi: number, what: string, offset: number): number {
  if (hi >= 0x80000000) {
    // Negative two's complement: -(~x + 1).
    const nlo = (~lo >>> 0) + 1;
    const nhi = (~hi >>> 0) + (nlo > 0xffffffff ? 1 : 0);
    if (nhi > 0x1fffff) throw file.error(`${what} is below -2^53`, offset);
    return -((nhi >>> 0) * TWO_32 + (nlo >>> 0));
  }
  if (hi > 0x1fffff) throw file.error(`${what} exceeds 2^53`, offset);
  // `lo` alone stays a small integer; hi * 2^32 + lo is a heap double even for 1, and a
  // dimension or count stored that way makes every tensor record box its numbers.
  return hi === 0 ? lo : hi * TWO_32 + lo;
}

/** An int32 / enum varint (sign-extended varints keep their low 32 bits). */
export function int32Value(file: WireFile, f: WireField, what: string): number {
  expectWire(file, f, WIRE_VARINT, what);
  return f.lo | 0;
}

export function floatValue(file: WireFile, f: WireField, what: string): number {
  expectWire(file, f, WIRE_I32, what);
  f32.setUint32(0, f.lo, true);
  return f32.getFloat32(0, true);
}

export function float32FromBits(bits: number): number {
  f32.setUint32(0, bits, true);
  return f32.getFloat32(0, true);
}

export function expectWire(file: WireFile, f: WireField, wireType: number, what: string): void {
  if (f.wireType !== wireType) throw file.error(`${what} (field ${f.field}) has wire type ${f.wireType}, expected ${wireType}`, f.start);
}
