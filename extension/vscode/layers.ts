// The host side of the model editor's Layers tab (issue 10). The analysis
// runs in the analysis worker when the tab is first shown, never at model
// load: progress goes to the webview, and closing the panel stops it. Try
// tying asks before replacing an existing variant, writes it in the worker
// under a cancellable notification, and (ONNX) hands the webview the variant
// to run against the model, so the view can show what tying costs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ModelFile } from '../model/types';
import type { HostToWebview, LayersPayload, RequestOf, TieOutcome } from '../protocol';
import { type ModelAnalyses, isAbort } from './analysis';
import { runLayers, runTie, saveDialogFilters, tiedOutputFor } from './core';
import { Disposable } from './disposable';
import type { InferenceCheck } from './inferenceCheck';
import type { ModelEditorProvider } from './modelEditor';
import { readSettings } from './settings';

type TieLayersRequest = RequestOf<'tieLayers'>;

/** Where the variant goes; `force`: the user agreed to replace what is there. */
interface TieOutput {
  path: string;
  force: boolean;
}

export class LayersTab extends Disposable {
  /** `workerFile`: the bundled analysis worker (dist/analysisWorker.js). */
  constructor(
    private readonly workerFile: string,
    editor: ModelEditorProvider,
    private readonly analyses: ModelAnalyses,
    private readonly inference: InferenceCheck,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.register(editor.addHooks({
      requests: (uri, webview) => ({
        layers: (_request, signal) => this.analyze(uri, webview, signal),
        tieLayers: (request, signal) => this.tie(uri, request, webview, signal),
      }),
    }));
  }

  private async analyze(uri: vscode.Uri, webview: vscode.Webview, signal: AbortSignal): Promise<LayersPayload> {
    const post = (message: HostToWebview) => void webview.postMessage(message);
    // The checkpoint the model is scanned with (Compare with Checkpoint…, or the one beside it) names its anonymous tensors.
    const checkpoint = this.analyses.companionsOf(uri)[0] ?? null;
    const payload = await runLayers(this.workerFile, { path: uri.fsPath, checkpoint, trustedRoots: readSettings(uri).trustedLinkRoots }, {
      signal,
      onProgress: (p) => post({ type: 'layersProgress', message: p.message, fraction: p.fraction }),
    });
    this.log.info(`${uri.fsPath}: ${payload.families.length} layer families compared in ${payload.millis} ms`);
    return payload;
  }

  private async tie(uri: vscode.Uri, request: TieLayersRequest, webview: vscode.Webview, signal: AbortSignal): Promise<TieOutcome | { cancelled: true }> {
    const name = path.basename(uri.fsPath);
    const analysis = this.analyses.peek(uri) ?? await this.analyses.analyze(uri, { signal });
    const output = await this.chooseOutput(uri, analysis.model);
    if (!output) return { cancelled: true };
    const target = request.to === 'mean' ? 'their mean with block 0' : 'block 0';
    let result;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Tying blocks ${request.layers.join(', ')} of ${name} to ${target}`, cancellable: true },
        (progress, token) => {
          // Stopped by the notification's Cancel or by closing the editor.
          const controller = new AbortController();
          const stop = () => controller.abort();
          token.onCancellationRequested(stop);
          signal.addEventListener('abort', stop, { once: true });
          progress.report({ message: `writing ${path.basename(output.path)}…` });
          return runTie(this.workerFile, {
            path: uri.fsPath, layers: request.layers, to: request.to, role: request.role,
            output: output.path, force: output.force, checkpoint: this.analyses.companionsOf(uri)[0] ?? null, trustedRoots: readSettings(uri).trustedLinkRoots,
          }, { signal: controller.signal }).finally(() => signal.removeEventListener('abort', stop));
        },
      );
    } catch (err) {
      if (isAbort(err)) return { cancelled: true };
      throw err;
    }
    this.log.info(`${uri.fsPath} → ${result.output} (blocks ${request.layers.join(',')} tied to ${request.to}): ${result.bytesBefore} → ${result.bytesAfter} bytes`);
    const runnable = analysis.model.format === 'onnx';
    return {
      output: result.output,
      fileName: path.basename(result.output),
      bytesBefore: result.bytesBefore,
      bytesAfter: result.bytesAfter,
      families: result.families,
      tensorsDropped: result.tensorsDropped,
      skipped: result.skipped,
      compareWith: runnable ? await this.inference.compareWithModel(uri, vscode.Uri.file(result.output), webview) : undefined,
    };
  }

  /** NAME.tied.EXT beside the model; when that exists, the user says whether to replace it or save elsewhere. */
  private async chooseOutput(uri: vscode.Uri, model: ModelFile): Promise<TieOutput | undefined> {
    const first = tiedOutputFor(model);
    if (!fs.existsSync(first)) return { path: first, force: false };
    // A folder is never replaced (the writer refuses): only another name will do.
    const folder = fs.statSync(first).isDirectory();
    const choice = await vscode.window.showWarningMessage(
      `${path.basename(first)} already exists beside ${path.basename(uri.fsPath)}.`,
      { modal: true, detail: folder ? 'Choose another name for the tied variant.' : 'Replace it with the new tied variant, or save the variant under another name.' },
      ...(folder ? ['Save As…'] : ['Replace', 'Save As…']),
    );
    if (choice === 'Replace') return { path: first, force: true };
    if (choice !== 'Save As…') return undefined;
    const picked = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(first),
      filters: saveDialogFilters(first),
      saveLabel: 'Save tied variant',
      title: `Save the tied variant of ${path.basename(uri.fsPath)}`,
    });
    // The dialog asked before an existing file was chosen; the writer refuses the model itself.
    return picked ? { path: picked.fsPath, force: true } : undefined;
  }
}
