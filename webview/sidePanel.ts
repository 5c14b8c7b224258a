// The side panel: tabs (Sharing, Model; the inference check adds its own),
// the totals, and the sharing groups sorted by bytes saved. Each group is a
// focusable list item: click, Enter or Space selects it in the graph;
// arrow keys move between groups.
import type { ApplySummary, GraphPayload, GroupInfo, TensorInfo } from '../extension/protocol.js';
import { scopedName } from '../extension/protocol.js';
import { groupColor } from './colors.js';
import { breakable } from './dom.js';
import { FAMILIES } from './families.js';
import { familyColors } from './colors.js';
import { formatBytes, formatBytesExact, formatCount, formatShape, thousands } from './format.js';
import type { Theme } from './theme.js';
import { button, divider, tabs, tag, type Tabs } from './toolkit.js';

export interface SidePanelEvents {
  selectGroup(index: number | null): void;
  applySharing(groupIds: string[]): void;
  /** The copy the last Apply wrote: open it, check it against the model, or stop showing its summary. */
  openApplied(): void;
  checkApplied(): void;
  compareApplied(): void;
  dismissApplied(): void;
  showReport(): void;
  openOutline(): void;
  /** Picks the checkpoint the model was exported from (its tensors then show the parameters they are). */
  compareWithCheckpoint(): void;
}

export class SidePanel {
  readonly element: HTMLElement;
  readonly tabs: Tabs;
  private readonly list: HTMLElement;
  private readonly legend: HTMLElement;
  private selected: number | null = null;
  private readonly tensorsById: Map<string, TensorInfo>;
  private readonly appliedBox: HTMLElement;

  constructor(private readonly payload: GraphPayload, private theme: Theme, private readonly events: SidePanelEvents, minBytes: number) {
    this.tensorsById = new Map(payload.tensors.map((t) => [t.id, t]));
    this.element = document.createElement('aside');
    this.element.id = 'side-panel';
    this.element.setAttribute('aria-label', 'Sharing groups');

    const sharing = document.createElement('section');
    sharing.className = 'sharing';
    this.appliedBox = document.createElement('div');
    this.appliedBox.id = 'apply-result';
    this.appliedBox.hidden = true;
    this.appliedBox.setAttribute('role', 'status');
    sharing.append(this.appliedBox, this.totals(), this.actions());
    const heading = document.createElement('h2');
    heading.className = 'groups-heading';
    heading.textContent = payload.groups.length === 0
      ? 'No shared or shareable weights'
      : `${payload.groups.length} sharing group${payload.groups.length === 1 ? '' : 's'}, by bytes saved`;
    const note = document.createElement('p');
    note.className = 'muted small';
    note.textContent = minBytes > 0 ? `Groups of tensors under ${formatBytes(minBytes)} are not listed.` : 'Groups of any size are listed.';
    this.list = document.createElement('ul');
    this.list.className = 'groups';
    this.list.id = 'groups';
    this.list.setAttribute('role', 'listbox');
    this.list.setAttribute('aria-label', 'Sharing groups');
    this.list.addEventListener('keydown', (e) => this.onKey(e));
    sharing.append(heading, note, this.list);
    this.renderGroups();

    const info = document.createElement('section');
    info.className = 'model-info';
    info.append(this.modelInfo());
    this.legend = document.createElement('div');
    this.legend.className = 'legend';
    info.append(this.legend);
    this.renderLegend();

    this.tabs = tabs([
      { id: 'sharing', title: 'Sharing', view: sharing },
      { id: 'model', title: 'Model', view: info },
    ]);
    this.element.append(this.tabs.element);
  }

  /** Marks a group selected (from the graph or the host) without re-emitting. */
  setSelected(index: number | null): void {
    this.selected = index;
    for (const li of this.list.querySelectorAll<HTMLElement>('li.group')) {
      const on = Number(li.dataset.index) === index;
      li.classList.toggle('selected', on);
      li.setAttribute('aria-selected', String(on));
      if (on) li.scrollIntoView({ block: 'nearest' });
    }
  }

