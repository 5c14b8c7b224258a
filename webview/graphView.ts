// Owns the cytoscape instance: draws what the view model says is visible,
// lays it out (dagre or the layered layout, top to bottom), expands and collapses scopes, selects
// and frames sharing groups and search hits, and follows theme changes.
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { ViewModel } from './viewModel.js';
import { buildElements, buildGroupLinks, fontsFor } from './elements.js';
import { LARGE_GRAPH_ITEMS, completeWebgl, dropUnusedWebglCanvas, setWebglBackground, webglOptions, type RendererChoice } from './webgl.js';
import { buildStyle } from './style.js';
import { dagreCost, layeredLayout, type LayoutEdge, type LayoutNode, type LayoutOptions, type Point } from './layered.js';
import { LayoutRunner, type LayoutJob } from './layoutRunner.js';
import { contains, Drawing, EXTENT_PREFIX, grow, hasClass, type Rect } from './drawing.js';
import { OverviewLayer } from './overviewLayer.js';
import type { Theme } from './theme.js';

cytoscape.use(dagre);

export interface GraphViewEvents {
  /** Pointer over a node or edge (null when it leaves). */
  hover(target: { kind: 'node' | 'edge'; id: string; x: number; y: number } | null): void;
  /** A weight of a group was clicked. */
  groupClicked(index: number): void;
  /** The drawing changed (expand/collapse); counts for the status line. */
  redrawn(info: { nodes: number; edges: number; layoutMs: number }): void;
  /** A big drawing's layout runs in the worker (the share of its nodes placed so far), or has ended (null). */
  layout?(state: LayoutState | null): void;
}

export interface LayoutState {
  nodes: number;
  fraction: number;
}

export interface RenderTimings {
  buildMs: number;
  layoutMs: number;
}

/** dagreCost() up to which dagre lays out: about 0.4 s here (0.25-0.45 ms per unit, measured on corpus and synthetic drawings). */
const DAGRE_BUDGET = 1200;

export type LayoutEngine = 'auto' | 'dagre' | 'layered';

/** Furthest out cytoscape zooms (a windowed drawing's overview may go further, to fit). */
const MIN_ZOOM = 0.03;
/** Below this zoom labels are unreadable, so the overview shows the top instead. */
const MIN_OVERVIEW_ZOOM = 0.45;
const READABLE_ZOOM = 0.9;

/** Most expanded name scopes drawn as boxes. */
const MAX_NAME_BOXES = 150;

/** Nodes past which the layout runs in the worker and, zoomed far out, the overview paints instead. */
const WINDOW_NODES = 2500;
/** Leaf nodes near the viewport past which the overview layer paints the drawing instead (zoomed far out). */
const WINDOW_BUDGET = 1200;
interface WindowPolicy {
  /** Leaf nodes near the viewport past which the overview layer paints the drawing instead (zoomed far out). */
  budget: number;
  /** Hold the far ends of links and fan-out edges that leave the window (see Drawing.windowOf). */
  farEnds: boolean;
}
/** A drawing past WINDOW_NODES. */
const BIG_WINDOW: WindowPolicy = { budget: WINDOW_BUDGET, farEnds: false };
/** One within it: never the overview (cytoscape may hold all of it), and what leads off screen is drawn. */
const SMALL_WINDOW: WindowPolicy = { budget: Infinity, farEnds: true };
/** Held beyond each side of the viewport, as a share of its size, so short pans need nothing new. */
const WINDOW_MARGIN = 0.5;
/** The layered layout's box metrics; a box's bounds in the drawing follow them. */
const BOX = { padding: 14, label: 16 };
const LAYERED: Partial<LayoutOptions> = { nodeSep: 22, rankSep: 36, boxPadding: BOX.padding, boxLabel: BOX.label };

/** Classes the view sets on drawn elements: what a redraw or a new window re-applies. */
interface Marks {
  focus: Set<string>;
  /** Drawn elements not in it are faded (null: nothing is). */
  context: Set<string> | null;
  selected: Set<string>;
  match: Set<string>;
  current: string | null;
  /** More classes by drawn id (the side-by-side view's diff marks). */
  tags: Map<string, string>;
}

const MARK_CLASSES = ['faded', 'focus', 'match', 'match-current'];

const noMarks = (tags: Map<string, string> = new Map()): Marks => ({ focus: new Set(), context: null, selected: new Set(), match: new Set(), current: null, tags });

/** How many nodes a large graph's first drawing opens scopes up to. */
const INITIAL_SCOPE_BUDGET = 220;

