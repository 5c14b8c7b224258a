// The sums behind the layer matrices, over one range of element indices of
// every member of a family: the Gram matrix, a CountSketch per member, or the
// exact sums of chosen pairs. All of them add up over disjoint ranges, so a
// family can be split across worker threads (layerPool.ts) and merged by
// addition. Members are streamed together, the same range of each at once,
// through buffers allocated once per call: memory stays bounded whatever the
// tensor size.
import { FileSet } from '../io/fileSet';
import { DTYPE_SIZE, type DType, type TensorRef } from '../model/types';
import { halfTable, LITTLE_ENDIAN, numbersOf } from './tensorStats';
import { cancelled } from '../util/cancelled';
import { mix32 } from '../util/mix32';
import { LayerKernel } from './layerKernel';

/** What reading a member needs (a TensorRef is more, and not all of it crosses a thread). */
export type SumsTensor = Pick<TensorRef, 'id' | 'byteLength' | 'data'>;

export type SumsKind =
  | { kind: 'gram' }
  | { kind: 'sketch'; buckets: number }
  | { kind: 'pairs'; pairs: Array<[number, number]> };

/** Sums over whole members, before a pool splits them into ranges. */
export type SumsRequest = SumsKind & {
  members: SumsTensor[];
  dtype: DType;
  /** Bytes of read buffers for all members together. */
  bufferBytes: number;
};

/** Element indices [from, to) of every member. */
export type SumsJob = SumsRequest & { from: number; to: number };

export interface SumsResult {
  /** Σ of each member's elements. */
  sum: Float64Array;
  /** gram: n×n, [i·n+j] = Σ mᵢ·mⱼ for j ≥ i (the diagonal: squared norms). sketch: the diagonal only. */
  dot: Float64Array;
  /** sketch: member i's sketch at [i·buckets, (i+1)·buckets), then the sketch of the all-ones vector. */
  sketch?: Float64Array;
  /** pairs: per pair Σa, Σb, Σa², Σb², Σab, Σ(a−b)², six numbers each. */
  pairSums?: Float64Array;
}

/** Elements per tile: every member's tile stays in cache while all pairs use it. */
const TILE = 2048;

/** `table`: the values are half-type bit patterns, to be read through it. */
type Step = (values: Array<ArrayLike<number>>, k: number, at: number, table?: Float32Array) => void;

/** One kernel per thread, made on first use (undefined: not built, the sketch stays in JavaScript). */
let kernel: LayerKernel | undefined | null = null;
let kernelOff = false;

/** For tests: sketch float16 on this thread in JavaScript (the half table), as without a built kernel. */
export function useLayerKernel(on: boolean): void {
  kernelOff = !on;
}

export function computeSums(job: SumsJob, isAborted: () => boolean = () => false): SumsResult {
  const files = new FileSet();
  try {
    if (job.kind !== 'gram' && job.dtype === 'float16' && LITTLE_ENDIAN && !kernelOff) {
      if (kernel === null) kernel = LayerKernel.load();
      if (kernel) return job.kind === 'sketch' ? sketchF16(job, kernel, files, isAborted) : pairsF16(job, kernel, files, isAborted);
    }
    const n = job.members.length;
    const sum = new Float64Array(n);
    const dot = new Float64Array(n * n);
    const out: SumsResult = { sum, dot };
    let step: Step;
    if (job.kind === 'gram') {
      step = (values, k) => {
        addSums(values, k, sum);
        for (let t = 0; t < k; t += TILE) gramTile(values, n, t, Math.min(k, t + TILE), dot);
      };
    } else if (job.kind === 'sketch') {
      const sketch = (out.sketch = new Float64Array((n + 1) * job.buckets));
      step = sketchStep(job.buckets, n, sketch, sum, dot);
    } else {
      const pairSums = (out.pairSums = new Float64Array(job.pairs.length * 6));
      step = (values, k, _at, table) => (table ? pairsStepHalf(values, k, job.pairs, pairSums, table) : pairsStep(values, k, job.pairs, pairSums));
    }
    // Sketches and pairs read half types through the table as they go (a decoded copy costs more memory traffic than the sums); the Gram path decodes first.
    stream(files, job, step, isAborted, job.kind !== 'gram');
    return out;
  } finally {
    files.close();
  }
}

