// The cytoscape stylesheet, rebuilt from the theme whenever it changes.
// Operators: muted family fills. Weights: small outlined boxes. Members of a
// sharing group: filled with the group's colour, with a halo, and their
// edges drawn thick in the same colour, so one weight read by many nodes, or
// two copies of one weight, look like one thing.
import type cytoscape from 'cytoscape';
import { FAMILIES } from './families.js';
import { familyColors, groupColor, mix, textOn } from './colors.js';
import { FONT_SIZE } from './elements.js';
import type { Theme } from './theme.js';

type Block = cytoscape.StylesheetJsonBlock;

/**
 * `webgl`: cytoscape's WebGL renderer draws every line solid and draws a
 * node with a dashed border as a texture, which at a scope box's size loses
 * the border. There, what a dash tells apart is told by translucency (a
 * group's link, a subgraph's body edges) and boxes get a solid outline.
 */
export function buildStyle(theme: Theme, options: { webgl?: boolean } = {}): cytoscape.StylesheetJson {
  const fam = familyColors(theme);
  const hc = theme.contrastBorder !== null;
  const light = theme.kind === 'light' || theme.kind === 'high-contrast-light';
  const diff = light ? { added: '#2f7d32', changed: '#895503', removed: '#ad0707' } : { added: '#81b88b', changed: '#e2c08d', removed: '#f14c4c' };
  const g = (ele: cytoscape.SingularElementArgument) => groupColor(Number(ele.data('g') ?? 0), theme);
  const gText = (ele: cytoscape.SingularElementArgument) => textOn(g(ele));
  const blocks: Block[] = [
    {
      selector: 'node',
      style: {
        'font-family': theme.fontFamily,
        'font-size': FONT_SIZE.small,
        color: theme.foreground,
        'text-valign': 'center',
        'text-halign': 'center',
        'text-wrap': 'wrap',
        'text-max-width': '1000px',
        label: 'data(label)',
        shape: 'round-rectangle',
        'background-color': theme.widgetBackground,
        'border-width': hc ? 2 : 1,
        'border-color': hc ? theme.contrastBorder! : theme.border,
        'min-zoomed-font-size': 5,
      },
    },
    { selector: 'node[w]', style: { width: 'data(w)', height: 'data(h)' } },
    {
      selector: 'node.op',
      style: { 'font-size': FONT_SIZE.op, 'font-weight': 600, 'corner-radius': '4' },
    },
  ];
  for (const { family } of FAMILIES) {
    blocks.push({ selector: `node.fam-${family}`, style: { 'background-color': fam[family].fill, 'border-color': fam[family].border } });
  }
  blocks.push(
    { selector: 'node.owner', style: { 'border-width': 2, 'border-style': 'double' } },
    {
      selector: 'node.weight',
      style: {
        'background-color': theme.background,
        'border-color': theme.muted,
        'border-width': hc ? 2 : 1,
        color: theme.foreground,
        shape: 'round-rectangle',
        'corner-radius': '8',
      },
    },
    { selector: 'node.weight.overridable', style: { 'border-style': 'dashed' } },
    // A tied name the checkpoint does not store (a loader re-creates it).
    { selector: 'node.weight.unstored', style: { 'border-style': 'dashed', 'background-opacity': 0.35 } },
    {
      selector: 'node.grouped',
      style: {
        'background-color': g,
        'border-color': g,
        'border-width': 3,
        color: gText,
        'font-weight': 600,
        'underlay-color': g,
        'underlay-opacity': 0.35,
        'underlay-padding': 'data(halo)',
        'underlay-shape': 'round-rectangle',
      },
    },
    // Tied weights are already stored once: an outline in the group's colour, no fill.
    {
      selector: 'node.grouped.tied-only',
      style: { 'background-color': theme.widgetBackground, color: theme.foreground, 'font-weight': 400, 'border-width': 2.5, 'underlay-opacity': 0.12 },
    },
    // Groups past the strong colours share one colour: a dashed border tells them from the strong ones.
    { selector: 'node.grouped.more-groups', style: { 'border-style': 'dashed' } },
    {
      selector: 'node.grouped.multi-group',
      style: { 'border-color': (ele: cytoscape.SingularElementArgument) => groupColor(Number(ele.data('g2') ?? 0), theme), 'border-width': 4 },
    },
    {
      selector: 'node.graph-input, node.graph-output',
      style: { shape: 'round-rectangle', 'corner-radius': '15', 'background-color': theme.background, 'border-color': theme.foreground, 'border-width': hc ? 2 : 1.5 },
    },
    {
      selector: 'node.scope',
      style: {
        'font-size': FONT_SIZE.op,
        'background-color': theme.widgetBackground,
        'border-color': hc ? theme.contrastBorder! : theme.muted,
        'border-width': 2,
        'border-style': 'double',
        'corner-radius': '6',
      },
    },
    { selector: 'node.scope.has-groups', style: { 'border-color': g, 'border-width': 3, 'border-style': 'solid', 'underlay-color': g, 'underlay-opacity': 0.25, 'underlay-padding': 'data(halo)' } },
    {
      selector: 'node.box',
      style: {
        shape: 'round-rectangle',
        'background-color': theme.foreground,
        'background-opacity': 0.035,
        'border-color': theme.muted,
        'border-width': 1,
        'border-style': 'dashed',
        'text-valign': 'top',
        'text-halign': 'center',
        'text-margin-y': -4,
        color: theme.muted,
        'font-size': FONT_SIZE.small,
        padding: '14px',
        'compound-sizing-wrt-labels': 'include',
      },
    },
    ...(options.webgl ? [{ selector: 'node.box', style: { 'border-style': 'solid', 'border-opacity': 0.6 } } satisfies Block] : []),
    { selector: 'node.box.subgraph', style: { 'border-style': 'solid', 'border-width': 1.5, 'border-color': fam.control.border, 'border-opacity': 1 } },
    {
      selector: 'edge',
      style: {
        width: 1.2,
        'line-color': theme.muted,
        'target-arrow-color': theme.muted,
        'target-arrow-shape': 'triangle',
        'arrow-scale': 0.8,
        'curve-style': 'bezier',
        opacity: 0.85,
      },
    },
    { selector: 'edge.bundle', style: { width: 2 } },
    { selector: 'edge.fanout', style: { opacity: 0.3, width: 1 } },
    { selector: 'edge.weight', style: { 'line-style': 'solid', width: 1, opacity: 0.7 } },
    { selector: 'edge.body', style: { 'line-style': 'dotted', 'target-arrow-shape': 'vee', ...(options.webgl ? { 'line-opacity': 0.45 } : {}) } },
    {
      selector: 'edge.shared',
      style: { 'line-color': g, 'target-arrow-color': g, width: 'data(hw)', opacity: 1, 'z-index': 5 },
    },
    {
      selector: 'edge.group-link',
      style: {
        'line-color': g,
        'line-style': 'dashed',
        'line-dash-pattern': [7, 4],
        ...(options.webgl ? { 'line-opacity': 0.45 } : {}),
        width: 'data(hw)',
        'target-arrow-shape': 'none',
        'curve-style': 'unbundled-bezier',
        'control-point-distances': groupLinkDistances,
        'control-point-weights': groupLinkWeights,
        label: 'data(label)',
        'font-family': theme.fontFamily,
        'font-size': FONT_SIZE.small,
        color: theme.foreground,
        'text-background-color': theme.background,
        'text-background-opacity': 0.9,
        'text-background-padding': '2px',
        'text-background-shape': 'roundrectangle',
        'z-index': 6,
      },
    },
    // A big drawing's window holds a box without all of its content: these keep its size (drawing.ts).
    { selector: 'node.extent', style: { width: 1, height: 1, opacity: 0, events: 'no', label: '' } },
    // Selection and focus: the chosen group stands out, the rest recedes.
    { selector: '.faded', style: { opacity: 0.25 } },
    { selector: 'node.box.faded', style: { opacity: 0.4 } },
    ...(options.webgl ? webglFading(theme) : []),
    // The side-by-side view: what Apply changed, in the colours of VS Code's diff decorations.
    { selector: 'node.diff-inserted', style: { 'border-color': diff.added, 'border-width': 4, 'border-style': 'double' } },
    { selector: 'node.diff-rewired', style: { 'border-color': diff.changed, 'border-width': 3, 'border-style': 'dashed' } },
    { selector: 'node.diff-dropped', style: { 'border-color': diff.removed, 'border-width': 3, 'border-style': 'dashed', opacity: 0.6 } },
    {
      selector: 'node:selected, node.focus',
      style: {
        'overlay-color': theme.focus,
        'overlay-opacity': 0.18,
        'overlay-padding': 5,
        'border-color': theme.focus,
        'border-width': 3,
      },
    },
    { selector: 'node.grouped:selected, node.grouped.focus', style: { 'border-color': theme.focus, 'border-width': 4 } },
    { selector: 'edge:selected, edge.focus', style: { opacity: 1, 'z-index': 10 } },
    { selector: 'node.match', style: { 'border-color': theme.focus, 'border-width': 3, 'border-style': 'solid' } },
    { selector: 'node.match-current', style: { 'overlay-color': theme.focus, 'overlay-opacity': 0.3, 'overlay-padding': 8 } },
  );
  return blocks;
}

