// Where the pickle reader takes its bytes from: a buffer (a zip checkpoint's
// data.pkl) or a window onto an open file (the legacy format, whose pickles
// sit one after another at the start of the file and end wherever their
// STOP opcode is). Every read is checked against the bytes that remain, so
// a length field can never make the reader allocate more than the input has.
import * as fs from 'node:fs';

/** Thrown for bad pickle input; `offset` is relative to the source's start. */
export class PickleError extends Error {
  constructor(readonly problem: string, readonly offset: number) {
    super(`${problem} (at byte ${offset})`);
    this.name = 'PickleError';
  }
}

export interface PickleSource {
  /** Bytes available from position 0. */
  readonly size: number;
  /** Exactly `length` bytes at `at` (the caller has checked the bounds). */
  read(at: number, length: number): Uint8Array;
  /** All the bytes, when they are in memory (the cursor then reads numbers without a view per read). */
  readonly bytes?: Uint8Array;
}

export function bufferSource(bytes: Uint8Array): PickleSource {
  return { size: bytes.length, bytes, read: (at, length) => bytes.subarray(at, at + length) };
}

const WINDOW = 1 << 20;

/** A file from `start` on, read through one reused 1 MiB window (bigger reads get a buffer of their own). */
export function fileSource(fd: number, start: number, size: number): PickleSource {
  const window = Buffer.allocUnsafe(WINDOW);
  let winAt = -1;
  let winLen = 0;
  return {
    size,
    read(at, length) {
      if (length > WINDOW) {
        const out = Buffer.allocUnsafe(length);
        if (fs.readSync(fd, out, 0, length, start + at) !== length) throw new PickleError('the file ended early', at);
        return out;
      }
      if (winAt < 0 || at < winAt || at + length > winAt + winLen) {
        winAt = at;
        winLen = fs.readSync(fd, window, 0, Math.min(WINDOW, size - at), start + at);
        if (winLen < length) throw new PickleError('the file ended early', at);
      }
      return window.subarray(at - winAt, at - winAt + length);
    },
  };
}

/** A read position over a source. */
export class PickleCursor {
  pos: number;

  constructor(readonly source: PickleSource, start = 0) {
    this.pos = start;
  }

  get remaining(): number {
    return this.source.size - this.pos;
  }

  take(n: number, what: string): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.remaining) {
      throw new PickleError(`${what} claims ${n} bytes but only ${Math.max(0, this.remaining)} remain: the pickle is truncated or corrupt`, this.pos);
    }
    const out = this.source.read(this.pos, n);
    this.pos += n;
    return out;
  }

  /** `n` bytes for a number: the source's own array at `pos` when in memory, else a read. */
  private fixed(n: number, what: string): [Uint8Array, number] {
    const all = this.source.bytes;
    if (all && n <= this.remaining) {
      const at = this.pos;
      this.pos += n;
      return [all, at];
    }
    return [this.take(n, what), 0];
  }

  u8(what: string): number {
    const [b, i] = this.fixed(1, what);
    return b[i]!;
  }

  u16(what: string): number {
    const [b, i] = this.fixed(2, what);
    return b[i]! | (b[i + 1]! << 8);
  }

  u32(what: string): number {
    const [b, i] = this.fixed(4, what);
    return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16)) + b[i + 3]! * 0x1000000;
  }

  i32(what: string): number {
    const [b, i] = this.fixed(4, what);
    return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
  }

  /** A u64 length; anything past 2^53 cannot fit in any input and is refused. */
  u64(what: string): number {
    const lo = this.u32(what);
    const hi = this.u32(what);
    if (hi >= 0x200000) throw new PickleError(`${what} is over 2^53`, this.pos - 8);
    return hi * 0x100000000 + lo;
  }

  /** A protocol-0 text argument up to its newline (without it), at most `cap` bytes. */
  line(what: string, cap = 1 << 16): string {
    const start = this.pos;
    const parts: number[] = [];
    for (;;) {
      if (this.remaining <= 0) throw new PickleError(`${what}: no newline before the end of the input`, start);
      const c = this.u8(what);
      if (c === 0x0a) break;
      if (parts.length >= cap) throw new PickleError(`${what} is longer than ${cap} bytes`, start);
      parts.push(c);
    }
    return Buffer.from(parts).toString('latin1');
  }
}