/** Largest zoom used when framing a few nodes, so they do not fill the screen. */
const MAX_FRAME_ZOOM = 1.25;
/** Below this zoom the 11 px labels are under 6 px: a group that far apart is framed around its first copy instead. */
const MIN_FRAME_ZOOM = 0.55;

/** The element a graph is drawn in: focusable, named, and driven from the keyboard once its view exists. */
export function graphContainer(id: string, fileName: string, view: () => GraphView | null): HTMLElement {
  const el = document.createElement('div');
  el.id = id;
  el.tabIndex = 0;
  el.setAttribute('aria-label', `Graph of ${fileName}: arrow keys pan, + and - zoom, 0 fits`);
  el.addEventListener('keydown', (e) => { if (view()?.handleKey(e)) e.preventDefault(); });
  return el;
}

/** The layout's view of element definitions: node sizes and boxes, and edges. */
function layoutInput(elements: readonly cytoscape.ElementDefinition[]): { nodes: LayoutNode[]; edges: LayoutEdge[] } {
  const nodes: LayoutNode[] = [];
  const edges: LayoutEdge[] = [];
  for (const d of elements) {
    if (d.group === 'edges') { edges.push({ source: String(d.data.source), target: String(d.data.target) }); continue; }
    const ln: LayoutNode = { id: d.data.id!, width: Number(d.data.w ?? 0), height: Number(d.data.h ?? 0) };
    if (d.data.parent !== undefined) ln.parent = String(d.data.parent);
    nodes.push(ln);
  }
  return { nodes, edges };
}

export class GraphView {
  readonly cy: cytoscape.Core;
  private expanded = new Set<string>();
  private nameBoxes = false;
  /** A group or tensors are selected (a tap on the background clears them). */
  private focused = false;
  /** Which layout to use; 'auto' picks by cost. */
  layoutEngine: LayoutEngine = 'auto';
  lastEngine: Exclude<LayoutEngine, 'auto'> = 'dagre';
  /** Everything drawn, laid out; cytoscape holds all of it, or a window of it when `windowing` is set. */
  private drawing: Drawing | null = null;
  /** The area whose elements cytoscape holds (windowed), null when nothing is held yet or the overview paints. */
  private held: Rect | null = null;
  private windowQueued = false;
  /** How the drawing on screen is windowed; null when cytoscape holds all of it (dagre). */
  private windowing: WindowPolicy | null = null;
  private readonly overviewLayer: OverviewLayer;
  private overviewShown = false;
  private overviewFrame = 0;
  private marks: Marks = noMarks();
  private readonly layouts = new LayoutRunner();
  /** A big drawing's layout in the worker; `done` says whether its drawing made it to the screen. */
  private pending: { job: LayoutJob; done: Promise<boolean> } | null = null;
  /** The scopes open in the drawing on screen (a cancelled layout returns to them). */
  private drawnExpanded = new Set<string>();
  private lastTimings: RenderTimings = { buildMs: 0, layoutMs: 0 };

  constructor(
    container: HTMLElement,
    readonly model: ViewModel,
    private theme: Theme,
    private readonly events: GraphViewEvents,
    /** Chosen once per view: cytoscape takes its renderer when it is created. */
    readonly renderer: RendererChoice = { webgl: false, why: 'canvas renderer' },
  ) {
    const large = model.items.size > LARGE_GRAPH_ITEMS;
    this.cy = cytoscape({
      container,
      style: buildStyle(theme, { webgl: renderer.webgl }),
      layout: { name: 'preset' },
      minZoom: MIN_ZOOM,
      maxZoom: 4,
      boxSelectionEnabled: false,
      selectionType: 'single',
      autoungrabify: true,
      // Large drawings pan smoothly only as a texture (the canvas renderer; WebGL redraws).
      textureOnViewport: large,
      hideEdgesOnViewport: large,
      ...(renderer.webgl ? webglOptions() : {}),
    });
    if (renderer.webgl) {
      completeWebgl(this.cy);
      setWebglBackground(this.cy, theme.background);
    } else dropUnusedWebglCanvas(container);
    this.overviewLayer = new OverviewLayer(container, theme);
    this.wireEvents();
  }

