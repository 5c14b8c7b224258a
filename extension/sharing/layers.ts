// Cross-layer similarity, the ALBERT question: which layers are close enough
// to share one set of weights? Tensors that play the same role in repeated
// blocks form a family (found from names: the numeric segment of
// `h.3.attn.c_attn.weight`, `layers.3.self_attn.q_proj.weight`,
// `blk.3.attn_q.weight`; an anonymous tensor by the scope of the nodes that
// read it, `/encoder/layer.3/...`); for each family, every pair
// gets its relative L2 distance ‖a−b‖ / max(‖a‖, ‖b‖) and its centred cosine
// (the Pearson correlation of the values: raw cosine of LayerNorm weights,
// all ones, says nothing). Sums are float64. Memory stays bounded: a family
// is streamed in chunks, the same range of every member at once, through
// reused buffers, so each tensor is read once however many pairs it is in.
// Everything here is lossy advice, never part of Apply Sharing.
import type { DType, ModelFile, TensorRef } from '../model/types';
import { statsSupported } from './tensorStats';
import { cancelled } from '../util/cancelled';
import { pushTo } from '../util/groupBy';
import { SumsPool } from './layerPool';
import type { SumsKind, SumsResult } from './layerSums';

export interface LayerFamily {
  /** The role within a block: the name without its block prefix and index (`attn.c_attn.weight`). */
  role: string;
  /** Members named after the checkpoint parameter they were exported from (provenance), in member order: set when any was. */
  sources?: string[];
  /** What the blocks hang from (`transformer.h`), for telling families of two stacks apart. */
  stack: string;
  /** Block index of each member, in order. */
  layers: number[];
  members: TensorRef[];
  dtype: DType;
  shape: readonly number[];
  /** [i][j]: ‖mᵢ − mⱼ‖ / max(‖mᵢ‖, ‖mⱼ‖); 0 on the diagonal. */
  relL2: number[][];
  /** [i][j]: Pearson correlation of mᵢ's and mⱼ's values; 1 on the diagonal. */
  centredCosine: number[][];
  /** Set when the family was too big for every pair in full: the matrices are sketch estimates except `exactPairs`. */
  estimate?: SketchEstimate;
}

export interface SketchEstimate {
  method: 'count-sketch';
  /** Sketch length per tensor. */
  buckets: number;
  /** One standard deviation of an estimated rel L2, relative to its value (see sketchPairs). */
  relL2RelativeStd: number;
  /** [i, j] pairs computed exactly: each layer with its closest partner by the estimate. */
  exactPairs: Array<[number, number]>;
}

export interface LayersReport {
  model: ModelFile;
  families: LayerFamily[];
}

/** Float dtypes whose values are compared. */
const FLOATS = new Set<DType>(['float32', 'float64', 'float16', 'bfloat16']);

/** Where a tensor sits in the repeated blocks: what they hang from, which block, its role in it. */
interface BlockPlace {
  stack: string;
  index: number;
  role: string;
}

/** Where a name holds its block index: the first all-digit segment (`.`, `/` or `_`-free parts of the path). */
function blockOf(name: string): BlockPlace | undefined {
  const parts = name.split(/([./])/);
  for (let i = 0; i < parts.length; i += 2) {
    const p = parts[i]!;
    if (/^\d+$/.test(p) && i > 0 && i < parts.length - 1) {
      // `layer.3` and `layer_3`-less forms: the segment before is the stack's name.
      return { stack: parts.slice(0, i - 1).join(''), index: Number(p), role: parts.slice(i + 2).join('') };
    }
  }
  return undefined;
}

function withRole(b: BlockPlace | undefined): BlockPlace | undefined {
  return b && b.role !== '' ? b : undefined;
}

/**
 * A tensor whose own name has no block index (a torchscript export's
 * `onnx::MatMul_326`) takes it from the nodes that read it
 * (`/m/bert/encoder/layer.0/attention/self/query/MatMul`, input 1 gives role
 * `attention.self.query.MatMul[1]`). Every reader must agree: a tensor read
 * by several blocks is one weight shared already, not a member.
 */
