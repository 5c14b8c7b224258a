// Sharing findings in the Problems panel: a Warning per lossless group that
// saves at least the diagnostics size setting, Information for tied weights
// and for groups that cannot be shared safely. Published on the model file's
// URI whenever a scan of it completes.
import * as vscode from 'vscode';
import type { SharingGroup } from '../sharing/types';
import { describeGroup, groupTensorBytes } from '../sharing/groupText';
import type { Analysis, ModelAnalyses } from './analysis';
import { Disposable } from './disposable';
import { REVEAL_GROUP_COMMAND, type RevealGroupArgs } from './modelEditor';
import { type Settings, readSettings } from './settings';

export const DIAGNOSTIC_SOURCE = 'Weight Sharing';

/** The groups worth a diagnostic under the current settings, with their severity. */
export function reportableGroups(groups: SharingGroup[], settings: Settings): Array<{ group: SharingGroup; index: number; severity: vscode.DiagnosticSeverity }> {
  if (!settings.diagnosticsEnabled) return [];
  const out: Array<{ group: SharingGroup; index: number; severity: vscode.DiagnosticSeverity }> = [];
  groups.forEach((group, index) => {
    const size = group.kind === 'tied' ? groupTensorBytes(group) : group.bytesSaved;
    if (size < settings.diagnosticsMinBytes) return;
    // A Warning is something Apply fixes; the rest is for information.
    const severity = group.applicable ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;
    out.push({ group, index, severity });
  });
  return out;
}

/**
 * One finding. Its code (the group's kind) links to the group in the model
 * editor: a binary model has no lines for the entry itself to lead to, and
 * VS Code tells a custom editor nothing about which entry opened it.
 */
export function makeDiagnostic(group: SharingGroup, severity: vscode.DiagnosticSeverity, range: vscode.Range, model: vscode.Uri): vscode.Diagnostic {
  const d = new vscode.Diagnostic(range, describeGroup(group), severity);
  d.source = DIAGNOSTIC_SOURCE;
  const args: RevealGroupArgs = { model: model.toString(), groupId: group.id };
  d.code = { value: group.kind, target: vscode.Uri.parse(`command:${REVEAL_GROUP_COMMAND}?${encodeURIComponent(JSON.stringify(args))}`) };
  return d;
}

export class ModelDiagnostics extends Disposable {
  private readonly collection = this.register(vscode.languages.createDiagnosticCollection('weight-sharing'));
  private readonly published = new Map<string, Analysis>();

  /** `outlines`: while a model's outline is open, its findings are listed there (one entry each, with quick fixes), not on the model too. */
  constructor(analyses: ModelAnalyses, private readonly outlines?: { hasOutline(model: vscode.Uri): boolean; onDidChangeOpen: vscode.Event<vscode.Uri> }) {
    super();
    this.register(analyses.onDidAnalyze((a) => this.publish(a)));
    if (outlines) {
      this.register(outlines.onDidChangeOpen((model) => {
        const a = this.published.get(model.toString());
        if (a) this.publish(a);
      }));
    }
    this.register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('weightSharing.diagnostics')) for (const a of this.published.values()) this.publish(a);
    }));
  }

  publish(analysis: Analysis): void {
    const settings = readSettings(analysis.uri);
    // A binary file has no lines: every finding sits at its start.
    const range = new vscode.Range(0, 0, 0, 0);
    const modelPath = analysis.model.path;
    const groups = analysis.report.groups.filter((g) => g.members.some((m) => m.path === modelPath));
    const diagnostics = this.outlines?.hasOutline(analysis.uri) ? [] : reportableGroups(groups, settings).map(({ group, severity }) => makeDiagnostic(group, severity, range, analysis.uri));
    this.collection.set(analysis.uri, diagnostics);
    this.published.set(analysis.uri.toString(), analysis);
  }

  clear(uri: vscode.Uri): void {
    if (this.isDisposed) return;
    this.collection.delete(uri);
    this.published.delete(uri.toString());
  }
}
