// The "Layers" tab of the model editor: how alike the blocks of the model
// are, per family of same-role tensors (issue 10). Asked of the host the
// first time the tab is shown, never at model load (it reads every weight
// of every block). Families are listed compactly, collapsible, sorted (most
// alike first by default), each with its heatmap; a cell selects both
// tensors in the graph or module tree; Try tying… sits above the list.
import type { ViewMessage, LayerFamilyInfo, LayersPayload } from '../../extension/protocol.js';
import { breakable, el } from '../dom.js';
import { formatBytes, formatShape } from '../format.js';
import type { Host } from '../host.js';
import type { Theme } from '../theme.js';
import { button, dropdown, progressRing, type Tabs } from '../toolkit.js';
import { Heatmap } from './heatmap.js';
import { heatScale, legend } from './scale.js';
import { CellTooltip } from './tooltip.js';
import { TieForm, type TieActions } from './tying.js';

export const TAB_ID = 'layers';

export interface LayersEvents extends Omit<TieActions, 'tie'> {
  /** Select these tensors in the graph or module tree. */
  selectTensors(tensorIds: string[]): void;
}

type SortKey = 'alike' | 'size' | 'model';

/** How alike a family's layers are on the whole: the mean distance over distinct pairs. */
export function meanDistance(f: LayerFamilyInfo): number {
  let sum = 0;
  let n = 0;
  f.relL2.forEach((row, i) => row.forEach((v, j) => { if (i < j && Number.isFinite(v)) { sum += v; n++; } }));
  return n ? sum / n : Number.NaN;
}

/** The closest pair of distinct layers: [i, j, distance]. */
function closestPair(f: LayerFamilyInfo): [number, number, number] {
  let best: [number, number, number] = [0, 0, Number.POSITIVE_INFINITY];
  f.relL2.forEach((row, i) => row.forEach((v, j) => { if (i < j && v < best[2]) best = [i, j, v]; }));
  return best;
}

const SORTS: Record<SortKey, { label: string; compare: (a: LayerFamilyInfo, b: LayerFamilyInfo) => number }> = {
  alike: { label: 'Most alike first', compare: (a, b) => meanDistance(a) - meanDistance(b) },
  size: { label: 'Largest first', compare: (a, b) => b.bytes * b.layers.length - a.bytes * a.layers.length },
  model: { label: 'Model order', compare: () => 0 },
};

/** Families open when the list first appears, so the tab shows heatmaps at once. */
const OPEN_AT_FIRST = 2;

interface FamilyItem {
  family: LayerFamilyInfo;
  element: HTMLElement;
  body: HTMLElement;
  head: HTMLElement;
  heatmap: Heatmap | null;
}

export class LayersTab {
  readonly element: HTMLElement;
  private state: 'idle' | 'loading' | 'ready' | 'error' = 'idle';
  /** Bumped per model: a reply for an earlier one is dropped. */
  private generation = 0;
  private items: FamilyItem[] = [];
  private list: HTMLElement | null = null;
  private legendBox: HTMLElement | null = null;
  private tieForm: TieForm | null = null;
  private statusText: HTMLElement | null = null;
  private readonly tooltip: CellTooltip;

  constructor(private readonly host: Host, private theme: Theme, private readonly events: LayersEvents) {
    this.element = document.createElement('section');
    this.element.className = 'layers';
    this.element.id = 'layers';
    this.element.setAttribute('aria-label', 'How alike the layers are');
    // On the body: the tab's own children are replaced as its state changes.
    this.tooltip = new CellTooltip(document.body);
  }

  /** Adds the tab to a new side panel (a new model): the analysis waits until the tab is shown. */
  attach(tabs: Tabs): void {
    this.generation++;
    this.state = 'idle';
    this.items = [];
    this.tieForm = null;
    this.tooltip.hide();
    this.element.replaceChildren(this.heading(), el('p', 'muted small', 'Opens when shown: compares every block’s weights with every other’s.'));
    tabs.add({ id: TAB_ID, title: 'Layers', view: this.element });
    tabs.onShow(TAB_ID, () => this.load());
  }

  /** Messages for the tab; false for the others. */
  handle(msg: ViewMessage): boolean {
    if (msg.type !== 'layersProgress') return false;
    if (this.state === 'loading' && this.statusText) {
      this.statusText.textContent = msg.fraction === undefined ? msg.message : `${msg.message} (${Math.round(msg.fraction * 100)}%)`;
    }
    return true;
  }

  setTheme(theme: Theme): void {
    this.theme = theme;
    for (const item of this.items) {
      item.heatmap?.setTheme(theme);
      this.paintChip(item);
    }
    if (this.legendBox) this.legendBox.replaceChildren(legend(theme));
  }

  /** Marks no cell chosen (a group was selected in the Sharing tab). */
  clearSelection(): void {
    for (const item of this.items) item.heatmap?.mark(null);
  }

  private load(): void {
    if (this.state !== 'idle') return;
    this.state = 'loading';
    const generation = this.generation;
    const status = document.createElement('div');
    status.className = 'ly-status';
    status.id = 'layers-status';
    status.setAttribute('role', 'status');
    status.setAttribute('aria-live', 'polite');
    this.statusText = document.createElement('span');
    this.statusText.textContent = 'Comparing the layers…';
    status.append(progressRing(), this.statusText);
    this.element.replaceChildren(this.heading(), status);
    this.host.request({ method: 'layers' }).then(
      (reply) => { if (generation === this.generation) this.show(reply); },
      (err: unknown) => { if (generation === this.generation) this.fail(err instanceof Error ? err.message : String(err)); },
    );
  }