  /**
   * First drawing: everything for small graphs, a budget of scopes for large
   * ones, or the scopes `o.expanded` names (a restored view); and open the
   * scopes holding the `o.revealing` items, so that the group selected or
   * the items framed next find them drawn (one layout, not two: a
   * 50k-operator open spent 0.6 s on the second).
   */
  renderInitial(collapseThreshold: number, o: { expanded?: Iterable<string>; revealing?: string[] } = {}): RenderTimings {
    this.expanded = o.expanded
      ? new Set([...o.expanded].filter((s) => this.model.scopes.has(s)))
      : this.model.initialExpansion(collapseThreshold, INITIAL_SCOPE_BUDGET);
    for (const s of this.model.scopesToReveal(o.revealing ?? [])) this.expanded.add(s);
    // A module tree is its boxes (blocks, layers); a graph boxes its name scopes only when big.
    this.nameBoxes = this.model.payload.view === 'modules' || this.model.items.size > collapseThreshold;
    void this.redraw(() => this.overview());
    return this.lastTimings;
  }

  get expandedScopes(): ReadonlySet<string> {
    return this.expanded;
  }

  /*
   * What changes the drawing returns a promise of true once the drawing it
   * asked for is on screen: at once for small drawings; for big ones when
   * their layout is back from the worker. False when it was cancelled or
   * replaced by a later change (its framing is then skipped).
   */

  expand(scopeId: string): Promise<boolean> {
    if (this.expanded.has(scopeId)) return this.settled();
    this.expanded.add(scopeId);
    return this.redraw(() => {
      // A scope of hundreds of layers fits only as a sliver: then its first rows at a readable zoom.
      const kids = this.drawing?.children.get(scopeId) ?? [];
      let top: string | undefined;
      let topY = Infinity;
      for (const id of kids) {
        const r = this.drawing!.nodes.get(id)!.rect;
        if (r.y1 + r.y2 < topY) { topY = r.y1 + r.y2; top = id; }
      }
      this.frame([scopeId], top === undefined ? undefined : [top]);
    });
  }

  collapse(scopeId: string): Promise<boolean> {
    if (!this.expanded.delete(scopeId)) return this.settled();
    return this.redraw(() => this.frame([scopeId]));
  }

  expandAll(): Promise<boolean> {
    this.expanded = new Set([...this.model.scopes.keys()].filter((s) => s !== ''));
    return this.redraw(() => this.overview());
  }

  collapseAll(): Promise<boolean> {
    this.expanded = new Set();
    return this.redraw(() => this.overview());
  }

  /** Once the drawing asked for last is on screen (true), or was cancelled (false). */
  settled(): Promise<boolean> {
    return this.pending?.done ?? Promise.resolve(true);
  }

  get layingOut(): boolean {
    return this.pending !== null;
  }

  /** Stops a layout in the worker: the drawing and its open scopes stay as they are. True when one was running. */
  cancelLayout(): boolean {
    if (!this.pending) return false;
    this.pending.job.cancel();
    this.pending = null;
    this.expanded = new Set(this.drawnExpanded);
    this.events.layout?.(null);
    return true;
  }

  setTheme(theme: Theme): void {
    this.theme = theme;
    if (this.renderer.webgl) setWebglBackground(this.cy, theme.background);
    this.cy.style(buildStyle(theme, { webgl: this.renderer.webgl }));
    this.overviewLayer.setTheme(theme);
    if (this.overviewShown) this.paintOverview();
    this.lastHalo = 0;
    this.updateHalo();
  }

  fit(): void {
    const bb = this.drawing?.bounds;
    if (!bb || this.drawing!.nodes.size === 0) return;
    this.centre(bb, this.fitZoom(bb, 24));
  }

  /**
   * Fits the whole drawing when that leaves labels readable; a tall graph
   * instead starts at its top, at a readable zoom, like a document.
   */
  overview(): void {
    const cy = this.cy;
    const d = this.drawing;
    if (!d || d.nodes.size === 0) return;
    const pad = 24;
    const bb = d.bounds;
    // A handful of nodes would otherwise be blown up to poster size.
    const zoom = Math.min(this.fitZoom(bb, pad), MAX_FRAME_ZOOM);
    if (zoom >= MIN_OVERVIEW_ZOOM) {
      this.centre(bb, zoom);
      return;
    }
    const readable = READABLE_ZOOM;
    // Start where the data enters: centred on the topmost graph input, else on the drawing.
    // (Centred on all inputs, a mask laid out beside layer 0 left the view on empty space between them.)
    let first: Rect | undefined;
    for (const n of d.nodes.values()) {
      if (hasClass(n.classes, 'graph-input') && (!first || n.rect.y1 < first.y1 || (n.rect.y1 === first.y1 && n.rect.x1 < first.x1))) first = n.rect;
    }
    const cx = first ? (first.x1 + first.x2) / 2 : (bb.x1 + bb.x2) / 2;
    const left = Math.max(bb.x1 * readable - pad, Math.min(cx * readable - cy.width() / 2, bb.x2 * readable + pad - cy.width()));
    cy.viewport({ zoom: readable, pan: { x: -left, y: pad - bb.y1 * readable } });
    this.updateHalo();
  }

