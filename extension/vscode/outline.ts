// "Open Model Outline": a read-only text view of a model under a custom URI
// scheme, with diagnostics on the rows of tensors in sharing groups, hovers
// on tensor names (dtype, shape, bytes, statistics, group) and a quick fix
// that applies sharing for one group.
import * as vscode from 'vscode';
import { FileSet } from '../io/fileSet';
import { describeGroup } from '../sharing/groupText';
import { formatBytes } from '../sharing/bytes';
import { type OutlineText, mentionAt, renderOutline, tensorById } from '../sharing/outline';
import { DEFAULT_STATS_BUFFER, formatStats, statsSupported, tensorStats } from '../sharing/tensorStats';
import type { Analysis, ModelAnalyses } from './analysis';
import { makeDiagnostic, reportableGroups } from './diagnostics';
import { derivedDocument } from './derivedDocument';
import { REVEAL_GROUP_COMMAND, type RevealGroupArgs } from './modelEditor';
import { Disposable } from './disposable';
import { readSettings } from './settings';

export const OUTLINE_SCHEME = 'weight-sharing-outline';
const APPLY_COMMAND = 'weightSharing.applySharing';

const views = derivedDocument(OUTLINE_SCHEME, '.outline');
export const outlineUri = views.uri;
export const modelOfOutline = views.modelOf;

/** Arguments of the quick fix's command (plain data: group ids). */
export interface ApplyGroupsArgs {
  model: string;
  groupIds: string[];
}

interface OpenOutline {
  analysis: Analysis;
  outline: OutlineText;
}

export class ModelOutlines extends Disposable implements vscode.TextDocumentContentProvider, vscode.HoverProvider, vscode.CodeActionProvider, vscode.CodeLensProvider {
  private readonly open = new Map<string, OpenOutline>();
  private readonly changed = this.register(new vscode.EventEmitter<vscode.Uri>());
  readonly onDidChange = this.changed.event;
  private readonly openedOrClosed = this.register(new vscode.EventEmitter<vscode.Uri>());
  /** Fires with a model's URI when its outline opens or closes: while open, the outline carries the model's findings. */
  readonly onDidChangeOpen = this.openedOrClosed.event;
  private readonly diagnostics = this.register(vscode.languages.createDiagnosticCollection('weight-sharing-outline'));
  /** One bounded buffer for all statistics: hovers never allocate per tensor. */
  private statsBuffer: Uint8Array | undefined;
  private statsBusy = false;

