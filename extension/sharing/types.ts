// What the sharing analysis reports. Format-neutral: it speaks of TensorRefs,
// whatever reader produced them. The CLI's `--json` document is derived from
// these types (see report.ts), and the extension shows them.
import type { ModelFile, TensorRef, TiedBy } from '../model/types';
import type { SharingKind } from './kinds';
import type { PathTrust } from '../io/safePath';

export interface GroupMember {
  /** The model file holding it. */
  path: string;
  tensor: TensorRef;
  /** False for a tied name the model does not store (a loader re-creates it). */
  stored: boolean;
}

export interface SharingGroup {
  /**
   * The group's one identity, from the scan to the webview, Problems, the
   * outline and the command that applies it: kind and members (file and
   * tensor id), hashed, so a rescan of an unchanged model gives the same id
   * and a stale one matches nothing. Set by the scan.
   */
  id: string;
  kind: SharingKind;
  /**
   * True when storing the group once leaves every output bit-for-bit (or,
   * for inserted Transpose/Reshape/Cast, value-for-value) unchanged and is
   * safe to apply. False, with `reason`, when e.g. a member is a graph input
   * a caller may override, or a sparse initializer.
   */
  lossless: boolean;
  /**
   * True when Apply Sharing carries the group out: lossless, and the format
   * can do it in this model without conflicting with a larger group (set by
   * the scan, which plans as Apply does). Tied groups never are: they are
   * already stored once. Totals count only applicable groups.
   */
  applicable: boolean;
  /** Why the group is not lossless, or not applicable. */
  reason?: string;
  /** Bytes that storing the group once would save (0 for `tied`). */
  bytesSaved: number;
  /**
   * Members; the first is the one kept. For `transposed`/`cast`/`reshaped`
   * the others are derived from it (a transposed / converted / reshaped copy).
   * For `quantized`, members come in (weight, scale, zero point) triplets.
   */
  members: GroupMember[];
  /** True when members come from more than one file. */
  crossFile: boolean;
  /** `cast` only: the copy is also transposed (2-D, shapes swapped). */
  transposed?: boolean;
  /**
   * Lossy `cast` groups of one weight in two encodings (a Q8_0 and an F16
   * copy): how far apart the dequantized values are. maxAbs: the largest
   * |a - b|; maxRel: maxAbs relative to the largest |value|.
   */
  difference?: { maxAbs: number; maxRel: number };
  /** `tied` only: what makes the names one weight (graph readers, storage, config, omission, a recorded drop). */
  tiedBy?: TiedBy;
}

export interface ScanOptions extends PathTrust {
  /** Hide groups whose tensors are smaller than this (bytes). Default 1024. */
  minBytes?: number;
  signal?: AbortSignal;
  /** Size of each of the two reused read buffers (bytes). Default 16 MiB. */
  chunkBytes?: number;
  onProgress?: (progress: ScanProgress) => void;
}

export interface ScanProgress {
  phase: 'open' | 'compare';
  /** 0..1 */
  fraction: number;
  message: string;
}

export interface ScanReport {
  models: ModelFile[];
  /** Sorted by bytesSaved, descending. */
  groups: SharingGroup[];
  /** Lossless saving over the reported groups; a tensor dropped by two groups counts once. */
  bytesSaved: number;
  /** Bytes of tensor data actually read to reach the verdicts (for benchmarks). */
  bytesRead: number;
  /** The `minBytes` the groups were filtered with. */
  minBytes?: number;
  /** Groups found but hidden because all their tensors are below `minBytes`. */
  hiddenGroups?: number;
  /**
   * Tensors of a graph model (an ONNX export) matched to the checkpoint
   * parameter they came from, when both were scanned together. Such matches
   * are where a weight came from, not copies to share, so they are here and
   * not in `groups`.
   */
  provenance: ProvenanceLink[];
}

export interface ProvenanceLink {
  /** The exported model and its tensor. */
  path: string;
  tensor: TensorRef;
  /** The checkpoint and the parameter it equals. */
  sourcePath: string;
  source: TensorRef;
  /** How the bytes relate: the same, or transposed / cast / reshaped. */
  how: 'exact' | 'transposed' | 'cast' | 'reshaped';
}

export const DEFAULT_MIN_BYTES = 1024;