function addSums(values: Array<ArrayLike<number>>, k: number, sum: Float64Array): void {
  for (let i = 0; i < values.length; i++) {
    const a = values[i]!;
    let s = 0;
    for (let e = 0; e < k; e++) s += a[e]!;
    sum[i]! += s;
  }
}

/** dot[i·n+j] += Σ aᵢ[e]·aⱼ[e] over e in [from, to), j ≥ i; four partners at a time so each aᵢ[e] is loaded once per four. */
function gramTile(values: ReadonlyArray<ArrayLike<number>>, n: number, from: number, to: number, dot: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const a = values[i]!;
    let j = i;
    for (; j + 3 < n; j += 4) {
      const b0 = values[j]!, b1 = values[j + 1]!, b2 = values[j + 2]!, b3 = values[j + 3]!;
      let p0 = 0, p1 = 0, p2 = 0, p3 = 0;
      for (let e = from; e < to; e++) {
        const x = a[e]!;
        p0 += x * b0[e]!; p1 += x * b1[e]!; p2 += x * b2[e]!; p3 += x * b3[e]!;
      }
      dot[i * n + j]! += p0; dot[i * n + j + 1]! += p1; dot[i * n + j + 2]! += p2; dot[i * n + j + 3]! += p3;
    }
    for (; j < n; j++) {
      const b = values[j]!;
      let p = 0;
      for (let e = from; e < to; e++) p += a[e]! * b[e]!;
      dot[i * n + j]! += p;
    }
  }
}

/**
 * For the elements [t, end) of the chunk at element `at`: their hashed signs
 * into `sign` (from index 0), their runs into `runs` (e, len, p: elements
 * [e, e + len) go to buckets [p, p + len), split at block ends and at the
 * sketch's end), and the all-ones vector's sketch at `onesAt` updated.
 */
function tileRuns(buckets: number, at: number, t: number, end: number, sign: Float64Array, runs: number[], sketch: Float64Array, onesAt: number): void {
  for (let e = t; e < end; e++) sign[e - t] = mix32((at + e) ^ 0x2545f491) & 1 ? -1 : 1;
  runs.length = 0;
  for (let e = t; e < end;) {
    const g = at + e;
    const block = Math.floor(g / buckets);
    const q = g - block * buckets;
    const p = (q + (mix32(block) & (buckets - 1))) & (buckets - 1);
    const len = Math.min(end - e, buckets - q, buckets - p);
    runs.push(e, len, p);
    e += len;
  }
  for (let r = 0; r < runs.length; r += 3) {
    const e0 = runs[r]!, len = runs[r + 1]!, p0 = runs[r + 2]!, s0 = e0 - t;
    for (let x = 0; x < len; x++) sketch[onesAt + p0 + x]! += sign[s0 + x]!;
  }
}

/**
 * The float16 sketch through the SIMD kernel: the members' raw chunks, the
 * signs and the sketch live in the kernel's memory; JavaScript only reads
 * the file into it and works out the runs.
 */