  /** Shows what Apply wrote (it stays until dismissed or replaced), or hides it. */
  showApplied(s: ApplySummary | null): void {
    const box = this.appliedBox;
    box.hidden = s === null;
    if (!s) { box.replaceChildren(); return; }
    const head = document.createElement('h2');
    head.textContent = `Applied: saved ${formatBytes(s.bytesSaved)}`;
    head.title = formatBytesExact(s.bytesSaved);
    const file = document.createElement('p');
    file.className = 'small';
    file.append(...breakable(s.outputName));
    file.append(` is ${formatBytes(s.outputBytes)} (the model: ${formatBytes(s.inputBytes)}).`);
    file.title = s.output;
    const list = (title: string, items: string[], cls: string) => {
      const details = document.createElement('details');
      details.className = cls;
      const summary = document.createElement('summary');
      summary.textContent = `${title} (${items.length})`;
      const ul = document.createElement('ul');
      for (const text of items) {
        const li = document.createElement('li');
        li.textContent = text;
        ul.append(li);
      }
      details.append(summary, ul);
      return details;
    };
    const parts: HTMLElement[] = [head, file, list('Applied', s.applied, 'applied')];
    if (s.skipped.length) parts.push(list('Not applied', s.skipped, 'not-applied'));
    if (s.loadingNote) {
      const note = document.createElement('p');
      note.className = 'muted small';
      note.textContent = s.loadingNote;
      parts.push(note);
    }
    const actions = document.createElement('div');
    actions.className = 'actions';
    actions.append(button('Open', { appearance: 'primary', title: `Open ${s.outputName} in the model editor`, id: 'open-applied', onClick: () => this.events.openApplied() }));
    if (s.runnable) {
      actions.append(button('Run Inference Check', { appearance: 'secondary', title: `Run the model and ${s.outputName} on the same inputs and compare their outputs`, id: 'check-applied', onClick: () => this.events.checkApplied() }));
      actions.append(button('Compare side by side', { appearance: 'secondary', title: `Show ${s.outputName} beside this model, what Apply changed marked`, id: 'compare-applied', onClick: () => this.events.compareApplied() }));
    }
    actions.append(button('Dismiss', { appearance: 'secondary', title: 'Stop showing this summary', onClick: () => this.events.dismissApplied() }));
    parts.push(actions);
    box.replaceChildren(...parts);
  }

  setTheme(theme: Theme): void {
    this.theme = theme;
    for (const sw of this.list.querySelectorAll<HTMLElement>('.swatch')) paintSwatch(sw, Number(sw.dataset.group), theme);
    this.renderLegend();
  }

