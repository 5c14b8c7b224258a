// Transposed copies: a 2-D tensor stored again as its transpose (the
// TorchScript exporter's constant-folded `Transpose(embedding)` for a tied
// lm_head, or a square projection folded into a second initializer). 2-D, at
// least 256 elements, same dtype. Non-square pairs are the corpus reference's
// scope; square pairs go beyond it (the reference skips squares), because a
// scan that skips them misses duplicates. Works on one representative per
// content (shape class): exact copies of either side are covered by their
// exact groups, and a symmetric matrix is never paired with itself.
import type { ByteSource } from './byteSource';
import { transposeEqual } from './compare';
import type { ShapeClass } from './entries';
import type { Relation } from './groups';
import { DTYPE_SIZE, isBlockQuantized, type TensorRef } from '../model/types';
import type { ProgressMeter } from './progress';
import { elementSample, squarePositions, transposedPositions } from './samples';
import { groupBy, pushTo } from '../util/groupBy';
import { rowMajorDigest, transposeDigest } from './transposeDigest';
import { pushAll } from '../util/arrays';

export const MIN_TRANSPOSE_ELEMENTS = 256;

/** More candidates than this behind one sample key: match them by content digest before comparing. */
const DIGEST_ABOVE = 4;

/**
 * Candidates whose samples all agree (lookalikes) would each be compared in
 * full: past a few, keep only those whose transpose digest equals the
 * target's digest, each digest computed once.
 */
class DigestCache {
  private readonly transposes = new Map<ShapeClass, string>();
  /** Per candidate list: its members by transpose digest (rebuilt when the list grew). */
  private readonly indexes = new Map<ShapeClass[], { size: number; byDigest: Map<string, ShapeClass[]> }>();

  constructor(private readonly src: ByteSource) {}

  async narrow(candidates: ShapeClass[], target: ShapeClass): Promise<ShapeClass[]> {
    if (candidates.length <= DIGEST_ABOVE) return candidates;
    let index = this.indexes.get(candidates);
    if (!index || index.size !== candidates.length) {
      const byDigest = new Map<string, ShapeClass[]>();
      for (const c of candidates) {
        let d = this.transposes.get(c);
        if (d === undefined) this.transposes.set(c, (d = await transposeDigest(this.src, c.members[0].tensor)));
        pushTo(byDigest, d, c);
      }
      this.indexes.set(candidates, (index = { size: candidates.length, byDigest }));
    }
    return index.byDigest.get(await rowMajorDigest(this.src, target.members[0].tensor)) ?? [];
  }
}

/** 2-D with whole-byte elements (not blocks of a quantized type) and enough elements to matter (square or not). */
export function transposable2d(t: TensorRef): boolean {
  const es = DTYPE_SIZE[t.dtype];
  return !isBlockQuantized(t.dtype) && t.shape.length === 2 && t.elementCount >= MIN_TRANSPOSE_ELEMENTS && Number.isInteger(es) && es > 0;
}

/** Non-square 2-D with whole-byte elements and enough elements to matter (also the cast detector's rule). */
export function transposable(sc: ShapeClass): boolean {
  const t = sc.members[0].tensor;
  return transposable2d(t) && t.shape[0] !== t.shape[1];
}

/** Square 2-D (n x n) that may be the transpose of another square class. */
export function squareTransposable(sc: ShapeClass): boolean {
  const t = sc.members[0].tensor;
  return transposable2d(t) && t.shape[0] === t.shape[1];
}

export async function findTransposed(classes: ShapeClass[], src: ByteSource, progress?: ProgressMeter): Promise<Relation[]> {
  // Bucket by dtype and {min, max} dims, split by orientation; only buckets
  // holding both orientations are sampled at all. Squares go to their own
  // buckets (dtype and n), sampled only when two or more share one.
  const buckets = new Map<string, { tall: ShapeClass[]; wide: ShapeClass[] }>();
  const squares = new Map<string, ShapeClass[]>();
  for (const sc of classes) {
    const t = sc.members[0].tensor;
    if (squareTransposable(sc)) {
      pushTo(squares, `${t.dtype}|${t.shape[0]}`, sc);
      continue;
    }
    if (!transposable(sc)) continue;
    const [d0, d1] = t.shape;
    const key = `${t.dtype}|${Math.max(d0, d1)}|${Math.min(d0, d1)}`;
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { tall: [], wide: [] }));
    (d0 > d1 ? b.tall : b.wide).push(sc);
  }
  const live = [...buckets.values()].filter((b) => b.tall.length > 0 && b.wide.length > 0);
  const liveSquares = [...squares.values()].filter((l) => l.length > 1);
  const steps = Math.max(1, live.length + liveSquares.length);
  const out: Relation[] = [];
  let done = 0;
  for (const { tall, wide } of live) {
    const positions = transposedPositions(tall[0].members[0].tensor.shape);
    const wPositions = transposedPositions(wide[0].members[0].tensor.shape);
    const tallByKey = groupBy(tall, (sc) => elementSample(src, sc.members[0].tensor, positions) ?? '');
    const digests = new DigestCache(src);
    for (const w of wide) {
      const k = elementSample(src, w.members[0].tensor, wPositions) ?? '';
      // Distinct tall contents cannot both be the transpose of one wide tensor: stop at the first match.
      for (const t of await digests.narrow(tallByKey.get(k) ?? [], w)) {
        const [source, copy] = t.members[0].order < w.members[0].order ? [t, w] : [w, t];
        if (await transposeEqual(src, source.members[0].tensor, copy.members[0].tensor)) {
          out.push({ kind: 'transposed', source, copy, transposed: true });
          break;
        }
      }
      await src.tick();
    }
    progress?.update(++done / steps);
  }
  for (const list of liveSquares) {
    pushAll(out, await squarePairs(list, src));
    progress?.update(++done / steps);
  }
  return out;
}

/**
 * Pairs (x, y) of distinct square classes with y == xᵀ, in one pass in model
 * order: each class looks up the earlier classes whose sample at (i, j)
 * equals its own at (j, i), so every pair is considered once, from its later
 * member, and the source is the earlier one. A content has one transpose, so
 * a class is in at most one pair: matched classes leave the lookup.
 */
async function squarePairs(list: ShapeClass[], src: ByteSource): Promise<Relation[]> {
  const { direct, mirrored } = squarePositions(list[0].members[0].tensor.shape[0]);
  const earlier = new Map<string, ShapeClass[]>();
  const digests = new DigestCache(src);
  const matched = new Set<ShapeClass>();
  const out: Relation[] = [];
  // `list` is in model order (shape classes are sorted by first member).
  for (const y of list) {
    const yt = y.members[0].tensor;
    const want = elementSample(src, yt, mirrored) ?? '';
    for (const x of await digests.narrow(earlier.get(want) ?? [], y)) {
      // x !== y by construction (y is added below, after its own lookup): a
      // symmetric matrix is its own transpose and never a pair with itself.
      if (matched.has(x)) continue;
      if (await transposeEqual(src, x.members[0].tensor, yt)) {
        out.push({ kind: 'transposed', source: x, copy: y, transposed: true });
        matched.add(x);
        matched.add(y);
        break;
      }
    }
    if (!matched.has(y)) {
      pushTo(earlier, elementSample(src, yt, direct) ?? '', y);
    }
    await src.tick();
  }
  return out;
}
