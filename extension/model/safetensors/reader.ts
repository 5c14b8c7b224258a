// Reads safetensors checkpoints into the weight store: one file, or a
// Hugging Face folder (config.json + model.safetensors, or shards listed by
// model.safetensors.index.json) as one model. Only headers are read; tensor
// bytes stay byte ranges. config.json's embedding tie and this tool's own
// drop records become TieRecords (names a loader re-creates).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OpenOptions } from '../format';
import { placeInside, type PathTrust } from '../../io/safePath';
import { DTYPE_SIZE, ModelFormatError, NO_CONSUMERS, type ModelFile, type TensorRef, type TieRecord } from '../types';
import { configTie, readHfConfig, tiesEmbeddings, type HfConfig } from './config';
import { readSafetensorsHeader, SAFETENSORS_DTYPES, type SafetensorsHeader } from './header';
import { decodeDropRecords } from './records';
import { getOwn, setOwn } from '../../util/ownKeys';
import { ShapeTable } from '../shapes';

const FORMAT = 'safetensors';
export const INDEX_NAME = 'model.safetensors.index.json';
export const SINGLE_NAME = 'model.safetensors';
const CONFIG_NAME = 'config.json';
const INDEX_CAP = 64 << 20;

export function isCheckpointFolder(names: readonly string[]): boolean {
  return names.includes(SINGLE_NAME) || names.includes(INDEX_NAME);
}

/** Where a checkpoint's parts are: its files' headers, and the index that lists shards. */
export interface SafetensorsLayout {
  /** What was opened (file or folder), absolute. */
  target: string;
  /** The folder holding it. */
  dir: string;
  /** One header per file, in index order (sorted shard names) or the single file. */
  shards: SafetensorsHeader[];
  /** The shard index, when sharded: its path and parsed JSON. */
  index?: { file: string; json: Record<string, unknown>; weightMap: Map<string, string> };
  /** config.json beside a Hugging Face checkpoint. */
  configFile?: string;
  /** .safetensors files in a sharded folder that its index does not list (loaders ignore them, and so does this reader). */
  unlisted?: string[];
}

export function readLayout(target: string, options: OpenOptions = {}): SafetensorsLayout {
  const abs = path.resolve(target);
  const st = fs.statSync(abs);
  if (st.isDirectory()) {
    // Files a folder holds are read only where they really are inside it (links resolved).
    if (fs.existsSync(path.join(abs, INDEX_NAME))) return sharded(abs, abs, member(abs, INDEX_NAME, options), options);
    if (fs.existsSync(path.join(abs, SINGLE_NAME))) return single(abs, member(abs, SINGLE_NAME, options), true, options);
    throw new ModelFormatError(abs, FORMAT, `no ${SINGLE_NAME} or ${INDEX_NAME} in this folder`);
  }
  if (path.basename(abs) === INDEX_NAME) return sharded(abs, path.dirname(abs), abs, options);
  // A Hugging Face folder's model.safetensors comes with its config.json.
  return single(abs, abs, path.basename(abs) === SINGLE_NAME, options);
}

/** A file of a checkpoint folder, refused when it is a link out of the folder, or not a regular file. */
function member(dir: string, name: string, trust: PathTrust): string {
  const file = path.join(dir, name);
  const placed = placeInside(file, dir, trust);
  if (!placed.ok) throw new ModelFormatError(file, FORMAT, placed.problem);
  return file;
}

function single(target: string, file: string, withConfig: boolean, trust: PathTrust): SafetensorsLayout {
  const dir = path.dirname(file);
  return { target, dir, shards: [readSafetensorsHeader(file)], configFile: withConfig ? configIn(dir, trust) : undefined };
}

/** config.json beside the checkpoint, when it is really a file of the folder. */
function configIn(dir: string, trust: PathTrust): string | undefined {
  const f = path.join(dir, CONFIG_NAME);
  return fs.existsSync(f) && placeInside(f, dir, trust).ok ? f : undefined;
}

