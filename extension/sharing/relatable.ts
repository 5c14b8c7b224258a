// Which tensors without a byte-identical twin the relation detectors
// (transposed, cast, two encodings) could pair at all, decided from what the
// scan holds: a model of millions of small float32 tensors and no half or
// block-quantized one gives none of them a class object to compare.
import { isBlockQuantized, type TensorRef } from '../model/types';
import { isHalf } from './cast';
import type { Entry } from './entries';
import { transposable2d } from './transposed';

export function relatableIn(entries: readonly Entry[]): (t: TensorRef) => boolean {
  let halves = false;
  // Encodings pair a block-quantized tensor with another of its shape.
  const blockShapes = new Set<string>();
  for (const { tensor: t } of entries) {
    if (isHalf(t.dtype)) halves = true;
    else if (isBlockQuantized(t.dtype)) blockShapes.add(t.shape.join('x'));
  }
  return (t) =>
    transposable2d(t)
    || (halves && (isHalf(t.dtype) || t.dtype === 'float32'))
    || (blockShapes.size > 0 && blockShapes.has(t.shape.join('x')));
}
