// The model editor: a read-only custom editor (default for *.onnx) whose
// webview draws the graph with its sharing groups. The host opens and scans
// the model (cancellable, with progress shown in the webview), posts the
// graph metadata, and answers the webview's requests.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { serveRequest, type ApplySummary, type HostToWebview, type PackedGraphPayload, type RequestHandlers, type WebviewToHost } from '../protocol';
import type { ScanProgress, SharingGroup } from '../sharing/types';
import { groupsOfIds, renderWebviewHtml, type ApplyOutcome } from './core';
import { makeNonce } from '../view/html';
import { type Analysis, type ModelAnalyses, isAbort } from './analysis';
import { Disposable } from './disposable';
import { readSettings } from './settings';
import { WebviewCollection } from './webviewCollection';

export const VIEW_TYPE = 'weightSharing.modelEditor';

/** What the webview's buttons ask the host to do; implemented by the commands. */
export interface ModelEditorActions {
  applySharing(uri: vscode.Uri, groups?: SharingGroup[]): Promise<ApplyOutcome | undefined>;
  /** Opens a written copy in the model editor. */
  openOutput(output: string): Promise<void>;
  /** Runs the inference check of `input` against a written copy. */
  checkOutput(input: vscode.Uri, output: string): Promise<void>;
  openOutline(uri: vscode.Uri): Promise<void>;
  showReport(uri: vscode.Uri): Promise<void>;
  compareWithCheckpoint(uri: vscode.Uri): Promise<void>;
}

/**
 * Extension points for features built on the editor (the inference check of
 * issue 5): requests and messages the editor does not handle itself go to
 * the registered hooks, in order, until one takes them.
 */
export interface ModelEditorHooks {
  /** The requests this hook answers for the model at `uri` (errors become error replies; a handler's signal aborts when the panel closes). */
  requests?(uri: vscode.Uri, webview: vscode.Webview): RequestHandlers;
  /** Returns true when it handled the message. */
  message?(uri: vscode.Uri, message: WebviewToHost, webview: vscode.Webview): boolean;
}

/** Selects a group in a model's editor; the target of each Problems entry's code link. */
export const REVEAL_GROUP_COMMAND = 'weightSharing.revealGroup';

export interface RevealGroupArgs {
  /** The model's URI, as a string (command links carry JSON). */
  model: string;
  groupId: string;
}

type DocumentState =
  | { kind: 'loading'; progress: ScanProgress }
  | { kind: 'ready'; analysis: Analysis; payload: PackedGraphPayload }
  | { kind: 'error'; message: string };

export class ModelDocument extends Disposable implements vscode.CustomDocument {
  private controller = new AbortController();
  /** The copy this editor's last Apply wrote: what 'openApplied' and 'checkApplied' act on (never a path the webview names). */
  lastApplied?: ApplyOutcome;
  private current: DocumentState = { kind: 'loading', progress: { phase: 'open', fraction: 0, message: 'Opening…' } };
  private readonly changed = this.register(new vscode.EventEmitter<DocumentState>());
  readonly onDidChangeState = this.changed.event;

  constructor(readonly uri: vscode.Uri, private readonly analyses: ModelAnalyses, private readonly log: vscode.LogOutputChannel) {
    super();
    // Reload when the file is rewritten on disk (e.g. re-exported).
    const watcher = this.register(vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath))));
    this.register(watcher.onDidChange(() => this.load()));
    this.register(watcher.onDidCreate(() => this.load()));
    this.load();
  }

  get state(): DocumentState {
    return this.current;
  }

  private set(state: DocumentState): void {
    this.current = state;
    if (!this.isDisposed) this.changed.fire(state);
  }

  /** (Re)opens and scans the file; an earlier load still running is cancelled. */
  load(): void {
    this.controller.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.set({ kind: 'loading', progress: { phase: 'open', fraction: 0, message: `Opening ${path.basename(this.uri.fsPath)}…` } });
    this.analyses.analyze(this.uri, {
      signal: controller.signal,
      onProgress: (p) => { if (this.controller === controller) this.set({ kind: 'loading', progress: p }); },
    }).then(
      (analysis) => {
        if (this.controller !== controller) return;
        this.log.info(`${this.uri.fsPath}: ${analysis.model.tensors.length} tensors, ${analysis.report.groups.length} groups in ${analysis.millis} ms`);
        this.set({ kind: 'ready', analysis, payload: analysis.payload });
      },
      (err: unknown) => {
        if (this.controller !== controller || isAbort(err)) return;
        const message = err instanceof Error ? err.message : String(err);
        this.log.warn(`${this.uri.fsPath}: ${message}`);
        this.set({ kind: 'error', message });
      },
    );
  }

  /** The report's groups of these ids (GroupInfo.id). */
  groupsOfIds(ids: string[]): SharingGroup[] {
    if (this.current.kind !== 'ready') throw new Error('the model is not loaded yet');
    return groupsOfIds(this.current.analysis.report.groups, ids);
  }

  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;

  override dispose(): void {
    this.controller.abort();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
    super.dispose();
  }
}

