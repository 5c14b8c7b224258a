// Cast copies: an fp16/bf16 tensor equal, bit for bit, to the round-to-
// nearest-even conversion of an fp32 tensor, so `Cast(fp32)` reproduces it
// exactly. Same shape, or (2-D, >= 256 elements) the transposed shape, the
// exporter's folded `Transpose(emb.half())` (corpus half-copy.onnx). Square
// n x n pairs count too (issue 2: no duplicate missed), although the corpus
// reference only covers non-square ones: an fp32 class and a half class never
// are the same tensor, so a square is never paired with itself.
import type { ByteSource } from './byteSource';
import { castEqual, transposeEqual } from './compare';
import type { ShapeClass } from './entries';
import type { HalfType } from '../util/floatCast';
import type { Relation } from './groups';
import { groupBy } from '../util/groupBy';
import type { ProgressMeter } from './progress';
import { elementSample, spreadPositions, squarePositions, transposedPositions } from './samples';
import { squareTransposable, transposable } from './transposed';

export function isHalf(dtype: string): dtype is HalfType {
  return dtype === 'float16' || dtype === 'bfloat16';
}

export async function findCasts(classes: ShapeClass[], src: ByteSource, progress?: ProgressMeter): Promise<Relation[]> {
  const halves = classes.filter((sc) => isHalf(sc.members[0].tensor.dtype));
  if (halves.length === 0) return [];
  const fulls = classes.filter((sc) => sc.members[0].tensor.dtype === 'float32');
  const out: Relation[] = [];

  // Same shape: key = target dtype | shape; sources sampled only where a target waits.
  const head = (sc: ShapeClass) => sc.members[0].tensor;
  const targets = groupBy(halves, (sc) => `${head(sc).dtype}|${head(sc).shape.join('x')}`);
  // Transposed: key = target dtype | target shape; a source of shape (a, b) looks for (b, a).
  const tTargets = groupBy(halves.filter(transposable), (sc) => `${head(sc).dtype}|${head(sc).shape.join('x')}`);
  // Square transposed: key = target dtype | n; same shape both sides.
  const sqTargets = groupBy(halves.filter(squareTransposable), (sc) => `${head(sc).dtype}|${head(sc).shape[0]}`);

  const matched = new Set<ShapeClass>();
  // A target's sample depends only on its own shape: read it once.
  const sampleCache = new Map<string, string | null>();
  const targetSample = (h: ShapeClass, how: 'same' | 't' | 'sq', positions: number[]): string | null => {
    const k = `${h.id}|${how}`;
    if (!sampleCache.has(k)) sampleCache.set(k, elementSample(src, h.members[0].tensor, positions));
    return sampleCache.get(k) ?? null;
  };
  /**
   * Pairs `f` with each unmatched candidate whose sample equals `f`'s, verified
   * in full. `sourceKey` reads `f`'s sample lazily: only where candidates wait.
   */
  const match = async (
    f: ShapeClass, candidates: ShapeClass[] | undefined, sourceKey: () => string | null,
    how: 'same' | 't' | 'sq', targetPositions: number[], target: HalfType, transposed: boolean,
  ): Promise<void> => {
    if (!candidates) return;
    const key = sourceKey();
    if (key === null) return;
    for (const h of candidates) {
      if (matched.has(h) || targetSample(h, how, targetPositions) !== key) continue;
      const equal = transposed
        ? await transposeEqual(src, head(f), head(h), target)
        : await castEqual(src, head(f), head(h), target);
      if (equal) {
        matched.add(h);
        out.push({ kind: 'cast', source: f, copy: h, transposed, castTo: target });
      }
    }
  };
  let done = 0;
  for (const f of fulls) {
    const ft = head(f);
    for (const target of ['float16', 'bfloat16'] as const) {
      const positions = spreadPositions(ft.elementCount);
      await match(f, targets.get(`${target}|${ft.shape.join('x')}`),
        () => elementSample(src, ft, positions, target), 'same', positions, target, false);
      if (transposable(f)) {
        // A source of shape (a, b) looks for a copy of shape (b, a).
        await match(f, tTargets.get(`${target}|${ft.shape[1]}x${ft.shape[0]}`),
          () => elementSample(src, ft, transposedPositions(ft.shape), target),
          't', transposedPositions([ft.shape[1], ft.shape[0]]), target, true);
      }
      if (squareTransposable(f)) {
        // After the same-shape pass: a symmetric W's cast copy is a plain Cast
        // (already matched), not a Transpose + Cast. y == cast(x)ᵀ: y at (j, i)
        // equals cast(x at (i, j)).
        const { direct, mirrored } = squarePositions(ft.shape[0]);
        await match(f, sqTargets.get(`${target}|${ft.shape[0]}`),
          () => elementSample(src, ft, direct, target), 'sq', mirrored, target, true);
      }
    }
    await src.tick();
    progress?.update(++done / fulls.length);
  }
  return out;
}
