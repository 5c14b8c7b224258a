// A sharing plan: which tensors of one model stop being stored, and how each
// is rebuilt from the tensor that stays. Format-neutral: groups become
// decisions (keep, drop, derive by transpose / cast / reshape), and the
// format's Realiser says whether and how it can carry out each one; its
// writer then does (model/<format>/).
import type { Decision, Realised, Realiser } from '../model/format';
import type { DeriveOp, ModelFile, TensorRef } from '../model/types';
import { droppedMembers } from './groups';
import { APPLICABLE_KINDS, type SharingKind } from './kinds';
import type { ScanReport, SharingGroup } from './types';

export interface Replacement<R extends Realised = Realised> {
  group: SharingGroup;
  realised: R;
}

export interface SkippedGroup {
  group: SharingGroup;
  reason: string;
}

export interface SharingPlan<R extends Realised = Realised> {
  modelPath: string;
  /** Groups applied in full. */
  groups: SharingGroup[];
  replacements: Array<Replacement<R>>;
  skipped: SkippedGroup[];
  /** Bytes of tensor data no longer stored. */
  bytesSaved: number;
}

export interface PlanOptions {
  /** Kinds to apply (default: every applicable kind). `tied` is never applied: it is already stored once. */
  kinds?: readonly SharingKind[];
}

/** The decisions a group asks for, members reordered where any member may stay. */
function decisionsOf(g: SharingGroup, rank: (t: TensorRef) => number[]): Decision[] {
  switch (g.kind) {
    case 'exact':
    case 'reshaped': {
      const members = g.members.map((m) => m.tensor);
      const kept = [...members].sort((a, b) => {
        const ra = rank(a), rb = rank(b);
        for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
        return 0;
      })[0]!;
      return members.filter((t) => t !== kept).map((dropped) => ({
        kept, dropped,
        ops: g.kind === 'reshaped' && dropped.shape.join('x') !== kept.shape.join('x') ? ['reshape'] : [],
      }));
    }
    case 'transposed':
      return droppedMembers(g).map((m) => ({ kept: g.members[0]!.tensor, dropped: m.tensor, ops: ['transpose'] }));
    case 'cast':
      return droppedMembers(g).map((m) => ({
        kept: g.members[0]!.tensor, dropped: m.tensor, ops: (g.transposed ? ['transpose', 'cast'] : ['cast']) as DeriveOp[],
      }));
    case 'quantized': {
      // (weight, scale, zero point) triplets: each part of a copy reads the
      // same part of the first triplet; shared parts are already one tensor.
      const out: Decision[] = [];
      const seen = new Set<TensorRef>(g.members.slice(0, 3).map((m) => m.tensor));
      g.members.forEach((m, i) => {
        if (i < 3 || seen.has(m.tensor)) return;
        seen.add(m.tensor);
        out.push({ kept: g.members[i % 3]!.tensor, dropped: m.tensor, ops: [] });
      });
      return out;
    }
    case 'tied':
      return [];
  }
}

/**
 * Plans the lossless groups of `report` that concern `model` (groups are
 * applied whole or not at all). Groups come in the report's order (largest
 * saving first); a later group that conflicts with an earlier one, or that
 * the format cannot carry out, is skipped with the reason.
 */
export function planSharing<R extends Realised>(model: ModelFile, report: Pick<ScanReport, 'groups'>, realiser: Realiser<R>, options: PlanOptions = {}): SharingPlan<R> {
  const kinds = new Set(options.kinds ?? APPLICABLE_KINDS);
  const plan: SharingPlan<R> = { modelPath: model.path, groups: [], replacements: [], skipped: [], bytesSaved: 0 };
  /** dropped tensor -> its replacement */
  const droppedBy = new Map<TensorRef, Replacement<R>>();
  /** kept tensor -> the tensors replacements rebuild from it (kept current as replacements change: linear planning). */
  const keptFor = new Map<TensorRef, Set<TensorRef>>();
  const setReplacement = (d: TensorRef, r: Replacement<R>) => {
    const before = droppedBy.get(d);
    if (before) keptFor.get(before.realised.kept)?.delete(d);
    droppedBy.set(d, r);
    let s = keptFor.get(r.realised.kept);
    if (!s) keptFor.set(r.realised.kept, (s = new Set()));
    s.add(d);
  };
  const isKept = (t: TensorRef) => (keptFor.get(t)?.size ?? 0) > 0;
  const formatRank = realiser.keepRank ?? (() => []);

  for (const g of report.groups) {
    if (g.kind === 'tied' || !kinds.has(g.kind)) continue;
    if (g.members.some((m) => m.path !== model.path)) {
      if (g.members.some((m) => m.path === model.path)) plan.skipped.push({ group: g, reason: 'the copies are in different files (see apply\'s note on pipelines)' });
      continue;
    }
    if (!g.lossless) {
      plan.skipped.push({ group: g, reason: g.reason ?? 'not lossless' });
      continue;
    }
    // A member an earlier group already keeps comes first: fewer derived copies.
    const decisions = decisionsOf(g, (t) => [isKept(t) ? 0 : 1, ...formatRank(t)]);
    const made: R[] = [];
    let reason: string | undefined;
    for (const d0 of decisions) {
      let d = d0;
      const before = droppedBy.get(d.dropped)?.realised;
      if (before) {
        // Already an exact copy of some K, which stays stored: a derivation
        // of the copy is a derivation of K (same bytes, same shape), so
        // rebuild K instead, under its own name (the copy's readers read it).
        if (before.ops.length > 0 || d.ops.length === 0 || droppedBy.has(before.kept)) continue;
        d = { ...d, dropped: before.kept };
        if (d.dropped === d.kept) continue;
      }
      let kept = d.kept;
      const viaKept = droppedBy.get(kept)?.realised;
      if (viaKept) {
        // The kept tensor is itself dropped: follow an exact copy, refuse a derived one.
        if (viaKept.ops.length > 0) { reason = `'${kept.id}' is already rebuilt from '${viaKept.kept.id}' by an earlier group`; break; }
        kept = viaKept.kept;
      }
      // When earlier groups keep the tensor this one drops, a derived copy
      // keeps its name (they read it); an alias re-points them below.
      const keepName = d.ops.length > 0 && (isKept(d.dropped) || made.some((m) => m.kept === d.dropped));
      const r = realiser.realise({ kept, dropped: d.dropped, ops: d.ops }, keepName);
      if (typeof r === 'string') { reason = r; break; }
      made.push(r);
    }
    if (reason !== undefined) {
      plan.skipped.push({ group: g, reason });
      continue;
    }
    if (made.length === 0) continue;
    for (const r of made) {
      // Earlier aliases that kept this now-dropped tensor follow it to the new kept one.
      if (r.ops.length === 0) {
        for (const d of [...(keptFor.get(r.dropped) ?? [])]) {
          const prev = droppedBy.get(d)!;
          const again = realiser.realise({ kept: r.kept, dropped: d, ops: prev.realised.ops }, false);
          if (typeof again === 'string') throw new Error(`internal: re-pointing '${d.id}': ${again}`);
          setReplacement(d, { group: prev.group, realised: again });
        }
      }
      setReplacement(r.dropped, { group: g, realised: r });
    }
    plan.groups.push(g);
  }
  plan.replacements = [...droppedBy.values()];
  plan.bytesSaved = plan.replacements.reduce((s, r) => s + r.realised.dropped.byteLength, 0);
  return plan;
}
