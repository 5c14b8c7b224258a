// The host side of the inference check (issue 5). The check itself runs in
// the model editor's webview (webview/inference/); the host tells it where
// the bytes are (webview URIs of the model, its external data, the
// test_data_set_N files beside it, onnxruntime-web in media/ort/, and the
// model to compare with), widens the webview's resource roots to exactly
// those folders, answers "compare with which model?", and turns the outcome
// into a diagnostic on the model: onnxruntime's rejection with its hint, or
// a FAIL.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { externalDataFiles } from '../check/runner';
import { findTestDataDirs, listTestDataFiles } from '../check/testData';
import { openModel } from './core';
import { ORT_FILES, type InferenceModelRef, type InferenceOutcome, type InferenceSetup, type InferenceSetupReply, type InputChoices, type WebviewToHost } from '../protocol';
import { INFERENCE_CHECK_COMMAND, type InferenceCheckArgs } from './commands';
import { Disposable } from './disposable';
import { VIEW_TYPE, type ModelEditorProvider } from './modelEditor';
import { readSettings } from './settings';

export { INFERENCE_CHECK_COMMAND };

function isCheckArgs(arg: unknown): arg is InferenceCheckArgs {
  return typeof arg === 'object' && arg !== null && (arg as InferenceCheckArgs).model instanceof vscode.Uri;
}

