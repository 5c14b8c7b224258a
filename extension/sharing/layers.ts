// Cross-layer similarity, the ALBERT question: which layers are close enough
// to share one set of weights? Tensors that play the same role in repeated
// blocks form a family (found from names: the numeric segment of
// `h.3.attn.c_attn.weight`, `layers.3.self_attn.q_proj.weight`,
// `blk.3.attn_q.weight`, `/encoder/layer.3/...`); for each family, every pair
// gets its relative L2 distance ‖a−b‖ / max(‖a‖, ‖b‖) and its centred cosine
// (the Pearson correlation of the values: raw cosine of LayerNorm weights,
// all ones, says nothing). Sums are float64. Memory stays bounded: a family
// is streamed in chunks, the same range of every member at once, through
// reused buffers, so each tensor is read once however many pairs it is in.
// Everything here is lossy advice, never part of Apply Sharing.
import { FileSet } from '../io/fileSet';
import { DTYPE_SIZE, type DType, type ModelFile, type TensorRef } from '../model/types';
import { numbersOf, statsSupported } from './tensorStats';

export interface LayerFamily {
  /** The role within a block: the name without its block prefix and index (`attn.c_attn.weight`). */
  role: string;
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
}

export interface LayersReport {
  model: ModelFile;
  families: LayerFamily[];
}

/** Float dtypes whose values are compared. */
const FLOATS = new Set<DType>(['float32', 'float64', 'float16', 'bfloat16']);

/** Where a name holds its block index: the first all-digit segment (`.`, `/` or `_`-free parts of the path). */
function blockOf(name: string): { stack: string; index: number; role: string } | undefined {
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

/** Families of a model: same stack, role, dtype and shape, two or more blocks. */
export function findFamilies(model: ModelFile): Array<Omit<LayerFamily, 'relL2' | 'centredCosine'>> {
  const byKey = new Map<string, Array<{ index: number; tensor: TensorRef; stack: string; role: string }>>();
  for (const t of model.tensors) {
    if (!FLOATS.has(t.dtype) || t.data.kind === 'unavailable' || t.elementCount < 2) continue;
    const b = blockOf(t.name);
    if (!b || b.role === '') continue;
    const key = `${b.stack}\u0000${b.role}\u0000${t.dtype}\u0000${t.shape.join(',')}`;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push({ index: b.index, tensor: t, stack: b.stack, role: b.role });
  }
  const out: Array<Omit<LayerFamily, 'relL2' | 'centredCosine'>> = [];
  for (const list of byKey.values()) {
    // One tensor per block (a repeated index would be two roles sharing a name shape).
    const seen = new Set<number>();
    const members = list.sort((a, b) => a.index - b.index).filter((m) => !seen.has(m.index) && seen.add(m.index) !== undefined);
    if (members.length < 2) continue;
    const t0 = members[0]!.tensor;
    out.push({ role: members[0]!.role, stack: members[0]!.stack, layers: members.map((m) => m.index), members: members.map((m) => m.tensor), dtype: t0.dtype, shape: t0.shape });
  }
  return out;
}

export interface LayersOptions {
  signal?: AbortSignal;
  /** Bytes of buffers one family is streamed through (default 32 MiB). */
  bufferBytes?: number;
}

/** Every family of `model` with its pairwise matrices. */
export async function analyzeLayers(model: ModelFile, options: LayersOptions = {}): Promise<LayersReport> {
  const files = new FileSet();
  try {
    const families: LayerFamily[] = [];
    for (const f of findFamilies(model)) {
      if (!statsSupported(f.dtype)) continue;
      families.push({ ...f, ...(await pairwise(files, f.members, f.dtype, options)) });
    }
    return { model, families };
  } finally {
    files.close();
  }
}

/** Pairwise sums over one family, streamed: the same element range of every member per step. */
async function pairwise(files: FileSet, members: TensorRef[], dtype: DType, options: LayersOptions): Promise<Pick<LayerFamily, 'relL2' | 'centredCosine'>> {
  const n = members.length;
  const es = DTYPE_SIZE[dtype];
  const total = members[0]!.elementCount;
  const budget = options.bufferBytes ?? 32 << 20;
  // Per member: its raw chunk and, for half types, the decoded float64s.
  const chunk = Math.max(1024, Math.min(total, Math.floor(budget / (n * (es + 8)))));
  const raw = members.map(() => new Uint8Array(new ArrayBuffer(chunk * es)));
  const decoded = members.map(() => new Float64Array(chunk));
  const sum = new Float64Array(n);
  const sq = new Float64Array(n);
  const dot = new Float64Array(n * n);
  const diff = new Float64Array(n * n);
  let lastYield = Date.now();
  for (let at = 0; at < total; at += chunk) {
    if (options.signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    const k = Math.min(chunk, total - at);
    const values: Array<ArrayLike<number>> = [];
    for (let m = 0; m < n; m++) {
      files.readTensor(members[m]!, at * es, raw[m]!, 0, k * es);
      values.push(numbersOf(dtype, raw[m]!, k * es, decoded[m]!));
    }
    for (let i = 0; i < n; i++) {
      const a = values[i]!;
      let s = 0, q = 0;
      for (let e = 0; e < k; e++) { const x = a[e]!; s += x; q += x * x; }
      sum[i]! += s;
      sq[i]! += q;
      for (let j = i + 1; j < n; j++) {
        const b = values[j]!;
        let d = 0, p = 0;
        // ‖a−b‖² summed directly: close layers would lose it to cancellation in ‖a‖² + ‖b‖² − 2a·b.
        for (let e = 0; e < k; e++) { const x = a[e]!, y = b[e]!; const t = x - y; d += t * t; p += x * y; }
        diff[i * n + j]! += d;
        dot[i * n + j]! += p;
      }
    }
    if (Date.now() - lastYield > 25) { await new Promise<void>((r) => setImmediate(r)); lastYield = Date.now(); }
  }
  const relL2 = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const centredCosine = Array.from({ length: n }, () => new Array<number>(n).fill(1));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const norm = Math.max(Math.sqrt(sq[i]!), Math.sqrt(sq[j]!));
      const r = norm === 0 ? 0 : Math.sqrt(diff[i * n + j]!) / norm;
      const ma = sum[i]! / total, mb = sum[j]! / total;
      const cov = dot[i * n + j]! - total * ma * mb;
      const va = sq[i]! - total * ma * ma, vb = sq[j]! - total * mb * mb;
      const c = va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : Number.NaN;
      relL2[i]![j] = relL2[j]![i] = r;
      centredCosine[i]![j] = centredCosine[j]![i] = c;
    }
  }
  return { relL2, centredCosine };
}
