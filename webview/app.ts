// Puts the page together and follows the host's messages: progress while the
// host scans, the graph and side panel once the model arrives, a clear error
// when it cannot be read. Never leaves the page blank.
import { unpackGraphPayload, type ApplySummary, type GraphPayload, type ViewMessage, type ViewSettings } from '../extension/protocol.js';
import { CompareView } from './compareView.js';
import { GraphView, graphContainer } from './graphView.js';
import { Host } from './host.js';
import { Search } from './search.js';
import { SidePanel } from './sidePanel.js';
import { readTheme, watchTheme, type Theme } from './theme.js';
import { Tooltip } from './tooltip.js';
import { button, progressRing } from './toolkit.js';
import { LayoutProgressNote } from './layoutProgress.js';
import { chooseRenderer, webglSupport } from './webgl.js';
import { ViewModel } from './viewModel.js';

export interface Timings {
  /** Unpacking the model message's columns into the payload (before `received`). */
  unpackMs?: number;
  /** performance.now() when the model message arrived, unpacked. */
  received?: number;
  /** Graph drawn on screen for the first time. */
  firstPaint?: number;
  /** The main thread was free again after the first paint. */
  interactive?: number;
  /** Building the view model (scopes, edges) from the payload. */
  modelMs?: number;
  buildMs?: number;
  layoutMs?: number;
  /** Everything before the first render was requested. */
  setupMs?: number;
}

interface SavedState {
  filePath: string;
  expanded: string[];
  group: number | null;
  /** What the last Apply wrote: the side panel keeps showing it. */
  applied?: ApplySummary;
}

export class App {
  readonly timings: Timings = {};
  view: GraphView | null = null;
  panel: SidePanel | null = null;
  private theme: Theme = readTheme();
  private tooltip: Tooltip | null = null;
  private search: Search | null = null;
  private statusLine: HTMLElement | null = null;
  private layoutNote: LayoutProgressNote | null = null;
  private applied: ApplySummary | null = null;
  private payload: GraphPayload | null = null;
  private compare: CompareView | null = null;

  constructor(private readonly root: HTMLElement, readonly host: Host) {
    watchTheme((t) => {
      this.theme = t;
      this.view?.setTheme(t);
      this.compare?.view.setTheme(t);
      this.panel?.setTheme(t);
    });
    document.addEventListener('keydown', (e) => {
      if (this.search?.handleGlobalKey(e)) return;
      if (e.key === 'Escape' && this.view) {
        this.view.focusGroup(null);
        this.panel?.setSelected(null);
      }
    });
  }

  handle(msg: ViewMessage): void {
    switch (msg.type) {
      case 'model':
        this.showModel(msg.graph, msg.settings);
        break;
      case 'loadError':
        this.showError(msg.message);
        break;
      case 'progress':
        this.showProgress(msg.message, msg.fraction);
        break;
      case 'focusGroup': {
        const index = this.payload?.groups.findIndex((g) => g.id === msg.groupId) ?? -1;
        if (index >= 0) this.selectGroup(index);
        break;
      }
      case 'reply':
        this.host.handleReply(msg);
        break;
    }
  }

  showError(message: string): void {
    this.teardown();
    this.root.dataset.state = 'error';
    const box = document.createElement('div');
    box.className = 'load-error';
    box.id = 'load-error';
    box.setAttribute('role', 'alert');
    const h = document.createElement('h1');
    h.textContent = 'This model could not be opened';
    const pre = document.createElement('pre');
    pre.textContent = message;
    const p = document.createElement('p');
    p.className = 'muted';
    p.textContent = 'The file was not changed. Fix or re-export it, then reopen it here.';
    box.append(h, pre, p);
    this.root.replaceChildren(box);
  }

  showProgress(message: string, fraction?: number): void {
    if (this.view && this.statusLine) {
      this.statusLine.textContent = message;
      return;
    }
    this.root.dataset.state = 'progress';
    const box = document.createElement('div');
    box.className = 'status progress';
    box.id = 'status';
    box.setAttribute('role', 'status');
    box.setAttribute('aria-live', 'polite');
    const text = document.createElement('span');
    text.textContent = fraction === undefined ? message : `${message} (${Math.round(fraction * 100)}%)`;
    box.append(progressRing(), text);
    this.root.replaceChildren(box);
  }

  /** Called when a sharing group is selected (the Layers tab then unmarks its cell). */
  onGroupSelected: (() => void) | undefined;

  selectGroup(index: number | null): void {
    if (!this.view) return;
    this.view.focusGroup(index);
    this.panel?.setSelected(index);
    this.onGroupSelected?.();
    this.saveState();
  }

  /** Selects tensors in the graph or module tree (two layers of a family, from the Layers tab); no group stays selected. */
  selectTensors(tensorIds: string[]): void {
    if (!this.view) return;
    this.view.focusTensors(tensorIds);
    this.panel?.setSelected(null);
    this.saveState();
  }

