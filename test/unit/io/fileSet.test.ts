// FileSet's small reads come from a read-ahead window: every read, in any
// order and across window edges, files and the file's end, must give the
// bytes a plain fs read gives, and a read past the end must still fail
// with the file and offset named.
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileSet } from '../../../extension/io/fileSet';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-fileset-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fileOf(name: string, size: number, seed: number): { file: string; bytes: Buffer } {
  const bytes = Buffer.alloc(size);
  let s = seed;
  for (let i = 0; i < size; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; bytes[i] = s >>> 24; }
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return { file, bytes };
}

test('small and large reads, sequential, backwards and random, over two files, match the files', () => {
  const a = fileOf('a.bin', 300_000, 1);
  const b = fileOf('b.bin', 70_000, 2);
  const files = new FileSet();
  try {
    const check = (f: { file: string; bytes: Buffer }, offset: number, length: number) => {
      const dst = new Uint8Array(length + 3);
      files.readExact(f.file, offset, dst, 3, length);
      assert.ok(Buffer.from(dst.subarray(3)).equals(f.bytes.subarray(offset, offset + length)), `${path.basename(f.file)} ${offset}+${length}`);
    };
    for (let off = 0; off < 200_000; off += 4) check(a, off, 4);          // many tiny reads in order
    for (let off = 199_996; off >= 100_000; off -= 1000) check(a, off, 7); // backwards
    let s = 7;
    for (let i = 0; i < 2000; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const f = i % 3 === 0 ? b : a;
      const length = 1 + (s % 5000);
      check(f, s % (f.bytes.length - length + 1), length);           // interleaved files, any length
    }
    check(b, b.bytes.length - 1, 1);                                 // the last byte
    check(a, 65_530, 20);                                            // across a window edge
    check(a, 0, 200_000);                                            // large: not through the window
    assert.throws(() => files.readExact(b.file, b.bytes.length - 2, new Uint8Array(4)), /b\.bin: unexpected end of file at byte 70000 \(wanted 4 bytes at 69998\)/);
  } finally {
    files.close();
  }
});