  zoomBy(factor: number): void {
    const c = this.cy;
    c.zoom({ level: c.zoom() * factor, renderedPosition: { x: c.width() / 2, y: c.height() / 2 } });
  }

  /**
   * The graph by keyboard, when it has focus: arrow keys pan (Shift: further),
   * + and - zoom, 0 fits. True when the key was one of these.
   */
  handleKey(e: KeyboardEvent): boolean {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    const step = e.shiftKey ? 240 : 60;
    const pans: Record<string, [number, number]> = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    const pan = pans[e.key];
    if (pan) this.cy.panBy({ x: pan[0], y: pan[1] });
    else if (e.key === '+' || e.key === '=') this.zoomBy(1.25);
    else if (e.key === '-' || e.key === '_') this.zoomBy(0.8);
    else if (e.key === '0') this.fit();
    else if (e.key !== 'Escape' || !this.cancelLayout()) return false;
    this.updateHalo();
    return true;
  }

  /** Pans a drawn node, held by cytoscape or not, to the middle of the view; false when it is not drawn. */
  centreOn(id: string): boolean {
    const bb = this.drawing?.rectOf([id]);
    if (!bb) return false;
    this.centre(bb, this.cy.zoom());
    return true;
  }

  /** The drawn element that stands for an item (itself, or the collapsed scope holding it). */
  drawnFor(itemId: string): string {
    return this.model.representative(itemId, this.expanded);
  }

  /** Selects a group's tensors and their readers, dims the rest, and frames them. */
  focusGroup(index: number | null): Promise<boolean> {
    const group = index === null ? undefined : this.model.payload.groups[index];
    if (!group) return this.clearFocus();
    // Far apart, the view stays readable around the first copy (what Apply drops); the dashed link leads to the kept one.
    return this.focusItems(group.tensorIds, group.consumerNodeIds, (classes) => hasClass(classes, 'shared') || hasClass(classes, 'group-link'), group.tensorIds[1]);
  }

  /**
   * Selects and frames a few tensors (two layers of a family, from the
   * Layers tab) and the nodes reading them; a tensor drawn inside its reader
   * (folded) selects that reader.
   */
  focusTensors(tensorIds: string[]): Promise<boolean> {
    if (tensorIds.length === 0) return this.clearFocus();
    const wanted = new Set(tensorIds);
    const readers = this.model.payload.tensors.filter((t) => wanted.has(t.id)).flatMap((t) => t.consumerIds ?? []);
    return this.focusItems(tensorIds, readers, () => true);
  }

  private clearFocus(): Promise<boolean> {
    this.setMarks({ focus: new Set(), context: null, selected: new Set() });
    this.focused = false;
    return Promise.resolve(true);
  }

  private focusItems(tensorIds: string[], readerIds: string[], keepEdge: (classes: string) => boolean, anchorTensor?: string): Promise<boolean> {
    const members = this.weightItems(tensorIds);
    return this.reveal(members, () => this.markFocus(members, readerIds, keepEdge, anchorTensor));
  }

  /** The weight items drawn for tensors. */
  weightItems(tensorIds: Iterable<string>): string[] {
    return [...tensorIds].flatMap((t) => this.model.weightOfTensor.get(t) ?? []);
  }

  private markFocus(members: string[], readerIds: string[], keepEdge: (classes: string) => boolean, anchorTensor?: string): void {
    const d = this.drawing!;
    const nodes = new Set<string>();
    for (const id of members) nodes.add(this.drawnFor(id));
    for (const id of readerIds) if (this.model.items.has(id)) nodes.add(this.drawnFor(id));
    for (const id of nodes) if (!d.nodes.has(id)) nodes.delete(id);
    const focus = new Set(nodes);
    for (const e of d.edges) if (nodes.has(e.source) && nodes.has(e.target) && keepEdge(e.classes)) focus.add(e.id);
    const context = new Set(focus);
    for (const id of nodes) for (const a of d.ancestors(id)) context.add(a);
    this.focused = true;
    this.setMarks({ focus, context, selected: nodes });
    const anchor = anchorTensor === undefined ? undefined : this.model.weightOfTensor.get(anchorTensor);
    this.frame(nodes, anchor === undefined ? undefined : [this.drawnFor(anchor)]);
  }