function blockOfReaders(t: TensorRef): BlockPlace | undefined {
  let found: BlockPlace | undefined;
  for (const c of t.consumers) {
    // `/m/bert/encoder/layer.0/...` written as a parameter path, `m.bert.encoder.layer.0...`.
    const b = withRole(blockOf(c.nodeName.replace(/^\//, '').replace(/\//g, '.')));
    if (!b) return undefined;
    const role = `${b.role}[${c.inputIndex}]`;
    if (found && (found.stack !== b.stack || found.index !== b.index || found.role !== role)) return undefined;
    found = { stack: b.stack, index: b.index, role };
  }
  return found;
}

/**
 * Families of a model: same stack, role, dtype and shape, two or more blocks.
 * `sourceNames`: checkpoint names of exported tensors (an anonymous `val_12`
 * is `transformer.h.0.attn.c_attn.weight`), from provenance.
 */
export function findFamilies(model: ModelFile, sourceNames?: ReadonlyMap<TensorRef, string>): Array<Omit<LayerFamily, 'relL2' | 'centredCosine'>> {
  const byKey = new Map<string, Array<BlockPlace & { tensor: TensorRef; source?: string }>>();
  for (const t of model.tensors) {
    // Constant nodes' outputs are folded computations (a position bias), not parameters.
    if (!FLOATS.has(t.dtype) || t.data.kind === 'unavailable' || t.elementCount < 2 || t.role === 'constant') continue;
    // Its own name first, then the checkpoint's name for it, then its readers' scope.
    const own = withRole(blockOf(t.name));
    const source = own ? undefined : sourceNames?.get(t);
    const b = own ?? withRole(source === undefined ? undefined : blockOf(source)) ?? blockOfReaders(t);
    if (!b) continue;
    pushTo(byKey, `${b.stack}\u0000${b.role}\u0000${t.dtype}\u0000${t.shape.join(',')}`, { ...b, tensor: t, source });
  }
  const out: Array<Omit<LayerFamily, 'relL2' | 'centredCosine'>> = [];
  for (const list of byKey.values()) {
    // One tensor per block (a repeated index would be two roles sharing a name shape).
    const seen = new Set<number>();
    const members = list.sort((a, b) => a.index - b.index).filter((m) => !seen.has(m.index) && seen.add(m.index) !== undefined);
    if (members.length < 2) continue;
    const t0 = members[0]!.tensor;
    const sources = members.some((m) => m.source !== undefined) ? members.map((m) => m.source ?? m.tensor.name) : undefined;
    out.push({
      role: members[0]!.role, stack: members[0]!.stack, ...(sources ? { sources } : {}),
      layers: members.map((m) => m.index), members: members.map((m) => m.tensor), dtype: t0.dtype, shape: t0.shape,
    });
  }
  return out;
}

export interface LayersOptions {
  signal?: AbortSignal;
  /** Bytes of buffers one family is streamed through (default 8 MiB). */
  bufferBytes?: number;
  /** Families needing more pair-element products than this are sketched (default 5e8; 0 sketches every family). */
  exactWork?: number;
  /** Sketch length per tensor (a power of two; default 32768). */
  sketchBuckets?: number;
  /** Threads one family is split across (default: the machine's parallelism, at most 8). */
  threads?: number;
  /** Elements per thread below which a family is not split (default 1 Mi: a thread costs a start-up). */
  minElementsPerThread?: number;
  /** Checkpoint names of the model's tensors (see findFamilies and sourceNamesOf). */
  sourceNames?: ReadonlyMap<TensorRef, string>;
  /** Before each family (`index` of `count`); `fraction`: the share of the families' bytes done so far. */
  onFamily?: (family: Pick<LayerFamily, 'role' | 'members'>, index: number, count: number, fraction: number) => void;
}

// Past this many pair-element products (about half a second on one core) a family is sketched.
const DEFAULT_EXACT_WORK = 5e8;
// 32,768 buckets: 0.39% relative std, and a sketch of 256 kB per member (the
// 20-layer bench stays under 200 MB; 65,536 took it to about 210).
const DEFAULT_BUCKETS = 1 << 15;

/** Every family of `model` with its pairwise matrices. */
export async function analyzeLayers(model: ModelFile, options: LayersOptions = {}): Promise<LayersReport> {
  const pool = new SumsPool(options.threads, options.signal, options.minElementsPerThread);
  try {
    const families: LayerFamily[] = [];
    const found = findFamilies(model, options.sourceNames);
    const bytesOf = (f: (typeof found)[number]) => f.members.reduce((n, m) => n + m.byteLength, 0);
    const total = found.reduce((n, f) => n + bytesOf(f), 0);
    let done = 0;
    for (const [i, f] of found.entries()) {
      if (options.signal?.aborted) throw cancelled();
      options.onFamily?.(f, i, found.length, total ? done / total : i / found.length);
      done += bytesOf(f);
      if (!statsSupported(f.dtype)) continue;
      const n = f.members.length;
      const work = ((n * (n + 1)) / 2) * f.members[0]!.elementCount;
      const sketch = work > (options.exactWork ?? DEFAULT_EXACT_WORK);
      const family = { pool, members: f.members, dtype: f.dtype, bufferBytes: options.bufferBytes ?? 8 << 20 };
      families.push({ ...f, ...(await (sketch ? sketchPairs(family, options.sketchBuckets ?? DEFAULT_BUCKETS) : pairwise(family))) });
    }
    return { model, families };
  } finally {
    pool.close();
  }
}

/** One family's members and how to sum over them. */
interface FamilySums {
  pool: SumsPool;
  members: TensorRef[];
  dtype: DType;
  bufferBytes: number;
}

function sums(f: FamilySums, kind: SumsKind, members: TensorRef[] = f.members): Promise<SumsResult> {
  const request = { ...kind, members: members.map((m) => ({ id: m.id, byteLength: m.byteLength, data: m.data })), dtype: f.dtype, bufferBytes: f.bufferBytes };
  return f.pool.run(request, f.members[0]!.elementCount);
}

/** Pairs estimated closer than this get their distance summed directly (see pairwise). */
const EXACT_BELOW = 1e-3;

/**
 * Every pair in full, from the Gram matrix: ‖a−b‖² = ‖a‖² + ‖b‖² − 2a·b, one
 * multiply-add per pair and element. That loses digits to cancellation only
 * for nearly equal tensors, so pairs it puts under EXACT_BELOW are summed
 * again as Σ(a−b)², reading only their members.
 */
async function pairwise(f: FamilySums): Promise<Pick<LayerFamily, 'relL2' | 'centredCosine'>> {
  const n = f.members.length;
  const total = f.members[0]!.elementCount;
  const { sum, dot } = await sums(f, { kind: 'gram' });
  const relL2 = matrix(n, 0);
  const centredCosine = matrix(n, 1);
  const close: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const sqA = dot[i * n + i]!, sqB = dot[j * n + j]!;
      const r = relL2From(sqA, sqB, sqA + sqB - 2 * dot[i * n + j]!);
      if (r < EXACT_BELOW && sqA + sqB > 0) close.push([i, j]);
      relL2[i]![j] = relL2[j]![i] = r;
      centredCosine[i]![j] = centredCosine[j]![i] = pearson(total, sum[i]!, sum[j]!, sqA, sqB, dot[i * n + j]!);
    }
  }
  for (const [[i, j], e] of await exactPairs(f, close)) relL2[i]![j] = relL2[j]![i] = relL2From(e.sqA, e.sqB, e.diff);
  return { relL2, centredCosine };
}

function matrix(n: number, diagonal: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? diagonal : 0)));
}

