// The shared copy beside the original (Model Explorer's split view): the
// copy's graph in a second pane, scopes opened as in the original, pan and
// zoom kept in step, and what Apply changed marked in both: inserted nodes
// and rewired readers in the copy, dropped tensors and the readers that now
// read the kept one in the original.
import type { GraphPayload } from '../extension/protocol.js';
import { button } from './toolkit.js';
import { diffGraphs, type GraphDiff } from './graphDiff.js';
import { GraphView, graphContainer } from './graphView.js';
import type { Theme } from './theme.js';
import { ViewModel } from './viewModel.js';

export class CompareView {
  readonly element: HTMLElement;
  readonly view: GraphView;
  readonly diff: GraphDiff;
  private readonly follow: Array<[GraphView, () => void]> = [];

  constructor(private readonly original: GraphView, copy: GraphPayload, theme: Theme, collapseThreshold: number, onClose: () => void) {
    this.diff = diffGraphs(original.model.payload, copy);
    this.element = document.createElement('section');
    this.element.className = 'compare-pane';
    this.element.id = 'compare';
    this.element.setAttribute('aria-label', `Shared copy ${copy.fileName}, beside the original`);
    const head = document.createElement('div');
    head.className = 'compare-head';
    const title = document.createElement('span');
    title.className = 'compare-title';
    title.textContent = copy.fileName;
    const legend = document.createElement('span');
    legend.className = 'compare-legend';
    legend.id = 'compare-legend';
    for (const [cls, text, n] of [['diff-inserted', 'inserted', this.diff.inserted.size], ['diff-rewired', 'rewired', this.diff.rewired.size], ['diff-dropped', 'not stored', this.diff.dropped.size]] as const) {
      const item = document.createElement('span');
      item.className = `legend ${cls}`;
      item.textContent = `${n} ${text}`;
      legend.append(item);
    }
    head.append(title, legend, button('Close', { appearance: 'secondary', id: 'compare-close', title: 'Close the side-by-side view', onClick: onClose }));
    const graphEl = graphContainer('graph-compare', copy.fileName, () => this.view);
    this.element.append(head, graphEl);
    original.cy.container()!.parentElement!.append(this.element);
    original.cy.resize();

    const model = new ViewModel(copy, collapseThreshold);
    this.view = new GraphView(graphEl, model, theme, { hover: () => undefined, groupClicked: () => undefined, redrawn: () => this.mark() }, original.renderer);
    // Each side first shows what changed on it; then they move together.
    const before = [...original.weightItems(this.diff.dropped), ...this.diff.rewiredInOriginal];
    const after = [...this.diff.inserted, ...this.diff.rewired];
    const shown = after.length > 0 ? after : before.filter((id) => model.items.has(id));
    // The same scopes open on both sides (a scope is named after its module path, the same in both), and those holding what changed.
    this.view.renderInitial(collapseThreshold, { expanded: original.expandedScopes, revealing: shown });
    this.mark();
    if (before.length > 0) original.frameItems(before);
    if (shown.length > 0) this.view.frameItems(shown);
    this.link();
  }

  /** Marks what Apply changed on whatever each side draws now (call after either side redraws). */
  mark(): void {
    const tags = (view: GraphView, marks: Array<[Iterable<string>, string, boolean?]>) => {
      const out = new Map<string, string>();
      for (const [ids, cls, weights] of marks) {
        for (const id of ids) {
          const item = weights ? view.model.weightOfTensor.get(id) : id;
          if (item === undefined) continue;
          const drawn = view.drawnFor(item);
          const had = out.get(drawn);
          out.set(drawn, had === undefined ? cls : `${had} ${cls}`);
        }
      }
      view.tag(out);
    };
    tags(this.view, [[this.diff.inserted, 'diff-inserted'], [this.diff.rewired, 'diff-rewired']]);
    tags(this.original, [[this.diff.rewiredInOriginal, 'diff-rewired'], [this.diff.dropped, 'diff-dropped', true]]);
  }

  destroy(): void {
    for (const [v, fn] of this.follow) v.cy.off('viewport', fn);
    this.original.tag(new Map());
    this.view.destroy();
    this.element.remove();
    this.original.cy.resize();
  }

  private syncing = false;

  /**
   * Keeps the two sides in step: the same zoom, and the offset between the
   * places each side shows (in model coordinates) fixed, since the two
   * layouts differ where Apply changed the graph.
   */
  private link(): void {
    const a = this.original.cy;
    const b = this.view.cy;
    b.zoom({ level: a.zoom(), renderedPosition: { x: b.width() / 2, y: b.height() / 2 } });
    const z = a.zoom();
    const d = { x: (b.pan().x - a.pan().x) / z, y: (b.pan().y - a.pan().y) / z };
    const follow = (from: GraphView, to: GraphView, sign: number) => {
      const fn = () => {
        if (this.syncing) return;
        this.syncing = true;
        const zoom = from.cy.zoom();
        const pan = from.cy.pan();
        to.cy.viewport({ zoom, pan: { x: pan.x + sign * d.x * zoom, y: pan.y + sign * d.y * zoom } });
        this.syncing = false;
      };
      from.cy.on('viewport', fn);
      this.follow.push([from, fn]);
    };
    follow(this.original, this.view, 1);
    follow(this.view, this.original, -1);
  }
}
