// One weight stored in two encodings (GGUF: token_embd Q8_0, output F16):
// equal only after dequantizing, so never byte-identical and never an exact
// cast. Found by decoding both and measuring how far apart they are; always
// reported as lossy (lossless: false, with the figures), never applied.
//
// Candidates are same-shape classes of different dtypes, at least one
// block-quantized (plain float pairs are the cast detector's). Each
// candidate's values at four spread places are decoded once (a probe: a
// tensor that starts with zeros does not look like every other); only pairs whose
// probes agree are decoded in full, chunk by chunk through two reused
// buffers, so unrelated pairs cost one probe each and memory stays bounded.
import { dequantizer, type Dequantizer } from '../model/dequantize';
import { isBlockQuantized, type ModelFile, type TensorRef } from '../model/types';
import type { ByteSource } from './byteSource';
import type { ShapeClass } from './entries';
import { groupBy } from '../util/groupBy';
import { makeGroup } from './groups';
import type { ProgressMeter } from './progress';
import type { SharingGroup } from './types';

/** A probe: PROBE_WINDOWS runs of WINDOW_VALUES values, spread over the tensor (multiples of every block size, 256). */
const WINDOW_VALUES = 256;
const PROBE_WINDOWS = 4;
const CHUNK_VALUES = 256 * 1024;
/**
 * Largest relative RMS difference, rms(a - b) / rms(a), for two tensors to be
 * one weight: 4-bit quantization gives about 0.1, 2-bit up to about 0.4;
 * unrelated weights of one scale about 1.4.
 */
const SAME_WEIGHT_RMS = 0.5;

export interface Difference {
  /** Largest |a - b| over the elements. */
  maxAbs: number;
  /** maxAbs relative to the largest |value| of either tensor. */
  maxRel: number;
  /** rms(a - b) / rms(a): how the pair was judged one weight. */
  rmsRel: number;
}

interface Candidate {
  sc: ShapeClass;
  t: TensorRef;
  dq: Dequantizer;
}

class Accumulator {
  maxAbs = 0;
  maxMag = 0;
  sumSqDiff = 0;
  sumSq = 0;

  add(a: Float32Array, b: Float32Array, n: number): void {
    for (let i = 0; i < n; i++) {
      const x = a[i]!, y = b[i]!, d = Math.abs(x - y);
      // NaN on either side: never one weight.
      if (Number.isNaN(d)) { this.maxAbs = NaN; return; }
      if (d > this.maxAbs) this.maxAbs = d;
      const m = Math.max(Math.abs(x), Math.abs(y));
      if (m > this.maxMag) this.maxMag = m;
      this.sumSqDiff += d * d;
      this.sumSq += x * x;
    }
  }

  result(): Difference {
    return {
      maxAbs: this.maxAbs,
      maxRel: this.maxMag > 0 ? this.maxAbs / this.maxMag : 0,
      rmsRel: this.sumSq > 0 ? Math.sqrt(this.sumSqDiff / this.sumSq) : this.sumSqDiff > 0 ? Infinity : 0,
    };
  }

  same(): boolean {
    const r = this.result();
    return !Number.isNaN(r.maxAbs) && r.rmsRel <= SAME_WEIGHT_RMS;
  }
}

/** Decodes `count` values of `c` starting at value `first` into `out` (whole blocks: both are multiples of the block size). */
function decode(src: ByteSource, c: Candidate, which: 0 | 1, first: number, count: number, out: Float32Array): void {
  const blocks = count / c.dq.blockSize;
  const bytes = blocks * c.dq.bytesPerBlock;
  const buf = src.buffer(which, bytes);
  src.read(c.t, (first / c.dq.blockSize) * c.dq.bytesPerBlock, buf, 0, bytes);
  c.dq.decode(buf, blocks, out);
}

/** Where the probe reads: the whole tensor when small, else PROBE_WINDOWS block-aligned windows from start to end. */
function probeWindows(n: number): Array<{ first: number; count: number }> {
  if (n <= WINDOW_VALUES * PROBE_WINDOWS) return [{ first: 0, count: n }];
  const starts = new Set<number>();
  for (let k = 0; k < PROBE_WINDOWS; k++) {
    starts.add(Math.floor((k * (n - WINDOW_VALUES)) / (PROBE_WINDOWS - 1) / WINDOW_VALUES) * WINDOW_VALUES);
  }
  return [...starts].map((first) => ({ first, count: WINDOW_VALUES }));
}

