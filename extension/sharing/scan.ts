// The sharing analysis as one call: open the models, run every detector over
// the tensors of all of them together (so duplicates across the files of one
// pipeline show up), filter, order and total the groups.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileSet } from '../io/fileSet';
import { storedRanges, type ModelFile, type TensorRef } from '../model/types';
import { folderFormat, formatOf, MODEL_EXTENSIONS, openModel } from '../model/registry';
import { assignGroupIds, compareGroups, largestMember, totalSaving } from './groups';
import { ByteSource, DEFAULT_CHUNK_BYTES } from './byteSource';
import { findByteClasses } from './byteClasses';
import { relatableIn } from './relatable';
import { DETECTORS } from './detectors';
import { entriesOf } from './entries';
import { ProgressMeter } from './progress';
import { splitProvenance } from './provenance';
import { markApplicable } from './applicable';
import { DEFAULT_MIN_BYTES, type ScanOptions, type ScanReport, type SharingGroup } from './types';
import { pushAll } from '../util/arrays';

/** A file to scan, and whether it was found in a folder rather than named. */
interface ScanTarget {
  file: string;
  fromFolder: boolean;
}

/**
 * Models to scan for `paths`: files as given; a folder that is one
 * checkpoint (a Hugging Face folder) as itself; other folders replaced by
 * the model files directly inside them (not recursive: such a folder is one
 * pipeline, e.g. `encoder_model.onnx` + `decoder_model.onnx`). Sorted per
 * folder, duplicates dropped. Throws for a missing path or a folder without
 * model files.
 */
export function expandPaths(paths: string[]): string[] {
  return targets(paths).map((t) => t.file);
}

function targets(paths: string[]): ScanTarget[] {
  const out: ScanTarget[] = [];
  const seen = new Set<string>();
  const add = (file: string, fromFolder: boolean) => {
    const key = path.resolve(file);
    if (!seen.has(key)) { seen.add(key); out.push({ file, fromFolder }); }
  };
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new Error(`${p}: no such file or folder`);
    }
    if (!st.isDirectory() || folderFormat(p)) { add(p, false); continue; }
    const inside = fs.readdirSync(p)
      .filter((n) => MODEL_EXTENSIONS.includes(path.extname(n).toLowerCase()))
      .sort()
      .map((n) => path.join(p, n))
      .filter((f) => fs.statSync(f).isFile());
    if (inside.length === 0) throw new Error(`${p}: no model files (${MODEL_EXTENSIONS.join(' ')}) in this folder`);
    for (const f of inside) add(f, true);
  }
  return out;
}

export async function scanFiles(paths: string[], opts: ScanOptions = {}): Promise<ScanReport> {
  const all = targets(paths);
  // Models found in a folder that are another model's external data (a
  // `weights.bin` beside `model.onnx`) are data, not models: open the ONNX
  // files and the named files first, then skip those.
  const first = all.filter((t) => !t.fromFolder || path.extname(t.file).toLowerCase() === '.onnx');
  const meter = new ProgressMeter(opts.onProgress);
  const opened = new Map<ScanTarget, ModelFile>();
  const open = async (t: ScanTarget, i: number) => {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('scan cancelled');
    meter.stage((0.1 * i) / all.length, (0.1 * (i + 1)) / all.length, `opening ${path.basename(t.file)}`, 'open');
    opened.set(t, await openModel(t.file, { signal: opts.signal, trustedRoots: opts.trustedRoots }));
  };
  for (const t of first) await open(t, opened.size);
  const named = new Set<string>();
  for (const m of opened.values()) {
    for (const t of m.tensors) for (const r of storedRanges(t.data) ?? []) named.add(r.file);
  }
  const dataFiles = new Set([...named].map((f) => path.resolve(f)));
  for (const t of all) if (!opened.has(t) && !dataFiles.has(path.resolve(t.file))) await open(t, opened.size);
  const models = all.filter((t) => opened.has(t)).map((t) => opened.get(t)!);
  return scanModels(models, opts, meter);
}

/**
 * Where any member of a group may stay (exact and reshaped copies inside one
 * model), the one the format's writer would keep comes first, so every view
 * calls the same tensor "kept" as Apply Sharing then keeps.
 */
function keptFirst(groups: SharingGroup[], models: ModelFile[]): void {
  const ranks = new Map<string, ((t: TensorRef) => number[]) | undefined>();
  const rankOf = (m: ModelFile) => {
    if (!ranks.has(m.path)) ranks.set(m.path, formatOf(m).writer?.realiser(m).keepRank);
    return ranks.get(m.path);
  };
  for (const g of groups) {
    if ((g.kind !== 'exact' && g.kind !== 'reshaped') || g.crossFile) continue;
    const model = models.find((m) => m.path === g.members[0]!.path);
    const rank = model && rankOf(model);
    if (!rank) continue;
    const keys = new Map(g.members.map((m) => [m, rank(m.tensor)]));
    g.members.sort((a, b) => {
      const x = keys.get(a)!, y = keys.get(b)!;
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return 0;
    });
  }
}

/** Analysis of models already opened (the extension keeps them open for its views). */
export async function scanModels(models: ModelFile[], opts: ScanOptions = {}, meter = new ProgressMeter(opts.onProgress)): Promise<ScanReport> {
  const minBytes = opts.minBytes ?? DEFAULT_MIN_BYTES;
  const files = new FileSet();
  try {
    const src = new ByteSource(files, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, opts.signal);
    const entries = entriesOf(models);

    meter.stage(0.1, 0.75, 'comparing tensors');
    const classes = await findByteClasses(entries, src, meter, relatableIn(entries));
    const ctx = { models, entries, classes, src, meter };
    const all: SharingGroup[] = [];
    let at = 0.75;
    const total = DETECTORS.reduce((n, d) => n + d.weight, 0);
    for (const d of DETECTORS) {
      const next = at + (0.25 * d.weight) / total;
      meter.stage(at, next, d.label);
      pushAll(all, await d.find(ctx));
      at = next;
    }
    const { groups: found, links } = splitProvenance(all, models);
    keptFirst(found, models);
    const shown = found.filter((g) => largestMember(g) >= minBytes);
    // Positions of group members only (every tensor's would be a map as big as the model).
    const wanted = new Set(shown.flatMap((g) => g.members.map((m) => m.tensor)));
    const order = new Map<object, number>();
    for (const e of entries) if (wanted.has(e.tensor)) order.set(e.tensor, e.order);
    shown.sort(compareGroups(order));
    markApplicable(shown, models);
    assignGroupIds(shown);
    meter.done(`${shown.length} groups`);
    return {
      models,
      groups: shown,
      bytesSaved: totalSaving(shown),
      bytesRead: src.bytesRead,
      minBytes,
      hiddenGroups: found.length - shown.length,
      provenance: links,
    };
  } finally {
    files.close();
  }
}
