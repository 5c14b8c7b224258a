// Writes safetensors checkpoints: the shared copy `apply` makes (each
// duplicated tensor stored once, every dropped name recorded in
// __metadata__, see records.ts) and the full checkpoint `restore` gives back.
// A single file becomes NAME.shared.safetensors; a sharded folder becomes a
// new folder with the same shard names, a new index and the folder's other
// files (config.json, tokenizer) copied. Bytes stream from the input through
// the atomic writer's bounded buffer; nothing is written over an input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { atomicWrite, atomicWriteFolder, type OutputFile, type Piece } from '../../io/atomicWrite';
import { DerivedBytes } from '../../io/derivedBytes';
import { FileSet } from '../../io/fileSet';
import type { ModelWriter, Realised, WriteOptions, WriteResult } from '../format';
import { singleRange, type ModelFile, type TensorRef } from '../types';
import { isOutputEmbedding } from './config';
import { encodeSafetensorsHeader, SAFETENSORS_DTYPES, safetensorsDtypeName, writerOrder, type SafetensorsHeader } from './header';
import { INDEX_NAME, readLayout, type SafetensorsLayout } from './reader';
import { DERIVED_KEY, TIES_KEY, decodeDropRecords, encodeDropRecords, withoutDropRecords, type DropRecord } from './records';
import { setOwn } from '../../util/ownKeys';

/** Extensions of weight files a folder copy must not carry along (they are other formats' copies of the weights). */
const WEIGHT_EXTENSIONS = new Set(['.safetensors', '.bin', '.pt', '.pth', '.ckpt', '.onnx', '.gguf', '.h5', '.msgpack', '.data', '.pb', '.tflite', '.ot']);

/** One output file's tensors, in the order written. */
interface ShardPlan {
  header: SafetensorsHeader;
  /** File name inside an output folder (unused when one file is written). */
  name: string;
  entries: Array<{ name: string; tensor: TensorRef; piece: Piece; stDtype: string; shape: readonly number[]; length: number }>;
  metadata?: Record<string, string>;
}

function stName(t: TensorRef): string {
  const n = safetensorsDtypeName(t.dtype);
  if (n === undefined) throw new Error(`internal: '${t.name}' has no safetensors dtype (${t.dtype})`);
  return n;
}

/** The shard header a tensor was read from (its byte range's file). */
function shardOf(layout: SafetensorsLayout, t: TensorRef): SafetensorsHeader {
  const file = singleRange(t.data)?.file;
  const h = layout.shards.find((s) => s.file === file);
  if (!h) throw new Error(`internal: '${t.name}' is not in any shard of ${layout.target}`);
  return h;
}

function headerBytes(plan: ShardPlan): Uint8Array {
  let at = 0;
  return encodeSafetensorsHeader(plan.metadata, plan.entries.map((e) => {
    const entry = { name: e.name, stDtype: e.stDtype, shape: e.shape, begin: at, end: at + e.length };
    at += e.length;
    return entry;
  }));
}

function pieces(plan: ShardPlan): Piece[] {
  return [headerBytes(plan), ...plan.entries.map((e) => e.piece)];
}

function rangePiece(t: TensorRef): Piece {
  const range = singleRange(t.data);
  if (!range) throw new Error(`internal: '${t.name}' is not one byte range`);
  return range;
}

/** The folder's other files (config, tokenizer, README), copied as they are. */
function companions(layout: SafetensorsLayout): OutputFile[] {
  const skip = new Set([...layout.shards.map((s) => path.basename(s.file)), ...(layout.index ? [path.basename(layout.index.file)] : [])]);
  const out: OutputFile[] = [];
  for (const name of fs.readdirSync(layout.dir).sort()) {
    if (skip.has(name) || name.startsWith('.') || WEIGHT_EXTENSIONS.has(path.extname(name).toLowerCase())) continue;
    const file = path.join(layout.dir, name);
    const st = fs.lstatSync(file);
    if (!st.isFile()) continue; // links and folders stay behind: a copy holds only what the folder itself holds
    out.push({ target: name, pieces: [{ file, offset: 0, length: st.size }] });
  }
  return out;
}

