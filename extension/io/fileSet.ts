// Ranged reads over a set of open files (a model and its external data),
// through caller-owned buffers: nothing here allocates per read.
import * as fs from 'node:fs';
import type { ByteRange, TensorRef } from '../model/types';

/** Reads up to this long are served from a read-ahead window (models of many tiny tensors: one syscall per window, not per tensor). */
const SMALL_READ = 4096;
const WINDOW_BYTES = 64 * 1024;

export class FileSet {
  private readonly fds = new Map<string, { fd: number; size: number }>();
  /** The bytes [start, end) of `file` last read ahead; one reused buffer. */
  private readonly window = { file: '', start: 0, end: 0, buf: new Uint8Array(0) };

  private open(file: string): { fd: number; size: number } {
    let entry = this.fds.get(file);
    if (!entry) {
      const fd = fs.openSync(file, 'r');
      entry = { fd, size: fs.fstatSync(fd).size };
      this.fds.set(file, entry);
    }
    return entry;
  }

  size(file: string): number {
    return this.open(file).size;
  }

  /** Reads exactly `length` bytes at `offset` into `dst[dstOffset..]`; throws if the file is shorter. */
  readExact(file: string, offset: number, dst: Uint8Array, dstOffset = 0, length = dst.length - dstOffset): void {
    if (length <= SMALL_READ && this.fromWindow(file, offset, dst, dstOffset, length)) return;
    const { fd } = this.open(file);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, dst, dstOffset + done, length - done, offset + done);
      if (n === 0) throw new RangeError(`${file}: unexpected end of file at byte ${offset + done} (wanted ${length} bytes at ${offset})`);
      done += n;
    }
  }

  /** Serves a small read from the window, reading ahead from `offset` on a miss; false when the file is too short (the exact read then says so). */
  private fromWindow(file: string, offset: number, dst: Uint8Array, dstOffset: number, length: number): boolean {
    const w = this.window;
    if (w.file !== file || offset < w.start || offset + length > w.end) {
      const { fd, size } = this.open(file);
      if (offset + length > size) return false;
      if (w.buf.length === 0) w.buf = new Uint8Array(WINDOW_BYTES);
      const want = Math.min(WINDOW_BYTES, size - offset);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(fd, w.buf, got, want - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      Object.assign(w, { file, start: offset, end: offset + got });
      if (offset + length > w.end) return false;
    }
    dst.set(w.buf.subarray(offset - w.start, offset - w.start + length), dstOffset);
    return true;
  }

  /**
   * Copies `length` canonical bytes of `tensor`, starting at byte `start` of
   * its data, into `dst[dstOffset..]`.
   */
  readTensor(tensor: Pick<TensorRef, 'id' | 'byteLength' | 'data'>, start: number, dst: Uint8Array, dstOffset = 0, length = dst.length - dstOffset): void {
    if (start < 0 || start + length > tensor.byteLength) {
      throw new RangeError(`${tensor.id}: read of ${length} bytes at ${start} is outside its ${tensor.byteLength} bytes`);
    }
    const data = tensor.data;
    if (data.kind === 'inline') {
      dst.set(data.bytes.subarray(start, start + length), dstOffset);
      return;
    }
    if (data.kind === 'unavailable') throw new Error(`${tensor.id}: bytes unavailable: ${data.reason}`);
    if (data.kind === 'range') this.readExact(data.file, data.offset + start, dst, dstOffset, length);
    else readRanges(this, data.ranges, start, dst, dstOffset, length);
  }

  close(): void {
    for (const { fd } of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
    this.window.file = '';
  }
}

function readRanges(files: FileSet, ranges: ByteRange[], start: number, dst: Uint8Array, dstOffset: number, length: number): void {
  let skip = start;
  let left = length;
  let at = dstOffset;
  for (const r of ranges) {
    if (left === 0) break;
    if (skip >= r.length) { skip -= r.length; continue; }
    const n = Math.min(r.length - skip, left);
    files.readExact(r.file, r.offset + skip, dst, at, n);
    skip = 0;
    left -= n;
    at += n;
  }
}
