// Whether Apply can carry out each group, decided once at scan time by the
// same planner Apply runs (the format's realiser, conflicts between groups,
// files that cannot be written), so every view counts and offers only what
// Apply then delivers, and says why for the rest.
import { formatOf } from '../model/registry';
import type { ModelFile } from '../model/types';
import { planSharing } from './plan';
import type { SharingGroup } from './types';

/** Sets `applicable` (and `reason` where not) on every group of `groups`, which come in the report's order. */
export function markApplicable(groups: SharingGroup[], models: ModelFile[]): void {
  for (const g of groups) g.applicable = false;
  for (const model of models) {
    const mine = groups.filter((g) => g.kind !== 'tied' && g.members.some((m) => m.path === model.path));
    if (mine.length === 0) continue;
    const writer = formatOf(model).writer;
    if (!writer) {
      for (const g of mine) g.reason ??= `${formatOf(model).label} files cannot be rewritten yet`;
      continue;
    }
    const plan = planSharing(model, { groups: mine }, writer.realiser(model));
    for (const g of plan.groups) g.applicable = true;
    for (const s of plan.skipped) s.group.reason ??= s.reason;
  }
}
