// Messages between the extension host and the analysis worker (worker.ts).
// The worker runs one job (its workerData): a scan, the layers analysis, or
// writing a tied variant.
import type { PathTrust } from '../io/safePath';
import type { ModelFile } from '../model/types';
import type { PackedGraphPayload, TieTarget } from '../protocol';
import type { ScanProgress, ScanReport } from '../sharing/types';

export interface AnalysisRequest extends PathTrust {
  path: string;
  minBytes: number;
  /** Checkpoints scanned with the model to name its tensors after their source parameters (provenance). */
  companions?: string[];
}

export interface AnalysisResult {
  model: ModelFile;
  report: ScanReport;
  /** What the model editor's webview draws, packed: the host only forwards it. */
  payload: PackedGraphPayload;
  millis: number;
}

/** How alike the layers of one model are (the Layers tab). */
export interface LayersRequest extends PathTrust {
  path: string;
  /** The checkpoint that names an export's anonymous tensors: null for none; default the model.safetensors beside it. */
  checkpoint?: string | null;
}

/** Writes the variant with the listed blocks tied (Try tying). */
export interface TieRequest extends PathTrust {
  path: string;
  layers: number[];
  to: TieTarget;
  /** Only this family's role (exact match); default every family. */
  role?: string;
  output: string;
  /** Replace an existing output (the user said so). */
  force: boolean;
  /** As for LayersRequest: the tie then finds the families the tab listed. */
  checkpoint?: string | null;
}

export interface TieJobResult {
  output: string;
  bytesBefore: number;
  bytesAfter: number;
  families: number;
  tensorsDropped: number;
  skipped: string[];
}

export type WorkerJob =
  | ({ job: 'scan' } & AnalysisRequest)
  | ({ job: 'layers' } & LayersRequest)
  | ({ job: 'tie' } & TieRequest);

/** Progress of any job; a scan's carries its phase. */
export interface JobProgress {
  /** 0..1 */
  fraction: number;
  message: string;
}

export type WorkerMessage<R = unknown, P extends JobProgress = ScanProgress> =
  | { type: 'progress'; progress: P }
  | { type: 'done'; result: R }
  | { type: 'error'; name: string; message: string };

/** From the host: stop at the next check. Jobs that write remove their temp files first, then answer with an AbortError. */
export type HostToWorker = { type: 'abort' };
