// The hover card of a heatmap cell: the two layers, both distances, the two
// tensors' names. One card per tab, fixed to the viewport beside the cell
// (the tab's view scrolls and would clip it), kept inside the window.
import type { LayerFamilyInfo } from '../../extension/protocol.js';
import { el } from '../dom.js';

export class CellTooltip {
  readonly element: HTMLElement;

  constructor(parent: HTMLElement) {
    this.element = el('div', 'ly-tooltip');
    this.element.id = 'layers-tooltip';
    this.element.setAttribute('role', 'tooltip');
    this.element.hidden = true;
    parent.append(this.element);
  }

  show(f: LayerFamilyInfo, i: number, j: number, anchor: HTMLElement): void {
    const a = f.layers[i]!;
    const b = f.layers[j]!;
    const rows: Array<[string, string]> = i === j
      ? [['layer', String(a)]]
      : [['rel L2', f.relL2[i]![j]!.toFixed(4)], ['centred cos', formatCosine(f.centredCosine[i]![j]!)]];
    const title = el('div', 'ly-tooltip-title', i === j ? `layer ${a} with itself` : `layers ${a} ↔ ${b}`);
    const table = el('table');
    for (const [k, v] of rows) {
      const tr = el('tr');
      tr.append(el('th', undefined, k), el('td', undefined, v));
      table.append(tr);
    }
    const names = el('div', 'ly-tooltip-names');
    for (const n of i === j ? [f.members[i]!] : [f.members[i]!, f.members[j]!]) names.append(el('div', undefined, n));
    const hint = el('div', 'ly-tooltip-hint', i === j ? 'Click or Enter: select it in the view' : 'Click or Enter: select both in the view');
    this.element.replaceChildren(title, table, names, hint);
    this.element.hidden = false;
    // Beside the whole heatmap, not the cell: the card must not hide the row's labels and neighbours.
    this.place(anchor.getBoundingClientRect(), (anchor.closest('.ly-heatmap') ?? anchor).getBoundingClientRect());
  }

  hide(): void {
    this.element.hidden = true;
  }

  private place(cell: DOMRect, grid: DOMRect): void {
    const w = this.element.offsetWidth;
    const h = this.element.offsetHeight;
    // Left of the heatmap by preference: the side panel sits at the window's right edge.
    let left = grid.left - w - 8;
    if (left < 4) left = Math.min(window.innerWidth - w - 4, grid.right + 8);
    let top = cell.top;
    if (top + h > window.innerHeight - 4) top = Math.max(4, window.innerHeight - h - 4);
    this.element.style.left = `${Math.max(4, left)}px`;
    this.element.style.top = `${top}px`;
  }
}

/** NaN: a member with no variance (LayerNorm weights still all ones), where correlation says nothing. */
function formatCosine(c: number): string {
  return Number.isNaN(c) ? 'n/a (no variance)' : c.toFixed(4);
}
