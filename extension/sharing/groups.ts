// Building SharingGroups from detector findings, and the rules every consumer
// of a group shares: which members a group drops, whether it is lossless,
// how groups are ordered, and the total saving (each dropped tensor once).
import { createHash } from 'node:crypto';
import { byOrder, splitByFile, splitByShape, type Entry, type ShapeClass } from './entries';
import type { HalfType } from '../util/floatCast';
import { SHARING_KINDS, type SharingKind } from './kinds';
import type { GroupMember, SharingGroup } from './types';
import { isBlockQuantized } from '../model/types';

/** A derived copy: `copy` equals transpose and/or cast of `source`. */
export interface Relation {
  kind: 'transposed' | 'cast';
  source: ShapeClass;
  copy: ShapeClass;
  transposed: boolean;
  castTo?: HalfType;
}

export function makeGroup(kind: SharingKind, members: Entry[], bytesSaved: number, extra: Partial<SharingGroup> = {}): SharingGroup {
  const group: SharingGroup = {
    id: '', // set once the scan has its final groups (assignGroupIds)
    kind,
    lossless: true,
    // Until the scan plans it (markApplicable).
    applicable: kind !== 'tied',
    bytesSaved,
    members: members.map((e): GroupMember => ({ path: e.path, tensor: e.tensor, stored: true })),
    crossFile: new Set(members.map((e) => e.path)).size > 1,
    ...extra,
  };
  if (kind !== 'tied') {
    // Merging is unsafe when the format pins a member (a graph input a
    // caller may feed, a sparse initializer): report, never apply silently.
    const pinned = members.find((e) => e.tensor.pinned !== undefined);
    if (pinned) {
      group.lossless = false;
      group.applicable = false;
      group.reason = pinned.tensor.pinned;
    }
  }
  return group;
}

/**
 * exact / reshaped / cross-file groups from verified byte-identical sets.
 * Inside a file: one `exact` group per shape with two or more members, one
 * `reshaped` group over the shapes' first members. Across files: one group
 * over every member, saving what the in-file groups do not (one copy per
 * extra file), so group savings add up to (n-1) copies.
 */
export function byteClassGroups(multi: Entry[][]): SharingGroup[] {
  const out: SharingGroup[] = [];
  for (const cls of multi) {
    const bytes = cls[0].tensor.byteLength;
    const reshapable = !isBlockQuantized(cls[0].tensor.dtype);
    const files = splitByFile(cls);
    for (const inFile of files) {
      const shapes = splitByShape(inFile);
      for (const same of shapes) if (same.length > 1) out.push(makeGroup('exact', same, bytes * (same.length - 1)));
      if (shapes.length > 1 && reshapable) out.push(makeGroup('reshaped', shapes.map((s) => s[0]), bytes * (shapes.length - 1)));
    }
    if (files.length < 2) continue;
    const shapes = splitByShape(cls);
    if (shapes.length === 1 || reshapable) {
      out.push(makeGroup(shapes.length > 1 ? 'reshaped' : 'exact', [...cls].sort(byOrder), bytes * (files.length - 1)));
      continue;
    }
    // Blocks of a quantized type run along rows: the same bytes under another shape are other values, so only same-shape copies group.
    for (const same of shapes) {
      const holders = splitByFile(same).length;
      if (holders > 1) out.push(makeGroup('exact', [...same].sort(byOrder), bytes * (holders - 1)));
    }
  }
  return out;
}

/**
 * transposed / cast groups: per file holding both contents, [source, copy];
 * a file holding only the copy gets a cross-file group with the first source.
 * Further copies of the same content are covered by their exact groups.
 */
export function relationGroups(relations: Relation[]): SharingGroup[] {
  const out: SharingGroup[] = [];
  for (const r of relations) {
    const sources = new Map(splitByFile(r.source.members).map((l) => [l[0].fileIndex, l[0]]));
    for (const copies of splitByFile(r.copy.members)) {
      const copy = copies[0];
      const source = sources.get(copy.fileIndex) ?? r.source.members[0];
      const extra: Partial<SharingGroup> = r.kind === 'cast' ? { transposed: r.transposed } : {};
      out.push(makeGroup(r.kind, [source, copy], copy.tensor.byteLength, extra));
    }
  }
  return out;
}

/** Members a group would stop storing if applied (the union gives the total saving). */
export function droppedMembers(g: SharingGroup): GroupMember[] {
  switch (g.kind) {
    case 'tied':
      return [];
    case 'exact':
    case 'reshaped': {
      if (!g.crossFile) return g.members.slice(1);
      // Cross-file: the first member of every file but the first (in-file copies belong to in-file groups).
      const seen = new Set<string>([g.members[0].path]);
      const out: GroupMember[] = [];
      for (const m of g.members) if (!seen.has(m.path)) { seen.add(m.path); out.push(m); }
      return out;
    }
    case 'transposed':
    case 'cast':
      return g.members.slice(1);
    case 'quantized': {
      // Triplets may share a part (one zero point for all): each tensor once, never the kept triplet's.
      const seen = new Set(g.members.slice(0, 3).map((m) => m.tensor));
      return g.members.slice(3).filter((m) => !seen.has(m.tensor) && seen.add(m.tensor) !== undefined);
    }
  }
}

/**
 * Gives each group its id: the kind and a hash of its members (file and
 * tensor id, in member order), unique within the scan.
 */
export function assignGroupIds(groups: SharingGroup[]): void {
  const taken = new Set<string>();
  for (const g of groups) {
    const digest = createHash('sha1').update(g.members.map((m) => `${m.path}\u0000${m.tensor.id}`).join('\u0001')).digest('hex').slice(0, 12);
    let id = `${g.kind}-${digest}`;
    for (let k = 2; taken.has(id); k++) id = `${g.kind}-${digest}-${k}`;
    taken.add(id);
    g.id = id;
  }
}

/** What Apply saves over `groups` (the applicable ones), a tensor dropped by several groups counting once. */
export function totalSaving(groups: SharingGroup[]): number {
  const dropped = new Map<string, number>();
  for (const g of groups) {
    if (!g.applicable) continue;
    for (const m of droppedMembers(g)) dropped.set(`${m.path}\u0000${m.tensor.id}`, m.tensor.byteLength);
  }
  let total = 0;
  for (const n of dropped.values()) total += n;
  return total;
}


/** bytesSaved descending, then kind, size, and the members' positions: deterministic. */
export function compareGroups(order: Map<object, number>) {
  return (a: SharingGroup, b: SharingGroup): number => {
    if (a.bytesSaved !== b.bytesSaved) return b.bytesSaved - a.bytesSaved;
    const k = SHARING_KINDS.indexOf(a.kind) - SHARING_KINDS.indexOf(b.kind);
    if (k !== 0) return k;
    // Among equal savings (tied groups save nothing), bigger tensors first.
    const size = largestMember(b) - largestMember(a);
    if (size !== 0) return size;
    const n = Math.min(a.members.length, b.members.length);
    for (let i = 0; i < n; i++) {
      const d = (order.get(a.members[i].tensor) ?? 0) - (order.get(b.members[i].tensor) ?? 0);
      if (d !== 0) return d;
    }
    return a.members.length - b.members.length;
  };
}

/** Largest member, in bytes: what `minBytes` is compared with. */
export function largestMember(g: SharingGroup): number {
  return g.members.reduce((n, m) => Math.max(n, m.tensor.byteLength), 0);
}