  /** Opens the scopes holding items and frames them (the side-by-side view's first look at what changed). */
  frameItems(itemIds: string[]): Promise<boolean> {
    return this.reveal(itemIds, () => this.frame(itemIds.map((id) => this.drawnFor(id))));
  }

  /** Draws items as themselves, then runs `then` on that drawing. */
  private reveal(itemIds: string[], then: () => void): Promise<boolean> {
    const needed = this.model.scopesToReveal(itemIds).filter((s) => !this.expanded.has(s));
    for (const s of needed) this.expanded.add(s);
    if (needed.length > 0) return this.redraw(then);
    // Already open, perhaps in a drawing still being laid out: `then` waits for it.
    const pending = this.pending;
    if (!pending) { then(); return Promise.resolve(true); }
    return pending.done.then((drawn) => { if (drawn) then(); return drawn; });
  }

  /** Highlights search hits; the current one is revealed, selected and centred. */
  showMatches(itemIds: string[], current: number): Promise<boolean> {
    if (itemIds.length === 0) { this.clearMatches(); return Promise.resolve(true); }
    const target = itemIds[current]!;
    return this.reveal([target], () => {
      this.setMarks({ match: new Set(itemIds.map((id) => this.drawnFor(id))), current: target, selected: new Set([target]) });
      const r = this.drawing?.rectOf([target]);
      if (!r) return;
      const zoom = Math.max(this.cy.zoom(), 0.9);
      // Typing moves from hit to hit: the last one wins, not a queue of pans.
      this.cy.stop(true, false);
      this.cy.animate({ zoom, pan: this.panToCentre(r, zoom) }, { duration: 150 });
    });
  }

  clearMatches(): void {
    this.setMarks({ match: new Set(), current: null });
  }

  /** Extra classes on drawn elements, by drawn id, kept when they are drawn again (replaces the last set). */
  tag(tags: Map<string, string>): void {
    this.setMarks({ tags });
  }

  /** Visible counts, for tests and the status line. */
  counts(): Record<string, number> {
    const cy = this.cy;
    return {
      nodes: cy.nodes().not('.extent').length,
      edges: cy.edges().length,
      operators: cy.nodes('.op').length,
      weights: cy.nodes('.weight').length,
      grouped: cy.nodes('.grouped').length,
      sharedEdges: cy.edges('.shared').length,
      groupLinks: cy.edges('.group-link').length,
      scopes: cy.nodes('.scope').length,
      boxes: cy.nodes('.box').length,
      selected: cy.nodes(':selected').length,
      drawingNodes: this.drawing?.nodes.size ?? 0,
      drawingEdges: this.drawing?.edges.length ?? 0,
      drawingOperators: this.drawing?.countWithClass('op') ?? 0,
      drawingScopes: this.drawing?.countWithClass('scope') ?? 0,
      windowed: this.windowing ? 1 : 0,
      overview: this.overviewShown ? 1 : 0,
      webgl: this.renderer.webgl ? 1 : 0,
    };
  }

  destroy(): void {
    this.pending?.job.cancel();
    this.pending = null;
    this.layouts.dispose();
    cancelAnimationFrame(this.overviewFrame);
    this.overviewLayer.canvas.remove();
    this.cy.destroy();
  }

  /**
   * Draws what `expanded` makes visible, then runs `then` on that drawing.
   * Past WINDOW_NODES the layout runs in the worker: the drawing on screen
   * stays, and stays interactive, until it is back. A later redraw replaces
   * one still laid out (its `then` never runs).
   */
  private redraw(then?: () => void): Promise<boolean> {
    if (this.pending) {
      this.pending.job.cancel();
      this.pending = null;
      this.events.layout?.(null);
    }
    const t0 = performance.now();
    const expanded = new Set(this.expanded);
    // Hundreds of nested boxes cost cytoscape quadratic style work (every
    // change dirties all descendants): past a limit, scopes are not boxed.
    const graph = this.model.visible(expanded, this.nameBoxes && expanded.size <= MAX_NAME_BOXES);
    const elements = buildElements(this.model, graph, fontsFor(this.theme.fontFamily));
    const all = new Set(graph.nodes.map((n) => n.id));
    const links = () => buildGroupLinks(this.model, all, (id) => this.model.representative(id, expanded));
    const { nodes, edges } = layoutInput(elements);
    const t1 = performance.now();
    if (graph.nodes.length > WINDOW_NODES) {
      const job = this.layouts.run(nodes, edges, LAYERED, (fraction) => this.events.layout?.({ nodes: nodes.length, fraction }));
      this.events.layout?.({ nodes: nodes.length, fraction: 0 });
      const done = job.result.then((positions) => {
        if (!positions || this.pending?.job !== job) return false; // cancelled or replaced
        this.pending = null;
        this.events.layout?.(null);
        this.placeWindowed([...elements, ...links()], positions, BIG_WINDOW);
        this.drawn(expanded, { buildMs: t1 - t0, layoutMs: performance.now() - t1 });
        then?.();
        return true;
      }, (err: unknown) => {
        if (this.pending?.job === job) {
          this.pending = null;
          this.expanded = new Set(this.drawnExpanded);
          this.events.layout?.(null);
        }
        throw err;
      });
      this.pending = { job, done };
      return done;
    }
    if (this.engineFor(nodes, edges) === 'layered') {
      this.placeWindowed([...elements, ...links()], layeredLayout(nodes, edges, LAYERED), SMALL_WINDOW);
    } else this.placeWithDagre(elements, links);
    this.drawn(expanded, { buildMs: t1 - t0, layoutMs: performance.now() - t1 });
    then?.();
    return Promise.resolve(true);
  }

