// Identical quantized weights: two (weight, scale, zero point) triplets whose
// three parts are byte-identical, so one triplet can serve both consumers.
// Triplets are found through the operators that read them and by the
// quantizer's names; the byte classes (already verified) decide identity, so
// nothing more is read here.
import { hasBytes, type Entry, type ShapeClass } from './entries';
import { droppedMembers, makeGroup } from './groups';
import type { SharingGroup } from './types';
import { pushTo } from '../util/groupBy';
import { getOwn } from '../util/ownKeys';

/**
 * Input positions of (weight, scale, zero point) per operator. `scale: -1`:
 * the operator takes no scale (MatMulInteger); it is found by the
 * quantizer's naming convention `<w>_quantized` → `<w>_scale`.
 */
const TRIPLET_INPUTS: Record<string, Array<{ w: number; s: number; z: number }>> = {
  DequantizeLinear: [{ w: 0, s: 1, z: 2 }],
  QLinearMatMul: [{ w: 0, s: 1, z: 2 }, { w: 3, s: 4, z: 5 }],
  QLinearConv: [{ w: 0, s: 1, z: 2 }, { w: 3, s: 4, z: 5 }],
  MatMulInteger: [{ w: 1, s: -1, z: 3 }],
  ConvInteger: [{ w: 1, s: -1, z: 3 }],
  DynamicQuantizeMatMul: [{ w: 1, s: 2, z: 3 }],
  MatMulIntegerToFloat: [{ w: 1, s: 3, z: 5 }],
};

type Triplet = [Entry, Entry, Entry];

export function findQuantized(entries: Entry[], classOf: Map<Entry, ShapeClass>): SharingGroup[] {
  // Which tensor each input of a quantized op reads, and the tensors the
  // naming convention can look up, per file (only those: a model of
  // millions of tensors builds no key per tensor).
  const byInput = new Map<string, Entry>();
  const byName = new Map<string, Entry>();
  for (const e of entries) {
    const name = e.tensor.name;
    if (name.endsWith('_scale') || name.endsWith('_zero_point')) byName.set(`${e.fileIndex}|${e.tensor.graphPath}|${name}`, e);
    for (const c of e.tensor.consumers) {
      if (Object.hasOwn(TRIPLET_INPUTS, c.opType)) byInput.set(`${e.fileIndex}|${c.graphPath}|${c.nodeIndex}|${c.inputIndex}`, e);
    }
  }

  const triplets = new Map<string, Triplet>();
  for (const e of entries) {
    for (const c of e.tensor.consumers) {
      for (const pos of getOwn(TRIPLET_INPUTS, c.opType) ?? []) {
        if (pos.w !== c.inputIndex) continue;
        const at = (i: number) => byInput.get(`${e.fileIndex}|${c.graphPath}|${c.nodeIndex}|${i}`);
        let scale = pos.s >= 0 ? at(pos.s) : undefined;
        if (pos.s < 0 && e.tensor.name.endsWith('_quantized')) {
          const base = e.tensor.name.slice(0, -'_quantized'.length);
          scale = byName.get(`${e.fileIndex}|${e.tensor.graphPath}|${base}_scale`);
        }
        const zero = at(pos.z);
        if (!scale || !zero) continue;
        const t: Triplet = [e, scale, zero];
        triplets.set(t.map((x) => x.order).join('|'), t);
      }
    }
  }

  // The quantizer's naming convention (`<w>_quantized`, `<w>_scale`,
  // `<w>_zero_point`) catches triplets whose weight reaches DequantizeLinear
  // through Gather/Transpose (a tied, quantized embedding).
  for (const e of entries) {
    if (!e.tensor.name.endsWith('_quantized')) continue;
    const base = `${e.fileIndex}|${e.tensor.graphPath}|${e.tensor.name.slice(0, -'_quantized'.length)}`;
    const scale = byName.get(`${base}_scale`);
    const zero = byName.get(`${base}_zero_point`);
    if (scale && zero) triplets.set([e, scale, zero].map((x) => x.order).join('|'), [e, scale, zero]);
  }

  // Triplets whose three parts fall in the same three content classes are
  // identical (a part without a byte-equal twin is its own class: two
  // triplets can still share that very tensor, a common scale).
  const byContent = new Map<string, Triplet[]>();
  for (const t of triplets.values()) {
    // Unreadable parts prove nothing.
    if (!t.every(hasBytes)) continue;
    const key = t.map((x) => { const c = classOf.get(x); return c ? `c${c.id}` : `t${x.order}`; }).join('|');
    pushTo(byContent, key, t);
  }
  const out: SharingGroup[] = [];
  for (const list of byContent.values()) {
    if (list.length < 2) continue;
    list.sort((a, b) => a[0].order - b[0].order || a[1].order - b[1].order || a[2].order - b[2].order);
    const g = makeGroup('quantized', list.flat(), 0);
    g.bytesSaved = droppedMembers(g).reduce((n, m) => n + m.tensor.byteLength, 0);
    out.push(g);
  }
  return out;
}
