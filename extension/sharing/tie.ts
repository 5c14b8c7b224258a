// `tie`: the ALBERT experiment on a trained model. Every parameter of the
// listed blocks is replaced by block T's (or by the element-wise mean of the
// listed blocks and block T, stored once, in block T's tensor) and stored
// once: ONNX readers rewired to the one tensor (subgraphs too), checkpoints
// with the drops recorded as for Apply Sharing. Lossy by design: the result
// is a variant to measure (`check A B` gives relL2 and top-1 agreement),
// never a substitute the tool vouches for.
import * as path from 'node:path';
import type { PieceSource } from '../io/atomicWrite';
import { FileSet } from '../io/fileSet';
import type { PathTrust } from '../io/safePath';
import type { Realised, WriteResult } from '../model/format';
import { formatOf, openModel } from '../model/registry';
import { DTYPE_SIZE, type ModelFile, type TensorRef } from '../model/types';
import { f32ToBf16Bits, floatToHalf } from '../util/floatCast';
import { findFamilies } from './layers';
import { sourceNamesOf } from './layerSources';
import { numbersOf } from './tensorStats';

export interface TieOptions extends PathTrust {
  /** Blocks whose parameters are replaced. */
  layers: number[];
  /** The block they become (default 0), or 'mean': the mean of the listed blocks and block 0, stored in block 0's tensor. */
  to: number | 'mean';
  /** Only roles matching this (e.g. /attn/): default every family. */
  roles?: RegExp;
  output?: string;
  force?: boolean;
  signal?: AbortSignal;
  /** The checkpoint an ONNX export came from: names its anonymous tensors, as for `layers --checkpoint`. */
  checkpoint?: string;
}

export interface TiedFamily {
  role: string;
  kept: string;
  dropped: string[];
  /** True when the kept tensor now holds the mean. */
  mean: boolean;
}

export interface TieResult {
  input: string;
  output: string;
  families: TiedFamily[];
  /** Families left as they were, with why. */
  skipped: Array<{ role: string; reason: string }>;
  bytesBefore: number;
  bytesAfter: number;
  written: WriteResult;
}

export class TieError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'TieError';
  }
}

/** The element-wise mean of same-shape tensors, produced chunk by chunk in their own dtype. */
class MeanSource implements PieceSource {
  readonly length: number;
  private readonly es: number;
  private raw = new Uint8Array(0);
  private decoded = new Float64Array(0);

  constructor(private readonly files: FileSet, private readonly members: TensorRef[]) {
    const t0 = members[0]!;
    this.length = t0.byteLength;
    this.es = DTYPE_SIZE[t0.dtype];
  }

  fill(position: number, dst: Uint8Array): void {
    const t0 = this.members[0]!;
    const n = dst.length / this.es;
    if (this.raw.length < dst.length) { this.raw = new Uint8Array(new ArrayBuffer(dst.length)); this.decoded = new Float64Array(n); }
    const acc = new Float64Array(n);
    for (const m of this.members) {
      this.files.readTensor(m, position, this.raw, 0, dst.length);
      const v = numbersOf(m.dtype, this.raw, dst.length, this.decoded);
      for (let i = 0; i < n; i++) acc[i]! += v[i]!;
    }
    const k = this.members.length;
    const view = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i < n; i++) {
      const mean = acc[i]! / k;
      switch (t0.dtype) {
        case 'float32': view.setFloat32(i * 4, mean, true); break;
        case 'float64': view.setFloat64(i * 8, mean, true); break;
        case 'float16': view.setUint16(i * 2, floatToHalf(mean), true); break;
        case 'bfloat16': {
          f32[0] = mean;
          const b = f32ToBf16Bits(u32[0]!);
          view.setUint16(i * 2, b < 0 ? 0x7fc0 : b, true);
          break;
        }
        default: throw new Error(`internal: no mean for ${t0.dtype}`);
      }
    }
  }
}

/** NAME.tied.EXT (or FOLDER.tied) where apply would write NAME.shared.EXT. */
function defaultTieOutput(shared: string): string {
  return shared.replace(/\.shared(?=(\.[^./]+)?$)/, '.tied');
}

export async function tieLayers(input: string, options: TieOptions): Promise<TieResult> {
  const model: ModelFile = await openModel(input, { signal: options.signal, trustedRoots: options.trustedRoots });
  const writer = formatOf(model).writer;
  if (!writer) throw new TieError(input, `${model.format} files cannot be rewritten yet`);
  const target = options.to === 'mean' ? 0 : options.to;
  const listed = [...new Set(options.layers)].filter((l) => l !== target);
  if (listed.length === 0) throw new TieError(input, `--layers names no block besides the target block ${target}`);
  const realiser = writer.realiser(model);
  const decisions: Realised[] = [];
  const families: TiedFamily[] = [];
  const skipped: TieResult['skipped'] = [];
  const files = new FileSet();
  const replaceData = new Map<TensorRef, PieceSource>();
  try {
    const sourceNames = options.checkpoint === undefined || !model.graph ? undefined
      : await sourceNamesOf(model, await openModel(options.checkpoint, { signal: options.signal, trustedRoots: options.trustedRoots }), options.signal);
    for (const f of findFamilies(model, sourceNames)) {
      if (options.roles && !options.roles.test(f.role)) continue;
      const keptAt = f.layers.indexOf(target);
      if (keptAt < 0) { skipped.push({ role: f.role, reason: `no block ${target} in this family` }); continue; }
      const kept = f.members[keptAt]!;
      const dropped = f.members.filter((_, i) => listed.includes(f.layers[i]!));
      if (dropped.length === 0) continue;
      const made: Realised[] = [];
      let reason: string | undefined;
      for (const d of dropped) {
        const r = realiser.realise({ kept, dropped: d, ops: [] }, false);
        if (typeof r === 'string') { reason = r; break; }
        made.push(r);
      }
      if (reason) { skipped.push({ role: f.role, reason }); continue; }
      decisions.push(...made);
      if (options.to === 'mean') replaceData.set(kept, new MeanSource(files, [kept, ...dropped]));
      families.push({ role: f.role, kept: kept.name, dropped: dropped.map((d) => d.name), mean: options.to === 'mean' });
    }
    if (decisions.length === 0) throw new TieError(input, `nothing to tie: no family has blocks ${listed.join(', ')} and ${target}${skipped.length ? ` (${skipped.map((s) => `${s.role}: ${s.reason}`).join('; ')})` : ''}`);
    const output = path.resolve(options.output ?? defaultTieOutput(writer.defaultOutput(model)));
    const written = await writer.write(model, decisions, output, {
      signal: options.signal, trustedRoots: options.trustedRoots, overwrite: options.force === true, replaceData,
    });
    const again = await openModel(output, { trustedRoots: options.trustedRoots });
    return { input, output, families, skipped, bytesBefore: model.fileSize, bytesAfter: again.fileSize, written };
  } finally {
    files.close();
  }
}
