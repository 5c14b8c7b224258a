// Tracks the webview panels open on each model, so progress and results go
// to every panel showing that model, and a closed panel is forgotten.
import * as vscode from 'vscode';

export class WebviewCollection {
  private readonly entries = new Set<{ resource: string; panel: vscode.WebviewPanel }>();

  get(uri: vscode.Uri): vscode.WebviewPanel[] {
    const key = uri.toString();
    return [...this.entries].filter((e) => e.resource === key).map((e) => e.panel);
  }

  add(uri: vscode.Uri, panel: vscode.WebviewPanel): void {
    const entry = { resource: uri.toString(), panel };
    this.entries.add(entry);
    panel.onDidDispose(() => this.entries.delete(entry));
  }

  /** The model whose editor has focus, if any. */
  active(): vscode.Uri | undefined {
    for (const e of this.entries) if (e.panel.active) return vscode.Uri.parse(e.resource);
    return undefined;
  }

  /** The most recently visible model editor (commands run from the palette still target it). */
  visible(): vscode.Uri | undefined {
    for (const e of this.entries) if (e.panel.visible) return vscode.Uri.parse(e.resource);
    return undefined;
  }
}