/** ‖a−b‖ / max(‖a‖, ‖b‖) from the squared norms and squared distance. */
function relL2From(sqA: number, sqB: number, diff2: number): number {
  const m = Math.sqrt(Math.max(sqA, sqB));
  return m === 0 ? 0 : Math.sqrt(Math.max(0, diff2)) / m;
}

/** Pearson correlation of two n-element vectors from their sums, squared norms and dot product. */
function pearson(n: number, sumA: number, sumB: number, sqA: number, sqB: number, dotAB: number): number {
  const ma = sumA / n, mb = sumB / n;
  const va = sqA - n * ma * ma, vb = sqB - n * mb * mb;
  return va > 0 && vb > 0 ? Math.max(-1, Math.min(1, (dotAB - n * ma * mb) / Math.sqrt(va * vb))) : Number.NaN;
}

interface ExactSums { sumA: number; sumB: number; sqA: number; sqB: number; dot: number; diff: number }

/** Σa, Σb, ‖a‖², ‖b‖², a·b and ‖a−b‖² (summed directly) for `pairs`, reading only their members. */
async function exactPairs(f: FamilySums, pairs: Array<[number, number]>): Promise<Array<[[number, number], ExactSums]>> {
  if (pairs.length === 0) return [];
  const involved = [...new Set(pairs.flat())].sort((x, y) => x - y);
  const slot = new Map(involved.map((m, k) => [m, k]));
  const local = pairs.map(([i, j]): [number, number] => [slot.get(i)!, slot.get(j)!]);
  const { pairSums } = await sums(f, { kind: 'pairs', pairs: local }, involved.map((m) => f.members[m]!));
  return pairs.map((pair, p) => {
    const o = p * 6;
    return [pair, { sumA: pairSums![o]!, sumB: pairSums![o + 1]!, sqA: pairSums![o + 2]!, sqB: pairSums![o + 3]!, dot: pairSums![o + 4]!, diff: pairSums![o + 5]! }];
  });
}

