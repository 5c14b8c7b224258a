// The palette commands (category "Weight Sharing"): Apply Sharing, Show
// Sharing Report, Open Model Outline. Each works on the active model editor,
// an outline or report of a model, a file picked in the explorer, or else
// asks for a file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { SharingGroup } from '../sharing/types';
import { memberNames } from '../sharing/groupText';
import { formatBytes } from '../sharing/bytes';
import { type Analysis, type ModelAnalyses, isAbort } from './analysis';
import { applyGroups, defaultOutputFor, editorFileOf, groupsOfIds, saveDialogFilters, type ApplyOutcome } from './core';
import { Disposable } from './disposable';
import { readSettings } from './settings';
import { VIEW_TYPE, type ModelEditorActions } from './modelEditor';
import { type ApplyGroupsArgs, modelOfOutline, outlineUri } from './outline';
import { modelOfReport, reportUri } from './report';

export const COMMANDS = {
  applySharing: 'weightSharing.applySharing',
  showReport: 'weightSharing.showReport',
  openOutline: 'weightSharing.openOutline',
  compareWithCheckpoint: 'weightSharing.compareWithCheckpoint',
} as const;

/**
 * The hook for the inference check (issue 5): when a command with this id is
 * registered, the message after Apply Sharing offers "Run Inference Check",
 * which runs it with `{ model, compareWith }` (file URIs of the input and the
 * written copy).
 */
export const INFERENCE_CHECK_COMMAND = 'weightSharing.runInferenceCheck';

export interface InferenceCheckArgs {
  model: vscode.Uri;
  compareWith: vscode.Uri;
}

export class SharingCommands extends Disposable implements ModelEditorActions {
  constructor(
    private readonly analyses: ModelAnalyses,
    private readonly activeModel: () => vscode.Uri | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {
    super();
    this.register(vscode.commands.registerCommand(COMMANDS.applySharing, (arg?: unknown) => this.guard(() => this.applyFromArg(arg))));
    this.register(vscode.commands.registerCommand(COMMANDS.showReport, (arg?: unknown) => this.guard(async () => {
      const uri = await this.resolveModel(arg);
      if (uri) await this.showReport(uri);
    })));
    this.register(vscode.commands.registerCommand(COMMANDS.openOutline, (arg?: unknown) => this.guard(async () => {
      const uri = await this.resolveModel(arg);
      if (uri) await this.openOutline(uri);
    })));
    this.register(vscode.commands.registerCommand(COMMANDS.compareWithCheckpoint, (arg?: unknown) => this.guard(async () => {
      const uri = await this.resolveModel(arg);
      if (uri) await this.compareWithCheckpoint(uri);
    })));
  }

  /** Errors end in a message, never in an unhandled rejection. */
  private async guard<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (err) {
      if (isAbort(err)) return undefined;
      const message = err instanceof Error ? err.message : String(err);
      this.log.error(message);
      void vscode.window.showErrorMessage(`Weight Sharing: ${message}`);
      return undefined;
    }
  }

