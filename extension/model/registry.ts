// Picks a model reader for a file: by magic bytes first (cheap, reliable),
// then by extension. Only ONNX is read today; other formats the project
// knows are recognised so the user gets a clear "not supported yet" error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ModelFormatError, type ModelFile } from './types';
import { openOnnx } from './onnx/reader';

export interface OpenModelOptions {
  signal?: AbortSignal;
}

interface FormatEntry {
  format: string;
  extensions: string[];
  /** True when the first bytes say the file is of this format. */
  match(head: Uint8Array): boolean;
  open?: (file: string, opts: OpenModelOptions) => Promise<ModelFile>;
}

const FORMATS: FormatEntry[] = [
  {
    format: 'gguf',
    extensions: ['.gguf'],
    match: (h) => h.length >= 4 && h[0] === 0x47 && h[1] === 0x47 && h[2] === 0x55 && h[3] === 0x46, // 'GGUF'
  },
  {
    format: 'safetensors',
    extensions: ['.safetensors'],
    // u64 little-endian header length, then a JSON object.
    match: (h) => h.length >= 9 && h[8] === 0x7b && h[6] === 0 && h[7] === 0,
  },
  {
    format: 'pytorch',
    extensions: ['.pt', '.pth', '.bin', '.ckpt'],
    // A zip archive, or a bare pickle stream (protocol 2+).
    match: (h) => (h.length >= 4 && h[0] === 0x50 && h[1] === 0x4b && h[2] === 0x03 && h[3] === 0x04) || (h.length >= 2 && h[0] === 0x80 && h[1] >= 2 && h[1] <= 5),
  },
  {
    format: 'onnx',
    extensions: ['.onnx'],
    // No magic number: ModelProto almost always starts with ir_version
    // (field 1, varint) and never legitimately with anything but a field tag.
    match: (h) => h.length >= 2 && h[0] === 0x08 && h[1] >= 1 && h[1] <= 0x7f,
    open: (file, opts) => openOnnx(file, opts),
  },
];

/** Extensions the project's readers claim (for folder scans). */
export const MODEL_EXTENSIONS = FORMATS.flatMap((f) => f.extensions);

/** The format a file appears to be in, or undefined. Reads at most 16 bytes. */
export function detectFormat(file: string): string | undefined {
  return pick(file, readHead(file))?.format;
}

export async function openModel(file: string, opts: OpenModelOptions = {}): Promise<ModelFile> {
  const entry = pick(file, readHead(file));
  if (!entry) throw new ModelFormatError(file, 'unknown', 'not a recognised model file (expected ONNX)', 0);
  if (!entry.open) throw new ModelFormatError(file, entry.format, `${entry.format} files are not supported yet (only ONNX is)`);
  return entry.open(file, opts);
}

function pick(file: string, head: Uint8Array): FormatEntry | undefined {
  const byMagic = FORMATS.find((f) => f.match(head));
  if (byMagic) return byMagic;
  const ext = path.extname(file).toLowerCase();
  return FORMATS.find((f) => f.extensions.includes(ext));
}

function readHead(file: string): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new ModelFormatError(file, 'unknown', `cannot open: ${(e as Error).message}`);
  }
  try {
    const head = Buffer.alloc(16);
    const n = fs.readSync(fd, head, 0, 16, 0);
    return head.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}
