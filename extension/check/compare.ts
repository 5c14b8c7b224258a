// Compares output tensors of two runs (or a run and reference outputs).
// Pure and browser-safe: the CLI and the webview's inference panel use it.
//
// Definitions (float outputs):
// - absolute difference at i: |a_i - b_i|.
// - relative difference: normwise, |a_i - b_i| / max(‖a‖∞, ‖b‖∞). Dividing by
//   each element's own magnitude makes near-zero elements dominate (a 1e-7
//   float32 rounding error on a 1e-6 logit reads as 10%); dividing by the
//   tensor's largest magnitude measures error against the scale the output
//   lives at, which is what "the model computes the same thing" means. The
//   per-element figure is kept as `maxElementRelDiff` for information.
// - pass: every element's normwise relative difference <= tolerance, NaN
//   exactly where the other has NaN, infinities equal. Integer, bool and
//   string outputs must be equal exactly (ids and masks have no tolerance).
import type { DType } from '../model/types';
import { elementAsNumber, elementCountOf, type TensorValue } from './tensorProto';

export const DEFAULT_TOLERANCE = 1e-5;

export interface CompareOptions {
  /** Normwise relative tolerance for float outputs (default 1e-5). */
  tolerance?: number;
  /** How many differing positions to report (default 5). */
  maxPositions?: number;
}

export interface DiffPosition {
  flatIndex: number;
  /** Multi-dimensional index into the expected shape. */
  index: number[];
  expected: number | string;
  actual: number | string;
  absDiff: number;
  /** Beyond the tolerance (false: only not bit-identical). */
  exceeds: boolean;
}

export interface TensorComparison {
  /** Output name (the expected side's; the actual one when it has none). */
  name: string;
  pass: boolean;
  /** Why it failed, in words; undefined when it passed. */
  reason?: string;
  expectedDtype: DType;
  actualDtype: DType;
  expectedDims: number[];
  actualDims: number[];
  elementCount: number;
  /** Same dtype, shape and bytes. */
  bitIdentical: boolean;
  /** Largest |a - b| over elements where both are finite; Infinity when infinities disagree. */
  maxAbsDiff: number;
  /** Normwise: maxAbsDiff / max(‖a‖∞, ‖b‖∞) (0 when both are all zeros). */
  maxRelDiff: number;
  /** Per element |a-b| / max(|a|,|b|), over elements where that is defined; informational. */
  maxElementRelDiff: number;
  /** Cosine similarity of the flattened tensors (finite elements), 1 when both are zero. */
  cosine: number;
  /** ‖actual − expected‖₂ / ‖expected‖₂ over finite elements (the first model is `expected`): the cost of a lossy change. */
  relL2: number;
  /**
   * Float outputs: the fraction of positions (every index but the last axis)
   * whose argmax over the last axis agrees, as for logits; undefined for
   * scalars and non-float outputs.
   */
  top1Agreement?: number;
  /** Elements whose bytes differ. */
  differingCount: number;
  /** Elements beyond the tolerance. */
  exceedingCount: number;
  /** Elements that are NaN on one side only. */
  nanMismatchCount: number;
  /** Up to maxPositions positions: those beyond the tolerance first, else the first non-identical. */
  firstDifferences: DiffPosition[];
  tolerance: number;
}

export interface RunComparison {
  pass: boolean;
  tolerance: number;
  outputs: TensorComparison[];
  /** Expected outputs with no actual counterpart. */
  missing: string[];
  /** Actual outputs with no expected counterpart (reported, not a failure). */
  extra: string[];
  /** How outputs were paired: by name, or by position when the names do not match. */
  pairedBy: 'name' | 'position';
  /** One line per failure, for messages. */
  failures: string[];
}

const FLOAT_TYPES = new Set<DType>(['float32', 'float64', 'float16', 'bfloat16']);

export function unravelIndex(flat: number, dims: readonly number[]): number[] {
  const index = new Array<number>(dims.length).fill(0);
  let rest = flat;
  for (let d = dims.length - 1; d >= 0; d--) {
    const size = dims[d] || 1;
    index[d] = rest % size;
    rest = Math.floor(rest / size);
  }
  return index;
}