/** The index of a sharded output: the input's, with the weight map and sizes of what is written. */
function indexFor(layout: SafetensorsLayout, plans: ShardPlan[]): Uint8Array {
  const json: Record<string, unknown> = { ...layout.index!.json };
  const weightMap: Record<string, string> = {};
  let bytes = 0;
  let parameters = 0;
  for (const p of plans) for (const e of p.entries) {
    setOwn(weightMap, e.name, p.name);
    bytes += e.length;
    parameters += e.shape.reduce((a, b) => a * b, 1);
  }
  json.weight_map = weightMap;
  if (typeof json.metadata === 'object' && json.metadata !== null) {
    const metadata = { ...(json.metadata as Record<string, unknown>) };
    if ('total_size' in metadata) metadata.total_size = bytes;
    if ('total_parameters' in metadata) metadata.total_parameters = parameters;
    json.metadata = metadata;
  }
  // transformers writes the index with sorted keys and two-space indents.
  return Buffer.from(`${JSON.stringify(sortKeys(json), null, 2)}\n`, 'utf8');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
}

/** A checkpoint opened as a folder (or by its index) is written as a new folder; a file opened alone as a file. */
function writesFolder(target: string): boolean {
  return path.basename(target) === INDEX_NAME || fs.statSync(target).isDirectory();
}

async function writePlans(layout: SafetensorsLayout, plans: ShardPlan[], output: string, model: ModelFile, options: WriteOptions): Promise<WriteResult> {
  const common = { inputs: model.files, signal: options.signal, onProgress: options.onProgress, overwrite: options.overwrite, onCommitted: options.onCommitted };
  if (!writesFolder(layout.target)) {
    await atomicWrite(output, pieces(plans[0]!), common);
    return { output, files: [output], notes: [], details: {} };
  }
  const files: OutputFile[] = [
    ...plans.map((p) => ({ target: p.name, pieces: pieces(p) })),
    ...(layout.index ? [{ target: path.basename(layout.index.file), pieces: [indexFor(layout, plans)] }] : []),
    ...companions(layout),
  ];
  await atomicWriteFolder(output, files, common);
  const notes = layout.index ? [`${plans.length} shards and a new ${path.basename(layout.index.file)}`] : [];
  return { output, files: files.map((f) => path.join(output, f.target)), notes, details: {} };
}

function withRecords(metadata: Record<string, string> | undefined, drops: DropRecord[]): Record<string, string> | undefined {
  if (drops.length === 0) return metadata;
  // Drops recorded by an earlier apply stay recorded.
  const earlier = decodeDropRecords(metadata).drops;
  return { ...withoutDropRecords(metadata), ...encodeDropRecords([...earlier, ...drops]) };
}

