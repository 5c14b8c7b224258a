// Reads a GGUF file into the weight store: one TensorRef per tensor info,
// its bytes a range at the data offset plus the tensor's offset; shapes in
// row-major order (ggml's dims reversed: token_embd [n_vocab, n_embd], as
// in the checkpoint it came from). Names stay GGUF's (`blk.0.attn_q.weight`).
// An `output.weight` the file leaves out, for an architecture whose
// llama.cpp loader re-creates it from `token_embd.weight`, is an omission tie.
import * as path from 'node:path';
import type { OpenOptions } from '../format';
import { ShapeTable } from '../shapes';
import { NO_CONSUMERS, type ModelFile, type TensorRef, type TieRecord } from '../types';
import { FILE_TYPES, OUTPUT, OUTPUT_FALLS_BACK_TO_TOKEN_EMBD, TOKEN_EMBD } from './architectures';
import { ggmlLabel } from './ggmlTypes';
import { readGgufHeader, typeName, type GgufHeader, type GgufScalar, type GgufValue } from './header';

const FORMAT = 'gguf';

function scalarText(v: GgufScalar): string {
  return typeof v === 'string' ? v : String(v);
}

/** A metadata value as the Model tab and the report show it; long arrays by their length only. */
export function valueText(v: GgufValue): string {
  if (v.kind === 'scalar') return scalarText(v.value);
  if (v.values) return `[${v.values.map((x) => (typeof x === 'string' ? JSON.stringify(x) : scalarText(x))).join(', ')}]`;
  return `[${v.length} ${typeName(v.elementType)} values, not shown]`;
}

export function kvValue(h: GgufHeader, key: string): GgufValue | undefined {
  return h.kvs.find((k) => k.key === key)?.value;
}

function scalar(h: GgufHeader, key: string): GgufScalar | undefined {
  const v = kvValue(h, key);
  return v?.kind === 'scalar' ? v.value : undefined;
}

export function architectureOf(h: GgufHeader): string | undefined {
  const a = scalar(h, 'general.architecture');
  return typeof a === 'string' ? a : undefined;
}

function facts(h: GgufHeader): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const arch = architectureOf(h);
  const add = (label: string, v: GgufScalar | undefined) => { if (v !== undefined) out.push([label, scalarText(v)]); };
  add('Architecture', arch);
  add('Name', scalar(h, 'general.name'));
  if (arch) {
    add('Context length', scalar(h, `${arch}.context_length`));
    add('Embedding length', scalar(h, `${arch}.embedding_length`));
    add('Block count', scalar(h, `${arch}.block_count`));
  }
  const ft = scalar(h, 'general.file_type');
  if (ft !== undefined) out.push(['File type', `${FILE_TYPES[Number(ft)] ?? 'unknown'} (${scalarText(ft)})`]);
  const tokens = kvValue(h, 'tokenizer.ggml.tokens');
  const vocab = tokens?.kind === 'array' ? tokens.length : arch ? scalar(h, `${arch}.vocab_size`) : undefined;
  add('Vocabulary size', vocab);
  add('Tokenizer', scalar(h, 'tokenizer.ggml.model'));
  const types = new Map<string, number>();
  for (const t of h.tensors) types.set(ggmlLabel(t.type), (types.get(ggmlLabel(t.type)) ?? 0) + 1);
  out.push(['Tensors', `${h.tensors.length} (${[...types].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'})`]);
  out.push(['Alignment', String(h.alignment)]);
  out.push(['GGUF version', String(h.version)]);
  return out;
}

/** Scalar metadata as strings; arrays longer than DECODED_ARRAY_MAX by their length ("[151936 string values, not shown]"). */
function metadataOf(h: GgufHeader): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const kv of h.kvs) out[kv.key] = valueText(kv.value);
  return out;
}

export function tensorsOf(h: GgufHeader): TensorRef[] {
  const shapes = new ShapeTable();
  return h.tensors.map((info): TensorRef => ({
    id: info.name, name: info.name, role: 'parameter', dtype: info.type.name,
    shape: shapes.of([...info.dims].reverse()), elementCount: info.elementCount, byteLength: info.byteLength,
    data: { kind: 'range', file: h.file, offset: h.dataOffset + info.offset, length: info.byteLength },
    recordOffset: info.infoOffset, graphPath: '', isGraphInput: false, consumers: NO_CONSUMERS,
  }));
}

/** True when llama.cpp loads this architecture's missing `output.weight` from `token_embd.weight`. */
export function reTiesOutput(arch: string | undefined): boolean {
  return arch !== undefined && OUTPUT_FALLS_BACK_TO_TOKEN_EMBD.has(arch);
}

/** One file of a model split by llama.cpp's gguf-split (split.count > 1): its other files hold the rest. */
function splitOf(h: GgufHeader): { no: number; count: number; tensors?: number } | undefined {
  const count = Number(scalar(h, 'split.count') ?? 1);
  if (!(count > 1)) return undefined;
  const total = scalar(h, 'split.tensors.count');
  return { no: Number(scalar(h, 'split.no') ?? 0), count, tensors: total === undefined ? undefined : Number(total) };
}

function omissionTie(h: GgufHeader, tensors: TensorRef[]): TieRecord | undefined {
  const arch = architectureOf(h);
  // In one file of a split model, output.weight may be in another file.
  if (splitOf(h) || !reTiesOutput(arch) || tensors.some((t) => t.name === OUTPUT)) return undefined;
  const kept = tensors.find((t) => t.name === TOKEN_EMBD);
  if (!kept) return undefined;
  const tensor: TensorRef = {
    ...kept, id: OUTPUT, name: OUTPUT, recordOffset: undefined,
    data: { kind: 'unavailable', reason: `not stored: llama.cpp's ${arch} loader uses '${TOKEN_EMBD}' when '${OUTPUT}' is absent` },
  };
  return { tiedBy: 'omission', kept, tied: [{ tensor, stored: false, ops: [] }] };
}

/**
 * llama.cpp's loader (ggml/src/gguf.cpp) wants tensor data back to back in
 * tensor-info order, each padded to the alignment, and refuses any other
 * layout; the format itself allows it, so such a file is read, with a warning.
 */
function layoutWarning(h: GgufHeader): string | undefined {
  let expected = 0;
  for (const t of h.tensors) {
    if (t.offset !== expected) {
      return `llama.cpp would refuse this file: tensor '${t.name}' has data offset ${t.offset}, where llama.cpp expects ${expected} `
        + '(tensors back to back in the order listed, each padded to the alignment)';
    }
    expected += Math.ceil(t.byteLength / h.alignment) * h.alignment;
  }
  return undefined;
}

function splitWarning(h: GgufHeader): string | undefined {
  const s = splitOf(h);
  if (!s) return undefined;
  return `file ${s.no + 1} of a model split in ${s.count} files${s.tensors === undefined ? '' : ` (${s.tensors} tensors in all)`}: `
    + 'only this file\'s tensors are read, so copies and ties across the files are not found';
}

export async function openGguf(target: string, _options: OpenOptions): Promise<ModelFile> {
  const file = path.resolve(target);
  const h = readGgufHeader(file);
  const tensors = tensorsOf(h);
  const tie = omissionTie(h, tensors);
  return {
    path: file,
    format: FORMAT,
    files: [file],
    fileSize: h.fileSize,
    metadata: metadataOf(h),
    facts: facts(h),
    tensors,
    ties: tie ? [tie] : [],
    warnings: [layoutWarning(h), splitWarning(h)].filter((w): w is string => w !== undefined),
  };
}