function warnOnce(model: ModelFile | undefined, t: TensorRef, warned: Set<string>): void {
  const key = `${model?.path}\u0000${t.dtype}`;
  if (!model || warned.has(key)) return;
  warned.add(key);
  model.warnings.push(`not compared for one weight in two encodings: ${t.dtype} is not dequantized (e.g. '${t.name}')`);
}

function describe(t: TensorRef): string {
  return `${t.name} (${t.dtype})`;
}

/**
 * Lossy groups of one weight in two encodings. Same-shape tensors of a type
 * with no dequantizer are not compared: the model they are in gets a warning
 * saying so (once per type).
 */
export async function findEncodings(models: ModelFile[], classes: ShapeClass[], src: ByteSource, progress?: ProgressMeter): Promise<SharingGroup[]> {
  const byShape = groupBy(classes, (sc) => sc.members[0].tensor.shape.join('x'));
  const out: SharingGroup[] = [];
  const a = new Float32Array(CHUNK_VALUES);
  const b = new Float32Array(CHUNK_VALUES);
  const buckets = [...byShape.values()].filter((list) => new Set(list.map((sc) => sc.members[0].tensor.dtype)).size > 1 && list.some((sc) => isBlockQuantized(sc.members[0].tensor.dtype)));
  let done = 0;
  const warned = new Set<string>();
  for (const list of buckets) {
    const candidates: Candidate[] = [];
    for (const sc of list) {
      const t = sc.members[0].tensor;
      const dq = dequantizer(t.dtype);
      if (dq) candidates.push({ sc, t, dq });
      else warnOnce(models[sc.members[0].fileIndex], t, warned);
    }
    // Probes: the first values of each, decoded once.
    const n = candidates[0]?.t.elementCount ?? 0;
    const windows = probeWindows(n);
    const probeLength = windows.reduce((s, w) => s + w.count, 0);
    const probes = candidates.map((c) => {
      const p = new Float32Array(probeLength);
      let at = 0;
      for (const w of windows) {
        // A tensor smaller than one window of a block type is one whole window.
        if (w.first % c.dq.blockSize === 0 && w.count % c.dq.blockSize === 0) decode(src, c, 0, w.first, w.count, p.subarray(at));
        at += w.count;
      }
      return p;
    });
    const paired = new Set<Candidate>();
    for (let i = 0; i < candidates.length; i++) {
      for (let j = i + 1; j < candidates.length; j++) {
        const x = candidates[i]!, y = candidates[j]!;
        if (x.t.dtype === y.t.dtype || paired.has(y) || (!isBlockQuantized(x.t.dtype) && !isBlockQuantized(y.t.dtype))) continue;
        const probe = new Accumulator();
        probe.add(probes[i]!, probes[j]!, probeLength);
        if (!probe.same()) continue;
        const full = new Accumulator();
        for (let first = 0; first < n && full.same(); first += CHUNK_VALUES) {
          const count = Math.min(CHUNK_VALUES, n - first);
          decode(src, x, 0, first, count, a);
          decode(src, y, 1, first, count, b);
          full.add(a, b, count);
          await src.tick();
        }
        if (!full.same()) continue;
        paired.add(y);
        const d = full.result();
        const g = makeGroup('cast', [x.sc.members[0], y.sc.members[0]], y.t.byteLength, {
          reason: `one weight in two encodings: ${describe(x.t)} and ${describe(y.t)} differ once dequantized `
            + `(max abs difference ${d.maxAbs.toPrecision(3)}, ${(100 * d.maxRel).toPrecision(3)}% of the largest value; relative RMS ${d.rmsRel.toPrecision(3)}); `
            + 'storing one would change the model, so it is never applied',
          difference: { maxAbs: d.maxAbs, maxRel: d.maxRel },
        });
        g.lossless = false;
        g.applicable = false;
        out.push(g);
      }
    }
    progress?.update(++done / buckets.length);
    await src.tick();
  }
  return out;
}
