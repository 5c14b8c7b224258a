// The format seam: what every format module under model/<format>/ exports
// and the registry lists. A module matches files cheaply (magic bytes, then
// names), opens them into the format-neutral weight store of types.ts, and,
// when it can write, turns format-neutral sharing decisions into its own
// form (ONNX: rewired inputs and inserted nodes; safetensors: a dropped name
// recorded in __metadata__).
import type { PathTrust } from '../io/safePath';
import type { PieceSource } from '../io/atomicWrite';
import type { DeriveOp, ModelFile, TensorRef } from './types';

export interface OpenOptions extends PathTrust {
  signal?: AbortSignal;
}

/**
 * A format-neutral sharing decision: stop storing `dropped`, which equals
 * `ops` applied to `kept` (no ops: the same bytes and shape, an alias).
 */
export interface Decision {
  kept: TensorRef;
  dropped: TensorRef;
  ops: DeriveOp[];
}

/** A decision as the format will carry it out. */
export interface Realised extends Decision {
  /** How, in words, for messages: "readers rewired", "Transpose node inserted", "recorded in __metadata__". */
  how: string;
}

/** Checks decisions against one model (built once per plan: formats index their graph here). */
export interface Realiser<R extends Realised = Realised> {
  /**
   * Where any member of a group may stay (exact and reshaped copies), the
   * preferred one sorts first (compared element-wise, lower first). Default:
   * the first member.
   */
  keepRank?(t: TensorRef): number[];
  /**
   * How this format would carry out `d`, or why it cannot. `keepName`: other
   * decisions read `d.dropped` under its name, so a derived copy must go on
   * existing under it.
   */
  realise(d: Decision, keepName: boolean): R | string;
}

export interface WriteOptions extends PathTrust {
  signal?: AbortSignal;
  /** false: refuse an output that exists (the CLI without --force); true: replace it, atomically. */
  overwrite?: boolean;
  /** Called for each file once it is in place, with its identity (see atomicWrite). */
  onCommitted?: (file: string, identity: string) => void;
  /**
   * New contents for kept tensors (same dtype and shape), written instead of
   * their stored bytes: a lossy tie to the mean of several layers. Unset for
   * lossless sharing.
   */
  replaceData?: ReadonlyMap<TensorRef, PieceSource>;
  /** Bytes written so far of the total (for progress). */
  onProgress?: (done: number, total: number) => void;
}

export interface WriteResult {
  /** The model file (or folder) written. */
  output: string;
  /** Every file written (model, data files, shards, index, copied config). */
  files: string[];
  /** Lines for the CLI's and the editor's summary (what the writer did beyond dropping tensors). */
  notes: string[];
  /** Format-specific facts for `apply --json` (ONNX: inserted nodes, rewired inputs). */
  details: Record<string, unknown>;
}

export interface ModelWriter<R extends Realised = Realised> {
  /** Where a rewrite of `model` goes by default: beside it, never over it. */
  defaultOutput(model: ModelFile): string;
  realiser(model: ModelFile): Realiser<R>;
  /** Writes `model` without the dropped tensors to `output`, atomically; never over an input. */
  write(model: ModelFile, decisions: readonly R[], output: string, options: WriteOptions): Promise<WriteResult>;
  /**
   * True when the output keeps every name: dropped ones as records a reader
   * turns into `record` ties (safetensors), so apply proves each input
   * tensor is recoverable from the output bit for bit. False for formats
   * that rewire their graph instead (ONNX).
   */
  recordsDrops?: boolean;
  /**
   * True when the output is another format than the input (a PyTorch
   * checkpoint written as safetensors): apply writes it even when no copy is
   * to be dropped, since the conversion itself is what is asked for.
   */
  convertsFormat?: boolean;
  /** What a user must know about loading the output (stock loaders and ties). */
  loadingNote?(decisions: readonly R[], input: ModelFile): string | undefined;
}

export interface FormatModule {
  /** Registry id, also ModelFile.format. */
  format: string;
  /** How the format is named in messages. */
  label: string;
  /** File name extensions it claims (lower case, with the dot). */
  extensions: string[];
  /** True when the first bytes (up to 64) and the name say a file is of this format. */
  match(head: Uint8Array, name: string): boolean;
  /** True when a folder (its entry names) is one model of this format, e.g. a Hugging Face checkpoint folder. */
  matchFolder?(names: readonly string[]): boolean;
  /** Parses structure only: tensor bytes stay byte ranges. `target` is a file or, with matchFolder, a folder. */
  open(target: string, options: OpenOptions): Promise<ModelFile>;
  /** Present when the format can be rewritten. */
  writer?: ModelWriter;
  /**
   * Writes the full model back from a shared copy (every recorded drop
   * rebuilt, this tool's records removed), atomically, never over an input.
   */
  restore?(model: ModelFile, output: string, options: WriteOptions): Promise<WriteResult>;
}
