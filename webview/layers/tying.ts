// "Try tying…" in the Layers tab: which blocks, tied to what (block 0's
// parameters or their mean with block 0), all families or one; the host
// writes the variant beside the model, then (ONNX) the inference check runs
// the model against it here, and the form shows what tying saves and what
// it costs (relative L2 of each output and top-1 agreement).
import type { InferenceModelRef, LayerFamilyInfo, TieOutcome, TieTarget } from '../../extension/protocol.js';
import { el } from '../dom.js';
import { formatBytes, formatBytesExact } from '../format.js';
import { backendLabel } from '../inference/backend.js';
import type { CheckResult } from '../inference/panel.js';
import { formatNumber, formatPercent } from '../inference/report.js';
import { button, dropdown, progressRing, setDisabled, textField, type Dropdown, type TextField } from '../toolkit.js';

export interface TieActions {
  /** Asks the host to write the variant. */
  tie(layers: number[], to: TieTarget, role: string | undefined): Promise<TieOutcome | { cancelled: true }>;
  /** Runs the model against the variant (the inference check); undefined when this view cannot run models. */
  measure?(variant: InferenceModelRef, onStatus: (message: string) => void): Promise<CheckResult>;
  /** Shows the inference check's full report. */
  showInference(): void;
}

/** "1,2,3", "1-3", "1, 4-6": block numbers, or why not. */
export function parseBlocks(text: string, known: ReadonlySet<number>): { blocks: number[] } | { error: string } {
  const out = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) return { error: `'${part}' is not a block number or a range such as 1-3` };
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return { error: `'${part}' runs backwards` };
    for (let b = from; b <= to; b++) {
      if (!known.has(b)) return { error: `no block ${b} in this model` };
      out.add(b);
    }
  }
  out.delete(0);
  if (out.size === 0) return { error: 'name the blocks to tie to block 0, e.g. 1,2,3' };
  return { blocks: [...out].sort((a, b) => a - b) };
}

export class TieForm {
  readonly element: HTMLElement;
  private readonly blocks: TextField;
  private readonly target: Dropdown;
  private readonly role: Dropdown;
  private readonly runButton: HTMLElement;
  private readonly status: HTMLElement;
  private readonly statusText: HTMLElement;
  private readonly result: HTMLElement;
  private readonly known: Set<number>;
  private busy = false;

  constructor(families: LayerFamilyInfo[], private readonly actions: TieActions) {
    this.known = new Set(families.flatMap((f) => f.layers));
    this.element = el('section', 'ly-tie');
    this.element.id = 'layers-tie';
    this.element.setAttribute('aria-label', 'Try tying layers');
    const heading = el('h3', undefined, 'Try tying…');
    const intro = el('p', 'muted small', 'Writes a variant beside the model in which these blocks use block 0’s parameters (or their mean), stored once, then measures what that costs.');

    this.blocks = textField({ id: 'tie-blocks', label: 'Blocks to tie', placeholder: 'e.g. 1,2,3', onInput: () => this.validate(), onKey: (e) => { if (e.key === 'Enter') void this.run(); } });
    this.blocks.setValue([...this.known].filter((b) => b !== 0).sort((a, b) => a - b).join(','));
    this.target = dropdown({
      id: 'tie-target', label: 'Tie them to',
      choices: [{ value: '0', label: 'block 0’s parameters' }, { value: 'mean', label: 'their mean with block 0' }],
      value: '0', onChange: () => undefined,
    });
    const roles = [...new Set(families.map((f) => f.role))];
    this.role = dropdown({
      id: 'tie-role', label: 'Families',
      choices: [{ value: '', label: `all ${roles.length} roles` }, ...roles.map((r) => ({ value: r, label: r }))],
      value: '', onChange: () => undefined,
    });
    const grid = el('div', 'ly-tie-fields');
    const label = (text: string, target: HTMLElement) => {
      const l = el('label', undefined, text);
      l.htmlFor = target.id;
      return l;
    };
    grid.append(label('Blocks', this.blocks.element), this.blocks.element, label('Tied to', this.target.element), this.target.element, label('Families', this.role.element), this.role.element);
    this.runButton = button('Try tying…', { appearance: 'primary', id: 'tie-run', title: 'Write the tied variant beside the model and measure its cost', onClick: () => void this.run() });
    this.status = el('div', 'ly-status');
    this.status.id = 'tie-status';
    this.status.setAttribute('role', 'status');
    this.status.setAttribute('aria-live', 'polite');
    this.statusText = el('span');
    this.status.append(progressRing(), this.statusText);
    this.status.hidden = true;
    this.result = el('div', 'ly-tie-result');
    this.result.id = 'tie-result';
    this.element.append(heading, intro, grid, this.runButton, this.status, this.result);
  }

  /** Adds a block to the field, or takes it out (a heatmap row header was clicked). */
  toggleBlock(block: number): void {
    if (block === 0) return;
    const parsed = parseBlocks(this.blocks.value(), this.known);
    const set = new Set('blocks' in parsed ? parsed.blocks : []);
    if (set.has(block)) set.delete(block); else set.add(block);
    this.blocks.setValue([...set].sort((a, b) => a - b).join(','));
    this.validate();
  }

