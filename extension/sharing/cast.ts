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
import type { HalfType } from './floatCast';
import type { Relation } from './groups';
import type { TensorRef } from '../model/types';
import type { ProgressMeter } from './progress';
import { elementSample, spreadPositions, squarePositions, transposedPositions } from './samples';
import { squareTransposable, transposable } from './transposed';

function isHalf(dtype: string): dtype is HalfType {
  return dtype === 'float16' || dtype === 'bfloat16';
}

export async function findCasts(classes: ShapeClass[], src: ByteSource, progress?: ProgressMeter): Promise<Relation[]> {
  const halves = classes.filter((sc) => isHalf(sc.members[0].tensor.dtype));
  if (halves.length === 0) return [];
  const fulls = classes.filter((sc) => sc.members[0].tensor.dtype === 'float32');
  const out: Relation[] = [];

  // Same shape: key = target dtype | shape; sources sampled only where a target waits.
  const targets = bucket(halves, (h) => `${h.dtype}|${h.shape.join('x')}`);
  // Transposed: key = target dtype | target shape; a source of shape (a, b) looks for (b, a).
  const tTargets = bucket(halves.filter(transposable), (h) => `${h.dtype}|${h.shape.join('x')}`);
  // Square transposed: key = target dtype | n; same shape both sides.
  const sqTargets = bucket(halves.filter(squareTransposable), (h) => `${h.dtype}|${h.shape[0]}`);

  const matched = new Set<ShapeClass>();
  // A target's sample depends only on its own shape: read it once.
  const sampleCache = new Map<string, string | null>();
  const targetSample = (h: ShapeClass, how: 'same' | 't' | 'sq', positions: number[]): string | null => {
    const k = `${h.id}|${how}`;
    if (!sampleCache.has(k)) sampleCache.set(k, elementSample(src, h.members[0].tensor, positions));
    return sampleCache.get(k) ?? null;
  };
  let done = 0;
  for (const f of fulls) {
    const ft = f.members[0].tensor;
    for (const target of ['float16', 'bfloat16'] as const) {
      const same = targets.get(`${target}|${ft.shape.join('x')}`);
      if (same) {
        const positions = spreadPositions(ft.elementCount);
        const key = elementSample(src, ft, positions, target);
        if (key !== null) {
          for (const h of same) {
            if (matched.has(h) || targetSample(h, 'same', positions) !== key) continue;
            if (await castEqual(src, ft, h.members[0].tensor, target)) {
              matched.add(h);
              out.push({ kind: 'cast', source: f, copy: h, transposed: false, castTo: target });
            }
          }
        }
      }
      if (transposable(f)) {
        const swapped = tTargets.get(`${target}|${ft.shape[1]}x${ft.shape[0]}`);
        if (swapped) {
          const key = elementSample(src, ft, transposedPositions(ft.shape), target);
          const hPositions = transposedPositions([ft.shape[1], ft.shape[0]]);
          if (key !== null) {
            for (const h of swapped) {
              if (matched.has(h) || targetSample(h, 't', hPositions) !== key) continue;
              if (await transposeEqual(src, ft, h.members[0].tensor, target)) {
                matched.add(h);
                out.push({ kind: 'cast', source: f, copy: h, transposed: true, castTo: target });
              }
            }
          }
        }
      }
      if (squareTransposable(f)) {
        // After the same-shape pass: a symmetric W's cast copy is a plain Cast
        // (already matched), not a Transpose + Cast.
        const square = sqTargets.get(`${target}|${ft.shape[0]}`);
        if (square) {
          // y == cast(x)ᵀ: y at (j, i) equals cast(x at (i, j)).
          const { direct, mirrored } = squarePositions(ft.shape[0]);
          const key = elementSample(src, ft, direct, target);
          if (key !== null) {
            for (const h of square) {
              if (matched.has(h) || targetSample(h, 'sq', mirrored) !== key) continue;
              if (await transposeEqual(src, ft, h.members[0].tensor, target)) {
                matched.add(h);
                out.push({ kind: 'cast', source: f, copy: h, transposed: true, castTo: target });
              }
            }
          }
        }
      }
    }
    await src.tick();
    progress?.update(++done / fulls.length);
  }
  return out;
}

/** Shape classes by a key of their tensor. */
function bucket(classes: ShapeClass[], keyOf: (t: TensorRef) => string): Map<string, ShapeClass[]> {
  const out = new Map<string, ShapeClass[]>();
  for (const sc of classes) {
    const key = keyOf(sc.members[0].tensor);
    let l = out.get(key);
    if (!l) out.set(key, (l = []));
    l.push(sc);
  }
  return out;
}
