// `weight-sharing apply MODEL [-o OUT] [--kinds exact,transposed,...] [--min-bytes N] [--json]`
// Writes a copy of MODEL storing each shareable weight once, then re-reads
// and re-scans it. Exit 0 when applied (or nothing to apply), 1 when the
// re-scan still finds an applied kind's lossless group, 2 on errors.
import * as path from 'node:path';
import { CliError, parseBytes } from './common';
import { applySharing, type ApplyResult } from '../sharing/apply';
import { APPLICABLE_KINDS, type SharingKind } from '../sharing/kinds';
import { formatBytes } from '../sharing/bytes';
import { printable } from '../util/printable';
import { DEFAULT_MIN_BYTES } from '../sharing/types';
import type { PathTrust } from '../io/safePath';

export interface ApplyArgs {
  model: string;
  /** Replace an output that exists. */
  force?: boolean;
  output?: string;
  kinds: SharingKind[];
  minBytes: number;
  json: boolean;
}

export function parseApplyArgs(args: string[]): ApplyArgs {
  const out: Partial<ApplyArgs> & { kinds: SharingKind[]; minBytes: number; json: boolean } = { kinds: [...APPLICABLE_KINDS], minBytes: DEFAULT_MIN_BYTES, json: false };
  const models: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new CliError(`apply: ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-o': case '--output': out.output = value(); break;
      case '--json': out.json = true; break;
      case '--force': out.force = true; break;
      case '--min-bytes': out.minBytes = parseBytes('--min-bytes', value()); break;
      case '--kinds': {
        const kinds = value().split(',').map((k) => k.trim()).filter((k) => k !== '');
        for (const k of kinds) {
          if (!(APPLICABLE_KINDS as readonly string[]).includes(k)) {
            throw new CliError(`apply: --kinds: '${k}' is not a kind that can be applied (${APPLICABLE_KINDS.join(', ')}; tied weights are already stored once)`);
          }
        }
        if (kinds.length === 0) throw new CliError('apply: --kinds needs at least one kind');
        out.kinds = kinds as SharingKind[];
        break;
      }
      default:
        if (a.startsWith('-') && a !== '-') throw new CliError(`apply: unknown option '${a}'`);
        models.push(a);
    }
  }
  if (models.length !== 1) throw new CliError(models.length === 0 ? 'apply: give one model file' : `apply: give one model file (got ${models.length}: ${models.join(', ')})`);
  return { ...out, model: models[0]! };
}

export function toApplyText(res: ApplyResult): string {
  const lines: string[] = [];
  const plan = res.plan;
  if (!res.output) {
    lines.push(`${res.input}: nothing to apply${plan.skipped.length ? '' : ' (no lossless sharing group found)'}; no file written.`);
  } else {
    // Files beside the output (an ONNX data file), or inside it (a checkpoint folder).
    const base = (res.written?.files ?? []).some((f) => f.startsWith(res.output! + path.sep)) ? res.output : path.dirname(res.output);
    const others = (res.written?.files ?? []).filter((f) => f !== res.output).map((f) => path.relative(base, f));
    lines.push(`${res.input} -> ${res.output}${others.length > 0 && others.length <= 3 ? ` (+ ${others.join(', ')})` : others.length > 3 ? ` (+ ${others.length} files)` : ''}`);
    lines.push(`applied ${plan.groups.length} group${plan.groups.length === 1 ? '' : 's'}, ${plan.replacements.length} tensor${plan.replacements.length === 1 ? '' : 's'} no longer stored:`);
    for (const { group, realised: r } of plan.replacements) {
      lines.push(`  ${group.kind.padEnd(10)} ${formatBytes(r.dropped.byteLength).padStart(10)}  ${r.dropped.id} -> ${r.kept.id}  (${r.how})`);
    }
  }
  for (const s of plan.skipped) {
    lines.push(`  not applied: ${s.group.kind} ${s.group.members.map((m) => m.tensor.id).join(', ')}: ${s.reason}`);
  }
  if (res.output) {
    const saved = res.bytesBefore - res.bytesAfter;
    lines.push(`bytes: ${res.bytesBefore} -> ${res.bytesAfter} (${formatBytes(res.bytesBefore)} -> ${formatBytes(res.bytesAfter)}, ${saved} saved, ${((100 * saved) / Math.max(1, res.bytesBefore)).toFixed(1)}%; planned ${plan.bytesSaved})`);
    lines.push(res.remaining.length === 0
      ? `verified: re-read the output and scanned it again: no lossless group of the applied kinds remains${plan.skipped.length ? ` except the ${plan.skipped.length} not applied above` : ''}.`
      : `WARNING: the output still has ${res.remaining.length} lossless group(s) of the applied kinds (${formatBytes(res.remainingBytes)}).`);
    if (res.unrecovered.length === 0 && res.written && res.format !== 'onnx') lines.push('verified: every input tensor is recovered bit for bit from the output and its recorded ties.');
    for (const u of res.unrecovered) lines.push(`ERROR: ${u}`);
    if (res.loadingNote) lines.push(res.loadingNote);
  }
  return `${lines.map(printable).join('\n')}\n`;
}

export function toApplyJson(res: ApplyResult): unknown {
  const t = (x: { id: string; name: string; dtype: string; shape: readonly number[]; byteLength: number }) => ({ id: x.id, name: x.name, dtype: x.dtype, shape: x.shape, bytes: x.byteLength });
  return {
    schema: 1,
    input: res.input,
    format: res.format,
    output: res.output ?? null,
    dataFile: null,
    ...res.written?.details,
    files: res.written?.files ?? [],
    written: res.output !== undefined,
    applied: res.plan.groups.map((g) => ({
      kind: g.kind,
      bytesSaved: res.plan.replacements.filter((r) => r.group === g).reduce((s, r) => s + r.realised.dropped.byteLength, 0),
      replacements: res.plan.replacements.filter((r) => r.group === g).map(({ realised: r }) => ({
        kept: t(r.kept), dropped: t(r.dropped), ops: r.ops, how: r.how,
      })),
    })),
    skipped: res.plan.skipped.map((s) => ({ kind: s.group.kind, tensors: s.group.members.map((m) => m.tensor.id), reason: s.reason })),
    bytesBefore: res.bytesBefore,
    bytesAfter: res.bytesAfter,
    bytesSaved: res.bytesBefore - res.bytesAfter,
    plannedBytesSaved: res.plan.bytesSaved,
    verified: {
      remainingGroups: res.remaining.length, remainingBytes: res.remainingBytes, unrecovered: res.unrecovered,
      ok: res.remaining.length === 0 && res.unrecovered.length === 0,
    },
    ...(res.loadingNote ? { loadingNote: res.loadingNote } : {}),
  };
}

export async function runApply(args: string[], trust: PathTrust = {}): Promise<number> {
  const opts = parseApplyArgs(args);
  const res = await applySharing(opts.model, { output: opts.output, kinds: opts.kinds, minBytes: opts.minBytes, force: opts.force, ...trust });
  process.stdout.write(opts.json ? `${JSON.stringify(toApplyJson(res), null, 2)}\n` : toApplyText(res));
  return res.remaining.length === 0 && res.unrecovered.length === 0 ? 0 : 1;
}
