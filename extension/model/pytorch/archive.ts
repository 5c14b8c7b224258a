// torch.save's zip checkpoints (PyTorch 1.6 and later): `<prefix>/data.pkl`
// (the state dict, pickled), `<prefix>/data/<key>` (one stored record per
// storage), `<prefix>/byteorder`, `<prefix>/version`. yauzl reads the central
// directory (ZIP64 included); each record's data offset comes from its local
// header, read here (30 bytes, then the name and extra field, which torch
// pads so records start 64-byte aligned). Nothing is extracted: tensor bytes
// are byte ranges of the file. Compressed or encrypted records, and records
// that claim more bytes than the file holds, are refused.
import * as fs from 'node:fs';
import * as yauzl from 'yauzl';
import { ModelFormatError } from '../types';
import { FORMAT } from './layout';

export interface ZipRecord {
  name: string;
  /** Absolute offset of the record's bytes. */
  offset: number;
  length: number;
}

export interface ZipCheckpoint {
  /** The archive's folder name (torch names it after the file). */
  prefix: string;
  /** Records by name, not yet checked against their local headers (see `record`). */
  entries: Map<string, yauzl.Entry>;
  size: number;
}

/** Every central-directory entry; refuses counts and sizes the file cannot hold. */
export async function readZipDirectory(file: string, size: number): Promise<ZipCheckpoint> {
  const fail = (problem: string, at?: number) => new ModelFormatError(file, FORMAT, problem, at);
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, decodeStrings: true, validateEntrySizes: true, strictFileNames: false }, (err, z) => (err ? reject(err) : resolve(z)));
  }).catch((e: Error) => { throw fail(`not a readable zip archive: ${e.message}`); });
  try {
    // Each central-directory entry takes at least 46 bytes.
    if (zip.entryCount > size / 46) throw fail(`the zip directory claims ${zip.entryCount} entries, more than a ${size}-byte file can hold`);
    const entries = new Map<string, yauzl.Entry>();
    let prefix: string | undefined;
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (e: Error) => reject(fail(`the zip directory is corrupt: ${e.message}`)));
      zip.on('end', () => resolve());
      zip.on('entry', (e: yauzl.Entry) => {
        try {
          if (prefix === undefined) prefix = e.fileName.split('/')[0]!;
          const end = e.relativeOffsetOfLocalHeader + 30 + e.compressedSize;
          if (!Number.isSafeInteger(end) || end > size) {
            throw fail(`zip entry '${e.fileName}' claims ${e.compressedSize} bytes at ${e.relativeOffsetOfLocalHeader}, past the end of the ${size}-byte file (a zip bomb or a truncated file)`, e.relativeOffsetOfLocalHeader);
          }
          if (entries.has(e.fileName)) throw fail(`zip entry '${e.fileName}' appears twice`, e.relativeOffsetOfLocalHeader);
          entries.set(e.fileName, e);
          zip.readEntry();
        } catch (err) {
          reject(err);
        }
      });
      zip.readEntry();
    });
    if (prefix === undefined) throw fail('the zip archive is empty: not a PyTorch checkpoint');
    return { prefix, entries, size };
  } finally {
    zip.close();
  }
}

/** Where a stored record's bytes are, from its local header. */
export function recordOf(file: string, fd: number, zip: ZipCheckpoint, name: string): ZipRecord {
  const fail = (problem: string, at?: number) => new ModelFormatError(file, FORMAT, problem, at);
  const e = zip.entries.get(name);
  if (!e) throw fail(`the archive has no record '${name}'`);
  const at = e.relativeOffsetOfLocalHeader;
  if (e.compressionMethod !== 0) throw fail(`record '${name}' is compressed (method ${e.compressionMethod}); torch.save stores records uncompressed, and compressed ones are not read (they could not be byte ranges)`, at);
  if ((e.generalPurposeBitFlag & 0x1) !== 0) throw fail(`record '${name}' is encrypted`, at);
  if (e.compressedSize !== e.uncompressedSize) throw fail(`record '${name}' is stored but its sizes differ (${e.compressedSize} and ${e.uncompressedSize})`, at);
  const head = Buffer.alloc(30);
  if (fs.readSync(fd, head, 0, 30, at) !== 30 || head.readUInt32LE(0) !== 0x04034b50) throw fail(`record '${name}' has no local file header where the zip directory says`, at);
  const offset = at + 30 + head.readUInt16LE(26) + head.readUInt16LE(28);
  if (offset + e.uncompressedSize > zip.size) throw fail(`record '${name}' (${e.uncompressedSize} bytes at ${offset}) runs past the end of the ${zip.size}-byte file`, at);
  return { name, offset, length: e.uncompressedSize };
}

/** A small record's bytes (data.pkl, byteorder, version), at most `cap`. */
export function readRecord(file: string, fd: number, rec: ZipRecord, cap: number): Buffer {
  if (rec.length > cap) throw new ModelFormatError(file, FORMAT, `record '${rec.name}' is ${rec.length} bytes, over the ${cap}-byte limit`, rec.offset);
  const out = Buffer.alloc(rec.length);
  let done = 0;
  while (done < rec.length) {
    const n = fs.readSync(fd, out, done, rec.length - done, rec.offset + done);
    if (n <= 0) throw new ModelFormatError(file, FORMAT, `record '${rec.name}' ends early`, rec.offset + done);
    done += n;
  }
  return out;
}
