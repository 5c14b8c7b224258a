// `apply` as one call: scan one model, plan the lossless groups, stream the
// rewritten model to a new file (atomically, never over the input), then
// re-read the output and re-scan it to confirm the planned groups are gone.
// Used by the CLI and the extension's "Apply sharing" command.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openOnnx } from '../model/onnx/reader';
import { rewriteOnnx, type InsertedNode } from '../model/onnx/rewrite';
import { writeOnnx } from '../model/onnx/writer';
import type { ModelFile } from '../model/types';
import { planSharing, APPLICABLE_KINDS, type SharingPlan } from './plan';
import { scanModels } from './scan';
import { totalSaving } from './groups';
import { DEFAULT_MIN_BYTES, type SharingGroup, type SharingKind } from './types';

export interface ApplyOptions {
  /** Output model path (default: NAME.shared.onnx beside the input). */
  output?: string;
  kinds?: readonly SharingKind[];
  minBytes?: number;
  /**
   * Only groups this accepts are applied (the extension's quick pick of
   * groups); it also narrows the re-scan's `remaining` check. Default: all.
   */
  groupFilter?: (group: SharingGroup) => boolean;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction: number) => void;
}

export interface ApplyResult {
  input: string;
  /** Undefined when there was nothing to apply (nothing is written then). */
  output?: string;
  dataFile?: string;
  plan: SharingPlan;
  inserted: InsertedNode[];
  rewired: number;
  gemmFlips: number;
  /** Model file plus its external data files. */
  bytesBefore: number;
  bytesAfter: number;
  /** Lossless groups of the applied kinds still found in the output (should be none). */
  remaining: SharingGroup[];
  /** Bytes the re-scan of the output still reports as saveable for those kinds. */
  remainingBytes: number;
}

/** Refused or impossible: names the model and says why. */
export class ApplyError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'ApplyError';
  }
}

export function defaultOutputPath(input: string): string {
  const dir = path.dirname(input);
  const base = path.basename(input).replace(/\.onnx$/i, '');
  return path.join(dir, `${base}.shared.onnx`);
}

/** Why a folder (a pipeline of several files) is not rewritten as one. */
export const PIPELINE_NOT_APPLICABLE =
  'apply rewrites one model file. Sharing across the files of a pipeline (e.g. encoder_model.onnx + decoder_model.onnx) is '
  + 'not applicable: it would need both models to read one shared external data file, and onnxruntime (web included) loads '
  + 'external data per session, so memory would not shrink and neither file could be moved or loaded alone any more. '
  + 'Apply each file on its own: the groups inside each file are applied.';

function filesOf(model: ModelFile): string[] {
  const files = new Set<string>([path.resolve(model.path)]);
  for (const t of model.tensors) if (t.data.kind === 'ranges') for (const r of t.data.ranges) files.add(path.resolve(r.file));
  return [...files];
}

function totalSize(files: string[]): number {
  return files.reduce((s, f) => s + fs.statSync(f).size, 0);
}

export async function applySharing(input: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  const kinds = options.kinds ?? APPLICABLE_KINDS;
  const minBytes = options.minBytes ?? DEFAULT_MIN_BYTES;
  const progress = options.onProgress ?? (() => undefined);
  let st: fs.Stats;
  try {
    st = fs.statSync(input);
  } catch {
    throw new ApplyError(input, 'no such file');
  }
  if (st.isDirectory()) throw new ApplyError(input, `is a folder. ${PIPELINE_NOT_APPLICABLE}`);

  progress('reading the model', 0);
  const model = await openOnnx(input, { signal: options.signal });
  progress('finding shareable weights', 0.1);
  const report = await scanModels([model], { minBytes, signal: options.signal });
  const selected = options.groupFilter ? { ...report, groups: report.groups.filter(options.groupFilter) } : report;
  const plan = planSharing(model, selected, { kinds });
  const sources = filesOf(model);
  const bytesBefore = totalSize(sources);
  const base: ApplyResult = {
    input, plan, inserted: [], rewired: 0, gemmFlips: 0, bytesBefore, bytesAfter: bytesBefore, remaining: [], remainingBytes: 0,
  };
  if (plan.replacements.length === 0) return base;

  const output = path.resolve(options.output ?? defaultOutputPath(input));
  if (path.extname(output) === '') throw new ApplyError(input, `output '${output}' has no file extension: name the model file, e.g. ${path.basename(defaultOutputPath(input))}`);
  progress('writing the shared model', 0.3);
  const rw = rewriteOnnx(model, plan, output);
  await writeOnnx(output, rw.model, {
    data: rw.data, inputs: sources, signal: options.signal,
    onProgress: (done, total) => progress('writing the shared model', 0.3 + (0.5 * done) / Math.max(1, total)),
  });
  const dataFile = rw.data ? path.join(path.dirname(output), rw.data.location) : undefined;

  // Re-read what was written and scan it again: the applied groups must be gone.
  progress('checking the output', 0.85);
  const written = await openOnnx(output, { signal: options.signal });
  const again = await scanModels([written], { minBytes, signal: options.signal });
  // What the planner would still apply to the output. Groups it declines
  // with a reason (e.g. not worth an inserted node) are not counted here.
  const againSelected = options.groupFilter ? { ...again, groups: again.groups.filter(options.groupFilter) } : again;
  const remaining = planSharing(written, againSelected, { kinds }).groups;
  progress('done', 1);
  return {
    ...base,
    output,
    dataFile,
    inserted: rw.inserted,
    rewired: rw.rewired,
    gemmFlips: rw.gemmFlips,
    bytesAfter: totalSize(filesOf(written)),
    remaining,
    remainingBytes: totalSaving(remaining),
  };
}
