// Opens and scans model files once and shares the result between the model
// editor, the outline, diagnostics and commands. Keyed by path, size, mtime
// and the minimum-size setting, so an edited file or a changed setting
// rescans. The work runs in a worker thread (the host's event loop never
// waits on it); a scan nobody waits for any more is stopped mid-way.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { ModelFile } from '../model/types';
import type { PackedGraphPayload } from '../protocol';
import type { ScanProgress, ScanReport } from '../sharing/types';
import { defaultCompanions, runAnalysis } from './core';
import { Disposable } from './disposable';
import { readSettings } from './settings';

export interface Analysis {
  uri: vscode.Uri;
  model: ModelFile;
  report: ScanReport;
  /** What the model editor draws, packed. */
  payload: PackedGraphPayload;
  /** The minimum size the scan used. */
  minBytes: number;
  millis: number;
}

export interface AnalyzeOptions {
  signal?: AbortSignal;
  onProgress?: (p: ScanProgress) => void;
}

interface Entry {
  key: string;
  promise: Promise<Analysis>;
  controller: AbortController;
  waiters: number;
  settled: boolean;
  listeners: Set<(p: ScanProgress) => void>;
}

/** Finished analyses kept for reuse (open editors re-request theirs when needed). */
const MAX_CACHED = 8;

export class AbortError extends Error {
  constructor(what = 'cancelled') {
    super(what);
    this.name = 'AbortError';
  }
}

export function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

export class ModelAnalyses extends Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly didAnalyze = this.register(new vscode.EventEmitter<Analysis>());
  /** Fires after every completed scan (diagnostics listen here). */
  readonly onDidAnalyze = this.didAnalyze.event;

  /** `workerFile`: the bundled analysis worker (dist/analysisWorker.js). */
  constructor(private readonly workerFile: string) {
    super();
    this.register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('weightSharing.minBytes') || e.affectsConfiguration('weightSharing.trustedLinkRoots')) this.entries.clear();
    }));
  }

  /** The finished analysis of `uri` if it is current, else undefined (for hovers: never waits). */
  peek(uri: vscode.Uri): Analysis | undefined {
    const f = this.finished.get(uri.fsPath);
    if (!f) return undefined;
    try { return f.key === this.keyOf(uri) ? f.analysis : undefined; } catch { return undefined; }
  }

  private readonly finished = new Map<string, { key: string; analysis: Analysis }>();

  private keyOf(uri: vscode.Uri): string {
    const st = fs.statSync(uri.fsPath);
    const companions = this.companionsOf(uri).map((c) => {
      try { return `${c}@${fs.statSync(c).mtimeMs}`; } catch { return c; }
    });
    const settings = readSettings(uri);
    return `${st.size}:${st.mtimeMs}:${settings.minBytes}:${settings.trustedLinkRoots.join('|')}:${companions.join('|')}`;
  }

  /** Checkpoints chosen with "Compare with Checkpoint…" (null: none, not even the default). */
  private readonly chosen = new Map<string, string | null>();
  private readonly companionChanged = this.register(new vscode.EventEmitter<vscode.Uri>());
  /** Fires when the checkpoint a model is compared with changes (open editors reload). */
  readonly onDidChangeCompanion = this.companionChanged.event;

  /** The checkpoints scanned with `uri`: the chosen one, else a model.safetensors beside it. */
  companionsOf(uri: vscode.Uri): string[] {
    const chosen = this.chosen.get(uri.fsPath);
    if (chosen === null) return [];
    return chosen !== undefined ? [chosen] : defaultCompanions(uri.fsPath);
  }

  setCompanion(uri: vscode.Uri, checkpoint: string | null): void {
    this.chosen.set(uri.fsPath, checkpoint);
    this.companionChanged.fire(uri);
  }

  analyze(uri: vscode.Uri, options: AnalyzeOptions = {}): Promise<Analysis> {
    if (uri.scheme !== 'file') return Promise.reject(new Error(`${uri.toString()}: only files on disk can be opened`));
    let key: string;
    try { key = this.keyOf(uri); } catch (err) { return Promise.reject(err); }
    let entry = this.entries.get(uri.fsPath);
    if (!entry || entry.key !== key) {
      entry?.controller.abort();
      entry = this.start(uri, key);
      this.entries.set(uri.fsPath, entry);
    }
    return this.wait(uri, entry, options);
  }

  private start(uri: vscode.Uri, key: string): Entry {
    const controller = new AbortController();
    const listeners = new Set<(p: ScanProgress) => void>();
    const minBytes = readSettings(uri).minBytes;
    const emit = (p: ScanProgress) => { for (const l of listeners) l(p); };
    const promise = (async (): Promise<Analysis> => {
      const request = { path: uri.fsPath, minBytes, companions: this.companionsOf(uri), trustedRoots: readSettings(uri).trustedLinkRoots };
      const result = await runAnalysis(this.workerFile, request, { signal: controller.signal, onProgress: emit });
      const analysis: Analysis = { uri, ...result, minBytes };
      this.remember(uri, key, analysis);
      return analysis;
    })();
    const entry: Entry = { key, controller, waiters: 0, settled: false, listeners, promise };
    promise.then(
      (a) => { entry.settled = true; if (!this.isDisposed) this.didAnalyze.fire(a); },
      () => {
        entry.settled = true;
        // Failed or aborted scans are not cached: the next request retries.
        if (this.entries.get(uri.fsPath) === entry) this.entries.delete(uri.fsPath);
      },
    );
    return entry;
  }

  /**
   * Keeps the newest finished analyses only: each holds a model's metadata
   * (graph, tensor list), small next to its weights but not free for
   * 10,000-node graphs.
   */
  private remember(uri: vscode.Uri, key: string, analysis: Analysis): void {
    this.finished.delete(uri.fsPath);
    this.finished.set(uri.fsPath, { key, analysis });
    while (this.finished.size > MAX_CACHED) {
      const oldest = this.finished.keys().next().value as string;
      this.finished.delete(oldest);
      const e = this.entries.get(oldest);
      if (e?.settled) this.entries.delete(oldest);
    }
  }

  private wait(uri: vscode.Uri, entry: Entry, { signal, onProgress }: AnalyzeOptions): Promise<Analysis> {
    if (signal?.aborted) return Promise.reject(new AbortError());
    entry.waiters++;
    if (onProgress) entry.listeners.add(onProgress);
    return new Promise<Analysis>((resolve, reject) => {
      const done = () => {
        entry.waiters--;
        if (onProgress) entry.listeners.delete(onProgress);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        // Nobody else waits for this scan: stop reading the file.
        if (entry.waiters === 0 && !entry.settled) {
          entry.controller.abort();
          if (this.entries.get(uri.fsPath) === entry) this.entries.delete(uri.fsPath);
        }
        reject(new AbortError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      entry.promise.then((a) => { done(); resolve(a); }, (err: unknown) => { done(); reject(err); });
    });
  }

  override dispose(): void {
    for (const e of this.entries.values()) e.controller.abort();
    this.entries.clear();
    super.dispose();
  }
}