function sketchF16(job: SumsJob & { kind: 'sketch' }, kernel: LayerKernel, files: FileSet, isAborted: () => boolean): SumsResult {
  const { members, buckets } = job;
  const n = members.length;
  const chunk = chunkOf(job, 2);
  kernel.reset();
  const rawAt = members.map(() => kernel.alloc(chunk * 2));
  const signAt = kernel.alloc(TILE * 8);
  const sketchAt = kernel.alloc((n + 1) * buckets * 8);
  const accAt = kernel.alloc(n * 16);
  // Every allocation made: views stay valid from here on.
  const mem = kernel.buffer;
  const raw = rawAt.map((at) => new Uint8Array(mem, at, chunk * 2));
  const sign = new Float64Array(mem, signAt, TILE);
  const sketch = new Float64Array(mem, sketchAt, (n + 1) * buckets);
  const acc = new Float64Array(mem, accAt, n * 2);
  sketch.fill(0);
  acc.fill(0);
  const runs: number[] = [];
  eachChunk(files, job, raw, chunk, 2, isAborted, (at, k) => {
    for (let t = 0; t < k; t += TILE) {
      tileRuns(buckets, at, t, Math.min(k, t + TILE), sign, runs, sketch, n * buckets);
      for (let m = 0; m < n; m++) {
        for (let r = 0; r < runs.length; r += 3) {
          const e0 = runs[r]!, len = runs[r + 1]!, p0 = runs[r + 2]!;
          kernel.sketchF16(rawAt[m]! + e0 * 2, signAt + (e0 - t) * 8, sketchAt + (m * buckets + p0) * 8, len, accAt + m * 16);
        }
      }
    }
  });
  const sum = new Float64Array(n);
  const dot = new Float64Array(n * n);
  for (let m = 0; m < n; m++) { sum[m] = acc[2 * m]!; dot[m * n + m] = acc[2 * m + 1]!; }
  return { sum, dot, sketch: sketch.slice() };
}

/** The exact pairs of float16 members through the SIMD kernel, members' raw chunks in its memory. */
function pairsF16(job: SumsJob & { kind: 'pairs' }, kernel: LayerKernel, files: FileSet, isAborted: () => boolean): SumsResult {
  const { members, pairs } = job;
  const n = members.length;
  const chunk = chunkOf(job, 2);
  kernel.reset();
  const rawAt = members.map(() => kernel.alloc(chunk * 2));
  const outAt = kernel.alloc(pairs.length * 6 * 8);
  const mem = kernel.buffer;
  const raw = rawAt.map((at) => new Uint8Array(mem, at, chunk * 2));
  const out = new Float64Array(mem, outAt, pairs.length * 6);
  out.fill(0);
  eachChunk(files, job, raw, chunk, 2, isAborted, (_at, k) => {
    // Tile by tile, so both members' tiles are in cache for every pair that reads them.
    for (let t = 0; t < k; t += TILE) {
      const len = Math.min(TILE, k - t);
      pairs.forEach(([i, j], p) => kernel.pairsF16(rawAt[i]! + t * 2, rawAt[j]! + t * 2, len, outAt + p * 48));
    }
  });
  return { sum: new Float64Array(n), dot: new Float64Array(n * n), pairSums: out.slice() };
}

/**
 * CountSketch with a cache-friendly bucket map: the elements are cut into
 * blocks of `buckets`, each block lands on the sketch rotated by a hashed
 * offset, each element with a hashed sign. Two elements of different blocks
 * share a bucket with probability 1/buckets, two of one block never, so the
 * sketches' inner products estimate the tensors' without bias, with the
 * variance of a hashed CountSketch; and each block is added as at most two
 * contiguous runs, not scattered.
 */
function sketchStep(buckets: number, n: number, sketch: Float64Array, sum: Float64Array, dot: Float64Array) {
  const sign = new Float64Array(TILE);
  const runs: number[] = [];
  const onesAt = n * buckets;
  return (values: Array<ArrayLike<number>>, k: number, at: number, table?: Float32Array): void => {
    for (let t = 0; t < k; t += TILE) {
      const end = Math.min(k, t + TILE);
      tileRuns(buckets, at, t, end, sign, runs, sketch, onesAt);
      for (let m = 0; m < n; m++) {
        const a = values[m]!;
        const base = m * buckets;
        let s = 0, q = 0;
        for (let r = 0; r < runs.length; r += 3) {
          const e0 = runs[r]!, len = runs[r + 1]!, p0 = base + runs[r + 2]!, s0 = e0 - t;
          if (table) {
            for (let x = 0; x < len; x++) {
              const v = table[a[e0 + x]!]!;
              s += v; q += v * v;
              sketch[p0 + x]! += sign[s0 + x]! * v;
            }
          } else {
            for (let x = 0; x < len; x++) {
              const v = a[e0 + x]!;
              s += v; q += v * v;
              sketch[p0 + x]! += sign[s0 + x]! * v;
            }
          }
        }
        sum[m]! += s;
        dot[m * n + m]! += q;
      }
    }
  };
}

