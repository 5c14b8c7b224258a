// Messages between the extension host and the analysis worker (worker.ts).
import type { PathTrust } from '../io/safePath';
import type { ModelFile } from '../model/types';
import type { GraphPayload } from '../protocol';
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
  /** What the model editor's webview draws. */
  payload: GraphPayload;
  millis: number;
}

export type WorkerMessage =
  | { type: 'progress'; progress: ScanProgress }
  | { type: 'done'; result: AnalysisResult }
  | { type: 'error'; name: string; message: string };
