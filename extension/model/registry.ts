// The only way in to the format modules: picks one for a file by magic bytes
// first (cheap, reliable), then by extension, and for a folder by what it
// holds (a Hugging Face checkpoint folder is one model). Formats the project
// knows but cannot read yet are recognised so the user gets a clear "not
// supported yet" error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FormatModule, OpenOptions } from './format';
import { ModelFormatError, type ModelFile } from './types';
import { onnxFormat } from './onnx/index';
import { safetensorsFormat } from './safetensors/index';
import { ggufFormat } from './gguf/index';
import { pytorchFormat } from './pytorch/index';

/** Readable formats, in matching order. */
export const FORMATS: readonly FormatModule[] = [safetensorsFormat, onnxFormat, ggufFormat, pytorchFormat];

/** Recognised, not readable yet. */
const KNOWN: Array<Pick<FormatModule, 'format' | 'extensions' | 'match'>> = [
];

/** Extensions of the formats the registry knows, readable or not (for folder scans: a `.gguf` there gets a clear "not supported yet"). */
export const MODEL_EXTENSIONS = [...FORMATS, ...KNOWN].flatMap((f) => f.extensions);

const HEAD_BYTES = 64;

export type OpenModelOptions = OpenOptions;

/** The format a file appears to be in, or undefined. Reads at most 64 bytes. */
export function detectFormat(file: string): string | undefined {
  return pick(file, readHead(file))?.format;
}

/** The readable format module for a folder that is one model (e.g. a Hugging Face checkpoint folder). */
export function folderFormat(dir: string): FormatModule | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return undefined;
  }
  return FORMATS.find((f) => f.matchFolder?.(names));
}

export async function openModel(target: string, opts: OpenModelOptions = {}): Promise<ModelFile> {
  let st: fs.Stats;
  try {
    st = fs.statSync(target);
  } catch (e) {
    throw new ModelFormatError(target, 'unknown', `cannot open: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : (e as Error).message}`);
  }
  if (st.isDirectory()) {
    const module = folderFormat(target);
    if (!module) throw new ModelFormatError(target, 'unknown', 'this folder is not one model (no model.safetensors or model.safetensors.index.json)');
    return module.open(target, opts);
  }
  const entry = pick(target, readHead(target));
  if (!entry) throw new ModelFormatError(target, 'unknown', `not a recognised model file (expected ${FORMATS.map((f) => f.label).join(' or ')})`, 0);
  if (!('open' in entry)) throw new ModelFormatError(target, entry.format, `${entry.format} files are not supported yet (${FORMATS.map((f) => f.label).join(' and ')} are)`);
  return entry.open(target, opts);
}

/** The module that read `model`. */
export function formatOf(model: ModelFile): FormatModule {
  const module = FORMATS.find((f) => f.format === model.format);
  if (!module) throw new Error(`internal: no format module '${model.format}'`);
  return module;
}

function pick(file: string, head: Uint8Array): FormatModule | (typeof KNOWN)[number] | undefined {
  const name = path.basename(file);
  const all = [...FORMATS, ...KNOWN];
  const byMagic = all.find((f) => f.match(head, name));
  if (byMagic) return byMagic;
  const ext = path.extname(file).toLowerCase();
  return all.find((f) => f.extensions.includes(ext));
}

/**
 * The first bytes of a regular file. Anything else (a FIFO, a device, a
 * socket) is refused before a read could block on it.
 */
function readHead(file: string): Uint8Array {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new ModelFormatError(file, 'unknown', `cannot open: ${(e as Error).message}`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new ModelFormatError(file, 'unknown', 'not a regular file (a pipe, device or socket): only model files are read');
    const head = Buffer.alloc(HEAD_BYTES);
    const n = fs.readSync(fd, head, 0, HEAD_BYTES, 0);
    return head.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}