function pairsStep(values: Array<ArrayLike<number>>, k: number, pairs: Array<[number, number]>, out: Float64Array): void {
  pairs.forEach(([i, j], p) => {
    const a = values[i]!, b = values[j]!;
    let sa = 0, sb = 0, qa = 0, qb = 0, ab = 0, d = 0;
    for (let e = 0; e < k; e++) {
      const x = a[e]!, y = b[e]!, t = x - y;
      sa += x; sb += y; qa += x * x; qb += y * y; ab += x * y; d += t * t;
    }
    const o = p * 6;
    out[o]! += sa; out[o + 1]! += sb; out[o + 2]! += qa; out[o + 3]! += qb; out[o + 4]! += ab; out[o + 5]! += d;
  });
}

function pairsStepHalf(values: Array<ArrayLike<number>>, k: number, pairs: Array<[number, number]>, out: Float64Array, table: Float32Array): void {
  pairs.forEach(([i, j], p) => {
    const a = values[i]!, b = values[j]!;
    let sa = 0, sb = 0, qa = 0, qb = 0, ab = 0, d = 0;
    for (let e = 0; e < k; e++) {
      const x = table[a[e]!]!, y = table[b[e]!]!, t = x - y;
      sa += x; sb += y; qa += x * x; qb += y * y; ab += x * y; d += t * t;
    }
    const o = p * 6;
    out[o]! += sa; out[o + 1]! += sb; out[o + 2]! += qa; out[o + 3]! += qb; out[o + 4]! += ab; out[o + 5]! += d;
  });
}

/**
 * Chunk size for `n` members of `es`-byte elements: room for the raw bytes
 * and for them decoded to float64s (also where they are not decoded: larger
 * chunks measured slower).
 */
function chunkOf(job: SumsJob, es: number): number {
  return Math.max(TILE, Math.min(job.to - job.from, Math.floor(job.bufferBytes / (job.members.length * (es + 8)))));
}

/** Reads the same range of every member into `raw` (`es`-byte elements), chunk by chunk, calling `each(at, k)` after each. */
function eachChunk(files: FileSet, job: SumsJob, raw: Uint8Array[], chunk: number, es: number, isAborted: () => boolean, each: (at: number, k: number) => void): void {
  for (let at = job.from; at < job.to; at += chunk) {
    if (isAborted()) throw cancelled();
    const k = Math.min(chunk, job.to - at);
    for (let m = 0; m < raw.length; m++) files.readTensor(job.members[m]!, at * es, raw[m]!, 0, k * es);
    each(at, k);
  }
}

/** Calls `step` with the same range of every member's values (as numbers), chunk by chunk, through reused buffers. */
function stream(files: FileSet, job: SumsJob, step: Step, isAborted: () => boolean, halvesAsBits: boolean): void {
  const members = job.members;
  const es = DTYPE_SIZE[job.dtype];
  const table = halvesAsBits && LITTLE_ENDIAN && (job.dtype === 'float16' || job.dtype === 'bfloat16') ? halfTable(job.dtype) : undefined;
  const chunk = chunkOf(job, es);
  const raw = members.map(() => new Uint8Array(new ArrayBuffer(chunk * es)));
  const decoded = members.map(() => new Float64Array(table ? 0 : chunk));
  eachChunk(files, job, raw, chunk, es, isAborted, (at, k) => {
    const values = raw.map((r, m) => (table ? new Uint16Array(r.buffer, 0, k) : numbersOf(job.dtype, r, k * es, decoded[m]!)));
    step(values, k, at, table);
  });
}
