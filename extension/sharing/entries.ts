// The detectors' view of the tensors being scanned: each tensor once, with
// the file it came from and a global order (file order, then model order).
// "First" in a group always means lowest `order`, so every group keeps the
// same tensor and savings never double count.
import type { ModelFile, TensorRef } from '../model/types';
import { groupBy } from '../util/groupBy';

export interface Entry {
  order: number;
  fileIndex: number;
  path: string;
  tensor: TensorRef;
}

/**
 * Tensors with identical dtype, shape and bytes (verified), sorted by order.
 * Singletons too: transposed/cast matching works on these, one read per content.
 */
export interface ShapeClass {
  id: number;
  members: Entry[];
}

/**
 * The tensors to compare: every stored weight once. Names that view one
 * storage the same way (see StorageView) are one weight: only the first
 * name is compared; findTied reports the others.
 */
export function entriesOf(models: ModelFile[]): Entry[] {
  const out: Entry[] = [];
  models.forEach((m, fileIndex) => {
    const seen = new Set<string>();
    for (const tensor of m.tensors) {
      const view = storageIdentity(tensor);
      if (view !== undefined) {
        if (seen.has(view)) continue;
        seen.add(view);
      }
      out.push({ order: out.length, fileIndex, path: m.path, tensor });
    }
  });
  return out;
}

/** Equal for names that are one weight by storage (same storage, offset, dtype, shape and strides). */
export function storageIdentity(t: TensorRef): string | undefined {
  const s = t.storage;
  if (!s) return undefined;
  return `${s.key}\u0000${s.offset}\u0000${t.dtype}\u0000${t.shape.join(',')}\u0000${s.strides?.join(',') ?? 'contiguous'}`;
}

/** Tensors whose canonical bytes can be read (strings, sparse and undecodable ones cannot). */
export function hasBytes(e: Entry): boolean {
  return e.tensor.data.kind !== 'unavailable' && e.tensor.dtype !== 'string';
}

export function byOrder(a: Entry, b: Entry): number {
  return a.order - b.order;
}

/** Members split by file, each list in order; files in order of first appearance. */
export function splitByFile(members: Entry[]): Entry[][] {
  return [...groupBy([...members].sort(byOrder), (m) => m.fileIndex).values()];
}

/** Members split by shape, in order of first appearance. */
export function splitByShape(members: Entry[]): Entry[][] {
  return [...groupBy(members, (e) => e.tensor.shape.join('x')).values()];
}
