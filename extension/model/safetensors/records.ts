// How `apply` records, in a safetensors file's `__metadata__`, the tensors it
// stopped storing, so `restore` (and the verification after apply) can give
// them back bit for bit. safetensors cannot point two names at one byte
// range, so a dropped name is only a record:
//   weight_sharing.ties     {"dropped name": "kept name"}            same bytes, dtype and shape
//   weight_sharing.derived  {"dropped name": {"from": "kept name",
//                            "ops": ["transpose", "cast"], "dtype": "F16", "shape": [64, 1000]}}
// Both are JSON strings (metadata values must be strings). In a sharded
// checkpoint each shard records the names that were dropped from it.
import type { DeriveOp } from '../types';
import { setOwn } from '../../util/ownKeys';

export const TIES_KEY = 'weight_sharing.ties';
export const DERIVED_KEY = 'weight_sharing.derived';

export interface DropRecord {
  dropped: string;
  kept: string;
  /** Empty: an alias (same bytes, dtype, shape). */
  ops: DeriveOp[];
  /** safetensors dtype name and shape of the dropped tensor (derived records only; aliases have the kept one's). */
  stDtype?: string;
  shape?: readonly number[];
}

const OPS: readonly DeriveOp[] = ['transpose', 'reshape', 'cast'];

/** The metadata entries that record `drops` (none when nothing was dropped). */
export function encodeDropRecords(drops: readonly DropRecord[]): Record<string, string> {
  const ties: Record<string, string> = {};
  const derived: Record<string, { from: string; ops: DeriveOp[]; dtype: string; shape: readonly number[] }> = {};
  for (const d of drops) {
    if (d.ops.length === 0) setOwn(ties, d.dropped, d.kept);
    else setOwn(derived, d.dropped, { from: d.kept, ops: d.ops, dtype: d.stDtype!, shape: d.shape! });
  }
  const out: Record<string, string> = {};
  if (Object.keys(ties).length > 0) out[TIES_KEY] = JSON.stringify(ties);
  if (Object.keys(derived).length > 0) out[DERIVED_KEY] = JSON.stringify(derived);
  return out;
}

/** The drops recorded in `metadata`; a malformed record is a problem (returned), never a crash. */
export function decodeDropRecords(metadata: Readonly<Record<string, string>> | undefined): { drops: DropRecord[]; problems: string[] } {
  const drops: DropRecord[] = [];
  const problems: string[] = [];
  if (!metadata) return { drops, problems };
  const parse = (key: string): Record<string, unknown> | undefined => {
    if (!Object.hasOwn(metadata, key)) return undefined;
    try {
      const v: unknown = JSON.parse(metadata[key]!);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* reported below */ }
    problems.push(`__metadata__ '${key}' is not a JSON object`);
    return undefined;
  };
  for (const [dropped, kept] of Object.entries(parse(TIES_KEY) ?? {})) {
    if (typeof kept === 'string') drops.push({ dropped, kept, ops: [] });
    else problems.push(`__metadata__ '${TIES_KEY}': the entry for '${dropped}' is not a tensor name`);
  }
  for (const [dropped, rec] of Object.entries(parse(DERIVED_KEY) ?? {})) {
    const r = rec as { from?: unknown; ops?: unknown; dtype?: unknown; shape?: unknown } | null;
    const ok = r !== null && typeof r === 'object' && typeof r.from === 'string' && typeof r.dtype === 'string'
      && Array.isArray(r.ops) && r.ops.every((o) => OPS.includes(o as DeriveOp))
      && Array.isArray(r.shape) && r.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
    if (!ok) { problems.push(`__metadata__ '${DERIVED_KEY}': the entry for '${dropped}' is malformed`); continue; }
    drops.push({ dropped, kept: r.from as string, ops: r.ops as DeriveOp[], stDtype: r.dtype as string, shape: r.shape as number[] });
  }
  return { drops, problems };
}

/** `metadata` without this tool's records: what the original file had. */
export function withoutDropRecords(metadata: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined {
  if (!metadata) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) if (k !== TIES_KEY && k !== DERIVED_KEY) setOwn(out, k, v);
  return out;
}
