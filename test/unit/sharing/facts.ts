// Turns a ScanReport into the shape of the corpus manifests' reference facts
// (names, sorted lists), restricted to initializers as the references are.
import * as path from 'node:path';
import type { ScanReport, SharingGroup } from '../../../extension/sharing/types';

export interface Facts {
  exact: string[][];
  transposed: string[][];
  cast: string[][];
  transposedCast: string[][];
  multiUse: Record<string, number>;
  crossFile: string[][];
}

const sortGroups = (gs: string[][]): string[][] => gs.map((g) => [...g].sort()).sort((a, b) => a.join('\n').localeCompare(b.join('\n')));

export function normalise(groups: string[][]): string[][] {
  return sortGroups(groups);
}

function isInit(g: SharingGroup, i: number): boolean {
  return g.members[i].tensor.role === 'initializer';
}

export function factsOf(report: ScanReport): Facts {
  const key = (p: string, id: string) => `${p}\u0000${id}`;
  // In-file exact classes (all roles), to expand pairs the way the reference lists them: every copy.
  const classOf = new Map<string, string[]>();
  const exact: string[][] = [];
  for (const g of report.groups) {
    if (g.kind !== 'exact' || g.crossFile) continue;
    const ids = g.members.map((m) => m.tensor.id);
    for (const m of g.members) classOf.set(key(m.path, m.tensor.id), g.members.filter((_, i) => isInit(g, i)).map((x) => x.tensor.id));
    const inits = ids.filter((_, i) => isInit(g, i));
    if (inits.length > 1) exact.push(inits);
  }
  const expand = (g: SharingGroup): string[][] => {
    const [a, b] = g.members;
    const side = (m: typeof a) => classOf.get(key(m.path, m.tensor.id)) ?? (m.tensor.role === 'initializer' ? [m.tensor.id] : []);
    const out: string[][] = [];
    for (const x of side(a)) for (const y of side(b)) out.push([x, y]);
    return out;
  };
  const transposed: string[][] = [];
  const cast: string[][] = [];
  const transposedCast: string[][] = [];
  const multiUse: Record<string, number> = {};
  const crossFile: string[][] = [];
  const labels = new Map(report.models.map((m) => [m.path, path.basename(m.path)]));
  for (const g of report.groups) {
    if (g.kind === 'transposed' && !g.crossFile) transposed.push(...expand(g));
    if (g.kind === 'cast' && !g.crossFile) (g.transposed ? transposedCast : cast).push(...expand(g));
    if (g.kind === 'tied' && isInit(g, 0)) multiUse[g.members[0].tensor.id] = g.members[0].tensor.consumers.length;
    if (g.crossFile && (g.kind === 'exact')) {
      const inits = g.members.filter((_, i) => isInit(g, i));
      if (new Set(inits.map((m) => m.path)).size > 1) crossFile.push(inits.map((m) => `${labels.get(m.path)}:${m.tensor.id}`));
    }
  }
  return {
    exact: sortGroups(exact),
    transposed: sortGroups(transposed),
    cast: sortGroups(cast),
    transposedCast: sortGroups(transposedCast),
    multiUse,
    crossFile: sortGroups(crossFile),
  };
}