  private showModel(payload: GraphPayload, settings: ViewSettings): void {
    this.timings.received = performance.now();
    const saved = this.host.getState<SavedState>();
    this.teardown();
    this.payload = payload;
    this.root.dataset.state = 'ready';
    document.title = payload.fileName;

    const workspace = document.createElement('div');
    workspace.className = 'workspace';
    const graphArea = document.createElement('section');
    graphArea.className = 'graph-area';
    graphArea.setAttribute('aria-label', 'Model graph');
    const toolbar = document.createElement('div');
    toolbar.className = 'toolbar';
    toolbar.setAttribute('role', 'toolbar');
    const graphEl = graphContainer('graph', payload.fileName, () => this.view);
    // The graph's pane; the side-by-side view adds the shared copy's beside it.
    const panes = document.createElement('div');
    panes.className = 'panes';
    panes.append(graphEl);
    graphArea.append(toolbar, panes);
    workspace.append(graphArea);
    this.root.replaceChildren(workspace);

    const model = new ViewModel(payload, settings.collapseThreshold);
    this.timings.modelMs = performance.now() - this.timings.received;
    const renderer = chooseRenderer(settings.renderer ?? 'auto', model.items.size, webglSupport);
    const view = new GraphView(graphEl, model, this.theme, {
      hover: (h) => {
        if (!h || !this.tooltip) return this.tooltip?.hide();
        const el = view.cy.getElementById(h.id);
        if (el.empty()) return this.tooltip.hide();
        if (h.kind === 'edge') {
          if (el.hasClass('group-link')) return this.tooltip.hide();
          this.tooltip.show('edge', h.id, h.x, h.y + toolbar.offsetHeight, {
            values: String(el.data('values') ?? ''), count: Number(el.data('count') ?? 1), source: el.data('source'), target: el.data('target'),
          });
        } else this.tooltip.show('node', h.id, h.x, h.y + toolbar.offsetHeight);
      },
      groupClicked: (index) => this.selectGroup(index),
      redrawn: (info) => {
        this.compare?.mark();
        if (this.statusLine) this.statusLine.textContent = `${model.stats.operators} ${payload.view === 'modules' ? 'modules' : 'operators'} · ${info.nodes} drawn · ${view.lastEngine} ${Math.round(info.layoutMs)} ms${renderer.webgl ? ' · WebGL' : ''}`;
        this.saveState();
      },
      layout: (state) => this.layoutNote?.update(state),
    }, renderer);
    this.view = view;
    view.layoutEngine = settings.layout ?? 'auto';
    this.tooltip = new Tooltip(graphArea, model, () => this.theme);

    this.search = new Search(model, {
      show: (matches, current) => view.showMatches(matches, current),
      clear: () => view.clearMatches(),
    });
    this.statusLine = document.createElement('span');
    this.statusLine.className = 'status-line muted';
    this.statusLine.id = 'status-line';
    this.statusLine.title = `Drawn by the ${renderer.why}. Setting: weightSharing.graph.renderer`;
    this.layoutNote = new LayoutProgressNote(() => {
      if (view.cancelLayout() && this.statusLine) this.statusLine.textContent = 'Layout cancelled: the drawing is as it was';
    });
    toolbar.append(
      this.search.field.element,
      button('Fit', { title: 'Fit the graph to the view', id: 'fit', appearance: 'secondary', onClick: () => view.fit() }),
      button('−', { title: 'Zoom out', id: 'zoom-out', appearance: 'secondary', onClick: () => view.zoomBy(1 / 1.25) }),
      button('+', { title: 'Zoom in', id: 'zoom-in', appearance: 'secondary', onClick: () => view.zoomBy(1.25) }),
    );
    if (model.scopes.size > 1) {
      toolbar.append(
        button('Expand all', { title: 'Open every scope (slow on big graphs)', id: 'expand-all', appearance: 'secondary', onClick: () => this.whileBusy(`Drawing all ${model.items.size} items…`, () => view.expandAll()) }),
        button('Collapse all', { title: 'Close every scope', id: 'collapse-all', appearance: 'secondary', onClick: () => view.collapseAll() }),
      );
    }
    toolbar.append(this.statusLine, this.layoutNote.element);

    this.panel = new SidePanel(payload, this.theme, {
      selectGroup: (index) => {
        view.focusGroup(index);
        this.onGroupSelected?.();
        this.saveState();
      },
      applySharing: (groupIds) => this.run(this.host.request({ method: 'applySharing', groupIds }).then((reply) => {
        if ('summary' in reply) this.showApplied(reply.summary);
      }), 'Apply sharing'),
      openApplied: () => this.run(this.host.request({ method: 'openApplied' }), 'Open shared copy'),
      checkApplied: () => this.run(this.host.request({ method: 'checkApplied' }), 'Run inference check'),
      compareApplied: () => this.run(this.host.request({ method: 'compareApplied' }).then((r) => this.showCompare(unpackGraphPayload(r.graph), settings.collapseThreshold)), 'Compare side by side'),
      dismissApplied: () => this.showApplied(null),
      showReport: () => this.run(this.host.request({ method: 'showReport' }), 'Show report'),
      openOutline: () => this.run(this.host.request({ method: 'openOutline' }), 'Open outline'),
      compareWithCheckpoint: () => this.run(this.host.request({ method: 'compareWithCheckpoint' }), 'Compare with checkpoint'),
    }, settings.minBytes);
    workspace.append(this.panel.element);

    const restored = saved && saved.filePath === payload.filePath ? saved : undefined;
    // The group selected at once: the restored one, else the largest Apply can carry out.
    const group = restored
      ? (restored.group !== null && restored.group < payload.groups.length ? restored.group : null)
      : (payload.groups.length > 0 ? largestGroup(payload) : null);
    const timings = view.renderInitial(settings.collapseThreshold, { expanded: restored?.expanded, revealing: group === null ? [] : view.weightItems(payload.groups[group]!.tensorIds) });
    this.timings.setupMs = performance.now() - this.timings.received;
    this.timings.buildMs = timings.buildMs;
    this.timings.layoutMs = timings.layoutMs;
    view.cy.one('render', () => {
      requestAnimationFrame(() => {
        this.timings.firstPaint = performance.now();
        setTimeout(() => { this.timings.interactive = performance.now(); }, 0);
      });
    });
    if (restored?.applied) this.showApplied(restored.applied);
    if (group !== null) this.selectGroup(group);
  }

