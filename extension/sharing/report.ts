// The two faces of a ScanReport: the `--json` document (schema 1, documented
// in the README; fields may be added, never removed) and the readable table.
import * as path from 'node:path';
import type { ScanReport, SharingGroup } from './types';
import { formatBytes } from './bytes';
import { tiedPhrase } from './groupText';
import { printable } from '../util/printable';
import { pushAll } from '../util/arrays';

export interface JsonTensor {
  path: string;
  /** The file as the report names it: relative to the folder all scanned files share (`decoder_model.onnx`). */
  file: string;
  name: string;
  /** Unique within its model (subgraph initializers: `Node/name`). */
  id: string;
  role: string;
  dtype: string;
  shape: readonly number[];
  bytes: number;
  consumers: number;
  graphInput: boolean;
  /** False for a tied name the model does not store (a loader re-creates it). */
  stored: boolean;
}

export interface JsonGroup {
  /** Stable across scans of an unchanged model (SharingGroup.id). */
  id: string;
  kind: string;
  lossless: boolean;
  /** Apply Sharing carries it out (see SharingGroup.applicable). */
  applicable: boolean;
  reason?: string;
  bytesSaved: number;
  crossFile: boolean;
  transposed?: boolean;
  /** `tied` groups: graph, storage, config, omission or record. */
  tiedBy?: string;
  /** Lossy groups of one weight in two encodings: the measured difference once dequantized. */
  difference?: { maxAbs: number; maxRel: number };
  tensors: JsonTensor[];
}

export interface JsonModel {
  path: string;
  format: string;
  tensors: number;
  tensorBytes: number;
  fileSize: number;
  warnings: string[];
}

/** An exported tensor and the checkpoint parameter it came from. */
export interface JsonProvenance {
  file: string;
  tensor: string;
  source: { file: string; name: string };
  how: string;
}

export interface JsonReport {
  schema: 1;
  models: JsonModel[];
  groups: JsonGroup[];
  provenance: JsonProvenance[];
  bytesSaved: number;
  minBytes?: number;
  hiddenGroups?: number;
  bytesRead: number;
}

export function toJson(report: ScanReport): JsonReport {
  const labels = fileLabels(report.models.map((m) => m.path));
  return {
    schema: 1,
    models: report.models.map((m) => ({
      path: m.path,
      format: m.format,
      tensors: m.tensors.length,
      tensorBytes: m.tensors.reduce((n, t) => n + t.byteLength, 0),
      fileSize: m.fileSize,
      warnings: m.warnings,
    })),
    groups: report.groups.map((g) => ({
      kind: g.kind,
      id: g.id,
      lossless: g.lossless,
      applicable: g.applicable,
      ...(g.reason === undefined ? {} : { reason: g.reason }),
      bytesSaved: g.bytesSaved,
      crossFile: g.crossFile,
      ...(g.transposed === undefined ? {} : { transposed: g.transposed }),
      ...(g.tiedBy === undefined ? {} : { tiedBy: g.tiedBy }),
      ...(g.difference === undefined ? {} : { difference: g.difference }),
      tensors: g.members.map(({ path: p, tensor: t, stored }) => ({
        path: p,
        file: labels.get(p) ?? path.basename(p),
        name: t.name,
        id: t.id,
        role: t.role,
        dtype: t.dtype,
        shape: t.shape,
        bytes: t.byteLength,
        consumers: t.consumers.length,
        graphInput: t.isGraphInput,
        stored,
      })),
    })),
    provenance: report.provenance.map((l) => ({
      file: labels.get(l.path) ?? path.basename(l.path), tensor: l.tensor.id,
      source: { file: labels.get(l.sourcePath) ?? path.basename(l.sourcePath), name: l.source.name }, how: l.how,
    })),
    bytesSaved: report.bytesSaved,
    minBytes: report.minBytes,
    hiddenGroups: report.hiddenGroups,
    bytesRead: report.bytesRead,
  };
}


/**
 * How files are named in messages: relative to the folder all scanned files
 * share (for one folder: the bare file names, `decoder_model.onnx`).
 */
export function fileLabels(paths: string[]): Map<string, string> {
  const abs = paths.map((p) => path.resolve(p));
  let base = abs.length ? path.dirname(abs[0]) : '';
  for (const p of abs) while (base && !p.startsWith(base + path.sep) && base !== path.dirname(base)) base = path.dirname(base);
  return new Map(paths.map((p, i) => [p, path.relative(base, abs[i]) || path.basename(p)]));
}

const MAX_NAMES = 4;
const MAX_PROVENANCE_LINES = 20;