export class ModelEditorProvider extends Disposable implements vscode.CustomReadonlyEditorProvider<ModelDocument> {
  static register(context: vscode.ExtensionContext, analyses: ModelAnalyses, actions: ModelEditorActions, log: vscode.LogOutputChannel): ModelEditorProvider {
    const provider = new ModelEditorProvider(context, analyses, actions, log);
    context.subscriptions.push(provider);
    context.subscriptions.push(vscode.window.registerCustomEditorProvider(VIEW_TYPE, provider, {
      // The graph and its layout are costly to rebuild; keep it while hidden.
      webviewOptions: { retainContextWhenHidden: true },
      supportsMultipleEditorsPerDocument: true,
    }));
    context.subscriptions.push(vscode.commands.registerCommand(REVEAL_GROUP_COMMAND, (arg?: unknown) => {
      const a = arg as Partial<RevealGroupArgs> | undefined;
      if (typeof a?.model !== 'string' || typeof a.groupId !== 'string') return;
      provider.revealGroup(vscode.Uri.parse(a.model), a.groupId).catch((err: unknown) => log.warn(`reveal group: ${err instanceof Error ? err.message : String(err)}`));
    }));
    return provider;
  }

  /** Groups to select in a model's editor once it has drawn the model (it was opened to show them). */
  private readonly pendingFocus = new Map<string, string>();

  /** Opens (or brings forward) the model's editor and selects and frames the group there. */
  async revealGroup(model: vscode.Uri, groupId: string): Promise<void> {
    const key = model.toString();
    this.pendingFocus.set(key, groupId);
    await vscode.commands.executeCommand('vscode.openWith', model, VIEW_TYPE);
    const loaded = [...this.documents].some((d) => d.uri.toString() === key && d.state.kind === 'ready');
    // A panel that has drawn the model selects it now; a new one when its model is posted.
    if (loaded && this.post(model, { type: 'focusGroup', groupId }) > 0) this.pendingFocus.delete(key);
  }

  readonly webviews = new WebviewCollection();
  private readonly hooks: ModelEditorHooks[] = [];
  /** Panels whose webview said 'ready', with the model they show. */
  private readonly readyPanels = new Map<vscode.WebviewPanel, vscode.Uri>();
  private readonly documents = new Set<ModelDocument>();
  private readonly closed = this.register(new vscode.EventEmitter<vscode.Uri>());
  /** Fires when the last editor of a model closes. */
  readonly onDidCloseModel = this.closed.event;