  /**
   * Says what is coming and lets the page paint it before work that holds
   * the page (cytoscape draws on this thread: seconds for tens of thousands
   * of nodes); the redraw's own status line replaces the message.
   */
  private whileBusy(message: string, work: () => Promise<unknown>): void {
    if (this.statusLine) this.statusLine.textContent = message;
    this.root.setAttribute('aria-busy', 'true');
    const done = () => this.root.removeAttribute('aria-busy');
    requestAnimationFrame(() => setTimeout(() => {
      try {
        // A failure still reaches the page's unhandledrejection report.
        void work().finally(done);
      } catch (err) {
        done();
        throw err;
      }
    }, 0));
  }

  private run(p: Promise<unknown>, what: string): void {
    p.then(
      () => { if (this.statusLine) this.statusLine.textContent = `${what}: done`; },
      (e: unknown) => { if (this.statusLine) this.statusLine.textContent = `${what} failed: ${e instanceof Error ? e.message : String(e)}`; },
    );
  }

  /** The shared copy beside the original, in step with it; again: the newest copy replaces the old. */
  showCompare(copy: GraphPayload, collapseThreshold: number): void {
    if (!this.view) return;
    this.compare?.destroy();
    this.compare = new CompareView(this.view, copy, this.theme, collapseThreshold, () => { this.compare?.destroy(); this.compare = null; });
  }

  private showApplied(summary: ApplySummary | null): void {
    this.applied = summary;
    this.panel?.showApplied(summary);
    this.saveState();
  }

  private saveState(): void {
    if (!this.view || !this.payload) return;
    const group = this.root.querySelector<HTMLElement>('li.group.selected')?.dataset.index;
    this.host.setState<SavedState>({
      filePath: this.payload.filePath,
      expanded: [...this.view.expandedScopes],
      group: group === undefined ? null : Number(group),
      ...(this.applied ? { applied: this.applied } : {}),
    });
  }

  private teardown(): void {
    this.compare?.destroy();
    this.compare = null;
    this.view?.destroy();
    this.view = null;
    this.panel = null;
    this.tooltip = null;
    this.search = null;
    this.statusLine = null;
    this.layoutNote?.hide();
    this.layoutNote = null;
  }
}

/**
 * The group a first view frames, so a user sees it without hunting: the
 * largest saving Apply can deliver (an applicable group), else the largest
 * weight of any group.
 */
export function largestGroup(payload: GraphPayload): number {
  let best = 0;
  const bytes = new Map(payload.tensors.map((t) => [t.id, t.bytes]));
  const score = (i: number): [number, number] => {
    const g = payload.groups[i]!;
    const size = g.tensorIds.reduce((n, id) => Math.max(n, bytes.get(id) ?? 0), 0);
    return [g.applicable ? g.bytesSaved : 0, size];
  };
  for (let i = 1; i < payload.groups.length; i++) {
    const [a, b] = score(i);
    const [x, y] = score(best);
    if (a > x || (a === x && b > y)) best = i;
  }
  return best;
}