function sharded(target: string, dir: string, indexFile: string, options: OpenOptions): SafetensorsLayout {
  const signal = options.signal;
  const fail = (problem: string) => new ModelFormatError(indexFile, FORMAT, problem);
  let st: fs.Stats;
  try {
    st = fs.statSync(indexFile);
  } catch {
    throw fail('cannot read the shard index');
  }
  if (!st.isFile()) throw fail('the shard index is not a regular file');
  if (st.size > INDEX_CAP) throw fail(`the shard index is ${st.size} bytes, over the ${INDEX_CAP}-byte limit`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (e) {
    throw fail(`not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('not a JSON object');
  const map = (json as Record<string, unknown>).weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw fail('no "weight_map" object');
  const weightMap = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== 'string' || shard === '') throw fail(`weight_map: '${name}' maps to ${JSON.stringify(shard)}, not a shard file name`);
    // Shards are files of this folder: a path that leads elsewhere is refused.
    if (shard !== path.basename(shard) || shard === '.' || shard === '..' || shard.includes('\0')) {
      throw fail(`weight_map: shard '${shard}' of '${name}' is not a file name in the checkpoint's folder`);
    }
    weightMap.set(name, shard);
  }
  const shardNames = [...new Set(weightMap.values())].sort();
  const shards: SafetensorsHeader[] = [];
  const holder = new Map<string, string>();
  for (const shard of shardNames) {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
    const file = path.join(dir, shard);
    const placed = placeInside(file, dir, options);
    if (!placed.ok && placed.problem === 'not found') {
      const listed = [...weightMap].filter(([, s]) => s === shard).length;
      throw fail(`shard '${shard}' (holding ${listed} tensor${listed === 1 ? '' : 's'} by the index) is missing`);
    }
    if (!placed.ok) throw new ModelFormatError(file, FORMAT, placed.problem);
    const header = readSafetensorsHeader(file);
    for (const e of header.entries) {
      const other = holder.get(e.name);
      if (other !== undefined) throw new ModelFormatError(file, FORMAT, `tensor '${e.name}' is also in shard '${other}'`, e.headerOffset);
      holder.set(e.name, shard);
      const listed = weightMap.get(e.name);
      if (listed === undefined) throw new ModelFormatError(file, FORMAT, `tensor '${e.name}' is not listed in ${INDEX_NAME}`, e.headerOffset);
      if (listed !== shard) throw new ModelFormatError(file, FORMAT, `tensor '${e.name}' is listed in ${INDEX_NAME} under shard '${listed}'`, e.headerOffset);
    }
    shards.push(header);
  }
  for (const [name, shard] of weightMap) {
    if (holder.get(name) !== shard) throw fail(`'${name}' is listed under shard '${shard}', which does not hold it`);
  }
  // transformers loads only what the index lists; say so when the folder holds more.
  const listed = new Set(shardNames);
  const unlisted = fs.readdirSync(dir).filter((n) => n.endsWith('.safetensors') && n !== SINGLE_NAME && !listed.has(n));
  return { target, dir, shards, index: { file: indexFile, json: json as Record<string, unknown>, weightMap }, configFile: configIn(dir, options), unlisted };
}

export async function openSafetensors(target: string, options: OpenOptions): Promise<ModelFile> {
  const layout = readLayout(target, options);
  const warnings: string[] = [];
  if (layout.unlisted?.length) warnings.push(`${layout.unlisted.join(', ')}: not listed in ${INDEX_NAME}, so not read (loaders ignore ${layout.unlisted.length === 1 ? 'it' : 'them'} too)`);
  const tensors: TensorRef[] = [];
  const byName = new Map<string, TensorRef>();
  const shapes = new ShapeTable();
  for (const h of layout.shards) {
    for (const e of h.entries) {
      const t: TensorRef = {
        id: e.name, name: e.name, role: 'parameter', dtype: e.dtype, shape: shapes.of(e.shape), elementCount: e.elementCount,
        byteLength: e.length, data: { kind: 'range', file: h.file, offset: e.offset, length: e.length },
        recordOffset: e.headerOffset, graphPath: '', isGraphInput: false, consumers: NO_CONSUMERS,
      };
      tensors.push(t);
      byName.set(e.name, t);
    }
  }

  const ties: TieRecord[] = [];
  const notStored = (name: string, like: { dtype: TensorRef['dtype']; shape: readonly number[] }, reason: string): TensorRef => {
    const elementCount = like.shape.reduce((a, b) => a * b, 1);
    const bytes = Math.ceil(elementCount * DTYPE_SIZE[like.dtype]);
    return {
      id: name, name, role: 'parameter', dtype: like.dtype, shape: like.shape, elementCount, byteLength: bytes,
      data: { kind: 'unavailable', reason }, graphPath: '', isGraphInput: false, consumers: NO_CONSUMERS,
    };
  };
  // Drops this tool recorded (a shared copy made by `apply`).
  for (const h of layout.shards) {
    const { drops, problems } = decodeDropRecords(h.metadata);
    for (const p of problems) warnings.push(`${path.basename(h.file)}: ${p}: those names cannot be restored`);
    for (const d of drops) {
      const kept = byName.get(d.kept);
      if (!kept) { warnings.push(`${path.basename(h.file)}: '${d.dropped}' is recorded as a copy of '${d.kept}', which is not stored`); continue; }
      const like = d.ops.length === 0 ? kept : { dtype: getOwn(SAFETENSORS_DTYPES, d.stDtype!)?.dtype ?? kept.dtype, shape: d.shape! };
      ties.push({ tiedBy: 'record', kept, tied: [{ tensor: notStored(d.dropped, like, `not stored: recorded as ${d.ops.length ? d.ops.join(' + ') + ' of' : 'a copy of'} '${d.kept}'`), stored: false, ops: d.ops }] });
    }
  }
  // The output embedding a loader re-creates from config.json.
  const facts: Array<[string, string]> = [];
  facts.push(['Files', layout.index ? `${layout.shards.length} shards` : path.basename(layout.shards[0]!.file)]);
  const config: HfConfig | undefined = layout.configFile ? readHfConfig(layout.configFile, warnings) : undefined;
  if (config) {
    if (config.architectures.length) facts.push(['Architecture', config.architectures.join(', ')]);
    if (config.modelType) facts.push(['Model type', config.modelType]);
    const tie = tiesEmbeddings(config);
    facts.push(['tie_word_embeddings', `${tie.tied} (${tie.why})`]);
    const recorded = new Set(ties.flatMap((t) => t.tied.map((x) => x.tensor.name)));
    const pair = configTie(config, new Set(byName.keys()));
    if (pair && !recorded.has(pair.output)) {
      const kept = byName.get(pair.input)!;
      ties.push({ tiedBy: 'config', kept, tied: [{ tensor: notStored(pair.output, kept, `not stored: config.json ties it to '${pair.input}' (tie_word_embeddings)`), stored: false, ops: [] }] });
    }
  }
  const dtypes = new Map<string, number>();
  for (const t of tensors) dtypes.set(t.dtype, (dtypes.get(t.dtype) ?? 0) + 1);
  facts.push(['Dtypes', [...dtypes].map(([d, n]) => `${d} ×${n}`).join(', ') || '—']);

  // config.json is part of a checkpoint folder (a folder apply copies it); beside a file opened alone it is only read.
  const ownsConfig = layout.configFile !== undefined && (layout.index !== undefined || layout.target === layout.dir);
  const files = [...(layout.index ? [layout.index.file] : []), ...(ownsConfig ? [layout.configFile!] : []), ...layout.shards.map((h) => h.file)];
  const metadata: Record<string, string> = {};
  const source = layout.index ? (layout.index.json.metadata as Record<string, unknown> | undefined) : layout.shards[0]!.metadata;
  if (source && typeof source === 'object') for (const [k, v] of Object.entries(source)) setOwn(metadata, k, typeof v === 'string' ? v : JSON.stringify(v));
  return {
    path: layout.target,
    format: FORMAT,
    files,
    fileSize: files.reduce((n, f) => n + fs.statSync(f).size, 0),
    metadata,
    facts,
    tensors,
    ties,
    warnings,
  };
}