  constructor(private readonly analyses: ModelAnalyses) {
    super();
    const selector: vscode.DocumentSelector = { scheme: OUTLINE_SCHEME };
    this.register(vscode.workspace.registerTextDocumentContentProvider(OUTLINE_SCHEME, this));
    this.register(vscode.languages.registerHoverProvider(selector, this));
    // VS Code offers quick fixes of a read-only document only from the
    // Problems panel; code lenses and hover links put the same action in
    // the outline itself.
    this.register(vscode.languages.registerCodeActionsProvider(selector, this, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] }));
    this.register(vscode.languages.registerCodeLensProvider(selector, this));
    // A rescan (file changed, setting changed) refreshes an open outline.
    this.register(analyses.onDidAnalyze((a) => {
      const uri = outlineUri(a.uri);
      const o = this.open.get(uri.toString());
      if (o && o.analysis !== a) this.changed.fire(uri);
    }));
    this.register(vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration('weightSharing.diagnostics')) return;
      for (const [key, o] of this.open) this.publish(vscode.Uri.parse(key), o);
    }));
    this.register(vscode.workspace.onDidCloseTextDocument((doc) => {
      if (doc.uri.scheme !== OUTLINE_SCHEME) return;
      this.open.delete(doc.uri.toString());
      this.diagnostics.delete(doc.uri);
      const model = modelOfOutline(doc.uri);
      if (model) this.openedOrClosed.fire(model);
    }));
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    const model = modelOfOutline(uri);
    if (!model) return `Not a model outline: ${uri.toString()}`;
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort());
    try {
      const analysis = await this.analyses.analyze(model, { signal: controller.signal });
      const entry = { analysis, outline: renderOutline(analysis.model, analysis.report) };
      const first = !this.open.has(uri.toString());
      this.open.set(uri.toString(), entry);
      this.publish(uri, entry);
      if (first) this.openedOrClosed.fire(model);
      return entry.outline.text;
    } catch (err) {
      // The reader's error (file, format, byte offset) is the content.
      return `Could not open ${model.fsPath}:\n${err instanceof Error ? err.message : String(err)}\n`;
    } finally {
      sub.dispose();
    }
  }

  /** True while the outline of the model at `model` is open (it then carries the model's findings in Problems). */
  hasOutline(model: vscode.Uri): boolean {
    return this.open.has(outlineUri(model).toString());
  }

  /**
   * One diagnostic per finding, on the row of the copy it is about (the
   * first member a group drops; a tied weight's own row), the other
   * members as related locations.
   */
  private publish(uri: vscode.Uri, { analysis, outline }: OpenOutline): void {
    const settings = readSettings(analysis.uri);
    const diagnostics: vscode.Diagnostic[] = [];
    const rangeOf = (id: string): vscode.Range | undefined => {
      const line = outline.tensorLines.get(id);
      if (line === undefined) return undefined;
      const mention = outline.mentions.find((x) => x.line === line);
      return new vscode.Range(line, mention?.start ?? 0, line, mention?.end ?? 0);
    };
    for (const { group, severity } of reportableGroups(analysis.report.groups, settings)) {
      const own = group.members.filter((m) => m.path === analysis.model.path);
      const at = [...own.slice(group.kind === 'tied' ? 0 : 1), ...own].map((m) => ({ m, range: rangeOf(m.tensor.id) })).find((x) => x.range);
      if (!at) continue;
      const d = makeDiagnostic(group, severity, at.range!, analysis.uri);
      d.relatedInformation = own.filter((m) => m !== at.m).flatMap((m) => {
        const range = rangeOf(m.tensor.id);
        return range ? [new vscode.DiagnosticRelatedInformation(new vscode.Location(uri, range), `${m === own[0] && group.kind !== 'tied' ? 'kept' : 'also'}: ${m.tensor.name}`)] : [];
      });
      diagnostics.push(d);
    }
    this.diagnostics.set(uri, diagnostics);
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const entry = this.open.get(document.uri.toString());
    if (!entry) return undefined;
    const mention = mentionAt(entry.outline, position.line, position.character);
    if (!mention) return undefined;
    const { model, report } = entry.analysis;
    const tensor = tensorById(model, mention.tensorId);
    if (!tensor) return undefined;

    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**${escapeMd(tensor.name)}**${tensor.role === 'initializer' ? '' : ` (${tensor.role})`}${tensor.graphPath ? ` in \`${tensor.graphPath}\`` : ''}\n\n`);
    md.appendMarkdown(`\`${tensor.dtype}\` \`[${tensor.shape.join(', ')}]\` · ${formatBytes(tensor.byteLength)} (${tensor.byteLength.toLocaleString('en-US')} bytes) · ${tensor.elementCount.toLocaleString('en-US')} elements\n\n`);
    if (statsSupported(tensor.dtype) && tensor.data.kind !== 'unavailable') {
      const controller = new AbortController();
      const sub = token.onCancellationRequested(() => controller.abort());
      const files = new FileSet();
      try {
        // One reused buffer; a second hover while one streams gets its own.
        const buffer = this.statsBusy ? new Uint8Array(DEFAULT_STATS_BUFFER) : (this.statsBuffer ??= new Uint8Array(DEFAULT_STATS_BUFFER));
        this.statsBusy = true;
        const stats = await tensorStats(files, tensor, buffer, controller.signal).finally(() => { if (buffer === this.statsBuffer) this.statsBusy = false; });
        if (stats) md.appendMarkdown(`${formatStats(stats)}\n\n`);
      } catch (err) {
        md.appendMarkdown(`statistics unavailable: ${escapeMd(err instanceof Error ? err.message : String(err))}\n\n`);
      } finally {
        files.close();
        sub.dispose();
      }
    } else if (tensor.data.kind === 'unavailable') {
      md.appendMarkdown(`bytes unavailable: ${escapeMd(tensor.data.reason)}\n\n`);
    }
    md.appendMarkdown(`read by ${tensor.consumers.length} node input${tensor.consumers.length === 1 ? '' : 's'}${tensor.isGraphInput ? ' · also a graph input' : ''}\n\n`);
    const links: string[] = [];
    for (const gi of entry.outline.groupsOfTensor.get(tensor.id) ?? []) {
      const g = report.groups[gi];
      md.appendMarkdown(`Group #${gi + 1} (${g.kind}${g.kind === 'tied' || g.applicable ? '' : ', not applicable'}): ${escapeMd(describeGroup(g))}\n\n`);
      if (g.applicable) {
        const args: ApplyGroupsArgs = { model: entry.analysis.uri.toString(), groupIds: [g.id] };
        links.push(`[Apply sharing for group #${gi + 1}](command:${APPLY_COMMAND}?${encodeURIComponent(JSON.stringify([args]))})`);
      }
    }
    if (links.length) {
      md.isTrusted = { enabledCommands: [APPLY_COMMAND] };
      md.appendMarkdown(links.join(' · '));
    }
    const range = new vscode.Range(mention.line, mention.start, mention.line, mention.end);
    return new vscode.Hover(md, range);
  }

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const entry = this.open.get(document.uri.toString());
    if (!entry) return [];
    const { analysis, outline } = entry;
    const actions: vscode.CodeAction[] = [];
    const seen = new Set<number>();
    for (let line = range.start.line; line <= range.end.line; line++) {
      for (const m of outline.mentions.filter((x) => x.line === line)) {
        for (const gi of outline.groupsOfTensor.get(m.tensorId) ?? []) {
          const group = analysis.report.groups[gi];
          if (seen.has(gi) || !group.applicable) continue;
          seen.add(gi);
          const action = new vscode.CodeAction(`Apply sharing for this group (#${gi + 1} ${group.kind}, saves ${formatBytes(group.bytesSaved)})`, vscode.CodeActionKind.QuickFix);
          const args: ApplyGroupsArgs = { model: analysis.uri.toString(), groupIds: [group.id] };
          action.command = { command: APPLY_COMMAND, title: 'Apply sharing for this group', arguments: [args] };
          action.diagnostics = context.diagnostics.filter((d) => d.range.start.line === line);
          action.isPreferred = true;
          actions.push(action);
        }
      }
    }
    return actions;
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const entry = this.open.get(document.uri.toString());
    if (!entry) return [];
    const lenses: vscode.CodeLens[] = [];
    for (const [gi, line] of entry.outline.groupLines) {
      const group = entry.analysis.report.groups[gi];
      const at = new vscode.Range(line, 0, line, 0);
      const reveal: RevealGroupArgs = { model: entry.analysis.uri.toString(), groupId: group.id };
      lenses.push(new vscode.CodeLens(at, { title: 'Show in model editor', command: REVEAL_GROUP_COMMAND, arguments: [reveal] }));
      if (!group.applicable) continue;
      const args: ApplyGroupsArgs = { model: entry.analysis.uri.toString(), groupIds: [group.id] };
      lenses.push(new vscode.CodeLens(at, {
        title: `Apply sharing for this group (saves ${formatBytes(group.bytesSaved)})`,
        command: APPLY_COMMAND,
        arguments: [args],
      }));
    }
    return lenses;
  }

  /** The model behind an open outline document, if `uri` is one. */
  analysisOf(uri: vscode.Uri): Analysis | undefined {
    return this.open.get(uri.toString())?.analysis;
  }
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