/**
 * A family too big for every pair in full (80 layers of 8192x8192): one pass
 * builds a CountSketch of each member (layerSums.ts), whose inner products
 * estimate the members' without bias; sums and norms are exact.
 * ‖S(a−b)‖² estimates ‖a−b‖² with a relative standard deviation of at most
 * √(2/buckets), so rel L2 within √(1/(2·buckets)) (0.39% at 32,768). Each
 * layer's closest partner by the estimate is then computed exactly.
 */
async function sketchPairs(f: FamilySums, buckets: number): Promise<Pick<LayerFamily, 'relL2' | 'centredCosine' | 'estimate'>> {
  if (!Number.isInteger(Math.log2(buckets)) || buckets < 2) throw new Error(`sketch length ${buckets} is not a power of two`);
  const n = f.members.length;
  const total = f.members[0]!.elementCount;
  const { sum, dot, sketch } = await sums(f, { kind: 'sketch', buckets });
  const sk = sketch!;
  // Distances from the sketch of the difference, S a − S b = S(a − b): its
  // error is relative to ‖a − b‖, however close a and b are. Centred cosine
  // likewise, from the centred, unit-norm sketches (S(a − mₐ·1) = S a − mₐ·S 1,
  // the all-ones vector's sketch coming last): ρ = 1 − ‖â − b̂‖²/2.
  const onesAt = n * buckets;
  const unit = Array.from({ length: n }, (_, i) => {
    const ma = sum[i]! / total;
    const sd = Math.sqrt(Math.max(0, dot[i * n + i]! - total * ma * ma));
    if (sd === 0) return undefined;
    const u = new Float64Array(buckets);
    for (let e = 0; e < buckets; e++) u[e] = (sk[i * buckets + e]! - ma * sk[onesAt + e]!) / sd;
    return u;
  });
  const relL2 = matrix(n, 0);
  const centredCosine = matrix(n, 1);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d2 = 0;
      for (let e = 0, a = i * buckets, b = j * buckets; e < buckets; e++) { const t = sk[a + e]! - sk[b + e]!; d2 += t * t; }
      relL2[i]![j] = relL2[j]![i] = relL2From(dot[i * n + i]!, dot[j * n + j]!, d2);
      const ui = unit[i], uj = unit[j];
      let c = Number.NaN;
      if (ui && uj) {
        let u2 = 0;
        for (let e = 0; e < buckets; e++) { const t = ui[e]! - uj[e]!; u2 += t * t; }
        c = Math.max(-1, Math.min(1, 1 - u2 / 2));
      }
      centredCosine[i]![j] = centredCosine[j]![i] = c;
    }
  }
  const chosen = new Map<string, [number, number]>();
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (let j = 0; j < n; j++) if (j !== i && (best < 0 || relL2[i]![j]! < relL2[i]![best]!)) best = j;
    const pair: [number, number] = [Math.min(i, best), Math.max(i, best)];
    chosen.set(pair.join(','), pair);
  }
  const exact = [...chosen.values()];
  for (const [[i, j], e] of await exactPairs(f, exact)) {
    relL2[i]![j] = relL2[j]![i] = relL2From(e.sqA, e.sqB, e.diff);
    centredCosine[i]![j] = centredCosine[j]![i] = pearson(total, e.sumA, e.sumB, e.sqA, e.sqB, e.dot);
  }
  return { relL2, centredCosine, estimate: { method: 'count-sketch', buckets, relL2RelativeStd: Math.sqrt(1 / (2 * buckets)), exactPairs: exact } };
}
