// Byte-identical tensors: the basis of the `exact`, `reshaped` and cross-file
// groups, and (one representative per class) of the transposed/cast matching.
//
// Reads as little as exactness allows: only tensors that share dtype and byte
// length with another are sampled; only equal samples are verified in full.
import type { TensorRef } from '../model/types';
import type { ByteSource } from './byteSource';
import { bytesEqual, digest } from './compare';
import { byOrder, hasBytes, splitByShape, type Entry, type ShapeClass } from './entries';
import type { ProgressMeter } from './progress';
import { byteSample } from './samples';
import { groupBy } from '../util/groupBy';
import { pushAll } from '../util/arrays';

export interface ByteClasses {
  /** Verified byte-identical sets with at least two members (any shapes), members in order. */
  multi: Entry[][];
  /**
   * Shape classes (dtype, shape and bytes equal) for the relation detectors:
   * every class of two or more, and a class of one for each other tensor
   * `relatable` lets through.
   */
  shapeClasses: ShapeClass[];
  /** The class of each tensor that has a byte-equal twin; a tensor without one is absent (its class holds only itself). */
  classOf: Map<Entry, ShapeClass>;
}

export async function findByteClasses(entries: Entry[], src: ByteSource, progress?: ProgressMeter, relatable: (t: TensorRef) => boolean = () => true): Promise<ByteClasses> {
  const buckets = groupBy(entries.filter(hasBytes), (e) => `${e.tensor.dtype}|${e.tensor.byteLength}`);

  // Most tensors are unique: kept as themselves, with no list each.
  const singles: Entry[] = [];
  const classes: Entry[][] = [];
  const candidates: Entry[][] = [];
  let sampled = 0;
  const toSample = [...buckets.values()].filter((b) => b.length > 1).reduce((n, b) => n + b.length, 0);
  for (const bucket of buckets.values()) {
    if (bucket.length === 1) { singles.push(bucket[0]!); continue; }
    // A sample seen once maps to its entry, a list only once a second one shares it.
    const bySample = new Map<string, Entry | Entry[]>();
    let complete = false;
    for (const e of bucket) {
      const s = byteSample(src, e.tensor);
      complete = s.complete; // the same for the whole bucket (same byte length)
      const seen = bySample.get(s.key);
      if (seen === undefined) bySample.set(s.key, e);
      else if (Array.isArray(seen)) seen.push(e);
      else bySample.set(s.key, [seen, e]);
      sampled++;
      progress?.update((0.2 * sampled) / Math.max(1, toSample));
      await src.tick();
    }
    for (const v of bySample.values()) {
      if (!Array.isArray(v)) singles.push(v);
      else if (complete) classes.push(v);
      else candidates.push(v);
    }
  }

  const candidateBytes = candidates.reduce((n, c) => n + c.length * c[0].tensor.byteLength, 0);
  let verified = 0;
  for (const list of candidates) {
    for (const cls of await partition(list, src)) {
      if (cls.length === 1) singles.push(cls[0]!); else classes.push(cls);
    }
    verified += list.length * list[0].tensor.byteLength;
    progress?.update(0.2 + (0.8 * verified) / Math.max(1, candidateBytes));
  }

  const multi: Entry[][] = [];
  const shapeClasses: ShapeClass[] = [];
  const classOf = new Map<Entry, ShapeClass>();
  for (const e of singles) if (relatable(e.tensor)) shapeClasses.push({ id: 0, members: [e] });
  for (const cls of classes) {
    cls.sort(byOrder);
    multi.push(cls);
    for (const members of splitByShape(cls)) {
      const sc: ShapeClass = { id: 0, members };
      shapeClasses.push(sc);
      for (const m of members) classOf.set(m, sc);
    }
  }
  multi.sort((a, b) => a[0].order - b[0].order);
  shapeClasses.sort((a, b) => a.members[0].order - b.members[0].order);
  shapeClasses.forEach((sc, i) => { sc.id = i; });
  return { multi, shapeClasses, classOf };
}

/**
 * Splits same-sample candidates into verified byte-equal classes. Compares
 * against the first member; if that leaves three or more unresolved (samples
 * agreed but contents differ), a digest pass splits them first so the
 * pairwise verification cannot go quadratic.
 */
async function partition(list: Entry[], src: ByteSource): Promise<Entry[][]> {
  const out: Entry[][] = [];
  let pending = list;
  let round = 0;
  while (pending.length > 0) {
    if (pending.length === 1) { out.push(pending); break; }
    if (round >= 1 && pending.length >= 3) {
      const byDigest = new Map<string, Entry[]>();
      for (const e of pending) {
        const d = await digest(src, e.tensor);
        let g = byDigest.get(d);
        if (!g) byDigest.set(d, (g = []));
        g.push(e);
      }
      for (const g of byDigest.values()) pushAll(out, await pairwise(g, src));
      break;
    }
    const [same, rest] = await splitAgainstFirst(pending, src);
    out.push(same);
    pending = rest;
    round++;
  }
  return out;
}

async function pairwise(list: Entry[], src: ByteSource): Promise<Entry[][]> {
  const out: Entry[][] = [];
  let pending = list;
  while (pending.length > 0) {
    const [same, rest] = await splitAgainstFirst(pending, src);
    out.push(same);
    pending = rest;
  }
  return out;
}

async function splitAgainstFirst(list: Entry[], src: ByteSource): Promise<[Entry[], Entry[]]> {
  const rep = list[0];
  const same = [rep];
  const rest: Entry[] = [];
  for (const e of list.slice(1)) (await bytesEqual(src, rep.tensor, e.tensor) ? same : rest).push(e);
  return [same, rest];
}