  /**
   * dagre (network-simplex) when affordable: it routes long edges around
   * nodes. Otherwise the fast layered layout (layered.ts), whose cost does
   * not grow with edge length.
   */
  private engineFor(nodes: LayoutNode[], edges: LayoutEdge[]): Exclude<LayoutEngine, 'auto'> {
    const choice = this.layoutEngine;
    return choice === 'auto' ? (dagreCost(nodes, edges) <= DAGRE_BUDGET ? 'dagre' : 'layered') : choice;
  }

  /**
   * Puts a laid-out drawing in place of the one on screen. Cytoscape holds
   * the part near the viewport, from when the current task is done (after
   * any framing it does): it styles and paints all it holds, and after an
   * expand that framed one layer, it held 583 elements to show 13 nodes
   * (150-210 ms a frame at 10k operators).
   */
  private placeWindowed(defs: cytoscape.ElementDefinition[], positions: ReadonlyMap<string, Point>, policy: WindowPolicy): void {
    const cy = this.cy;
    // What a focus or a search marked is redrawn unmarked, as a fresh drawing would be.
    this.marks = noMarks(this.marks.tags);
    cy.batch(() => cy.elements().remove());
    this.drawing = new Drawing(defs, (id) => positions.get(id), BOX);
    // The overview paints at any zoom: Fit may show all of it.
    const b = this.drawing.bounds;
    cy.minZoom(Math.min(MIN_ZOOM, 0.9 * Math.min(cy.width() / (b.x2 - b.x1 + 1), cy.height() / (b.y2 - b.y1 + 1))));
    this.drawnKeys = new Map();
    this.lastEngine = 'layered';
    this.windowing = policy;
    this.held = null;
    this.queueWindow();
  }

  /**
   * Lays out with dagre, which moves what cytoscape holds: all of the
   * drawing. Only what is drawn differently is replaced (an expand changes
   * a few elements; rebuilding all restyled every one: 300 ms for 2 more
   * nodes at 10k operators). Removing a box or a node takes its contents and
   * edges with it; they are added back from `elements`.
   */
  private placeWithDagre(elements: cytoscape.ElementDefinition[], links: () => cytoscape.ElementDefinition[]): void {
    const cy = this.cy;
    this.marks = noMarks(this.marks.tags);
    const keys = new Map(elements.map((d) => [d.data.id!, JSON.stringify([d.data, d.classes])]));
    cy.batch(() => {
      cy.elements().filter((e) => { const key = keys.get(e.id()); return key === undefined || key !== this.drawnKeys.get(e.id()); }).remove();
      cy.add(elements.filter((d) => cy.getElementById(d.data.id!).empty()));
    });
    this.drawnKeys = keys;
    this.windowing = null;
    cy.minZoom(MIN_ZOOM);
    this.showOverview(false);
    this.lastEngine = 'dagre';
    cy.layout({
      name: 'dagre', rankDir: 'TB', nodeSep: 22, rankSep: 34, edgeSep: 8, ranker: 'network-simplex', fit: false, animate: false,
    } as cytoscape.LayoutOptions).run();
    const groupLinks = links();
    cy.add(groupLinks);
    this.drawing = new Drawing([...elements, ...groupLinks], (id) => { const n = cy.getElementById(id); return n.nonempty() ? n.position() : undefined; }, BOX);
    this.applyMarks(cy.elements());
  }