export function toText(report: ScanReport): string {
  const labels = fileLabels(report.models.map((m) => m.path));
  const lines: string[] = [];
  const inModel = new Map<string, SharingGroup[]>();
  const across: SharingGroup[] = [];
  for (const g of report.groups) {
    if (g.crossFile) { across.push(g); continue; }
    const p = g.members[0].path;
    if (!inModel.has(p)) inModel.set(p, []);
    inModel.get(p)!.push(g);
  }
  for (const m of report.models) {
    const bytes = m.tensors.reduce((n, t) => n + t.byteLength, 0);
    lines.push(`${labels.get(m.path)}  (${m.format}, ${m.tensors.length} tensors, ${formatBytes(bytes)})`);
    pushAll(lines, table(inModel.get(m.path) ?? [], () => ''));
    lines.push('');
  }
  if (across.length) {
    lines.push('Across files');
    pushAll(lines, table(across, (p) => `${labels.get(p)}:`));
    lines.push('');
  }
  if (report.provenance.length) {
    lines.push('Provenance (exported tensors and the checkpoint parameters they are)');
    const byModel = new Map<string, typeof report.provenance>();
    for (const l of report.provenance) byModel.set(l.path, [...(byModel.get(l.path) ?? []), l]);
    for (const [p, list] of byModel) {
      const model = report.models.find((m) => m.path === p);
      const how = (k: string) => list.filter((l) => l.how === k).length;
      lines.push(`  ${labels.get(p)}: ${list.length} of ${model?.tensors.length ?? '?'} tensors come from ${[...new Set(list.map((l) => labels.get(l.sourcePath)))].join(', ')} (${how('exact')} exact, ${how('transposed')} transposed${how('cast') ? `, ${how('cast')} cast` : ''}${how('reshaped') ? `, ${how('reshaped')} reshaped` : ''})`);
      for (const l of list.slice(0, MAX_PROVENANCE_LINES)) lines.push(`    ${l.tensor.id} = ${l.how === 'exact' ? '' : `${l.how} `}${l.source.name}`);
      if (list.length > MAX_PROVENANCE_LINES) lines.push(`    … ${list.length - MAX_PROVENANCE_LINES} more (--json lists all)`);
    }
    lines.push('');
  }
  const total = report.models.reduce((n, m) => n + m.tensors.reduce((k, t) => k + t.byteLength, 0), 0);
  const pct = total ? ` (${((100 * report.bytesSaved) / total).toFixed(1)}% of ${formatBytes(total)} tensor data)` : '';
  lines.push(`Total lossless saving: ${formatBytes(report.bytesSaved)}${pct}`);
  const blocked = report.groups.filter((g) => g.kind !== 'tied' && !g.applicable);
  if (blocked.length) lines.push(`Not applicable: ${blocked.length} group${blocked.length === 1 ? '' : 's'} found that apply cannot carry out (each says why; not in the total)`);
  if (report.hiddenGroups) lines.push(`${report.hiddenGroups} smaller groups hidden (--min-bytes ${report.minBytes ?? ''}; use --min-bytes 0 to list them)`);
  // One line per line: names from the file cannot break or restyle them.
  return lines.map(printable).join('\n') + '\n';
}

function table(groups: SharingGroup[], prefix: (path: string) => string): string[] {
  if (groups.length === 0) return ['  no shared or shareable weights found'];
  const rows = groups.map((g) => [formatBytes(g.bytesSaved), kindLabel(g), describe(g, prefix)]);
  const w0 = Math.max(5, ...rows.map((r) => r[0].length));
  const w1 = Math.max(4, ...rows.map((r) => r[1].length));
  return [
    `  ${'saves'.padStart(w0)}  ${'kind'.padEnd(w1)}  tensors`,
    ...rows.map((r) => `  ${r[0].padStart(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`),
  ];
}

function kindLabel(g: SharingGroup): string {
  const k = g.kind === 'cast' && g.transposed ? 'cast+transposed' : g.kind;
  return g.applicable || g.kind === 'tied' ? k : `${k} (${g.lossless ? 'not applicable' : 'not lossless'})`;
}

function describe(g: SharingGroup, prefix: (path: string) => string): string {
  const t0 = g.members[0].tensor;
  const sig = (dtype: string, shape: readonly number[]) => `${dtype}[${shape.join(',')}]`;
  let text: string;
  if (g.kind === 'tied') {
    text = `${prefix(g.members[0].path)}${t0.id} ${sig(t0.dtype, t0.shape)} ${tiedPhrase(g)}`;
  } else {
    const names = g.members.slice(0, MAX_NAMES).map((m) => `${prefix(m.path)}${m.tensor.id}`);
    const more = g.members.length > MAX_NAMES ? ` +${g.members.length - MAX_NAMES} more` : '';
    const shapes = [...new Set(g.members.map((m) => sig(m.tensor.dtype, m.tensor.shape)))].join(' / ');
    text = `${names.join(', ')}${more}  ${shapes}`;
  }
  return g.reason ? `${text}  [${g.reason}]` : text;
}