/**
 * WebGL caches each label (and each node body it draws as a texture)
 * painted at the element's opacity, under a key that leaves opacity out:
 * a label first drawn faded stayed faded on every element with that text.
 * A faded element's label gets an invisible text border colour and its body
 * a border opacity of 0.999, which only change the keys. Boxes fade without
 * `opacity`, which their contents would inherit (faded labels at two
 * strengths under one key).
 */
function webglFading(theme: Theme): Block[] {
  const key = { 'text-border-color': '#010203' };
  return [
    { selector: 'node.faded', style: { ...key, 'border-opacity': 0.999 } },
    { selector: 'edge.faded', style: key },
    {
      selector: 'node.box.faded',
      style: { opacity: 1, 'background-opacity': 0.015, 'border-opacity': 0.25, color: mix(theme.muted, theme.background, 0.6) },
    },
  ];
}

/**
 * A group's link bows out from the straight line between its ends: by 60
 * at its middle between neighbours; a long one (a first layer's weight to
 * the last layer's) steps 150 aside within 200 of each end and runs
 * parallel, clear of the column of layers between them and their labels.
 * (Read when the link is added: its ends are laid out by then and do not move.)
 */
const LONG_LINK = 800;
function linkLength(ele: cytoscape.EdgeSingular): number {
  const a = ele.source().position();
  const b = ele.target().position();
  return Math.hypot(b.x - a.x, b.y - a.y);
}
function groupLinkDistances(ele: cytoscape.EdgeSingular): number[] {
  return linkLength(ele) < LONG_LINK ? [60] : [150, 150];
}
function groupLinkWeights(ele: cytoscape.EdgeSingular): number[] {
  const length = linkLength(ele);
  return length < LONG_LINK ? [0.5] : [200 / length, 1 - 200 / length];
}
