// Extension entry point: registrations only. The work lives in
// extension/vscode/ (the only code that imports 'vscode') and the core.
import * as vscode from 'vscode';
import { ModelAnalyses } from './vscode/analysis';
import { SharingCommands } from './vscode/commands';
import { ModelDiagnostics } from './vscode/diagnostics';
import { InferenceCheck } from './vscode/inferenceCheck';
import { LayersTab } from './vscode/layers';
import { ModelEditorProvider } from './vscode/modelEditor';
import { ModelOutlines } from './vscode/outline';
import { SharingReports } from './vscode/report';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Weight Sharing', { log: true });
  const workerFile = vscode.Uri.joinPath(context.extensionUri, 'dist', 'analysisWorker.js').fsPath;
  const analyses = new ModelAnalyses(workerFile);
  const outlines = new ModelOutlines(analyses);
  const diagnostics = new ModelDiagnostics(analyses, outlines);
  context.subscriptions.push(log, analyses, outlines, diagnostics, new SharingReports(analyses));

  // The commands and the editor need each other: the editor's buttons run
  // commands, and commands target the active editor's model.
  let editor: ModelEditorProvider | undefined;
  const commands = new SharingCommands(analyses, () => editor?.activeModel(), log);
  context.subscriptions.push(commands);
  editor = ModelEditorProvider.register(context, analyses, commands, log);
  context.subscriptions.push(editor.onDidCloseModel((uri) => diagnostics.clear(uri)));
  // After the editor: the check runs in its webview (and registers the command Apply Sharing offers).
  const inference = new InferenceCheck(context.extensionUri, editor, log, context.workspaceState);
  // The Layers tab runs its analysis in the same worker bundle and measures tying with the check.
  context.subscriptions.push(inference, new LayersTab(workerFile, editor, analyses, inference, log));
}

export function deactivate(): void {
  // Everything is in context.subscriptions.
}
