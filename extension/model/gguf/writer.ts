// Writes the shared copy of a GGUF file. The one sharing GGUF can express
// is an omitted `output.weight`: llama.cpp's loader re-creates it from
// `token_embd.weight` for the architectures listed in architectures.ts. So a
// decision is realised only when it drops `output.weight` as a byte-identical
// copy (same type and shape) of `token_embd.weight` in such an architecture;
// anything else is declined with the reason.
//
// The output keeps the header's version, every metadata pair (copied byte
// for byte from the input), the alignment and every other tensor in its
// order; tensor infos are re-encoded with offsets recomputed the way
// llama.cpp lays them out (each tensor padded to the alignment). Tensor
// bytes stream from the input through the atomic writer's bounded buffer.
// The reader turns the omission back into a tie, which is how apply proves
// the dropped name is recoverable (see sharing/recovery.ts).
import * as path from 'node:path';
import { atomicWrite, type Piece } from '../../io/atomicWrite';
import type { ModelWriter, Realised, WriteOptions, WriteResult } from '../format';
import { singleRange, type ModelFile, type TensorRef } from '../types';
import { OUTPUT, TOKEN_EMBD } from './architectures';
import { GGUF_MAGIC, readGgufHeader, type GgufHeader, type GgufTensorInfo } from './header';
import { reTiesOutput } from './reader';

const HOW = `omitted: llama.cpp re-creates ${OUTPUT} from ${TOKEN_EMBD}`;
/** Magic, version and the two counts. */
const KV_START = 24;

function sameLayout(a: TensorRef, b: TensorRef): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((n, i) => n === b.shape[i]);
}

function architecture(model: ModelFile): string | undefined {
  return model.metadata['general.architecture'];
}

/** Why `dropped` cannot go from a GGUF file, or undefined when it can. */
function declined(model: ModelFile, kept: TensorRef, dropped: TensorRef, ops: readonly string[]): string | undefined {
  if (dropped.name !== OUTPUT || kept.name !== TOKEN_EMBD) {
    return `GGUF has no way to store one tensor under two names: only ${OUTPUT} can be left out (llama.cpp then uses ${TOKEN_EMBD}), not '${dropped.name}'`;
  }
  if (ops.length > 0 || !sameLayout(kept, dropped)) return `${OUTPUT} is not a byte-identical copy of ${TOKEN_EMBD} (same type and shape), so leaving it out would change the model`;
  const arch = architecture(model);
  if (!reTiesOutput(arch)) return `llama.cpp's loader for '${arch ?? 'an unnamed architecture'}' does not fall back to ${TOKEN_EMBD} when ${OUTPUT} is missing`;
  return undefined;
}