  /** A new drawing is in place. */
  private drawn(expanded: Set<string>, timings: RenderTimings): void {
    this.drawnExpanded = expanded;
    this.lastTimings = timings;
    this.lastHalo = 0;
    this.updateHalo();
    this.events.redrawn({ nodes: this.drawing!.nodes.size, edges: this.drawing!.edges.length, layoutMs: timings.layoutMs });
  }

  /** Updates what a windowed drawing holds once the current task is done (after any framing it does). */
  private queueWindow(): void {
    if (!this.windowing || this.windowQueued) return;
    this.windowQueued = true;
    queueMicrotask(() => {
      this.windowQueued = false;
      this.updateWindow();
    });
  }

  /**
   * Holds in cytoscape what lies in and around the viewport; zoomed out so
   * far that this would be too much, paints the overview layer instead.
   */
  private updateWindow(): void {
    const d = this.drawing;
    const policy = this.windowing;
    if (!policy || !d) return;
    const e = this.cy.extent();
    const view: Rect = { x1: e.x1, y1: e.y1, x2: e.x2, y2: e.y2 };
    if (this.held && contains(this.held, view)) return;
    const area = grow(view, e.w * WINDOW_MARGIN, e.h * WINDOW_MARGIN);
    const meeting = d.leavesMeeting(area);
    if (meeting.size > policy.budget) {
      if (this.cy.elements().nonempty()) this.cy.batch(() => this.cy.elements().remove());
      this.held = null;
      this.showOverview(true);
      return;
    }
    this.showOverview(false);
    const win = d.windowOf(area, meeting, policy.farEnds);
    const cy = this.cy;
    const keep = (id: string) => (id.startsWith(EXTENT_PREFIX) ? win.nodes.has(id.slice(EXTENT_PREFIX.length, id.lastIndexOf(':'))) : win.nodes.has(id) || win.edges.has(id));
    cy.batch(() => {
      cy.elements().filter((el) => !keep(el.id())).remove();
      const adding: cytoscape.ElementDefinition[] = [];
      for (const id of win.nodes) {
        if (cy.getElementById(id).nonempty()) continue;
        const n = d.nodes.get(id)!;
        adding.push(n.def);
        if (n.inner) adding.push(...d.extentsOf(id));
      }
      for (const edge of d.edges) if (win.edges.has(edge.id) && cy.getElementById(edge.id).empty()) adding.push(edge.def);
      if (adding.length > 0) this.applyMarks(cy.add(adding));
    });
    this.held = area;
    this.lastHalo = 0;
    this.updateHalo();
  }

  private showOverview(on: boolean): void {
    if (on) this.paintOverview();
    else if (this.overviewShown) this.overviewLayer.clear();
    this.overviewShown = on;
  }

  /** Paints the overview at the next frame (viewport events come faster than frames). */
  private paintOverview(): void {
    if (this.overviewFrame) return;
    this.overviewFrame = requestAnimationFrame(() => {
      this.overviewFrame = 0;
      if (!this.overviewShown || !this.drawing) return;
      const cy = this.cy;
      this.overviewLayer.draw(this.drawing, { zoom: cy.zoom(), pan: cy.pan(), width: cy.width(), height: cy.height() });
    });
  }

  private setMarks(change: Partial<Marks>): void {
    Object.assign(this.marks, change);
    this.applyMarks(this.cy.elements());
  }

  /** Every class a tag has set, to clear them when the tags change. */
  private taggedClasses = new Set<string>();

  /**
   * Gives `eles` the mark classes and selection the marks say, touching
   * only those that differ: cytoscape restyles every element a class call
   * reaches, changed or not (all 580 of a drawing for an expand that added 2).
   */
  private applyMarks(eles: cytoscape.CollectionReturnValue): void {
    const m = this.marks;
    for (const cls of m.tags.values()) for (const c of cls.split(' ')) this.taggedClasses.add(c);
    const tagged = [...this.taggedClasses];
    this.cy.batch(() => {
      eles.forEach((el) => {
        const id = el.id();
        const tags = m.tags.get(id)?.split(' ');
        const want = (cls: string) => {
          switch (cls) {
            case 'faded': return m.context !== null && !m.context.has(id);
            case 'focus': return m.focus.has(id);
            case 'match': return m.match.has(id);
            case 'match-current': return m.current === id;
            default: return tags?.includes(cls) ?? false;
          }
        };
        for (const cls of MARK_CLASSES.concat(tagged)) {
          const on = want(cls);
          if (on !== el.hasClass(cls)) el.toggleClass(cls, on);
        }
        if (m.selected.has(id) !== el.selected()) { if (m.selected.has(id)) el.select(); else el.unselect(); }
      });
    });
  }

