// A safetensors file laid out by hand, as the format's spec and `save_file`
// lay it out (8-byte little-endian header length, the JSON header padded
// with spaces to a multiple of 8, the tensors' bytes back to back in the
// order given), for tests that need a checkpoint the corpus lacks. It does
// not use the project's writer, so the reader is not tested against itself.
import * as fs from 'node:fs';

export interface HandWrittenTensor {
  name: string;
  /** The spec's name: F32, F16, ... */
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

export function writeSafetensors(file: string, tensors: HandWrittenTensor[]): void {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    at += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length))]));
}