  private validate(): { blocks: number[] } | undefined {
    const parsed = parseBlocks(this.blocks.value(), this.known);
    const error = 'error' in parsed ? parsed.error : '';
    this.blocks.setEnd(error ? '!' : '');
    this.blocks.element.title = error;
    if (!this.busy) setDisabled(this.runButton, error !== '');
    return 'blocks' in parsed ? parsed : undefined;
  }

  private async run(): Promise<void> {
    const parsed = this.validate();
    if (this.busy) return;
    if (!parsed) {
      this.result.replaceChildren(el('p', 'ly-error', this.blocks.element.title));
      return;
    }
    this.busy = true;
    setDisabled(this.runButton, true);
    this.result.replaceChildren();
    try {
      this.showStatus('Writing the tied variant…');
      const to: TieTarget = this.target.value() === 'mean' ? 'mean' : 0;
      const outcome = await this.actions.tie(parsed.blocks, to, this.role.value() || undefined);
      if ('cancelled' in outcome) {
        this.result.replaceChildren(el('p', 'muted', 'Cancelled: nothing was written.'));
        return;
      }
      this.result.replaceChildren(this.written(outcome));
      if (!outcome.compareWith || !this.actions.measure) {
        this.result.append(el('p', 'muted small', 'Checkpoints are not run here: the bytes saved are the whole answer. Measure the cost where the model runs.'));
        return;
      }
      const variant = outcome.compareWith;
      this.showStatus('Measuring the cost: running the model and the variant…');
      const check = await this.actions.measure(variant, (m) => this.showStatus(`Measuring the cost: ${m}`));
      this.result.append(this.cost(check, variant.name));
    } catch (err) {
      this.result.append(el('p', 'ly-error', err instanceof Error ? err.message : String(err)));
    } finally {
      this.hideStatus();
      this.busy = false;
      this.validate();
    }
  }

  private written(o: TieOutcome): HTMLElement {
    const box = el('div');
    const p = el('p', 'ly-written', 'Wrote ');
    p.id = 'tie-written';
    p.append(el('span', 'mono', o.fileName));
    const saved = o.bytesBefore - o.bytesAfter;
    const dl = el('dl', 'ly-kv');
    const add = (k: string, v: string, id?: string) => {
      const dd = el('dd', undefined, v);
      if (id) dd.id = id;
      dl.append(el('dt', undefined, k), dd);
      return dd;
    };
    const savedDd = add('Saves', `${formatBytes(saved)} of ${formatBytes(o.bytesBefore)} (${o.bytesBefore > 0 ? ((100 * saved) / o.bytesBefore).toFixed(1) : '0'}%)`, 'tie-saved');
    savedDd.dataset.bytes = String(saved);
    savedDd.title = `${formatBytesExact(o.bytesBefore)} → ${formatBytesExact(o.bytesAfter)}`;
    add('Tied', `${o.families} famil${o.families === 1 ? 'y' : 'ies'} · ${o.tensorsDropped} tensor${o.tensorsDropped === 1 ? '' : 's'} no longer stored`);
    if (o.skipped.length) add('Not tied', o.skipped.join('; '));
    box.append(p, dl);
    return box;
  }

  private cost(check: CheckResult, variant: string): HTMLElement {
    const box = el('div', 'ly-cost');
    box.id = 'tie-cost';
    if (!check.ok) {
      box.append(el('p', 'ly-error', `The inference check could not measure it: ${check.error.model ? `${check.error.model}: ` : ''}${check.error.reason}${check.error.hint ? ` (hint: ${check.error.hint})` : ''}`));
      return box;
    }
    const r = check.report;
    const h = el('h4', undefined, 'Cost ');
    h.append(el('span', 'muted', `on ${backendLabel(r.backend)}, ${r.inputs.label}, against ${variant}`));
    const table = el('table', 'ly-cost-table');
    const head = el('tr');
    for (const t of ['output', 'rel L2', 'top-1']) head.append(el('th', undefined, t));
    table.append(head);
    const outputs = r.comparisons.find((c) => c.against === 'model')?.result.outputs ?? [];
    for (const o of outputs) {
      const tr = el('tr', 'ly-cost-row');
      tr.dataset.output = o.name;
      tr.dataset.relL2 = String(o.relL2);
      if (o.top1Agreement !== undefined) tr.dataset.top1 = String(o.top1Agreement);
      tr.append(el('td', 'mono', o.name), el('td', 'num', formatNumber(o.relL2)), el('td', 'num', o.top1Agreement === undefined ? '—' : formatPercent(o.top1Agreement)));
      table.append(tr);
    }
    const note = el('p', 'muted small', 'rel L2: ‖variant − model‖ / ‖model‖ over each output; top-1: positions whose argmax over the last axis agrees.');
    const details = button('Full report', { appearance: 'secondary', id: 'tie-details', title: 'Show the inference check’s report', onClick: () => this.actions.showInference() });
    box.append(h, table, note, details);
    return box;
  }

  private showStatus(message: string): void {
    this.status.hidden = false;
    this.statusText.textContent = message;
  }

  private hideStatus(): void {
    this.status.hidden = true;
  }
}
