// Owns the cytoscape instance: draws what the view model says is visible,
// lays it out (dagre, top to bottom), expands and collapses scopes, selects
// and frames sharing groups and search hits, and follows theme changes.
import cytoscape from 'cytoscape';
import dagre from 'cytoscape-dagre';
import { ViewModel } from './viewModel.js';
import { buildElements, buildGroupLinks, fontsFor } from './elements.js';
import { buildStyle } from './style.js';
import { dagreCost, layeredLayout, type LayoutEdge, type LayoutNode } from './layered.js';
import type { Theme } from './theme.js';

cytoscape.use(dagre);

export interface GraphViewEvents {
  /** Pointer over a node or edge (null when it leaves). */
  hover(target: { kind: 'node' | 'edge'; id: string; x: number; y: number } | null): void;
  /** A weight of a group was clicked. */
  groupClicked(index: number): void;
  /** The drawing changed (expand/collapse); counts for the status line. */
  redrawn(info: { nodes: number; edges: number; layoutMs: number }): void;
}

export interface RenderTimings {
  buildMs: number;
  layoutMs: number;
}

/** dagreCost() up to which dagre lays out (about half a second here). */
const DAGRE_BUDGET = 1200;

export type LayoutEngine = 'auto' | 'dagre' | 'layered';

/** Below this zoom labels are unreadable, so the overview shows the top instead. */
const MIN_OVERVIEW_ZOOM = 0.45;
const READABLE_ZOOM = 0.9;

/** Most expanded name scopes drawn as boxes. */
const MAX_NAME_BOXES = 150;

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

export class GraphView {
  readonly cy: cytoscape.Core;
  private expanded = new Set<string>();
  private nameBoxes = false;
  /** A group or tensors are selected (a tap on the background clears them). */
  private focused = false;
  /** Which layout to use; 'auto' picks by cost. */
  layoutEngine: LayoutEngine = 'auto';
  lastEngine: Exclude<LayoutEngine, 'auto'> = 'dagre';

  constructor(
    container: HTMLElement,
    readonly model: ViewModel,
    private theme: Theme,
    private readonly events: GraphViewEvents,
  ) {
    this.cy = cytoscape({
      container,
      style: buildStyle(theme),
      layout: { name: 'preset' },
      minZoom: 0.03,
      maxZoom: 4,
      boxSelectionEnabled: false,
      selectionType: 'single',
      autoungrabify: true,
      // Large drawings pan smoothly only as a texture.
      textureOnViewport: model.items.size > 1500,
      hideEdgesOnViewport: model.items.size > 1500,
    });
    this.wireEvents();
  }

  /** First drawing: everything for small graphs, a budget of scopes for large ones. */
  renderInitial(collapseThreshold: number, budget = 220): RenderTimings {
    this.expanded = this.model.initialExpansion(collapseThreshold, budget);
    // A module tree is its boxes (blocks, layers); a graph boxes its name scopes only when big.
    this.nameBoxes = this.model.payload.view === 'modules' || this.model.items.size > collapseThreshold;
    const timings = this.redraw();
    this.overview();
    return timings;
  }

  get expandedScopes(): ReadonlySet<string> {
    return this.expanded;
  }

  setExpanded(scopes: Iterable<string>): void {
    this.expanded = new Set([...scopes].filter((s) => this.model.scopes.has(s)));
    this.redraw();
  }

  expand(scopeId: string): void {
    if (this.expanded.has(scopeId)) return;
    this.expanded.add(scopeId);
    this.redraw();
    const box = this.cy.getElementById(scopeId);
    // A scope of hundreds of layers fits only as a sliver: then its first rows at a readable zoom.
    const children = box.children();
    const top = children.min((n) => n.position('y')).ele;
    this.frame(box, top ? children.filter((n) => n.same(top)) : undefined);
  }

  collapse(scopeId: string): void {
    if (!this.expanded.delete(scopeId)) return;
    this.redraw();
    this.frame(this.cy.getElementById(scopeId));
  }

  expandAll(): void {
    this.expanded = new Set([...this.model.scopes.keys()].filter((s) => s !== ''));
    this.redraw();
    this.overview();
  }

