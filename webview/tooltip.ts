// Hover cards for operators, weights, scopes and edges: what the node is,
// its attributes, shapes, dtype, bytes, and the sharing group it is in.
// Built with DOM nodes and textContent only: names come from model files.
import type { GroupInfo, TensorInfo } from '../extension/protocol.js';
import { nodeNoun, type ViewModel } from './viewModel.js';
import { formatBytesExact, formatShape } from './format.js';
import { groupColor } from './colors.js';
import type { Theme } from './theme.js';

export class Tooltip {
  readonly element: HTMLElement;
  private shownFor: string | null = null;

  constructor(parent: HTMLElement, private readonly model: ViewModel, private theme: () => Theme) {
    this.element = document.createElement('div');
    this.element.className = 'tooltip';
    this.element.id = 'tooltip';
    this.element.setAttribute('role', 'tooltip');
    this.element.hidden = true;
    parent.appendChild(this.element);
  }

  show(kind: 'node' | 'edge', id: string, x: number, y: number, edgeData?: { values: string; count: number; source: string; target: string }): void {
    if (this.shownFor !== `${kind}:${id}`) {
      this.shownFor = `${kind}:${id}`;
      this.element.replaceChildren(...(kind === 'node' ? this.nodeCard(id) : this.edgeCard(edgeData)));
    }
    this.element.hidden = false;
    this.place(x, y);
  }

  hide(): void {
    this.element.hidden = true;
    this.shownFor = null;
  }

  private place(x: number, y: number): void {
    const parent = this.element.parentElement!;
    const pw = parent.clientWidth;
    const ph = parent.clientHeight;
    const w = this.element.offsetWidth;
    const h = this.element.offsetHeight;
    let left = x + 16;
    let top = y + 16;
    if (left + w > pw - 4) left = Math.max(4, x - w - 16);
    if (top + h > ph - 4) top = Math.max(4, ph - h - 4);
    this.element.style.left = `${left}px`;
    this.element.style.top = `${top}px`;
  }

  private nodeCard(id: string): Node[] {
    const m = this.model;
    const scope = m.scopes.get(id);
    if (scope) {
      const out: Node[] = [title(scope.kind === 'subgraph' ? 'Subgraph' : 'Scope', scope.label)];
      out.push(rows([[nodeNoun(m.payload).many, String(scope.ops)], ['items', String(scope.total)]]));
      if (scope.groups.length > 0) out.push(...scope.groups.map((g) => this.groupLine(m.payload.groups[g])));
      out.push(hint('Click to expand · double-click its box to collapse'));
      return out;
    }
    const item = m.items.get(id);
    if (!item) return [text(id)];
    const out: Node[] = [];
    if (item.kind === 'weight') {
      const t = item.tensor!;
      out.push(title(item.node ? 'Constant' : roleLabel(t), t.name));
      out.push(rows(this.tensorRows(t)));
      for (const g of t.groups) out.push(this.groupLine(m.payload.groups[g]));
      return out;
    }
    if (item.kind === 'input' || item.kind === 'output') {
      const v = item.value!;
      out.push(title(item.kind === 'input' ? 'Graph input' : 'Graph output', v.name));
      out.push(rows([['type', v.type ?? '?'], ['shape', formatShape(v.shape)]]));
      return out;
    }
    const n = item.node!;
    out.push(title(n.domain ? `${n.domain}.${n.opType}` : n.opType, n.name || '(unnamed)'));
    const r: Array<[string, string]> = [];
    if (n.graphPath) r.push(['graph', n.graphPath]);
    for (const [k, v] of Object.entries(n.attributes)) r.push([k, v]);
    if (r.length) out.push(rows(r));
    out.push(section('inputs', n.inputs.filter(Boolean).map((name) => this.valueLine(name))));
    out.push(section('outputs', n.outputs.filter(Boolean).map((name) => this.valueLine(name))));
    const folded = m.folded.get(id);
    if (folded?.length) out.push(section('small constants', folded.map((t) => `${t.name}: ${t.dtype} ${formatShape(t.shape)}`)));
    return out;
  }

  private edgeCard(e?: { values: string; count: number; source: string; target: string }): Node[] {
    if (!e) return [];
    const names = e.values.split(', ').filter(Boolean);
    const out = [title(e.count > 1 ? `${e.count} connections` : 'Value', names[0] ?? '')];
    out.push(section(names.length > 1 ? 'values' : 'shape', names.map((n) => this.valueLine(n))));
    return out;
  }

  private valueLine(name: string): string {
    const tensor = this.model.tensorByName.get(name);
    if (tensor) return `${name}: ${tensor.dtype} ${formatShape(tensor.shape)} (weight)`;
    const v = this.model.values.get(name);
    if (!v) return name;
    return `${name}: ${v.type ?? '?'} ${formatShape(v.shape)}`;
  }

  private tensorRows(t: TensorInfo): Array<[string, string]> {
    const r: Array<[string, string]> = [
      ['dtype', t.dtype],
      ['shape', formatShape(t.shape)],
      ['bytes', t.stored === false ? 'not stored' : formatBytesExact(t.bytes)],
    ];
    if (this.model.payload.view === 'graph') r.push(['readers', String(t.consumers)]);
    if (t.graphPath) r.push(['graph', t.graphPath]);
    if (t.source) r.push(['checkpoint', `${t.source.how === 'exact' ? '' : `${t.source.how} of `}${t.source.name} (${t.source.file.split(/[\\/]/).pop()})`]);
    if (t.isGraphInput) r.push(['note', 'also a graph input: callers may override it']);
    return r;
  }

  private groupLine(g: GroupInfo | undefined): Node {
    const div = document.createElement('div');
    div.className = 'tooltip-group';
    if (!g) return div;
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = groupColor(g.index, this.theme());
    div.append(swatch, text(`Group ${g.index + 1}: ${g.kind}${g.lossless ? '' : ' (not lossless)'} · ${g.tensorIds.length} tensors · saves ${formatBytesExact(g.bytesSaved)}`));
    return div;
  }
}

function roleLabel(t: TensorInfo): string {
  if (t.stored === false) return 'Tied name (not stored)';
  return t.role === 'sparse' ? 'Sparse initializer' : t.role === 'parameter' ? 'Parameter' : 'Initializer';
}

function text(s: string): Text {
  return document.createTextNode(s);
}

function title(kind: string, name: string): HTMLElement {
  const div = document.createElement('div');
  div.className = 'tooltip-title';
  const b = document.createElement('strong');
  b.textContent = kind;
  const span = document.createElement('span');
  span.className = 'tooltip-name';
  span.textContent = name;
  div.append(b, span);
  return div;
}

function rows(pairs: Array<[string, string]>): HTMLElement {
  const table = document.createElement('table');
  for (const [k, v] of pairs) {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.textContent = k;
    const td = document.createElement('td');
    td.textContent = v;
    tr.append(th, td);
    table.append(tr);
  }
  return table;
}

function section(label: string, lines: string[]): HTMLElement {
  const div = document.createElement('div');
  div.className = 'tooltip-section';
  if (lines.length === 0) return div;
  const h = document.createElement('div');
  h.className = 'tooltip-label';
  h.textContent = label;
  div.append(h);
  for (const l of lines.slice(0, 12)) {
    const line = document.createElement('div');
    line.className = 'tooltip-line';
    line.textContent = l;
    div.append(line);
  }
  if (lines.length > 12) div.append(text(`… ${lines.length - 12} more`));
  return div;
}

function hint(s: string): HTMLElement {
  const div = document.createElement('div');
  div.className = 'tooltip-hint';
  div.textContent = s;
  return div;
}
