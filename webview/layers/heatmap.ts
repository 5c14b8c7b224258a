// One family's heatmap: layers x layers, each cell coloured by the relative
// L2 distance of the two layers' tensors. A grid in the ARIA sense: one cell
// is in the tab order, arrow keys (and Home/End) move, Enter or Space
// selects; hover or focus shows the values. Row headers add their block to
// Try tying. Names come from model files: text only, never markup.
import type { LayerFamilyInfo } from '../../extension/protocol.js';
import type { Theme } from '../theme.js';
import { heatScale } from './scale.js';

export interface HeatmapEvents {
  /** A cell was chosen: the two layers' indices in the family (equal on the diagonal). */
  select(i: number, j: number): void;
  /** Pointer over or focus on a cell (null: gone). */
  hover(cell: { i: number; j: number; anchor: HTMLElement } | null): void;
  /** A row header was clicked: its block, for Try tying. */
  toggleBlock(block: number): void;
}

/** Layers up to which cells print their value (larger grids have cells too small for text). */
const VALUES_UP_TO = 8;

/** Labels every k-th layer so that dense grids stay legible. */
function labelStride(n: number): number {
  return n <= 12 ? 1 : Math.ceil(n / 8);
}

export class Heatmap {
  readonly element: HTMLElement;
  private readonly cells: HTMLElement[][] = [];
  private selected: HTMLElement | null = null;

  constructor(private readonly family: LayerFamilyInfo, theme: Theme, private readonly events: HeatmapEvents) {
    const n = family.layers.length;
    const grid = document.createElement('div');
    grid.className = `ly-heatmap${n <= VALUES_UP_TO ? ' with-values' : ''}`;
    grid.setAttribute('role', 'grid');
    grid.setAttribute('aria-label', `Relative L2 distance between the layers of ${family.role}`);
    grid.style.setProperty('--n', String(n));
    const stride = labelStride(n);
    const label = (k: number) => (k % stride === 0 || k === n - 1 ? String(family.layers[k]) : '');

    const head = row();
    head.append(cellOf('span', 'ly-corner', ''));
    for (let j = 0; j < n; j++) {
      const h = cellOf('span', 'ly-label', label(j));
      h.setAttribute('role', 'columnheader');
      h.setAttribute('aria-label', `layer ${family.layers[j]}`);
      head.append(h);
    }
    grid.append(head);
    for (let i = 0; i < n; i++) {
      const r = row();
      const block = family.layers[i]!;
      const h = cellOf('button', 'ly-label ly-row-label', label(i));
      h.setAttribute('role', 'rowheader');
      h.title = `Add block ${block} to Try tying (or take it out)`;
      h.setAttribute('aria-label', `layer ${block}`);
      // Mouse only: the Try tying field is the keyboard's way to name blocks.
      h.tabIndex = -1;
      h.addEventListener('click', () => events.toggleBlock(block));
      r.append(h);
      const line: HTMLElement[] = [];
      for (let j = 0; j < n; j++) {
        const c = cellOf('span', i === j ? 'ly-cell diag' : 'ly-cell', '');
        const rel = family.relL2[i]![j]!;
        c.setAttribute('role', 'gridcell');
        c.tabIndex = -1;
        c.dataset.i = String(i);
        c.dataset.j = String(j);
        c.dataset.layers = `${family.layers[i]},${family.layers[j]}`;
        c.dataset.relL2 = String(rel);
        c.dataset.centredCosine = String(family.centredCosine[i]![j]!);
        c.setAttribute('aria-selected', 'false');
        c.setAttribute('aria-label', i === j ? `layer ${block} with itself` : `layers ${block} and ${family.layers[j]}: relative L2 ${rel.toFixed(3)}`);
        if (i !== j && n <= VALUES_UP_TO) c.textContent = rel.toFixed(2);
        c.addEventListener('click', () => this.choose(c));
        c.addEventListener('mouseenter', () => events.hover({ i, j, anchor: c }));
        c.addEventListener('mouseleave', () => events.hover(null));
        c.addEventListener('focus', () => events.hover({ i, j, anchor: c }));
        c.addEventListener('blur', () => events.hover(null));
        line.push(c);
        r.append(c);
      }
      this.cells.push(line);
      grid.append(r);
    }
    // The first pair of distinct layers is where the keyboard enters.
    const entry = this.cells[0]![n > 1 ? 1 : 0]!;
    entry.tabIndex = 0;
    grid.addEventListener('keydown', (e) => this.onKey(e));
    this.element = grid;
    this.setTheme(theme);
  }

  setTheme(theme: Theme): void {
    const scale = heatScale(theme);
    this.cells.forEach((line, i) => line.forEach((c, j) => {
      if (i === j) return;
      const rel = this.family.relL2[i]![j]!;
      c.style.background = scale.fill(rel);
      c.style.color = scale.text(rel);
    }));
  }

  /** Marks a cell chosen (null: none) without emitting. */
  mark(i: number | null, j?: number): void {
    if (this.selected) {
      this.selected.classList.remove('selected');
      this.selected.setAttribute('aria-selected', 'false');
    }
    this.selected = i === null ? null : this.cells[i]?.[j ?? i] ?? null;
    this.selected?.classList.add('selected');
    this.selected?.setAttribute('aria-selected', 'true');
  }

  private choose(c: HTMLElement): void {
    const i = Number(c.dataset.i);
    const j = Number(c.dataset.j);
    this.mark(i, j);
    this.events.select(i, j);
  }

  private onKey(e: KeyboardEvent): void {
    const c = e.target as HTMLElement;
    if (!c.classList.contains('ly-cell')) return;
    const n = this.cells.length;
    let i = Number(c.dataset.i);
    let j = Number(c.dataset.j);
    switch (e.key) {
      case 'ArrowRight': j = Math.min(n - 1, j + 1); break;
      case 'ArrowLeft': j = Math.max(0, j - 1); break;
      case 'ArrowDown': i = Math.min(n - 1, i + 1); break;
      case 'ArrowUp': i = Math.max(0, i - 1); break;
      case 'Home': j = 0; break;
      case 'End': j = n - 1; break;
      case 'Enter': case ' ':
        e.preventDefault();
        this.choose(c);
        return;
      default: return;
    }
    e.preventDefault();
    const next = this.cells[i]![j]!;
    c.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }
}

function row(): HTMLElement {
  const r = document.createElement('div');
  r.className = 'ly-row';
  r.setAttribute('role', 'row');
  return r;
}

function cellOf<K extends 'span' | 'button'>(tag: K, cls: string, text: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = text;
  return e;
}