  collapseAll(): void {
    this.expanded = new Set();
    this.redraw();
    this.overview();
  }

  setTheme(theme: Theme): void {
    this.theme = theme;
    this.cy.style(buildStyle(theme));
    this.lastHalo = 0;
    this.updateHalo();
  }

  fit(): void {
    if (this.cy.nodes().empty()) return;
    const bb = this.boxOf(this.cy.nodes());
    this.centre(bb, this.fitZoom(bb, 24));
  }

  /**
   * Fits the whole drawing when that leaves labels readable; a tall graph
   * instead starts at its top, at a readable zoom, like a document.
   */
  overview(): void {
    const cy = this.cy;
    if (cy.nodes().empty()) return;
    const pad = 24;
    const bb = this.boxOf(cy.nodes());
    // A handful of nodes would otherwise be blown up to poster size.
    const zoom = Math.min(this.fitZoom(bb, pad), MAX_FRAME_ZOOM);
    if (zoom >= MIN_OVERVIEW_ZOOM) {
      this.centre(bb, zoom);
      return;
    }
    const readable = READABLE_ZOOM;
    // Start where the data enters: centred on the graph inputs, else on the drawing.
    const inputs = cy.nodes('.graph-input');
    const ib = inputs.nonempty() ? this.boxOf(inputs) : undefined;
    const cx = ib ? ib.x1 + ib.w / 2 : (bb.x1 + bb.x2) / 2;
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
    else return false;
    this.updateHalo();
    return true;
  }

  /** The drawn element that stands for an item (itself, or the collapsed scope holding it). */
  drawnFor(itemId: string): string {
    return this.model.representative(itemId, this.expanded);
  }

  /** Selects a group's tensors and their readers, dims the rest, and frames them. */
  focusGroup(index: number | null): void {
    const group = index === null ? undefined : this.model.payload.groups[index];
    if (!group) { this.clearFocus(); return; }
    // Far apart, the view stays readable around the first copy (what Apply drops); the dashed link leads to the kept one.
    this.focusItems(group.tensorIds, group.consumerNodeIds, (e) => e.hasClass('shared') || e.hasClass('group-link'), group.tensorIds[1]);
  }

  /**
   * Selects and frames a few tensors (two layers of a family, from the
   * Layers tab) and the nodes reading them; a tensor drawn inside its reader
   * (folded) selects that reader.
   */
  focusTensors(tensorIds: string[]): void {
    if (tensorIds.length === 0) { this.clearFocus(); return; }
    const wanted = new Set(tensorIds);
    const readers = this.model.payload.tensors.filter((t) => wanted.has(t.id)).flatMap((t) => t.consumerIds ?? []);
    this.focusItems(tensorIds, readers, () => true);
  }

  private clearFocus(): void {
    this.cy.elements().removeClass('focus faded');
    this.cy.elements().unselect();
    this.focused = false;
  }

  private focusItems(tensorIds: string[], readerIds: string[], keepEdge: (e: cytoscape.EdgeSingular) => boolean, anchorTensor?: string): void {
    const cy = this.cy;
    this.clearFocus();
    this.focused = true;
    const members = tensorIds.map((t) => this.model.weightOfTensor.get(t)).filter((id): id is string => id !== undefined);
    this.reveal(members);
    const ids = new Set<string>();
    for (const id of members) ids.add(this.drawnFor(id));
    for (const id of readerIds) if (this.model.items.has(id)) ids.add(this.drawnFor(id));
    let focus = cy.collection();
    for (const id of ids) focus = focus.union(cy.getElementById(id));
    focus = focus.union(focus.edgesWith(focus).filter(keepEdge));
    const context = focus.union(focus.ancestors());
    cy.elements().not(context).addClass('faded');
    focus.addClass('focus');
    focus.nodes().select();
    const anchor = anchorTensor === undefined ? undefined : this.model.weightOfTensor.get(anchorTensor);
    this.frame(focus, anchor === undefined ? undefined : cy.getElementById(this.drawnFor(anchor)));
  }

