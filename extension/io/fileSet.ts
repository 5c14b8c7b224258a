// Ranged reads over a set of open files (a model and its external data),
// through caller-owned buffers: nothing here allocates per read.
import * as fs from 'node:fs';
import type { ByteRange, TensorRef } from '../model/types';

export class FileSet {
  private readonly fds = new Map<string, { fd: number; size: number }>();

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
    const { fd } = this.open(file);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, dst, dstOffset + done, length - done, offset + done);
      if (n === 0) throw new RangeError(`${file}: unexpected end of file at byte ${offset + done} (wanted ${length} bytes at ${offset})`);
      done += n;
    }
  }

  /**
   * Copies `length` canonical bytes of `tensor`, starting at byte `start` of
   * its data, into `dst[dstOffset..]`.
   */
  readTensor(tensor: TensorRef, start: number, dst: Uint8Array, dstOffset = 0, length = dst.length - dstOffset): void {
    if (start < 0 || start + length > tensor.byteLength) {
      throw new RangeError(`${tensor.id}: read of ${length} bytes at ${start} is outside its ${tensor.byteLength} bytes`);
    }
    const data = tensor.data;
    if (data.kind === 'inline') {
      dst.set(data.bytes.subarray(start, start + length), dstOffset);
      return;
    }
    if (data.kind === 'unavailable') throw new Error(`${tensor.id}: bytes unavailable: ${data.reason}`);
    readRanges(this, data.ranges, start, dst, dstOffset, length);
  }

  close(): void {
    for (const { fd } of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
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
