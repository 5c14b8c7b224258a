// `apply` as one call, for every format that can be written: open the model
// through the registry, scan it, plan the lossless groups the format can
// carry out, let the format's writer write the result to a new file
// (atomically, never over the input), then re-read the output and scan it
// again to confirm the planned groups are gone, and let the writer prove the
// input is recoverable where it recorded drops. Used by the CLI and the
// extension's "Apply sharing" command.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PathTrust } from '../io/safePath';
import type { WriteResult } from '../model/format';
import { fileIdentity } from '../io/atomicWrite';
import { formatOf, MODEL_EXTENSIONS, openModel } from '../model/registry';
import type { ModelFile } from '../model/types';
import { totalSaving } from './groups';
import { APPLICABLE_KINDS, type SharingKind } from './kinds';
import { planSharing, type SharingPlan } from './plan';
import { verifyRecovery } from './recovery';
import { scanModels } from './scan';
import { DEFAULT_MIN_BYTES, type SharingGroup } from './types';

export interface ApplyOptions extends PathTrust {
  /** Output path (default: the format's, e.g. NAME.shared.onnx beside the input). */
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
  /** Replace an output that exists (the CLI's --force; the editor asks first). Default: refuse it. */
  force?: boolean;
}

export interface ApplyResult {
  input: string;
  format: string;
  /** Undefined when there was nothing to apply (nothing is written then). */
  output?: string;
  plan: SharingPlan;
  written?: WriteResult;
  /** Every file of the model, before and after. */
  bytesBefore: number;
  bytesAfter: number;
  /** Lossless groups of the applied kinds still found in the output (should be none). */
  remaining: SharingGroup[];
  /** Bytes the re-scan of the output still reports as saveable for those kinds. */
  remainingBytes: number;
  /** Problems proving every input tensor is recoverable from the output (formats that record drops); empty when proven. */
  unrecovered: string[];
  /** What a user must know to load the output (stock loaders re-tie some drops, not others). */
  loadingNote?: string;
}

/** Refused or impossible: names the model and says why. */
export class ApplyError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'ApplyError';
  }
}

/** Why a folder of several model files (a pipeline) is not rewritten as one. */
export const PIPELINE_NOT_APPLICABLE =
  'apply rewrites one model. Sharing across the files of a pipeline (e.g. encoder_model.onnx + decoder_model.onnx) is '
  + 'not applicable: it would need both models to read one shared external data file, and onnxruntime (web included) loads '
  + 'external data per session, so memory would not shrink and neither file could be moved or loaded alone any more. '
  + 'Apply each file on its own: the groups inside each file are applied.';

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
  progress('reading the model', 0);
  let model: ModelFile;
  try {
    model = await openModel(input, { signal: options.signal, trustedRoots: options.trustedRoots });
  } catch (e) {
    // A folder that is not one checkpoint is a pipeline of model files.
    if (st.isDirectory() && (e as Error).name === 'ModelFormatError') throw new ApplyError(input, `is a folder of model files. ${PIPELINE_NOT_APPLICABLE}`);
    throw e;
  }
  const writer = formatOf(model).writer;
  if (!writer) throw new ApplyError(input, `${model.format} files cannot be rewritten yet`);
  progress('finding shareable weights', 0.1);
  const report = await scanModels([model], { minBytes, signal: options.signal });
  const selected = options.groupFilter ? { ...report, groups: report.groups.filter(options.groupFilter) } : report;
  const plan = planSharing(model, selected, writer.realiser(model), { kinds });
  const base: ApplyResult = {
    input, format: model.format, plan, bytesBefore: model.fileSize, bytesAfter: model.fileSize, remaining: [], remainingBytes: 0, unrecovered: [],
  };
  if (plan.replacements.length === 0 && !writer.convertsFormat) return base;

  const output = path.resolve(options.output ?? writer.defaultOutput(model));
  // A format that writes a folder (a sharded checkpoint) takes any name; a file needs its extension.
  const writesFile = MODEL_EXTENSIONS.includes(path.extname(writer.defaultOutput(model)).toLowerCase());
  if (writesFile && path.extname(output) === '') {
    throw new ApplyError(input, `output '${output}' has no file extension: name the model file, e.g. ${path.basename(writer.defaultOutput(model))}`);
  }
  const decisions = plan.replacements.map((r) => r.realised);
  progress('writing the shared model', 0.3);
  const committed = new Map<string, string>();
  const written = await writer.write(model, decisions, output, {
    signal: options.signal,
    trustedRoots: options.trustedRoots,
    overwrite: options.force === true,
    onCommitted: (file, identity) => committed.set(file, identity),
    onProgress: (done, total) => progress('writing the shared model', 0.3 + (0.5 * done) / Math.max(1, total)),
  });

  // Re-read what was written and scan it again: the applied groups must be gone.
  progress('checking the output', 0.85);
  const again = await openModel(output, { signal: options.signal, trustedRoots: options.trustedRoots });
  const rescan = await scanModels([again], { minBytes, signal: options.signal });
  // What the planner would still apply to the output. Groups it declines
  // with a reason (e.g. not worth an inserted node) are not counted here.
  const againSelected = options.groupFilter ? { ...rescan, groups: rescan.groups.filter(options.groupFilter) } : rescan;
  // The output may be in another format than the input (a checkpoint written as safetensors): its own writer judges it.
  const remaining = planSharing(again, againSelected, (formatOf(again).writer ?? writer).realiser(again), { kinds }).groups;
  const unrecovered = writer.recordsDrops ? await verifyRecovery(model, again, options.signal) : [];
  // What was verified is what this run wrote: not files another process put at the same paths meanwhile.
  for (const [file, identity] of committed) {
    let now: string | undefined;
    try { now = fileIdentity(fs.statSync(file)); } catch { /* gone */ }
    if (now !== identity) throw new ApplyError(input, `${file} was replaced by another process while apply checked it: nothing can be said about it; run apply again`);
  }
  progress('done', 1);
  return {
    ...base,
    output,
    written,
    bytesAfter: again.fileSize,
    remaining,
    remainingBytes: totalSaving(remaining),
    unrecovered,
    loadingNote: writer.loadingNote?.(decisions, model),
  };
}