  /** Opens the scopes holding items and frames them (the side-by-side view's first look at what changed). */
  frameItems(itemIds: string[]): void {
    this.reveal(itemIds);
    let eles = this.cy.collection();
    for (const id of itemIds) eles = eles.union(this.cy.getElementById(this.drawnFor(id)));
    if (eles.nonempty()) this.frame(eles);
  }

  /** Makes items drawn as themselves; true when the drawing changed. */
  reveal(itemIds: string[]): boolean {
    const needed = this.model.scopesToReveal(itemIds).filter((s) => !this.expanded.has(s));
    if (needed.length === 0) return false;
    for (const s of needed) this.expanded.add(s);
    this.redraw();
    return true;
  }

  /** Highlights search hits; the current one is revealed, selected and centred. */
  showMatches(itemIds: string[], current: number): void {
    const cy = this.cy;
    cy.elements().removeClass('match match-current');
    if (itemIds.length === 0) return;
    const target = itemIds[current];
    this.reveal([target]);
    for (const id of itemIds) cy.getElementById(this.drawnFor(id)).addClass('match');
    const el = cy.getElementById(target);
    el.addClass('match-current');
    cy.elements().unselect();
    el.select();
    cy.animate({ center: { eles: el }, zoom: Math.max(cy.zoom(), 0.9) }, { duration: 150 });
  }

  clearMatches(): void {
    this.cy.elements().removeClass('match match-current');
  }

  /** Visible counts, for tests and the status line. */
  counts(): Record<string, number> {
    const cy = this.cy;
    return {
      nodes: cy.nodes().length,
      edges: cy.edges().length,
      operators: cy.nodes('.op').length,
      weights: cy.nodes('.weight').length,
      grouped: cy.nodes('.grouped').length,
      sharedEdges: cy.edges('.shared').length,
      groupLinks: cy.edges('.group-link').length,
      scopes: cy.nodes('.scope').length,
      boxes: cy.nodes('.box').length,
      selected: cy.nodes(':selected').length,
    };
  }

  destroy(): void {
    this.cy.destroy();
  }

  private redraw(): RenderTimings {
    const cy = this.cy;
    const t0 = performance.now();
    // Hundreds of nested boxes cost cytoscape quadratic style work (every
    // change dirties all descendants): past a limit, scopes are not boxed.
    const graph = this.model.visible(this.expanded, this.nameBoxes && this.expanded.size <= MAX_NAME_BOXES);
    const elements = buildElements(this.model, graph, fontsFor(this.theme.fontFamily));
    // Only what is drawn differently is replaced (an expand changes a few
    // elements; rebuilding all restyled every one: 300 ms for 2 more nodes at
    // 10k operators). Removing a box or a node takes its contents and edges
    // with it; they are added back from `elements`.
    const keys = new Map(elements.map((d) => [d.data.id!, JSON.stringify([d.data, d.classes])]));
    cy.batch(() => {
      cy.elements().filter((e) => { const key = keys.get(e.id()); return key === undefined || key !== this.drawnKeys.get(e.id()); }).remove();
      cy.add(elements.filter((d) => cy.getElementById(d.data.id!).empty()));
      // What a focus or a search marked is redrawn unmarked, as a fresh drawing would be.
      cy.elements().removeClass('focus faded match match-current').unselect();
    });
    this.drawnKeys = keys;
    const t1 = performance.now();
    this.runLayout();
    const drawn = new Set(cy.nodes().map((n) => n.id()));
    cy.add(buildGroupLinks(this.model, drawn, (id) => this.drawnFor(id)));
    this.lastHalo = 0;
    this.updateHalo();
    const t2 = performance.now();
    this.events.redrawn({ nodes: cy.nodes().length, edges: cy.edges().length, layoutMs: t2 - t1 });
    return { buildMs: t1 - t0, layoutMs: t2 - t1 };
  }