  private constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly analyses: ModelAnalyses,
    private readonly actions: ModelEditorActions,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (['minBytes', 'graph.collapseThreshold', 'graph.renderer'].some((k) => e.affectsConfiguration(`weightSharing.${k}`))) {
        for (const d of this.documents) d.load();
      }
    }));
    this.register(analyses.onDidChangeCompanion((uri) => {
      for (const d of this.documents) if (d.uri.toString() === uri.toString()) d.load();
    }));
  }

  addHooks(hooks: ModelEditorHooks): vscode.Disposable {
    this.hooks.push(hooks);
    return new vscode.Disposable(() => {
      const i = this.hooks.indexOf(hooks);
      if (i >= 0) this.hooks.splice(i, 1);
    });
  }

  /** Posts to every ready panel showing `uri`; returns how many got it. */
  post(uri: vscode.Uri, message: HostToWebview): number {
    let n = 0;
    for (const [panel, u] of this.readyPanels) {
      if (u.toString() !== uri.toString()) continue;
      void panel.webview.postMessage(message);
      n++;
    }
    return n;
  }

  /** The model in the focused (else a visible) model editor. */
  activeModel(): vscode.Uri | undefined {
    return this.webviews.active() ?? this.webviews.visible();
  }

  openCustomDocument(uri: vscode.Uri): ModelDocument {
    const doc = new ModelDocument(uri, this.analyses, this.log);
    this.documents.add(doc);
    doc.onDidDispose(() => {
      this.documents.delete(doc);
      if (!this.isDisposed && ![...this.documents].some((d) => d.uri.toString() === uri.toString())) this.closed.fire(uri);
    });
    return doc;
  }

  resolveCustomEditor(document: ModelDocument, panel: vscode.WebviewPanel): void {
    this.webviews.add(document.uri, panel);
    const webview = panel.webview;
    const ext = this.context.extensionUri;
    webview.options = {
      enableScripts: true,
      // The webview reads the extension's bundle and styles, and (for the
      // inference check) the model and its external data by URL.
      localResourceRoots: [
        vscode.Uri.joinPath(ext, 'dist'),
        vscode.Uri.joinPath(ext, 'media'),
        vscode.Uri.file(path.dirname(document.uri.fsPath)),
      ],
    };
    webview.html = renderWebviewHtml({
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(ext, 'dist', 'webview.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(ext, 'media', 'webview.css')).toString(),
      title: path.basename(document.uri.fsPath),
    });

    const disposables: vscode.Disposable[] = [];
    // Requests still running when the panel closes are cancelled: their
    // replies would have nowhere to go.
    const pending = new Set<AbortController>();
    let ready = false;
    const post = (message: HostToWebview) => {
      if (ready) void webview.postMessage(message);
    };
    const postState = () => {
      const s = document.state;
      if (s.kind === 'loading') post({ type: 'progress', message: s.progress.message, fraction: s.progress.fraction });
      else if (s.kind === 'error') post({ type: 'loadError', message: s.message });
      else {
        const settings = readSettings(document.uri);
        post({ type: 'model', graph: s.payload, settings: { collapseThreshold: settings.collapseThreshold, minBytes: s.analysis.minBytes, renderer: settings.graphRenderer } });
        const focus = this.pendingFocus.get(document.uri.toString());
        if (focus !== undefined && ready) {
          post({ type: 'focusGroup', groupId: focus });
          this.pendingFocus.delete(document.uri.toString());
        }
      }
    };
    disposables.push(document.onDidChangeState(postState));
    disposables.push(webview.onDidReceiveMessage((raw: WebviewToHost) => {
      switch (raw?.type) {
        case 'ready':
          ready = true;
          this.readyPanels.set(panel, document.uri);
          postState();
          return;
        case 'log':
          this.log[raw.level === 'error' ? 'error' : raw.level === 'warn' ? 'warn' : 'info'](`webview: ${raw.message}`);
          return;
        case 'request': {
          const controller = new AbortController();
          pending.add(controller);
          const handlers = [this.handlers(document), ...this.hooks.map((h) => h.requests?.(document.uri, webview) ?? {})];
          void serveRequest(raw, handlers, controller.signal)
            .then((reply) => { if (reply) post(reply); })
            .finally(() => pending.delete(controller));
          return;
        }
        default:
          if (this.hooks.some((h) => h.message?.(document.uri, raw, webview))) return;
          this.log.warn(`webview sent an unknown message: ${JSON.stringify(raw).slice(0, 200)}`);
      }
    }));
    panel.onDidDispose(() => {
      this.readyPanels.delete(panel);
      for (const c of pending) c.abort();
      pending.clear();
      for (const d of disposables) d.dispose();
    });
  }

  /** The editor's own requests, for one document. */
  private handlers(document: ModelDocument): RequestHandlers {
    const lastApplied = () => {
      if (!document.lastApplied) throw new Error('nothing was applied from this editor yet');
      return document.lastApplied;
    };
    return {
      applySharing: async (request) => {
        const groups = request.groupIds ? document.groupsOfIds(request.groupIds) : undefined;
        const outcome = await this.actions.applySharing(document.uri, groups);
        if (!outcome) return { cancelled: true };
        document.lastApplied = outcome;
        const summary: ApplySummary = {
          output: outcome.output, outputName: path.basename(outcome.output), inputBytes: outcome.inputBytes, outputBytes: outcome.outputBytes,
          bytesSaved: outcome.bytesSaved, applied: outcome.applied, skipped: outcome.skipped, runnable: outcome.runnable,
          ...(outcome.loadingNote ? { loadingNote: outcome.loadingNote } : {}),
        };
        return { summary };
      },
      openApplied: () => this.actions.openOutput(lastApplied().output),
      compareApplied: async () => ({ graph: (await this.analyses.analyze(vscode.Uri.file(lastApplied().output))).payload }),
      checkApplied: () => this.actions.checkOutput(document.uri, lastApplied().output),
      openOutline: () => this.actions.openOutline(document.uri),
      showReport: () => this.actions.showReport(document.uri),
      compareWithCheckpoint: () => this.actions.compareWithCheckpoint(document.uri),
    };
  }

  override dispose(): void {
    const docs = [...this.documents];
    this.documents.clear();
    super.dispose();
    // After super.dispose(): closing documents now fires nothing.
    for (const d of docs) d.dispose();
  }
}
