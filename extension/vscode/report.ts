// "Show Sharing Report": the scan rendered as Markdown in a read-only
// document (a custom scheme, so closing it never asks to save).
import * as vscode from 'vscode';
import { renderMarkdownReport } from '../sharing/markdownReport';
import type { ModelAnalyses } from './analysis';
import { derivedDocument } from './derivedDocument';
import { Disposable } from './disposable';

export const REPORT_SCHEME = 'weight-sharing-report';

const views = derivedDocument(REPORT_SCHEME, '.sharing-report.md');
export const reportUri = views.uri;
export const modelOfReport = views.modelOf;

export class SharingReports extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly changed = this.register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;

  constructor(private readonly analyses: ModelAnalyses) {
    super();
    this.register(vscode.workspace.registerTextDocumentContentProvider(REPORT_SCHEME, this));
    this.register(analyses.onDidAnalyze((a) => {
      const uri = reportUri(a.uri);
      if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) this.changed.fire(uri);
    }));
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const model = modelOfReport(uri);
    if (!model) return `Not a sharing report: ${uri.toString()}`;
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    try {
      const { report, minBytes } = await this.analyses.analyze(model, { signal: controller.signal });
      return renderMarkdownReport(report, { minBytes });
    } catch (err) {
      return `# Could not scan ${model.fsPath}\n\n${err instanceof Error ? err.message : String(err)}\n`;
    } finally {
      sub.dispose();
    }
  }
}