  /**
   * dagre (network-simplex) when affordable: it routes long edges around
   * nodes. Otherwise the fast layered layout (layered.ts), whose cost does
   * not grow with edge length.
   */
  private runLayout(): void {
    const cy = this.cy;
    const nodes: LayoutNode[] = cy.nodes().map((n) => {
      const parent = n.data('parent') as string | undefined;
      const ln: LayoutNode = { id: n.id(), width: Number(n.data('w') ?? 0), height: Number(n.data('h') ?? 0) };
      if (parent !== undefined) ln.parent = parent;
      return ln;
    });
    const edges: LayoutEdge[] = cy.edges().map((e) => ({ source: e.source().id(), target: e.target().id() }));
    const engine = this.layoutEngine === 'auto' ? (dagreCost(nodes, edges) <= DAGRE_BUDGET ? 'dagre' : 'layered') : this.layoutEngine;
    this.lastEngine = engine;
    if (engine === 'dagre') {
      cy.layout({
        name: 'dagre', rankDir: 'TB', nodeSep: 22, rankSep: 34, edgeSep: 8, ranker: 'network-simplex', fit: false, animate: false,
      } as cytoscape.LayoutOptions).run();
      return;
    }
    const positions = layeredLayout(nodes, edges, { nodeSep: 22, rankSep: 36, boxPadding: 14, boxLabel: 16 });
    // One preset layout sets every position in a single pass (per-node
    // position() calls re-fit compound parents each time: seconds for 7,000 nodes).
    cy.nodes().filter((n) => positions.has(n.id())).layout({
      name: 'preset', fit: false, animate: false,
      positions: (n: cytoscape.NodeSingular) => positions.get(n.id())!,
    } as cytoscape.LayoutOptions).run();
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
   * Fits `eles` in view, never closer than MAX_FRAME_ZOOM; when fitting them
   * all would make labels unreadable (below MIN_FRAME_ZOOM), shows `anchor`
   * and what is near it at a readable zoom instead.
   */
  private frame(eles: cytoscape.CollectionReturnValue | cytoscape.CollectionArgument, anchor?: cytoscape.CollectionReturnValue): void {
    if (eles.length === 0) return;
    const bb = this.boxOf(eles);
    const zoom = Math.min(this.fitZoom(bb, 60), MAX_FRAME_ZOOM);
    if (zoom < MIN_FRAME_ZOOM && anchor && anchor.nonempty()) this.centre(this.boxOf(anchor), MIN_FRAME_ZOOM);
    else this.centre(bb, zoom);
    this.updateHalo();
  }

  /**
   * The node boxes of `eles`, measured without labels (they sit inside the
   * boxes): cy.fit's full bounding box walks every label and edge path, 5.7 s
   * of expanding all 26k nodes of a 20k-operator graph.
   */
  private boxOf(eles: cytoscape.CollectionReturnValue | cytoscape.CollectionArgument): cytoscape.BoundingBox12 & cytoscape.BoundingBoxWH {
    const all = this.cy.collection().union(eles);
    const nodes = all.nodes();
    return nodes.nonempty() ? nodes.boundingBox({ includeLabels: false, includeOverlays: false }) : all.boundingBox();
  }

  /** The zoom that fits `bb` with `pad` pixels around it, within the view's limits. */
  private fitZoom(bb: cytoscape.BoundingBoxWH, pad: number): number {
    const cy = this.cy;
    const fit = Math.min((cy.width() - 2 * pad) / Math.max(1, bb.w), (cy.height() - 2 * pad) / Math.max(1, bb.h));
    return Math.max(cy.minZoom(), Math.min(cy.maxZoom(), fit));
  }

  private centre(bb: cytoscape.BoundingBox12, zoom: number): void {
    const cy = this.cy;
    cy.viewport({ zoom, pan: { x: (cy.width() - zoom * (bb.x1 + bb.x2)) / 2, y: (cy.height() - zoom * (bb.y1 + bb.y2)) / 2 } });
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
    cy.on('tap', 'node.scope', (e) => this.expand(e.target.id()));
    cy.on('dbltap', 'node.box', (e) => {
      if (e.target.hasClass('box')) this.collapse(e.target.id());
    });
    cy.on('tap', 'node.grouped', (e) => this.events.groupClicked(Number(e.target.data('g'))));
    cy.on('tap', (e) => {
      if (e.target === cy && this.focused) this.clearFocus();
    });
  }
}
