// Sharing within one tensor, the CNN case: pairs of a Conv weight's output
// filters, or of an embedding's rows, closer than a relative L2 threshold.
// Lossy advice, like the layer matrices: counts and the closest pairs.
//
// Small tensors compare every pair exactly. Large ones (an embedding of 50k
// rows) stream once to a 192-bit SimHash per row (signs of a sparse random
// projection), then only rows that agree on one of eight 24-bit bands are
// compared, exactly, reading both rows again. Memory: the bounded read
// buffer and 32 bytes per row.
import { FileSet } from '../io/fileSet';
import { DTYPE_SIZE, type DType, type ModelFile, type TensorRef } from '../model/types';
import { SumsPool } from './layerPool';
import { numbersOf, statsSupported } from './tensorStats';
import { mix32 } from '../util/mix32';

export type FilterKind = 'conv' | 'embedding';

export interface RowPair {
  a: number;
  b: number;
  relL2: number;
}

export interface FilterFinding {
  tensor: TensorRef;
  kind: FilterKind;
  /** Output filters (Conv) or rows (embedding). */
  rows: number;
  rowElements: number;
  threshold: number;
  /** exact: every pair compared; simhash: candidates from the bands, each compared exactly. */
  method: 'exact' | 'simhash';
  /** simhash: the chance that a pair right at the threshold is among the candidates. */
  recallAtThreshold?: number;
  /** Pairs of rows within the threshold. */
  pairsWithin: number;
  /** Rows with at least one other row within the threshold. */
  rowsWithPartner: number;
  /** The closest pairs, closest first. */
  closest: RowPair[];
  /** The candidate budget ran out: counts are lower bounds. */
  truncated?: boolean;
}

export interface FiltersOptions {
  /** Relative L2 below which two rows count as near-identical (default 0.05). */
  threshold?: number;
  /** Exact all-pairs work (pairs x row elements) up to which no hashing is used (default 1e9). */
  exactWork?: number;
  signal?: AbortSignal;
}

export const DEFAULT_FILTER_THRESHOLD = 0.05;
const DEFAULT_EXACT_WORK = 5e7;
const CLOSEST = 10;
const READ_BYTES = 1 << 20;
/** The exact path holds the tensor as float64s: at most 64 MB. */
const EXACT_MAX_ELEMENTS = 8 << 20;
const BANDS = 8;
/** 24-bit bands: two random rows share one with chance 2⁻²⁴, so few candidates even for 10⁹ pairs of rows. */
const BAND_BITS = 24;
/** Candidate pairs compared per tensor at most. */
const MAX_CANDIDATES = 2_000_000;

const FLOATS = new Set<DType>(['float32', 'float16', 'bfloat16', 'float64']);
const EMBEDDING_NAME = /embed|(^|\.)(wte|wpe)\.weight$|tok_embeddings|word_embeddings|(^|\.)shared\.weight$/i;

/** Conv weights (output filters along dim 0) and embeddings (rows along dim 0) of a model. */
export function filterCandidates(model: ModelFile): Array<{ tensor: TensorRef; kind: FilterKind }> {
  const out: Array<{ tensor: TensorRef; kind: FilterKind }> = [];
  for (const t of model.tensors) {
    if (!FLOATS.has(t.dtype) || t.data.kind === 'unavailable' || t.shape.length < 2 || t.shape[0]! < 2) continue;
    let kind: FilterKind | undefined;
    if (model.graph) {
      // ConvTranspose keeps its output channels on dim 1: not a row of this tensor.
      if (t.shape.length >= 3 && t.consumers.some((c) => c.opType === 'Conv' && c.inputIndex === 1)) kind = 'conv';
      else if (t.shape.length === 2 && t.consumers.some((c) => c.opType === 'Gather' && c.inputIndex === 0)) kind = 'embedding';
    } else if (t.shape.length === 4) kind = 'conv';
    else if (t.shape.length === 2 && EMBEDDING_NAME.test(t.name)) kind = 'embedding';
    if (kind) out.push({ tensor: t, kind });
  }
  return out;
}

/** What reading a tensor's rows needs (a TensorRef is more, and not all of it crosses a thread). */
export type FilterTensor = Pick<TensorRef, 'id' | 'dtype' | 'shape' | 'elementCount' | 'byteLength' | 'data'>;

/** The work of analyzeFilters, as it is posted to a worker thread. */
export interface FilterJob {
  kind: 'filters';
  tensors: Array<{ tensor: FilterTensor; kind: FilterKind }>;
  threshold?: number;
  exactWork?: number;
}

export type FilterJobFinding = Omit<FilterFinding, 'tensor'> & { tensorId: string };

/**
 * Near-identical filters and rows of a model's Conv weights and embeddings,
 * in a worker thread of its own: it can run beside the layer sums (and a
 * Gram the calling thread computes), and a cancel stops it at once.
 */