function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: number): Uint8Array {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function tensorInfo(info: GgufTensorInfo, offset: number): Uint8Array[] {
  const name = Buffer.from(info.name, 'utf8');
  return [u64(name.length), name, u32(info.dims.length), ...info.dims.map(u64), u32(info.type.id), u64(offset)];
}

/** One tensor of an output file: its info as written, and where its bytes come from. */
interface OutputTensor {
  info: GgufTensorInfo;
  piece: Piece;
}

/**
 * Writes `h`'s header (version, metadata copied byte for byte, alignment)
 * with `tensors` in order, laid out as llama.cpp wants: offsets back to back
 * from 0, each tensor padded to the alignment.
 */
async function writeGguf(model: ModelFile, h: GgufHeader, tensors: OutputTensor[], output: string, options: WriteOptions): Promise<void> {
  const pad = (n: number) => Math.ceil(n / h.alignment) * h.alignment;
  const zeros = new Uint8Array(h.alignment);
  const infos: Uint8Array[] = [];
  const data: Piece[] = [];
  let offset = 0;
  for (const { info, piece } of tensors) {
    infos.push(...tensorInfo(info, offset));
    data.push(piece);
    const end = offset + info.byteLength;
    if (pad(end) > end) data.push(zeros.subarray(0, pad(end) - end));
    offset = pad(end);
  }
  const head = [u32(GGUF_MAGIC), u32(h.version), u64(tensors.length), u64(h.kvs.length)];
  // Metadata pairs are copied as they are: the bytes between the counts and the first tensor info.
  const kvs: Piece = { file: h.file, offset: KV_START, length: h.infosStart - KV_START };
  const headerLength = KV_START + kvs.length + infos.reduce((n, b) => n + b.length, 0);
  const pieces: Piece[] = [...head, kvs, ...infos, zeros.subarray(0, pad(headerLength) - headerLength), ...data];
  await atomicWrite(output, pieces, { inputs: model.files, signal: options.signal, onProgress: options.onProgress, overwrite: options.overwrite, onCommitted: options.onCommitted });
}

function rangeOf(t: TensorRef | undefined, name: string, file: string): Piece {
  const range = t && singleRange(t.data);
  if (!range) throw new Error(`internal: '${name}' is not one byte range of ${file}`);
  return range;
}

export const ggufWriter: ModelWriter = {
  defaultOutput(model) {
    const file = path.resolve(model.path);
    return path.join(path.dirname(file), `${path.basename(file).replace(/\.gguf$/i, '')}.shared.gguf`);
  },
  realiser: (model) => ({
    keepRank: (t) => [t.name === OUTPUT ? 1 : 0],
    realise: (d): Realised | string => declined(model, d.kept, d.dropped, d.ops) ?? { ...d, how: HOW },
  }),
  // The omission is the record: reading the output gives an omission tie that apply checks byte for byte.
  recordsDrops: true,
  async write(model, decisions, output, options) {
    for (const d of decisions) {
      const why = declined(model, d.kept, d.dropped, d.ops);
      if (why) throw new Error(`internal: ${model.path}: ${why}`);
    }
    const h = readGgufHeader(model.path);
    const dropped = new Set(decisions.map((d) => d.dropped.name));
    const byName = new Map(model.tensors.map((t) => [t.name, t]));
    const tensors = h.tensors.filter((t) => !dropped.has(t.name)).map((info): OutputTensor => {
      const t = byName.get(info.name);
      return { info, piece: (t && options.replaceData?.get(t)) ?? rangeOf(t, info.name, model.path) };
    });
    await writeGguf(model, h, tensors, output, options);
    return { output, files: [output], notes: decisions.length ? [`${OUTPUT} left out (llama.cpp loads ${TOKEN_EMBD} in its place)`] : [], details: { omitted: [...dropped] } };
  },
  loadingNote: (decisions) => (decisions.length ? `loading: llama.cpp re-creates ${OUTPUT} from ${TOKEN_EMBD} by itself; nothing else is needed.` : undefined),
};

/**
 * The full file back from one whose output.weight is left out (by apply or
 * by the converter): output.weight stored again, a copy of
 * token_embd.weight's bytes, after the other tensors (where the converter
 * puts it); everything else as it is.
 */
export async function restoreGguf(model: ModelFile, output: string, options: WriteOptions): Promise<WriteResult> {
  const tie = model.ties.find((t) => t.tiedBy === 'omission');
  if (!tie) throw new Error(`${model.path}: no ${OUTPUT} is left out here, so there is nothing to restore`);
  const h = readGgufHeader(model.path);
  const embd = h.tensors.find((t) => t.name === tie.kept.name);
  if (!embd) throw new Error(`internal: ${model.path}: '${tie.kept.name}' is not in the header`);
  const byName = new Map(model.tensors.map((t) => [t.name, t]));
  const tensors: OutputTensor[] = h.tensors.map((info) => ({ info, piece: rangeOf(byName.get(info.name), info.name, model.path) }));
  tensors.push({ info: { ...embd, name: OUTPUT }, piece: rangeOf(tie.kept, tie.kept.name, model.path) });
  await writeGguf(model, h, tensors, output, options);
  return { output, files: [output], notes: [`${OUTPUT} stored again (a copy of ${TOKEN_EMBD})`], details: { restored: [OUTPUT] } };
}