  private totals(): HTMLElement {
    const t = this.payload.totals;
    const saved = t.storedBytes - t.uniqueBytes;
    const dl = document.createElement('dl');
    dl.className = 'totals';
    dl.id = 'totals';
    const add = (k: string, v: string, title?: string) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      if (title) dd.title = title;
      dl.append(dt, dd);
    };
    add('Stored', formatBytes(t.storedBytes), formatBytesExact(t.storedBytes));
    add('Unique', `${formatBytes(t.uniqueBytes)}${saved > 0 ? ` (−${formatBytes(saved)}, ${pct(saved, t.storedBytes)})` : ''}`, formatBytesExact(t.uniqueBytes));
    if (t.notApplicableGroups > 0) {
      add('Not applicable', `${formatBytes(t.notApplicableBytes)} in ${t.notApplicableGroups} group${t.notApplicableGroups === 1 ? '' : 's'}`,
        'Copies found that Apply cannot carry out: each group says why. Not counted in Unique.');
    }
    add('Parameters', formatCount(t.parameters), thousands(t.parameters));
    add('Unique parameters', formatCount(t.uniqueParameters), thousands(t.uniqueParameters));
    return dl;
  }

  private actions(): HTMLElement {
    const div = document.createElement('div');
    div.className = 'actions';
    const applicable = this.payload.groups.filter((g) => g.applicable).map((g) => g.id);
    const apply = button('Apply sharing…', {
      appearance: 'primary',
      title: 'Write a copy of the model that stores each weight once',
      onClick: () => this.events.applySharing(applicable),
    });
    if (applicable.length === 0) apply.setAttribute('disabled', '');
    div.append(
      apply,
      button('Report', { appearance: 'secondary', title: 'Show the sharing report', onClick: () => this.events.showReport() }),
      button('Outline', { appearance: 'secondary', title: 'Open the model outline', onClick: () => this.events.openOutline() }),
    );
    return div;
  }

  private renderGroups(): void {
    const items = this.payload.groups.map((g) => this.groupItem(g));
    this.list.replaceChildren(...items);
    if (items[0]) items[0].tabIndex = 0;
  }

  private groupItem(g: GroupInfo): HTMLElement {
    const li = document.createElement('li');
    li.className = 'group';
    li.dataset.index = String(g.index);
    li.tabIndex = -1;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', 'false');
    const head = document.createElement('div');
    head.className = 'group-head';
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.dataset.group = String(g.index);
    if (g.kind === 'tied') swatch.classList.add('tied');
    paintSwatch(swatch, g.index, this.theme);
    const kind = tag(g.kind);
    kind.classList.add('kind');
    const saved = document.createElement('span');
    saved.className = 'saved';
    saved.textContent = g.kind === 'tied' ? 'already stored once' : `saves ${formatBytes(g.bytesSaved)}`;
    saved.title = formatBytesExact(g.bytesSaved);
    saved.dataset.bytes = String(g.bytesSaved);
    head.append(swatch, kind);
    if (g.kind !== 'tied' && !g.applicable) {
      const warn = tag(g.lossless ? 'not applicable' : 'not lossless');
      warn.classList.add('warn');
      head.append(warn);
    }
    head.append(saved);
    li.append(head);
    const members = document.createElement('ul');
    members.className = 'members';
    g.tensorIds.forEach((id, i) => {
      const t = this.tensorsById.get(id);
      if (!t) return;
      const m = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'member-name';
      const label = scopedName(t.name, t.graphPath);
      name.append(...breakable(label));
      name.title = label;
      const meta = document.createElement('span');
      meta.className = 'member-meta';
      const keptCount = g.kind === 'quantized' ? 3 : 1;
      const size = t.stored === false ? 'not stored' : formatBytes(t.bytes);
      const readers = g.kind === 'tied' && (g.tiedBy ?? 'graph') === 'graph' ? ` · ${t.consumers} readers` : '';
      meta.textContent = `${t.dtype} ${formatShape(t.shape)} · ${size}${g.kind !== 'tied' && i < keptCount ? ' · kept' : ''}${readers}`;
      m.append(name, meta);
      members.append(m);
    });
    for (const o of g.otherMembers ?? []) {
      const m = document.createElement('li');
      m.className = 'other-file';
      m.textContent = `${o.name} in ${o.file.split(/[\\/]/).pop()} · ${o.dtype} ${formatShape(o.shape)} · ${formatBytes(o.bytes)}`;
      members.append(m);
    }
    li.append(members);
    if (g.reason) {
      const r = document.createElement('p');
      r.className = 'reason muted small';
      r.textContent = g.reason;
      li.append(r);
    }
    li.addEventListener('click', () => this.choose(g.index));
    return li;
  }

  private choose(index: number): void {
    const next = this.selected === index ? null : index;
    this.setSelected(next);
    this.events.selectGroup(next);
  }

  private onKey(e: KeyboardEvent): void {
    const items = [...this.list.querySelectorAll<HTMLElement>('li.group')];
    const at = items.indexOf(document.activeElement as HTMLElement);
    if (at < 0) return;
    let next = at;
    if (e.key === 'ArrowDown') next = Math.min(items.length - 1, at + 1);
    else if (e.key === 'ArrowUp') next = Math.max(0, at - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = items.length - 1;
    else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.choose(Number(items[at].dataset.index));
      return;
    } else return;
    e.preventDefault();
    items[at].tabIndex = -1;
    items[next].tabIndex = 0;
    items[next].focus();
  }

  private modelInfo(): HTMLElement {
    const p = this.payload;
    const dl = document.createElement('dl');
    dl.className = 'totals';
    const add = (k: string, v: string) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      dl.append(dt, dd);
    };
    add('File', p.fileName);
    add('Format', p.format);
    if (p.producer) add('Producer', p.producer);
    for (const [k, v] of p.facts) add(k, v);
    add(p.view === 'modules' ? 'Modules' : 'Operators', String(p.nodes.length));
    add('Weights', String(p.tensors.filter((t) => t.stored !== false).length));
    if (p.view === 'graph') {
      add('Inputs', p.inputs.map((i) => i.name).join(', ') || '—');
      add('Outputs', p.outputs.map((i) => i.name).join(', ') || '—');
      const named = p.tensors.filter((t) => t.source);
      const from = [...new Set(named.map((t) => t.source!.file.split(/[\\/]/).pop()))].join(', ');
      add('Checkpoint', named.length ? `${named.length} of ${p.tensors.length} tensors come from ${from}` : 'none compared');
    }
    const wrap = document.createElement('div');
    wrap.append(dl);
    if (p.view === 'graph') {
      const actions = document.createElement('div');
      actions.className = 'actions';
      actions.append(button('Compare with checkpoint…', {
        appearance: 'secondary', id: 'compare-checkpoint',
        title: 'Scan the model with the checkpoint it was exported from, to name its tensors after their parameters',
        onClick: () => this.events.compareWithCheckpoint(),
      }));
      wrap.append(actions);
    }
    wrap.append(divider());
    return wrap;
  }

  private renderLegend(): void {
    // A module tree has no operators to colour.
    if (this.payload.view === 'modules') return;
    const colors = familyColors(this.theme);
    const h = document.createElement('h2');
    h.textContent = 'Operator colours';
    const ul = document.createElement('ul');
    for (const f of FAMILIES) {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = colors[f.family].fill;
      sw.style.borderColor = colors[f.family].border;
      li.append(sw, document.createTextNode(f.label));
      ul.append(li);
    }
    this.legend.replaceChildren(h, ul);
  }
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '0%';
}

/** A group's swatch: filled for copies to share, an outline for tied weights (as the graph draws them). */
function paintSwatch(swatch: HTMLElement, index: number, theme: Theme): void {
  const color = groupColor(index, theme);
  swatch.style.borderColor = color;
  swatch.style.background = swatch.classList.contains('tied') ? 'transparent' : color;
}
