// Transposed copies: a 2-D tensor stored again as its transpose (the
// TorchScript exporter's constant-folded `Transpose(embedding)` for a tied
// lm_head). Same scope as the corpus reference: 2-D, non-square, at least
// 256 elements, same dtype. Works on one representative per content (shape
// class): exact copies of either side are covered by their exact groups.
import type { ByteSource } from './byteSource';
import { transposeEqual } from './compare';
import type { ShapeClass } from './entries';
import type { Relation } from './groups';
import { DTYPE_SIZE } from '../model/types';
import type { ProgressMeter } from './progress';
import { elementSample, transposedPositions } from './samples';

export const MIN_TRANSPOSE_ELEMENTS = 256;

/** Non-square 2-D with whole-byte elements and enough elements to matter. */
export function transposable(sc: ShapeClass): boolean {
  const t = sc.members[0].tensor;
  const es = DTYPE_SIZE[t.dtype];
  return t.shape.length === 2 && t.shape[0] !== t.shape[1] && t.elementCount >= MIN_TRANSPOSE_ELEMENTS && Number.isInteger(es) && es > 0;
}

export async function findTransposed(classes: ShapeClass[], src: ByteSource, progress?: ProgressMeter): Promise<Relation[]> {
  // Bucket by dtype and {min, max} dims, split by orientation; only buckets
  // holding both orientations are sampled at all.
  const buckets = new Map<string, { tall: ShapeClass[]; wide: ShapeClass[] }>();
  for (const sc of classes) {
    if (!transposable(sc)) continue;
    const [d0, d1] = sc.members[0].tensor.shape;
    const key = `${sc.members[0].tensor.dtype}|${Math.max(d0, d1)}|${Math.min(d0, d1)}`;
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { tall: [], wide: [] }));
    (d0 > d1 ? b.tall : b.wide).push(sc);
  }
  const live = [...buckets.values()].filter((b) => b.tall.length > 0 && b.wide.length > 0);
  const out: Relation[] = [];
  let done = 0;
  for (const { tall, wide } of live) {
    const positions = transposedPositions(tall[0].members[0].tensor.shape);
    const wPositions = transposedPositions(wide[0].members[0].tensor.shape);
    const tallByKey = new Map<string, ShapeClass[]>();
    for (const sc of tall) {
      const k = elementSample(src, sc.members[0].tensor, positions) ?? '';
      let l = tallByKey.get(k);
      if (!l) tallByKey.set(k, (l = []));
      l.push(sc);
    }
    for (const w of wide) {
      const k = elementSample(src, w.members[0].tensor, wPositions) ?? '';
      // Distinct tall contents cannot both be the transpose of one wide tensor: stop at the first match.
      for (const t of tallByKey.get(k) ?? []) {
        const [source, copy] = t.members[0].order < w.members[0].order ? [t, w] : [w, t];
        if (await transposeEqual(src, source.members[0].tensor, copy.members[0].tensor)) {
          out.push({ kind: 'transposed', source, copy, transposed: true });
          break;
        }
      }
      await src.tick();
    }
    progress?.update(++done / live.length);
  }
  return out;
}
