// A PyTorch checkpoint rewritten as a deduplicated safetensors file (the
// conversion that safetensors' own save refuses with "Some tensors share
// memory"): each weight stored once. Names on one storage view are written
// once under the kept name, the others recorded as the safetensors writer
// records its drops (weight_sharing.ties in __metadata__, records.ts), and
// so are the copies apply decided to drop; `restore` then gives every tensor
// back bit for bit. Bytes stream from the checkpoint's storages through the
// atomic writer; the output never replaces the input.
import * as path from 'node:path';
import { atomicWrite, type Piece } from '../../io/atomicWrite';
import type { ModelWriter, Realised } from '../format';
import { ModelFormatError, singleRange, type ModelFile, type TensorRef } from '../types';
import { isOutputEmbedding } from '../safetensors/config';
import { encodeSafetensorsHeader, safetensorsDtypeName } from '../safetensors/header';
import { DERIVED_KEY, TIES_KEY, encodeDropRecords, type DropRecord } from '../safetensors/records';

/** Equal for names that are one weight: one storage, offset, dtype, shape and strides. */
function viewKey(t: TensorRef): string | undefined {
  const s = t.storage;
  return s ? `${s.key}\u0000${s.offset}\u0000${t.dtype}\u0000${t.shape.join(',')}\u0000${s.strides?.join(',') ?? ''}` : undefined;
}

const keepRank = (t: TensorRef) => (isOutputEmbedding(t.name) ? 1 : 0);

function bigEndian(model: ModelFile): boolean {
  return model.metadata.byteorder === 'big';
}

const BIG_ENDIAN = 'the checkpoint\'s tensor bytes are big-endian (its byteorder record): safetensors is little-endian, and byte-swapping on write is not supported';

/** For each name that aliases another's storage view: the name written in its place. */
export function storageAliases(model: ModelFile): Map<TensorRef, TensorRef> {
  const groups = new Map<string, TensorRef[]>();
  for (const t of model.tensors) {
    const k = viewKey(t);
    if (k === undefined) continue;
    const list = groups.get(k);
    if (list) list.push(t); else groups.set(k, [t]);
  }
  const out = new Map<TensorRef, TensorRef>();
  for (const list of groups.values()) {
    if (list.length < 2) continue;
    const kept = list.reduce((a, b) => (keepRank(b) < keepRank(a) ? b : a));
    for (const t of list) if (t !== kept) out.set(t, kept);
  }
  return out;
}

function stName(t: TensorRef): string {
  const n = safetensorsDtypeName(t.dtype);
  if (n === undefined) throw new Error(`'${t.name}' is ${t.dtype}, which safetensors cannot hold`);
  return n;
}

export function sharedOutputName(input: string): string {
  return path.join(path.dirname(input), `${path.basename(input).replace(/\.(bin|pt|pth|ckpt)$/i, '')}.shared.safetensors`);
}

export const pytorchWriter: ModelWriter = {
  defaultOutput: (model) => sharedOutputName(path.resolve(model.path)),
  realiser: (model) => ({
    keepRank: (t) => [keepRank(t)],
    realise: (d): Realised | string => (bigEndian(model) ? BIG_ENDIAN : {
      ...d,
      how: d.ops.length === 0 ? `dropped, recorded in __metadata__ ${TIES_KEY}` : `dropped, recorded as ${d.ops.join(' + ')} in __metadata__ ${DERIVED_KEY}`,
    }),
  }),
  recordsDrops: true,
  convertsFormat: true,
  async write(model, decisions, output, options) {
    if (bigEndian(model)) throw new ModelFormatError(model.path, model.format, BIG_ENDIAN);
    const aliases = storageAliases(model);
    const resolve = (t: TensorRef) => aliases.get(t) ?? t;
    // A decision drops the weight: every name on its storage view goes with it.
    const dropped = new Map<TensorRef, Realised>();
    const members = new Map<TensorRef, TensorRef[]>();
    for (const [a, k] of aliases) members.set(k, [...(members.get(k) ?? [k]), a]);
    for (const d of decisions) for (const t of members.get(resolve(d.dropped)) ?? [d.dropped]) dropped.set(t, d);
    const drops: DropRecord[] = [];
    const entries: Array<{ name: string; stDtype: string; shape: readonly number[]; piece: Piece; length: number }> = [];
    for (const t of model.tensors) {
      const d = dropped.get(t);
      if (d) { drops.push({ dropped: t.name, kept: resolve(d.kept).name, ops: d.ops, stDtype: stName(t), shape: t.shape }); continue; }
      const alias = aliases.get(t);
      if (alias) { drops.push({ dropped: t.name, kept: alias.name, ops: [] }); continue; }
      const replaced = options.replaceData?.get(t);
      const stored = t.data.kind === 'inline' ? t.data.bytes : singleRange(t.data);
      const piece: Piece | undefined = replaced ?? stored;
      if (!piece) throw new ModelFormatError(model.path, model.format, `'${t.name}' cannot be written to safetensors: ${t.data.kind === 'unavailable' ? t.data.reason : 'its bytes are not one range'}`);
      entries.push({ name: t.name, stDtype: stName(t), shape: t.shape, piece, length: t.byteLength });
    }
    let at = 0;
    const header = encodeSafetensorsHeader({ format: 'pt', ...encodeDropRecords(drops) }, entries.map((e) => {
      const entry = { name: e.name, stDtype: e.stDtype, shape: e.shape, begin: at, end: at + e.length };
      at += e.length;
      return entry;
    }));
    await atomicWrite(output, [header, ...entries.map((e) => e.piece)], {
      inputs: model.files, signal: options.signal, onProgress: options.onProgress, overwrite: options.overwrite, onCommitted: options.onCommitted,
    });
    const notes = [`written as safetensors: ${entries.length} tensors stored once each`];
    if (aliases.size) notes.push(`${aliases.size} name${aliases.size === 1 ? '' : 's'} sharing a storage with another (${[...aliases.keys()].slice(0, 4).map((t) => t.name).join(', ')}) recorded in __metadata__ ${TIES_KEY}, not stored twice`);
    return { output, files: [output], notes, details: { storageAliases: Object.fromEntries([...aliases].map(([a, k]) => [a.name, k.name])) } };
  },
  loadingNote(decisions, model) {
    const aliases = storageAliases(model);
    const names = [...aliases.keys(), ...decisions.map((d) => d.dropped)].map((t) => t.name);
    const byConfig = model.facts.some(([k, v]) => k === 'tie_word_embeddings' && v.startsWith('true'));
    const reTied = names.filter((n) => byConfig && isOutputEmbedding(n));
    const others = names.filter((n) => !reTied.includes(n));
    const parts = ['the output is a safetensors file (name it model.safetensors beside config.json for transformers)'];
    if (reTied.length) parts.push(`transformers re-ties ${reTied.join(', ')} by itself (config.json beside the checkpoint ties the embeddings)`);
    if (others.length) {
      parts.push(`${others.length} other dropped name${others.length === 1 ? '' : 's'} (${others.slice(0, 4).join(', ')}${others.length > 4 ? ', ...' : ''}) must be re-tied by the loader `
        + `(see __metadata__ ${TIES_KEY} / ${DERIVED_KEY}), or run \`weight-sharing restore SHARED -o FULL\` to write every tensor back, bit for bit`);
    }
    return `loading: ${parts.join('; ')}.`;
  },
};
