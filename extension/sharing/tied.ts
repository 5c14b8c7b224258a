// Tied weights: one stored weight under several uses or names. Already
// shared, so nothing to save: reported so a user sees the tie, and what
// makes it one weight:
// - graph: one tensor read by two or more node inputs (subgraph uses
//   included: the readers resolve outer-scope names into `consumers`);
// - storage: several names on one storage view (PyTorch aliases);
// - config / omission / record: names the model does not store, which a
//   loader (or `restore`) re-creates from a stored tensor (ModelFile.ties).
import type { ModelFile } from '../model/types';
import { storageIdentity, type Entry } from './entries';
import { makeGroup } from './groups';
import type { GroupMember, SharingGroup } from './types';
import { groupBy } from '../util/groupBy';
import { pushAll } from '../util/arrays';

export function findTied(models: ModelFile[], entries: Entry[]): SharingGroup[] {
  const out = entries.filter((e) => e.tensor.consumers.length >= 2).map((e) => makeGroup('tied', [e], 0, { tiedBy: 'graph' }));
  const entryOf = new Map(entries.map((e) => [e.tensor, e]));
  for (const m of models) {
    const views = groupBy(m.tensors.filter((t) => t.storage !== undefined), (t) => storageIdentity(t)!);
    for (const names of views.values()) {
      const first = entryOf.get(names[0]!);
      if (names.length < 2 || !first) continue;
      const g = makeGroup('tied', [first], 0, { tiedBy: 'storage' });
      pushAll(g.members, names.slice(1).map((tensor): GroupMember => ({ path: m.path, tensor, stored: true })));
      out.push(g);
    }
    for (const tie of m.ties) {
      const kept = entryOf.get(tie.kept);
      if (!kept) continue;
      const g = makeGroup('tied', [kept], 0, { tiedBy: tie.tiedBy });
      pushAll(g.members, tie.tied.map(({ tensor, stored }): GroupMember => ({ path: m.path, tensor, stored })));
      out.push(g);
    }
  }
  return out;
}