export class InferenceCheck extends Disposable {
  private readonly diagnostics = this.register(vscode.languages.createDiagnosticCollection('weight-sharing-inference'));
  /** Per model: the model to compare with (after Apply Sharing, or picked in the panel). */
  private readonly compareWith = new Map<string, vscode.Uri>();
  /** Models whose editor the command opened: their webview runs a check as soon as it asks for its setup. */
  private readonly pendingRuns = new Set<string>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly editor: ModelEditorProvider,
    private readonly log: vscode.LogOutputChannel,
    /** Where each model's per-input editor settings are kept (this workspace's state). */
    private readonly memory: vscode.Memento,
  ) {
    super();
    this.register(editor.addHooks({
      requests: (uri, webview) => ({
        inferenceSetup: () => this.setupFor(uri, webview).then((setup): InferenceSetupReply => ({ setup, run: this.pendingRuns.delete(uri.toString()) })),
        pickComparisonModel: () => this.pickComparison(uri, webview),
        rememberInputs: async ({ choices }) => { await this.memory.update(inputsKey(uri), choices); },
      }),
      message: (uri, message) => this.message(uri, message),
    }));
    this.register(vscode.commands.registerCommand(INFERENCE_CHECK_COMMAND, (arg?: unknown) => this.guard(() => this.run(arg))));
  }

  private async guard(run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error(`inference check: ${message}`);
      void vscode.window.showErrorMessage(`Weight Sharing: ${message}`);
    }
  }

  /**
   * "Run Inference Check": on `{ model, compareWith }` (the button after
   * Apply Sharing), a model URI (explorer), or the active model editor.
   * Opens (or reveals) the model's editor and has its panel run the check.
   */
  private async run(arg: unknown): Promise<void> {
    let model: vscode.Uri | undefined;
    if (isCheckArgs(arg)) {
      model = arg.model;
      this.compareWith.set(model.toString(), arg.compareWith);
    } else if (arg instanceof vscode.Uri) {
      model = arg;
    } else {
      model = this.editor.activeModel();
    }
    if (!model) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX models': ['onnx'] }, openLabel: 'Check model', title: 'Weight Sharing: choose a model to run' });
      model = picked?.[0];
    }
    if (!model) return;
    const key = model.toString();
    const panels = this.editor.webviews.get(model);
    if (panels.length === 0) {
      // The new webview asks for its setup once it is up; it runs then.
      this.pendingRuns.add(key);
      await vscode.commands.executeCommand('vscode.openWith', model, VIEW_TYPE);
      return;
    }
    const panel = panels.find((p) => p.visible) ?? panels[0];
    panel.reveal(panel.viewColumn, false);
    const setup = await this.setupFor(model, panel.webview);
    if (this.editor.post(model, { type: 'inferenceSetup', setup, run: true }) === 0) this.pendingRuns.add(key);
  }

  private async pickComparison(uri: vscode.Uri, webview: vscode.Webview): Promise<InferenceModelRef | null> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      defaultUri: vscode.Uri.file(path.dirname(uri.fsPath)),
      filters: { 'ONNX models': ['onnx'] },
      openLabel: 'Compare with this model',
      title: `Compare ${path.basename(uri.fsPath)} with…`,
    });
    const other = picked?.[0];
    if (!other) return null;
    return this.compareWithModel(uri, other, webview);
  }

  /** Makes `other` the model `uri` is compared with (picked, or a variant Try tying wrote); says where the webview finds it. */
  compareWithModel(uri: vscode.Uri, other: vscode.Uri, webview: vscode.Webview): Promise<InferenceModelRef> {
    this.compareWith.set(uri.toString(), other);
    return this.modelRef(other, webview);
  }

  private message(uri: vscode.Uri, message: WebviewToHost): boolean {
    if (message.type !== 'inferenceOutcome') return false;
    this.publish(uri, message.outcome);
    return true;
  }

  /** Rejections and failures become diagnostics on the model they concern; a pass clears them. */
  private publish(uri: vscode.Uri, outcome: InferenceOutcome): void {
    const level = outcome.status === 'error' ? 'error' : outcome.status === 'fail' ? 'warn' : 'info';
    this.log[level](`inference check ${path.basename(uri.fsPath)}: ${outcome.summary}`);
    this.diagnostics.delete(uri);
    const compared = this.compareWith.get(uri.toString());
    if (compared) this.diagnostics.delete(compared);
    const range = new vscode.Range(0, 0, 0, 0);
    if (outcome.error) {
      const target = vscode.Uri.file(outcome.error.model);
      const what = outcome.error.stage === 'load' ? 'onnxruntime-web rejected the model' : outcome.error.stage === 'run' ? 'onnxruntime-web failed to run the model' : 'the inference check could not make inputs';
      const d = new vscode.Diagnostic(range, `${what}: ${outcome.error.reason}${outcome.error.hint ? `\nHint: ${outcome.error.hint}` : ''}`, vscode.DiagnosticSeverity.Error);
      d.source = 'Weight Sharing (inference check)';
      this.diagnostics.set(target, [d]);
    } else if (outcome.status === 'fail') {
      const d = new vscode.Diagnostic(range, `Inference check ${outcome.summary}`, vscode.DiagnosticSeverity.Warning);
      d.source = 'Weight Sharing (inference check)';
      this.diagnostics.set(uri, [d]);
    }
  }

  /** Where the webview finds everything; widens its resource roots to those folders first. */
  async setupFor(model: vscode.Uri, webview: vscode.Webview): Promise<InferenceSetup> {
    const other = this.compareWith.get(model.toString());
    const ref = await this.modelRef(model, webview);
    const testData = findTestDataDirs(model.fsPath).flatMap((dir) => {
      try {
        const files = listTestDataFiles(dir);
        const url = (f: string) => webview.asWebviewUri(vscode.Uri.file(f)).toString();
        return [{ name: path.basename(dir), inputs: files.inputs.map(url), outputs: files.outputs.map(url) }];
      } catch (err) {
        this.log.warn(`inference check: ${err instanceof Error ? err.message : String(err)}`);
        return [];
      }
    });
    const ortDir = vscode.Uri.joinPath(this.extensionUri, 'media', 'ort');
    let ortWasmBytes: number | undefined;
    try { ortWasmBytes = fs.statSync(path.join(ortDir.fsPath, ORT_FILES.wasm)).size; } catch { /* the panel shows the load error */ }
    return {
      ortBaseUrl: `${webview.asWebviewUri(ortDir).toString()}/`,
      ortWasmBytes,
      model: ref,
      testData,
      compareWith: other ? await this.modelRef(other, webview) : undefined,
      tolerance: readSettings(model).inferenceTolerance,
      inputChoices: this.memory.get<InputChoices>(inputsKey(model)),
    };
  }

  private async modelRef(uri: vscode.Uri, webview: vscode.Webview): Promise<InferenceModelRef> {
    const folder = path.dirname(uri.fsPath);
    allowFolder(webview, folder);
    let external: string[] = [];
    try {
      // The reader names the external data files (and refuses locations that escape the folder).
      external = externalDataFiles(await openModel(uri.fsPath));
    } catch (err) {
      // onnxruntime will say what is wrong with the file; the panel shows it.
      this.log.warn(`inference check: ${err instanceof Error ? err.message : String(err)}`);
    }
    return {
      name: path.basename(uri.fsPath),
      path: uri.fsPath,
      url: webview.asWebviewUri(uri).toString(),
      externalData: external.map((rel) => ({ path: rel, url: webview.asWebviewUri(vscode.Uri.file(path.join(folder, rel))).toString() })),
    };
  }
}

function inputsKey(model: vscode.Uri): string {
  return `weightSharing.inputs:${model.toString()}`;
}

/** Adds a folder to the webview's local resource roots (a model to compare with may live elsewhere). */
function allowFolder(webview: vscode.Webview, folder: string): void {
  const roots = webview.options.localResourceRoots ?? [];
  const target = path.resolve(folder);
  if (roots.some((r) => r.scheme === 'file' && path.resolve(r.fsPath) === target)) return;
  webview.options = { ...webview.options, localResourceRoots: [...roots, vscode.Uri.file(target)] };
}