export async function analyzeFilters(model: ModelFile, options: FiltersOptions = {}): Promise<FilterFinding[]> {
  const candidates = filterCandidates(model).filter((c) => statsSupported(c.tensor.dtype));
  if (candidates.length === 0) return [];
  const byId = new Map(candidates.map((c) => [c.tensor.id, c.tensor]));
  const pool = new SumsPool(1, options.signal);
  try {
    const job: FilterJob = {
      kind: 'filters',
      tensors: candidates.map(({ tensor: t, kind }) => ({ tensor: { id: t.id, dtype: t.dtype, shape: t.shape, elementCount: t.elementCount, byteLength: t.byteLength, data: t.data }, kind })),
      threshold: options.threshold,
      exactWork: options.exactWork,
    };
    return (await pool.filters(job)).map(({ tensorId, ...f }) => ({ tensor: byId.get(tensorId)!, ...f }));
  } finally {
    pool.close();
  }
}

/** The filters of every tensor of `job`, on this thread (the worker's side of analyzeFilters). */
export function runFilterJob(job: FilterJob): FilterJobFinding[] {
  const files = new FileSet();
  try {
    return job.tensors.map(({ tensor, kind }) => ({ tensorId: tensor.id, ...analyzeTensor(files, tensor, kind, job) }));
  } finally {
    files.close();
  }
}

/** Reads rows of one tensor as float64s through one bounded buffer. */
class RowReader {
  readonly rowBytes: number;
  private readonly raw: Uint8Array;
  private readonly decoded: Float64Array;

  constructor(private readonly files: FileSet, private readonly tensor: FilterTensor, readonly rowElements: number) {
    this.rowBytes = rowElements * DTYPE_SIZE[tensor.dtype];
    const rowsPerRead = Math.max(1, Math.floor(READ_BYTES / this.rowBytes));
    this.raw = new Uint8Array(rowsPerRead * this.rowBytes);
    this.decoded = new Float64Array(rowsPerRead * rowElements);
  }

  get rowsPerRead(): number {
    return this.raw.length / this.rowBytes;
  }

  /** Rows [from, from + count) (count <= rowsPerRead), back to back. */
  rows(from: number, count: number, into = this.decoded): ArrayLike<number> {
    const bytes = count * this.rowBytes;
    this.files.readTensor(this.tensor, from * this.rowBytes, this.raw, 0, bytes);
    return numbersOf(this.tensor.dtype, this.raw, bytes, into);
  }
}

function analyzeTensor(files: FileSet, tensor: FilterTensor, kind: FilterKind, options: Pick<FiltersOptions, 'threshold' | 'exactWork'>): Omit<FilterFinding, 'tensor'> {
  const threshold = options.threshold ?? DEFAULT_FILTER_THRESHOLD;
  const rows = tensor.shape[0]!;
  const rowElements = tensor.elementCount / rows;
  const reader = new RowReader(files, tensor, rowElements);
  const tally = new Tally(rows, threshold);
  const base = { kind, rows, rowElements, threshold };
  const work = ((rows * (rows - 1)) / 2) * rowElements;
  if (work <= (options.exactWork ?? DEFAULT_EXACT_WORK) && rows * rowElements <= EXACT_MAX_ELEMENTS) {
    allPairs(reader, rows, tally);
    return { ...base, method: 'exact', ...tally.result() };
  }
  const truncated = hashedPairs(reader, rows, threshold, tally);
  return { ...base, method: 'simhash', recallAtThreshold: recallAt(threshold), ...tally.result(), ...(truncated ? { truncated } : {}) };
}

/** Counts pairs within the threshold and keeps the closest. */
class Tally {
  pairsWithin = 0;
  private readonly partner: Uint8Array;
  private readonly closest: RowPair[] = [];

  constructor(rows: number, private readonly threshold: number) {
    this.partner = new Uint8Array(rows);
  }

  add(a: number, b: number, relL2: number): void {
    if (relL2 <= this.threshold) {
      this.pairsWithin++;
      this.partner[a] = 1;
      this.partner[b] = 1;
    }
    const c = this.closest;
    if (c.length === CLOSEST && relL2 >= c[CLOSEST - 1]!.relL2) return;
    let at = c.length;
    while (at > 0 && c[at - 1]!.relL2 > relL2) at--;
    c.splice(at, 0, { a, b, relL2 });
    if (c.length > CLOSEST) c.pop();
  }

  result(): Pick<FilterFinding, 'pairsWithin' | 'rowsWithPartner' | 'closest'> {
    let rowsWithPartner = 0;
    for (const p of this.partner) rowsWithPartner += p;
    return { pairsWithin: this.pairsWithin, rowsWithPartner, closest: this.closest };
  }
}

/** ‖a−b‖ / max(‖a‖, ‖b‖); two zero rows are identical. */
function rowDistance(x: ArrayLike<number>, xa: number, y: ArrayLike<number>, yb: number, k: number): number {
  let d = 0, na = 0, nb = 0;
  for (let e = 0; e < k; e++) {
    const u = x[xa + e]!, v = y[yb + e]!, t = u - v;
    d += t * t; na += u * u; nb += v * v;
  }
  const m = Math.max(na, nb);
  return m === 0 ? 0 : Math.sqrt(d / m);
}