function bytesOf(t: TensorValue): Uint8Array | undefined {
  if (Array.isArray(t.data)) return undefined;
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function elementBitsEqual(a: TensorValue, b: TensorValue, i: number): boolean {
  const x = a.data[i];
  const y = b.data[i];
  if (typeof x === 'number' && typeof y === 'number' && (a.data instanceof Float32Array || a.data instanceof Float64Array)) {
    // Float arrays: Object.is tells ±0 apart and takes NaN as equal to NaN, as a byte comparison would.
    return Object.is(x, y);
  }
  return x === y;
}

function describe(t: TensorValue): string {
  return `${t.dtype}[${t.dims.join(', ')}]`;
}

/** Fraction of rows (all axes but the last) whose argmax over the last axis is the same on both sides. */
function top1Agreement(a: TensorValue, b: TensorValue): number {
  const last = a.dims[a.dims.length - 1] ?? 1;
  if (last === 0) return 1;
  const rows = elementCountOf(a.dims) / last;
  let agree = 0;
  for (let r = 0; r < rows; r++) {
    let ia = 0, ib = 0;
    for (let k = 1; k < last; k++) {
      if (elementAsNumber(a, r * last + k) > elementAsNumber(a, r * last + ia)) ia = k;
      if (elementAsNumber(b, r * last + k) > elementAsNumber(b, r * last + ib)) ib = k;
    }
    if (ia === ib) agree++;
  }
  return rows === 0 ? 1 : agree / rows;
}

/** Compares one expected tensor with one actual tensor. */
export function compareTensors(expected: TensorValue, actual: TensorValue, options: CompareOptions = {}): TensorComparison {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const maxPositions = options.maxPositions ?? 5;
  const count = elementCountOf(expected.dims);
  const result: TensorComparison = {
    name: expected.name || actual.name,
    pass: false,
    expectedDtype: expected.dtype,
    actualDtype: actual.dtype,
    expectedDims: [...expected.dims],
    actualDims: [...actual.dims],
    elementCount: count,
    bitIdentical: false,
    maxAbsDiff: NaN,
    maxRelDiff: NaN,
    maxElementRelDiff: NaN,
    cosine: NaN,
    relL2: NaN,
    differingCount: 0,
    exceedingCount: 0,
    nanMismatchCount: 0,
    firstDifferences: [],
    tolerance,
  };
  const sameShape = expected.dims.length === actual.dims.length && expected.dims.every((d, i) => d === actual.dims[i]);
  if (!sameShape) {
    result.reason = `shape differs: expected ${describe(expected)}, got ${describe(actual)}`;
    return result;
  }
  if (expected.data.length !== count || actual.data.length !== count) {
    result.reason = `element count differs from the shape: expected ${expected.data.length}, got ${actual.data.length} for ${count}`;
    return result;
  }
  if (expected.dtype !== actual.dtype) {
    result.reason = `dtype differs: expected ${describe(expected)}, got ${describe(actual)}`;
    // Values are still compared below, for information.
  }
  const eb = bytesOf(expected);
  const ab = bytesOf(actual);
  result.bitIdentical = expected.dtype === actual.dtype && (eb && ab ? sameBytes(eb, ab) : (expected.data as string[]).every((s, i) => s === (actual.data as string[])[i]));

  const exceeding: DiffPosition[] = [];
  const differing: DiffPosition[] = [];
  const position = (i: number, x: number | string, y: number | string, absDiff: number, exceeds: boolean): DiffPosition =>
    ({ flatIndex: i, index: unravelIndex(i, expected.dims), expected: x, actual: y, absDiff, exceeds });

  if (Array.isArray(expected.data) || Array.isArray(actual.data)) {
    // Strings: equal or not.
    const es = expected.data as ArrayLike<unknown>;
    const as = actual.data as ArrayLike<unknown>;
    for (let i = 0; i < count; i++) {
      if (es[i] === as[i]) continue;
      result.differingCount++;
      result.exceedingCount++;
      if (exceeding.length < maxPositions) exceeding.push(position(i, String(es[i]), String(as[i]), NaN, true));
    }
    result.maxAbsDiff = result.maxRelDiff = result.maxElementRelDiff = result.differingCount ? NaN : 0;
    result.cosine = result.differingCount ? NaN : 1;
    result.relL2 = result.differingCount ? NaN : 0;
    result.firstDifferences = exceeding;
  } else {
    const exact = !FLOAT_TYPES.has(expected.dtype) || !FLOAT_TYPES.has(actual.dtype);
    // Pass 1: scale (∞-norms), max abs diff, cosine, NaN/Inf disagreements.
    let normE = 0, normA = 0, maxAbs = 0, maxElemRel = 0, dot = 0, sqE = 0, sqA = 0, sqD = 0;
    for (let i = 0; i < count; i++) {
      const x = elementAsNumber(expected, i);
      const y = elementAsNumber(actual, i);
      const fx = Number.isFinite(x), fy = Number.isFinite(y);
      if (fx) normE = Math.max(normE, Math.abs(x));
      if (fy) normA = Math.max(normA, Math.abs(y));
      if (fx && fy) {
        const d = Math.abs(x - y);
        if (d > maxAbs) maxAbs = d;
        const den = Math.max(Math.abs(x), Math.abs(y));
        if (den > 0 && d / den > maxElemRel) maxElemRel = d / den;
        dot += x * y; sqE += x * x; sqA += y * y; sqD += (x - y) * (x - y);
      } else if (Number.isNaN(x) !== Number.isNaN(y)) {
        result.nanMismatchCount++;
      } else if (!Number.isNaN(x) && x !== y) {
        maxAbs = Infinity; // infinities that disagree (or Inf against a finite value)
      }
    }
    const scale = Math.max(normE, normA);
    const limit = tolerance * scale;
    // Pass 2: count and locate differences against the tolerance.
    for (let i = 0; i < count; i++) {
      if (elementBitsEqual(expected, actual, i)) continue;
      result.differingCount++;
      const x = elementAsNumber(expected, i);
      const y = elementAsNumber(actual, i);
      const bothNaN = Number.isNaN(x) && Number.isNaN(y);
      const d = Math.abs(x - y);
      const exceeds = !bothNaN && (exact ? x !== y || expected.data[i] !== actual.data[i] : !(d <= limit) && x !== y);
      if (exceeds) {
        result.exceedingCount++;
        if (exceeding.length < maxPositions) exceeding.push(position(i, x, y, d, true));
      } else if (differing.length < maxPositions) {
        differing.push(position(i, x, y, d, false));
      }
    }
    result.maxAbsDiff = maxAbs;
    result.maxRelDiff = maxAbs === Infinity ? Infinity : scale > 0 ? maxAbs / scale : 0;
    result.maxElementRelDiff = maxAbs === Infinity ? Infinity : maxElemRel;
    result.cosine = sqE === 0 && sqA === 0 ? 1 : sqE === 0 || sqA === 0 ? 0 : dot / Math.sqrt(sqE * sqA);
    result.relL2 = sqE > 0 ? Math.sqrt(sqD) / Math.sqrt(sqE) : sqD === 0 ? 0 : Infinity;
    if (!exact && expected.dims.length > 0) result.top1Agreement = top1Agreement(expected, actual);
    result.firstDifferences = exceeding.length ? exceeding : differing;
  }

  if (!result.reason && result.exceedingCount > 0) {
    const exact = !FLOAT_TYPES.has(expected.dtype);
    const first = result.firstDifferences[0];
    const where = first ? ` (first at [${first.index.join(', ')}]: expected ${first.expected}, got ${first.actual})` : '';
    result.reason = exact
      ? `${result.exceedingCount} of ${count} ${expected.dtype} elements differ${where}`
      : result.nanMismatchCount
        ? `${result.nanMismatchCount} elements are NaN on one side only; ${result.exceedingCount} of ${count} beyond tolerance${where}`
        : `${result.exceedingCount} of ${count} elements beyond relative tolerance ${tolerance} (max relative difference ${result.maxRelDiff.toExponential(2)})${where}`;
  }
  result.pass = result.reason === undefined;
  return result;
}

/**
 * Compares all outputs of two runs. Pairs outputs by name; when the two sides
 * do not share their names (reference files named differently from the
 * model's outputs), by position, provided the counts agree.
 */
export function compareOutputs(expected: readonly TensorValue[], actual: readonly TensorValue[], options: CompareOptions = {}): RunComparison {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const actualByName = new Map(actual.map((t) => [t.name, t]));
  const byName = expected.length > 0 && expected.every((t) => t.name !== '' && actualByName.has(t.name));
  const pairedBy: RunComparison['pairedBy'] = byName || expected.length !== actual.length ? 'name' : 'position';
  const outputs: TensorComparison[] = [];
  const missing: string[] = [];
  const used = new Set<TensorValue>();
  expected.forEach((e, i) => {
    const a = pairedBy === 'name' ? actualByName.get(e.name) : actual[i];
    if (!a) { missing.push(e.name || `output ${i}`); return; }
    used.add(a);
    const c = compareTensors(e, a, options);
    if (pairedBy === 'position' && e.name && a.name && e.name !== a.name) c.name = `${a.name} (reference '${e.name}')`;
    outputs.push(c);
  });
  const extra = actual.filter((a) => !used.has(a)).map((a) => a.name);
  const failures = [
    ...missing.map((m) => `output '${m}' missing from the run`),
    ...outputs.filter((o) => !o.pass).map((o) => `${o.name}: ${o.reason}`),
  ];
  if (expected.length === 0) failures.push('nothing to compare: no expected outputs');
  return { pass: failures.length === 0, tolerance, outputs, missing, extra, pairedBy, failures };
}