  private fail(message: string): void {
    this.state = 'error';
    const box = el('p', 'ly-error', `The layers could not be compared: ${message}`);
    box.id = 'layers-error';
    box.setAttribute('role', 'alert');
    const retry = button('Try again', { appearance: 'secondary', id: 'layers-retry', title: 'Compare the layers again', onClick: () => { this.state = 'idle'; this.load(); } });
    this.element.replaceChildren(this.heading(), box, retry);
  }

  private show(reply: LayersPayload): void {
    this.state = 'ready';
    this.statusText = null;
    const families = reply.families;
    if (families.length === 0) {
      const none = el('p', 'muted', 'No repeated blocks found: no tensors share a role across numbered blocks (h.3.…, layers.3.…, blk.3.…).');
      none.id = 'layers-none';
      this.element.replaceChildren(this.heading(), none);
      return;
    }
    const blocks = new Set(families.flatMap((f) => f.layers)).size;
    const stacks = new Set(families.map((f) => f.stack));
    const summary = el('p', 'muted small', `${families.length} famil${families.length === 1 ? 'y' : 'ies'} of same-role tensors across ${blocks} blocks${stacks.size === 1 ? ` of ${[...stacks][0] || 'the model'}` : ` in ${stacks.size} stacks`} · compared in ${reply.millis} ms`);
    summary.id = 'layers-summary';
    this.legendBox = document.createElement('div');
    this.legendBox.append(legend(this.theme));
    this.tieForm = new TieForm(families, {
      tie: (layers, to, role) => this.host.request({ method: 'tieLayers', layers, to, role }),
      measure: this.events.measure,
      showInference: () => this.events.showInference(),
    });
    const sort = dropdown({
      id: 'layers-sort', label: 'Sort families',
      choices: (Object.keys(SORTS) as SortKey[]).map((k) => ({ value: k, label: SORTS[k].label })),
      value: 'alike',
      onChange: (v) => this.sortBy(v as SortKey),
    });
    const bar = document.createElement('div');
    bar.className = 'ly-list-bar';
    const h = document.createElement('h3');
    h.textContent = 'Families';
    bar.append(h, sort.element);
    this.list = document.createElement('ul');
    this.list.className = 'ly-families';
    this.list.id = 'layers-families';
    this.items = families.map((f) => this.familyItem(f, stacks.size > 1));
    this.sortBy('alike');
    this.items.slice(0, OPEN_AT_FIRST).forEach((item) => this.toggle(item, true));
    this.element.replaceChildren(this.heading(), summary, this.legendBox, this.tieForm.element, bar, this.list);
  }

  private sortBy(key: SortKey): void {
    if (!this.list) return;
    const order = [...this.items].sort((a, b) => SORTS[key].compare(a.family, b.family) || this.items.indexOf(a) - this.items.indexOf(b));
    this.list.replaceChildren(...order.map((i) => i.element));
    this.items = order;
  }

  private familyItem(f: LayerFamilyInfo, showStack: boolean): FamilyItem {
    const li = document.createElement('li');
    li.className = 'ly-family';
    li.dataset.role = f.role;
    li.dataset.stack = f.stack;
    const head = document.createElement('button');
    head.className = 'ly-family-head';
    head.setAttribute('aria-expanded', 'false');
    const name = document.createElement('span');
    name.className = 'ly-role';
    name.append(...breakable(f.role));
    name.title = `${f.stack}.N.${f.role}`;
    const [ci, cj, cd] = closestPair(f);
    const chip = document.createElement('span');
    chip.className = 'ly-chip';
    chip.textContent = meanDistance(f).toFixed(2);
    chip.title = `mean relative L2 over the pairs of layers; closest: layers ${f.layers[ci]} and ${f.layers[cj]}, ${cd.toFixed(3)}`;
    const meta = document.createElement('span');
    meta.className = 'ly-meta';
    meta.textContent = `${showStack ? `${f.stack} · ` : ''}${f.dtype} ${formatShape(f.shape)} · ${f.layers.length} layers · ${formatBytes(f.bytes)} each · closest ${f.layers[ci]}↔${f.layers[cj]} ${cd.toFixed(2)}`;
    const text = document.createElement('span');
    text.className = 'ly-head-text';
    text.append(name, meta);
    head.append(text, chip);
    const body = document.createElement('div');
    body.className = 'ly-family-body';
    body.hidden = true;
    li.append(head, body);
    const item: FamilyItem = { family: f, element: li, body, head, heatmap: null };
    head.addEventListener('click', () => this.toggle(item));
    this.paintChip(item);
    return item;
  }

  private paintChip(item: FamilyItem): void {
    const chip = item.head.querySelector<HTMLElement>('.ly-chip');
    if (!chip) return;
    const scale = heatScale(this.theme);
    const mean = meanDistance(item.family);
    chip.style.background = scale.fill(mean);
    chip.style.color = scale.text(mean);
  }

  /** Opens or closes a family; its heatmap is built the first time it opens. */
  private toggle(item: FamilyItem, open = item.body.hidden): void {
    item.body.hidden = !open;
    item.head.setAttribute('aria-expanded', String(open));
    if (!open || item.heatmap) return;
    const f = item.family;
    item.heatmap = new Heatmap(f, this.theme, {
      select: (i, j) => {
        for (const other of this.items) if (other !== item) other.heatmap?.mark(null);
        this.events.selectTensors(i === j ? [f.tensorIds[i]!] : [f.tensorIds[i]!, f.tensorIds[j]!]);
      },
      hover: (cell) => (cell ? this.tooltip.show(f, cell.i, cell.j, cell.anchor) : this.tooltip.hide()),
      toggleBlock: (block) => this.tieForm?.toggleBlock(block),
    });
    item.body.append(item.heatmap.element);
  }

  private heading(): HTMLElement {
    const h = document.createElement('h2');
    h.textContent = 'How alike the layers are';
    return h;
  }
}