/** Every pair, from the whole tensor in memory (the caller bounds its size). */
function allPairs(reader: RowReader, rows: number, tally: Tally): void {
  const k = reader.rowElements;
  const all = new Float64Array(rows * k);
  for (let r = 0; r < rows; r += reader.rowsPerRead) {
    const n = Math.min(reader.rowsPerRead, rows - r);
    const v = reader.rows(r, n);
    for (let i = 0; i < n * k; i++) all[r * k + i] = v[i]!;
  }
  for (let a = 0; a < rows; a++) for (let b = a + 1; b < rows; b++) tally.add(a, b, rowDistance(all, a * k, all, b * k, k));
}

const BITS = BANDS * BAND_BITS;

/**
 * The chance that a pair at relative L2 `t` (equal norms: angle θ with
 * cos θ = 1 − t²/2) agrees on at least one band, each bit flipping with
 * probability θ/π.
 */
export function recallAt(t: number): number {
  const theta = Math.acos(Math.max(-1, 1 - (t * t) / 2));
  const band = (1 - theta / Math.PI) ** BAND_BITS;
  return 1 - (1 - band) ** BANDS;
}

/** Candidates from SimHash bands, each compared exactly; true when the candidate budget ran out. */
function hashedPairs(reader: RowReader, rows: number, t: number, tally: Tally): boolean {
  const k = reader.rowElements;
  // Each element adds itself, with a hashed sign, to `per` hashed coordinates
  // (a sparse random projection); `per` gives every coordinate about four
  // elements even for short rows, so no bit is constant.
  const per = Math.max(1, Math.ceil((4 * BITS) / k));
  const slot = new Uint8Array(k * per);
  const sign = new Float64Array(k * per);
  for (let i = 0; i < k * per; i++) {
    const h = mix32(i, 0x3c6ef372);
    slot[i] = h % BITS;
    sign[i] = h & 0x80000000 ? -1 : 1;
  }
  const norms = new Float64Array(rows);
  const words = new Uint32Array(rows * (BITS / 32));
  const acc = new Float64Array(BITS);
  for (let r = 0; r < rows; r += reader.rowsPerRead) {
    const n = Math.min(reader.rowsPerRead, rows - r);
    const v = reader.rows(r, n);
    for (let i = 0; i < n; i++) {
      acc.fill(0);
      let q = 0;
      const o = i * k;
      if (per === 1) {
        for (let e = 0; e < k; e++) {
          const x = v[o + e]!;
          q += x * x;
          acc[slot[e]!]! += sign[e]! * x;
        }
      } else {
        for (let e = 0; e < k; e++) {
          const x = v[o + e]!;
          q += x * x;
          for (let j = e * per, end = j + per; j < end; j++) acc[slot[j]!]! += sign[j]! * x;
        }
      }
      norms[r + i] = Math.sqrt(q);
      const w = (r + i) * (BITS / 32);
      for (let b = 0; b < BITS; b++) if (acc[b]! > 0) words[w + (b >>> 5)]! |= 1 << (b & 31);
    }
  }
  // Candidate pairs: rows agreeing on a band, and whose norms allow the threshold.
  const seen = new Set<number>();
  const pairs: number[] = [];
  let truncated = false;
  const bandOf = (row: number, band: number) => {
    let key = 0;
    for (let b = 0, bit = band * BAND_BITS; b < BAND_BITS; b++, bit++) key |= ((words[row * (BITS / 32) + (bit >>> 5)]! >>> (bit & 31)) & 1) << b;
    return key;
  };
  // Rows of one band's bucket are adjacent once sorted by (key, row): no map of lists.
  const sorted = new Float64Array(rows);
  for (let band = 0; band < BANDS && !truncated; band++) {
    for (let r = 0; r < rows; r++) sorted[r] = bandOf(r, band) * rows + r;
    sorted.sort();
    for (let from = 0; from < rows && !truncated;) {
      const key = Math.floor(sorted[from]! / rows);
      let to = from + 1;
      while (to < rows && Math.floor(sorted[to]! / rows) === key) to++;
      for (let x = from; x < to && !truncated; x++) {
        for (let y = x + 1; y < to; y++) {
          const a = sorted[x]! - key * rows, b = sorted[y]! - key * rows;
          const na = norms[a]!, nb = norms[b]!;
          if (Math.abs(na - nb) > t * Math.max(na, nb)) continue;
          const id = a * rows + b;
          if (seen.has(id)) continue;
          if (pairs.length >= MAX_CANDIDATES) { truncated = true; break; }
          seen.add(id);
          pairs.push(id);
        }
      }
      from = to;
    }
  }
  // Compare each candidate exactly, reading both rows.
  pairs.sort((p, q) => p - q);
  const rowA = new Float64Array(k);
  const rowB = new Float64Array(k);
  for (const id of pairs) {
    const a = Math.floor(id / rows), b = id - a * rows;
    const x = copyRow(reader, a, rowA);
    const y = copyRow(reader, b, rowB);
    tally.add(a, b, rowDistance(x, 0, y, 0, k));
  }
  return truncated;
}

function copyRow(reader: RowReader, row: number, into: Float64Array): ArrayLike<number> {
  const v = reader.rows(row, 1);
  for (let e = 0; e < into.length; e++) into[e] = v[e]!;
  return into;
}
