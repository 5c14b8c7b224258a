// Opens a PyTorch checkpoint (.bin, .pt, .pth, .ckpt) into the weight
// store: the container (zip or legacy) gives the unpickled state dict and
// where its storages are; the tensors are laid out as byte ranges with their
// storage views; config.json beside the file says which embedding a
// transformers loader ties.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OpenOptions } from '../format';
import { placeInside } from '../../io/safePath';
import { DTYPE_SIZE, ModelFormatError, NO_CONSUMERS, type ModelFile, type TensorRef, type TieRecord } from '../types';
import { configTie, readHfConfig, tiesEmbeddings } from '../safetensors/config';
import { layoutTensors, FORMAT } from './layout';
import { stateDictTensors } from './stateDict';
import { asFormatError } from './unpickle';
import { readZipCheckpoint } from './zipCheckpoint';
import { readLegacyCheckpoint } from './legacy';
import type { CheckpointParts } from './parts';

export function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/** A pickle stream: PROTO 2-5 (the legacy format starts with one). */
export function isPickle(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5;
}

async function parts(file: string, fd: number, size: number): Promise<CheckpointParts> {
  const head = Buffer.alloc(4);
  const n = fs.readSync(fd, head, 0, 4, 0);
  if (isZip(head.subarray(0, n))) return readZipCheckpoint(file, fd, size);
  if (isPickle(head.subarray(0, n))) return readLegacyCheckpoint(file, fd, size);
  throw new ModelFormatError(file, FORMAT, 'not a PyTorch checkpoint: neither a zip archive (torch.save) nor a pickle stream (the legacy format)', 0);
}

export async function openPytorch(target: string, options: OpenOptions): Promise<ModelFile> {
  const file = path.resolve(target);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new ModelFormatError(file, FORMAT, `cannot open: ${(e as Error).message}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new ModelFormatError(file, FORMAT, 'not a regular file');
    const p = await parts(file, fd, st.size);
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted');
    const sd = asFormatError(file, p.base, p.where, () => stateDictTensors(p.root, 0));
    const layout = layoutTensors(file, sd.tensors, (ref) => p.locate(ref), (at) => p.base + at);
    const warnings = [...p.warnings, ...sd.warnings, ...layout.warnings];
    const facts: Array<[string, string]> = [...p.facts, ['Tensors', `${layout.tensors.length} on ${layout.storages} storage${layout.storages === 1 ? '' : 's'}`]];
    if (sd.wrapper) facts.push(['State dict', `read from the top-level key '${sd.wrapper}'`]);
    const dtypes = new Map<string, number>();
    for (const t of layout.tensors) dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
    facts.push(['Dtypes', [...dtypes].map(([d, k]) => `${d} ×${k}`).join(', ') || '—']);
    const metadata = { ...p.metadata, storages: String(layout.storages), ...(sd.wrapper ? { state_dict_key: sd.wrapper } : {}) };
    const ties = configTies(file, layout.tensors, facts, warnings, options);
    return { path: file, format: FORMAT, files: [file], fileSize: st.size, metadata, facts, tensors: layout.tensors, ties, warnings };
  } finally {
    fs.closeSync(fd);
  }
}

/** config.json beside the checkpoint: whether transformers ties the embeddings, and the output name it re-creates when the file does not store it. */
function configTies(file: string, tensors: TensorRef[], facts: Array<[string, string]>, warnings: string[], options: OpenOptions): TieRecord[] {
  const dir = path.dirname(file);
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile) || !placeInside(configFile, dir, options).ok) return [];
  const config = readHfConfig(configFile, warnings);
  if (!config) return [];
  if (config.architectures.length) facts.push(['Architecture', config.architectures.join(', ')]);
  const tie = tiesEmbeddings(config);
  facts.push(['tie_word_embeddings', `${tie.tied} (${tie.why})`]);
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const pair = configTie(config, new Set(byName.keys()));
  if (!pair) return [];
  const kept = byName.get(pair.input)!;
  const tensor: TensorRef = {
    id: pair.output, name: pair.output, role: 'parameter', dtype: kept.dtype, shape: kept.shape, elementCount: kept.elementCount,
    byteLength: Math.ceil(kept.elementCount * DTYPE_SIZE[kept.dtype]), data: { kind: 'unavailable', reason: `not stored: config.json ties it to '${pair.input}' (tie_word_embeddings)` },
    graphPath: '', isGraphInput: false, consumers: NO_CONSUMERS,
  };
  return [{ tiedBy: 'config', kept, tied: [{ tensor, stored: false, ops: [] }] }];
}
