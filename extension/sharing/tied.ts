// Tied weights: one stored tensor read by two or more node inputs, subgraph
// uses included (the readers resolve outer-scope names into `consumers`).
// Already shared, so nothing to save: reported so a user sees the tie.
import type { Entry } from './entries';
import { makeGroup } from './groups';
import type { SharingGroup } from './types';

export function findTied(entries: Entry[]): SharingGroup[] {
  return entries.filter((e) => e.tensor.consumers.length >= 2).map((e) => makeGroup('tied', [e], 0));
}