  /** The model a command applies to: its argument, the active view of a model, or a picked file. */
  async resolveModel(arg: unknown): Promise<vscode.Uri | undefined> {
    if (arg instanceof vscode.Uri) return modelOfOutline(arg) ?? modelOfReport(arg) ?? arg;
    if (isApplyArgs(arg)) return vscode.Uri.parse(arg.model);
    const fromEditor = this.activeModel();
    if (fromEditor) return fromEditor;
    const active = vscode.window.activeTextEditor?.document.uri;
    const fromText = active && (modelOfOutline(active) ?? modelOfReport(active));
    if (fromText) return fromText;
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      filters: { 'Models (ONNX, safetensors, GGUF, PyTorch)': ['onnx', 'safetensors', 'json', 'gguf', 'pt', 'pth', 'ckpt', 'bin'] },
      openLabel: 'Select model',
      title: 'Weight Sharing: choose a model file',
    });
    return picked?.[0];
  }

  /**
   * Picks the checkpoint an exported model came from; the model is scanned
   * again with it, and its tensors show the parameters they are.
   */
  async compareWithCheckpoint(uri: vscode.Uri): Promise<void> {
    const current = this.analyses.companionsOf(uri)[0];
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: false,
      canSelectFiles: true,
      canSelectFolders: true,
      defaultUri: vscode.Uri.file(current ?? path.dirname(uri.fsPath)),
      filters: { 'Checkpoints (safetensors, Hugging Face folder)': ['safetensors', 'json'] },
      openLabel: 'Compare',
      title: `Weight Sharing: the checkpoint ${path.basename(uri.fsPath)} was exported from`,
    });
    if (!picked?.[0]) return;
    this.analyses.setCompanion(uri, picked[0].fsPath);
    const analysis = await this.scanWithProgress(uri);
    const n = analysis.report.provenance.length;
    void vscode.window.showInformationMessage(`${path.basename(uri.fsPath)}: ${n} of ${analysis.model.tensors.length} tensors come from ${path.basename(picked[0].fsPath)}.`);
  }

  /** Opens the report rendered (VS Code's Markdown preview); "Markdown: Show Source" shows the raw text. */
  async showReport(uri: vscode.Uri): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(reportUri(uri));
    await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    // Without the built-in Markdown extension (disabled by the user), the text itself.
    const rendered = await vscode.commands.executeCommand('markdown.showPreview', doc.uri).then(() => true, () => false);
    if (!rendered) await vscode.window.showTextDocument(doc, { preview: false });
  }

  async openOutline(uri: vscode.Uri): Promise<void> {
    const doc = await vscode.workspace.openTextDocument(outlineUri(uri));
    await vscode.window.showTextDocument(doc, { preview: false });
  }

  private async applyFromArg(arg: unknown): Promise<string | undefined> {
    const uri = await this.resolveModel(arg);
    if (!uri) return undefined;
    if (isApplyArgs(arg)) {
      const analysis = await this.scanWithProgress(uri);
      const groups = groupsOfIds(analysis.report.groups, arg.groupIds);
      return (await this.applySharing(uri, groups))?.output;
    }
    return (await this.applySharing(uri))?.output;
  }

  private scanWithProgress(uri: vscode.Uri): Thenable<Analysis> {
    // Already scanned (the editor or outline is open): no notification flashing by.
    const ready = this.analyses.peek(uri);
    if (ready) return Promise.resolve(ready);
    return vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Scanning ${path.basename(uri.fsPath)}`, cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        let last = 0;
        return this.analyses.analyze(uri, {
          signal: controller.signal,
          onProgress: (p) => {
            const pct = Math.round(p.fraction * 100);
            progress.report({ message: p.message, increment: Math.max(0, pct - last) });
            last = Math.max(last, pct);
          },
        });
      },
    );
  }

  /**
   * Asks which groups (unless given), where to save, writes the copy with a
   * cancellable progress notification, and reports the saving. Returns what
   * was written, or undefined when the user stopped.
   */
  async applySharing(uri: vscode.Uri, preselected?: SharingGroup[]): Promise<ApplyOutcome | undefined> {
    const name = path.basename(uri.fsPath);
    const analysis = await this.scanWithProgress(uri);
    let groups = preselected;
    if (!groups) {
      const candidates = analysis.report.groups.map((group, index) => ({ group, index })).filter(({ group }) => group.kind !== 'tied');
      if (candidates.length === 0) {
        void vscode.window.showInformationMessage(`${name}: no shareable weights of ${formatBytes(analysis.minBytes)} or more.`);
        return undefined;
      }
      const items = candidates.map(({ group, index }) => ({
        label: `#${index + 1} ${group.kind} · saves ${formatBytes(group.bytesSaved)}`,
        description: memberNames(group).join(' ↔ '),
        detail: group.applicable ? undefined : `not applicable: ${group.reason ?? 'unknown reason'}`,
        picked: group.applicable,
        group,
      }));
      const picks = await vscode.window.showQuickPick(items, {
        canPickMany: true,
        title: `Apply sharing to ${name}`,
        placeHolder: 'Groups to store once (those Apply can carry out are selected)',
        ignoreFocusOut: true,
      });
      if (!picks || picks.length === 0) return undefined;
      groups = picks.map((p) => p.group);
    }
    if (groups.length === 0) return undefined;

    const defaultOutput = defaultOutputFor(analysis.model);
    const target = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.file(defaultOutput),
      // A checkpoint folder is written as a new folder (NAME.shared): no file filter then.
      filters: saveDialogFilters(defaultOutput),
      saveLabel: 'Save shared copy',
      title: `Save the shared copy of ${name}`,
    });
    if (!target) return undefined;
    if (samePath(target.fsPath, uri.fsPath)) {
      void vscode.window.showErrorMessage(`Weight Sharing never overwrites the input: choose another name than ${name}.`);
      return undefined;
    }

    const chosen = groups;
    const outcome = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Applying sharing to ${name}`, cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        let last = 0;
        return applyGroups(uri.fsPath, target.fsPath, chosen, {
          minBytes: analysis.minBytes,
          trustedRoots: readSettings(uri).trustedLinkRoots,
          signal: controller.signal,
          onProgress: (fraction, message) => {
            const pct = Math.round(fraction * 100);
            progress.report({ message, increment: Math.max(0, pct - last) });
            last = Math.max(last, pct);
          },
        });
      },
    );
    this.log.info(`${uri.fsPath} → ${outcome.output}: ${outcome.inputBytes} → ${outcome.outputBytes} bytes`);
    if (outcome.skipped.length) void vscode.window.showWarningMessage(`Not applied: ${outcome.skipped.join('; ')}`);
    if (outcome.remaining) void vscode.window.showWarningMessage(`${path.basename(outcome.output)}: the re-scan still finds ${outcome.remaining} of the applied groups.`);
    if (outcome.unrecovered.length) void vscode.window.showErrorMessage(`${path.basename(outcome.output)}: not every tensor can be recovered: ${outcome.unrecovered.join('; ')}`);
    if (outcome.loadingNote) this.log.info(`${outcome.output}: ${outcome.loadingNote}`);
    void this.announce(uri, outcome);
    return outcome;
  }

  async openOutput(output: string): Promise<void> {
    await vscode.commands.executeCommand('vscode.openWith', vscode.Uri.file(editorFileOf(output)), VIEW_TYPE);
  }

  async checkOutput(input: vscode.Uri, output: string): Promise<void> {
    const args: InferenceCheckArgs = { model: input, compareWith: vscode.Uri.file(output) };
    await vscode.commands.executeCommand(INFERENCE_CHECK_COMMAND, args);
  }

  private async announce(input: vscode.Uri, outcome: ApplyOutcome): Promise<void> {
    const { output } = outcome;
    const canCheck = outcome.runnable && (await vscode.commands.getCommands(true)).includes(INFERENCE_CHECK_COMMAND);
    const buttons = canCheck ? ['Open', 'Run Inference Check'] : ['Open'];
    const note = outcome.loadingNote ? ` ${outcome.loadingNote[0]!.toUpperCase()}${outcome.loadingNote.slice(1)}` : '';
    const choice = await vscode.window.showInformationMessage(
      `Saved ${formatBytes(outcome.bytesSaved)}: ${path.basename(output)} is ${formatBytes(outcome.outputBytes)} (${path.basename(input.fsPath)}: ${formatBytes(outcome.inputBytes)}).${note}`,
      ...buttons,
    );
    if (choice === 'Open') await this.openOutput(output);
    else if (choice === 'Run Inference Check') await this.checkOutput(input, output);
  }
}

function isApplyArgs(arg: unknown): arg is ApplyGroupsArgs {
  return typeof arg === 'object' && arg !== null && typeof (arg as ApplyGroupsArgs).model === 'string' && Array.isArray((arg as ApplyGroupsArgs).groupIds);
}

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => path.resolve(p);
  if (norm(a) === norm(b)) return true;
  try { return fs.realpathSync(a) === fs.realpathSync(b); } catch { return false; }
}
