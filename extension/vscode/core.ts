// The core entry points the extension host uses, gathered in one file so the
// vscode/ folder depends on the core through one narrow door.
export { openModel } from '../model/registry';
export { runAnalysis, runLayers, runTie } from '../analysis/run';
export { defaultCompanions } from '../analysis/companions';
export { renderWebviewHtml } from '../view/html';

import * as fs from 'node:fs';
import * as path from 'node:path';
import { applySharing } from '../sharing/apply';
import { formatOf } from '../model/registry';
import type { ModelFile } from '../model/types';
import type { PathTrust } from '../io/safePath';
import type { SharingGroup } from '../sharing/types';
import { describeGroup } from '../sharing/groupText';

/** What writing a shared copy produced. */
export interface ApplyOutcome {
  output: string;
  /** The groups applied, in words (describeGroup). */
  applied: string[];
  /** Model plus external data, before and after. */
  inputBytes: number;
  outputBytes: number;
  bytesSaved: number;
  /** Groups the user picked that the rewrite could not apply, with why. */
  skipped: string[];
  /** Lossless groups of the picked ones still found in the output (should be none). */
  remaining: number;
  /** Input tensors the output does not give back bit for bit (formats that record drops; should be none). */
  unrecovered: string[];
  /** How to load the output (which drops a stock loader re-ties, and `restore`). */
  loadingNote?: string;
  /** The output can be run (ONNX): the inference check applies. */
  runnable: boolean;
}

export interface ApplyGroupsOptions extends PathTrust {
  /** The minimum size of the scan the groups came from (the rewrite rescans with it). */
  minBytes: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
}

/**
 * The groups of `ids` among `groups`; an id that matches none (a stale link:
 * the model changed since it was made) is an error that says so, never
 * another group.
 */
export function groupsOfIds(groups: readonly SharingGroup[], ids: readonly string[]): SharingGroup[] {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length) throw new Error(`sharing group ${missing.join(', ')} is no longer among the model's findings (the model changed since): look at the current groups and apply again`);
  return ids.map((id) => byId.get(id)!);
}

/** Writes `output`, a copy of the model at `input` storing each of `groups` once. */
export async function applyGroups(input: string, output: string, groups: SharingGroup[], options: ApplyGroupsOptions): Promise<ApplyOutcome> {
  const wanted = new Set(groups.map((g) => g.id));
  const res = await applySharing(input, {
    output,
    minBytes: options.minBytes,
    groupFilter: (g) => wanted.has(g.id),
    signal: options.signal,
    trustedRoots: options.trustedRoots,
    // The save dialog asked before an existing file was chosen.
    force: true,
    onProgress: (message, fraction) => options.onProgress?.(fraction, message),
  });
  const skipped = res.plan.skipped.map((s) => `${s.group.kind} ${s.group.members.map((m) => m.tensor.name).join(', ')}: ${s.reason}`);
  if (!res.output) throw new Error(`nothing to apply in ${input}${skipped.length ? `: ${skipped.join('; ')}` : ''}`);
  return {
    output: res.output,
    applied: res.plan.groups.map(describeGroup),
    inputBytes: res.bytesBefore,
    outputBytes: res.bytesAfter,
    bytesSaved: res.bytesBefore - res.bytesAfter,
    skipped,
    remaining: res.remaining.length,
    unrecovered: res.unrecovered,
    loadingNote: res.loadingNote,
    runnable: res.format === 'onnx',
  };
}

/** Where a shared copy of `model` goes by default: the format's choice, NAME.shared-2… when taken. */
export function defaultOutputFor(model: ModelFile): string {
  const first = writerOf(model).defaultOutput(model);
  // NAME.shared.onnx -> NAME.shared-2.onnx; a folder NAME.shared -> NAME.shared-2.
  const ext = first.endsWith('.shared') ? '' : path.extname(first);
  const stem = first.slice(0, first.length - ext.length);
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? first : `${stem}-${i}${ext}`;
    if (!fs.existsSync(candidate)) return candidate;
  }
}

/** The file the model editor opens for a written model: the file, or the checkpoint folder's index or model.safetensors. */
export function editorFileOf(output: string): string {
  if (!fs.existsSync(output) || !fs.statSync(output).isDirectory()) return output;
  for (const name of ['model.safetensors.index.json', 'model.safetensors']) {
    const f = path.join(output, name);
    if (fs.existsSync(f)) return f;
  }
  return output;
}

/**
 * Where Try tying writes by default: NAME.tied.EXT (a checkpoint folder:
 * FOLDER.tied), the name `weight-sharing tie` picks, beside the shared copy's.
 */
export function tiedOutputFor(model: ModelFile): string {
  return writerOf(model).defaultOutput(model).replace(/\.shared(?=(\.[^./]+)?$)/, '.tied');
}

function writerOf(model: ModelFile): NonNullable<ReturnType<typeof formatOf>['writer']> {
  const writer = formatOf(model).writer;
  if (!writer) throw new Error(`${model.path}: ${model.format} files cannot be rewritten yet`);
  return writer;
}

const SAVE_FILTERS: Record<string, string> = { '.onnx': 'ONNX models', '.safetensors': 'safetensors checkpoints', '.gguf': 'GGUF models' };

/** File filters for a save dialog writing `output` (a checkpoint folder, NAME.shared, gets none). */
export function saveDialogFilters(output: string): Record<string, string[]> | undefined {
  const label = SAVE_FILTERS[path.extname(output).toLowerCase()];
  return label ? { [label]: [path.extname(output).slice(1).toLowerCase()] } : undefined;
}