export const safetensorsWriter: ModelWriter = {
  defaultOutput(model) {
    const target = path.resolve(model.path);
    if (writesFolder(target)) {
      const dir = fs.statSync(target).isDirectory() ? target : path.dirname(target);
      return path.join(path.dirname(dir), `${path.basename(dir)}.shared`);
    }
    return path.join(path.dirname(target), `${path.basename(target).replace(/\.safetensors$/i, '')}.shared.safetensors`);
  },
  realiser: () => ({
    // Keep the input embedding: loaders re-create the output one from it.
    keepRank: (t) => [isOutputEmbedding(t.name) ? 1 : 0],
    realise: (d): Realised => ({
      ...d,
      how: d.ops.length === 0 ? `dropped, recorded in __metadata__ ${TIES_KEY}` : `dropped, recorded as ${d.ops.join(' + ')} in __metadata__ ${DERIVED_KEY}`,
    }),
  }),
  recordsDrops: true,
  async write(model, decisions, output, options) {
    const layout = readLayout(model.path, options);
    const dropped = new Map(decisions.map((d) => [d.dropped, d]));
    const plans: ShardPlan[] = layout.shards.map((h) => ({ header: h, name: path.basename(h.file), entries: [], metadata: h.metadata }));
    const drops = new Map<SafetensorsHeader, DropRecord[]>();
    for (const t of model.tensors) {
      const h = shardOf(layout, t);
      const d = dropped.get(t);
      if (d) {
        const list = drops.get(h) ?? [];
        list.push({ dropped: t.name, kept: d.kept.name, ops: d.ops, stDtype: stName(t), shape: t.shape });
        drops.set(h, list);
        continue;
      }
      plans[layout.shards.indexOf(h)]!.entries.push({ name: t.name, tensor: t, piece: options.replaceData?.get(t) ?? rangePiece(t), stDtype: stName(t), shape: t.shape, length: t.byteLength });
    }
    for (const p of plans) p.metadata = withRecords(p.header.metadata, drops.get(p.header) ?? []);
    return writePlans(layout, plans, output, model, options);
  },
  loadingNote(decisions, model) {
    const byConfig = model.facts.some(([k, v]) => k === 'tie_word_embeddings' && v.startsWith('true'));
    const reTied = decisions.filter((d) => byConfig && d.ops.length === 0 && isOutputEmbedding(d.dropped.name));
    const others = decisions.filter((d) => !reTied.includes(d));
    const parts: string[] = [];
    if (reTied.length) parts.push(`transformers re-creates ${reTied.map((d) => d.dropped.name).join(', ')} by itself (config.json ties the embeddings)`);
    if (others.length) {
      parts.push(`${others.length} other dropped tensor${others.length === 1 ? '' : 's'} must be re-tied by the loader `
        + `(see __metadata__ ${TIES_KEY} / ${DERIVED_KEY}), or run \`weight-sharing restore SHARED -o FULL\` to write the full checkpoint back, bit for bit`);
    }
    return parts.length ? `loading: ${parts.join('; ')}.` : undefined;
  },
};

/** The full checkpoint from a shared copy: recorded drops rebuilt in place, records removed, tensors in the reference writer's order. */
export async function restoreSafetensors(model: ModelFile, output: string, options: WriteOptions): Promise<WriteResult> {
  const layout = readLayout(model.path, options);
  const byName = new Map(model.tensors.map((t) => [t.name, t]));
  const files = new FileSet();
  try {
    const plans: ShardPlan[] = layout.shards.map((h) => {
      const { drops, problems } = decodeDropRecords(h.metadata);
      if (problems.length) throw new Error(`${h.file}: ${problems.join('; ')}`);
      const entries: ShardPlan['entries'] = [];
      for (const t of model.tensors) {
        if (shardOf(layout, t) === h) entries.push({ name: t.name, tensor: t, piece: rangePiece(t), stDtype: stName(t), shape: t.shape, length: t.byteLength });
      }
      for (const d of drops) {
        const kept = byName.get(d.kept);
        if (!kept) throw new Error(`${h.file}: '${d.dropped}' is recorded as a copy of '${d.kept}', which is not stored`);
        if (d.ops.length === 0) {
          entries.push({ name: d.dropped, tensor: kept, piece: rangePiece(kept), stDtype: stName(kept), shape: kept.shape, length: kept.byteLength });
        } else {
          const stDtype = d.stDtype!;
          if (!Object.hasOwn(SAFETENSORS_DTYPES, stDtype)) throw new Error(`${h.file}: '${d.dropped}' is recorded with an unknown dtype '${stDtype}'`);
          const source = new DerivedBytes(files, kept, d.ops, SAFETENSORS_DTYPES[stDtype]!.dtype, d.shape!);
          entries.push({ name: d.dropped, tensor: kept, piece: source, stDtype, shape: d.shape!, length: source.length });
        }
      }
      entries.sort(writerOrder);
      return { header: h, name: path.basename(h.file), entries, metadata: emptyToUndefined(withoutDropRecords(h.metadata)) };
    });
    return await writePlans(layout, plans, output, model, options);
  } finally {
    files.close();
  }
}

function emptyToUndefined(m: Record<string, string> | undefined): Record<string, string> | undefined {
  return m && Object.keys(m).length > 0 ? m : undefined;
}