  /**
   * Keeps the halo around shared weights and the width of their edges about
   * constant on screen, so a group stays visible when zoomed far out.
   */
  private updateHalo(): void {
    const z = this.cy.zoom();
    const halo = Math.round(Math.max(6, 9 / z));
    if (halo === this.lastHalo) return;
    this.lastHalo = halo;
    // Data on the few highlighted elements, not a stylesheet update: that
    // would restyle every element (measured: most of a 1 s first paint).
    const cy = this.cy;
    cy.batch(() => {
      cy.elements('node.grouped, node.scope.has-groups').data('halo', halo);
      cy.elements('edge.shared, edge.group-link').data('hw', Math.max(3, 2.5 / z));
    });
  }

  private lastHalo = 0;
  /** What each drawn element was built from (data and classes), to redraw only what changed. */
  private drawnKeys = new Map<string, string>();

  /**
   * Fits the drawn nodes `ids` in view, never closer than MAX_FRAME_ZOOM;
   * when fitting them all would make labels unreadable (below
   * MIN_FRAME_ZOOM), shows `anchor` and what is near it at a readable zoom
   * instead.
   */
  private frame(ids: Iterable<string>, anchor?: Iterable<string>): void {
    const bb = this.drawing?.rectOf(ids);
    if (!bb) return;
    const zoom = Math.min(this.fitZoom(bb, 60), MAX_FRAME_ZOOM);
    const ab = anchor === undefined ? undefined : this.drawing!.rectOf(anchor);
    if (zoom < MIN_FRAME_ZOOM && ab) this.centre(ab, MIN_FRAME_ZOOM);
    else this.centre(bb, zoom);
    this.updateHalo();
  }

  /** The zoom that fits `bb` with `pad` pixels around it, within the view's limits. */
  private fitZoom(bb: Rect, pad: number): number {
    const cy = this.cy;
    const fit = Math.min((cy.width() - 2 * pad) / Math.max(1, bb.x2 - bb.x1), (cy.height() - 2 * pad) / Math.max(1, bb.y2 - bb.y1));
    return Math.max(cy.minZoom(), Math.min(cy.maxZoom(), fit));
  }

  private centre(bb: Rect, zoom: number): void {
    this.cy.viewport({ zoom, pan: this.panToCentre(bb, zoom) });
  }

  private panToCentre(bb: Rect, zoom: number): { x: number; y: number } {
    const cy = this.cy;
    return { x: (cy.width() - zoom * (bb.x1 + bb.x2)) / 2, y: (cy.height() - zoom * (bb.y1 + bb.y2)) / 2 };
  }

  private wireEvents(): void {
    const cy = this.cy;
    cy.on('mouseover', 'node, edge', (e) => {
      const p = e.renderedPosition ?? { x: 0, y: 0 };
      this.events.hover({ kind: e.target.isNode() ? 'node' : 'edge', id: e.target.id(), x: p.x, y: p.y });
    });
    cy.on('mousemove', 'node, edge', (e) => {
      const p = e.renderedPosition ?? { x: 0, y: 0 };
      this.events.hover({ kind: e.target.isNode() ? 'node' : 'edge', id: e.target.id(), x: p.x, y: p.y });
    });
    cy.on('mouseout', 'node, edge', () => this.events.hover(null));
    cy.on('pan zoom', () => this.events.hover(null));
    cy.on('zoom', () => this.updateHalo());
    cy.on('viewport resize', () => {
      this.queueWindow();
      if (this.overviewShown) this.paintOverview();
    });
    cy.on('tap', 'node.scope', (e) => this.expand(e.target.id()));
    cy.on('dbltap', 'node.box', (e) => {
      if (e.target.hasClass('box')) this.collapse(e.target.id());
    });
    cy.on('tap', 'node.grouped', (e) => this.events.groupClicked(Number(e.target.data('g'))));
    cy.on('tap', (e) => {
      if (e.target !== cy) return;
      // The overview is a picture, a pixel of it hundreds of nodes wide: a
      // click goes to the node nearest it, at a zoom that can be read and clicked.
      if (this.overviewShown) {
        const near = this.drawing?.nearestLeaf(e.position);
        if (near) this.centre(near.rect, READABLE_ZOOM);
      } else if (this.focused) this.clearFocus();
    });
  }
}
