// Turns the visible part of the view model into cytoscape element
// definitions: labels, sizes (measured, so text is never clipped), classes
// that the stylesheet colours, and the dashed links that tie together the
// members of a sharing group.
import type cytoscape from 'cytoscape';
import { nodeNoun, type ViewModel, type VisibleGraph } from './viewModel.js';
import { familyOf } from './families.js';
import { formatShape, shortName } from './format.js';
import { linesWidth } from './measure.js';
import { STRONG_GROUPS } from './colors.js';

export interface ElementFonts {
  /** CSS font shorthand for operator labels. */
  op: string;
  /** CSS font shorthand for weight, input and scope labels. */
  small: string;
}

/** Readers beyond which a value's edges are drawn faint. */
const FAN_OUT = 6;

export const FONT_SIZE = { op: 12, small: 11 };

export function fontsFor(family: string): ElementFonts {
  return { op: `600 ${FONT_SIZE.op}px ${family}`, small: `${FONT_SIZE.small}px ${family}` };
}

export function buildElements(model: ViewModel, graph: VisibleGraph, fonts: ElementFonts): cytoscape.ElementDefinition[] {
  const out: cytoscape.ElementDefinition[] = [];
  for (const v of graph.nodes) {
    const parent = v.parent;
    if (v.kind === 'box') {
      const scope = model.scopes.get(v.id)!;
      const classes = ['box', scope.kind === 'subgraph' ? 'subgraph' : 'namebox'];
      out.push({ group: 'nodes', data: withParent({ id: v.id, label: scope.label, scope: v.id }, parent), classes: classes.join(' ') });
      continue;
    }
    if (v.kind === 'scope') {
      const scope = model.scopes.get(v.id)!;
      const lines = [scope.label, `${scope.ops} ${nodeNoun(model.payload).many}${scope.groups.length ? ` · ${scope.groups.length} shared` : ''}`];
      const w = Math.max(90, linesWidth(lines, fonts.op) + 28);
      const classes = ['scope', scope.kind === 'subgraph' ? 'subgraph' : 'namescope'];
      const data: Record<string, unknown> = { id: v.id, label: lines.join('\n'), w, h: 44, scope: v.id };
      if (scope.groups.length > 0) {
        classes.push('has-groups');
        data.g = scope.groups[0];
        data.halo = 6;
      }
      out.push({ group: 'nodes', data: withParent(data, parent), classes: classes.join(' ') });
      continue;
    }
    const item = model.items.get(v.id)!;
    const data: Record<string, unknown> = { id: item.id };
    const classes: string[] = [];
    if (item.kind === 'op') {
      const label = item.node!.opType;
      data.label = label;
      data.w = Math.max(54, linesWidth([label], fonts.op) + 22);
      data.h = 26;
      classes.push('op', `fam-${familyOf(item.node!.opType)}`);
      if ((item.node!.subgraphs?.length ?? 0) > 0) classes.push('owner');
    } else if (item.kind === 'weight') {
      const t = item.tensor!;
      const lines = [shortName(t.name), t.stored === false ? 'not stored (tied)' : `${formatShape(t.shape)} ${t.dtype}`];
      // An exported tensor named after nothing (val_12) gets the checkpoint parameter it is.
      if (t.source && !t.name.endsWith(t.source.name)) lines.push(`= ${t.source.how === 'exact' ? '' : `${t.source.how} `}${shortName(t.source.name)}`);
      data.label = lines.join('\n');
      data.w = Math.max(44, linesWidth(lines, fonts.small) + 16);
      data.h = 20 + 12 * lines.length - 12;
      classes.push('weight');
      if (item.node) classes.push('constant');
      if (t.isGraphInput) classes.push('overridable');
      if (t.stored === false) classes.push('unstored');
      if (item.groups.length > 0) {
        classes.push('grouped');
        data.g = item.groups[0];
        // Already one weight (tied): drawn calmly, an outline; copies to share get the fill.
        if (item.groups.every((i) => model.payload.groups[i]?.kind === 'tied')) classes.push('tied-only');
        if (item.groups[0]! >= STRONG_GROUPS) classes.push('more-groups');
        data.halo = 6;
        // Room for the thick border and the bold label.
        data.w = Number(data.w) + 14;
        // In two groups (tied and also copied): the second colour on the border.
        if (item.groups.length > 1) {
          classes.push('multi-group');
          data.g2 = item.groups[1];
        }
      }
    } else {
      const value = item.value!;
      const lines = [shortName(value.name), formatShape(value.shape)];
      data.label = lines.join('\n');
      data.w = Math.max(50, linesWidth(lines, fonts.small) + 24);
      data.h = 30;
      classes.push(item.kind === 'input' ? 'graph-input' : 'graph-output');
    }
    out.push({ group: 'nodes', data: withParent(data, parent), classes: classes.join(' ') });
  }
  // A value read by many (an attention mask reaching every layer) would paint
  // a broom of lines; its edges recede unless they belong to a group.
  const fanOut = new Map<string, number>();
  for (const e of graph.edges) fanOut.set(e.source, (fanOut.get(e.source) ?? 0) + 1);
  for (const e of graph.edges) {
    const classes: string[] = [e.kind];
    if ((fanOut.get(e.source) ?? 0) > FAN_OUT && e.groups.length === 0) classes.push('fanout');
    const data: Record<string, unknown> = { id: e.id, source: e.source, target: e.target, values: e.values.join(', '), count: e.count };
    if (e.groups.length > 0) {
      classes.push('shared');
      data.g = e.groups[0];
      data.hw = 3;
    }
    if (e.count > 1) classes.push('bundle');
    out.push({ group: 'edges', data, classes: classes.join(' ') });
  }
  return out;
}

/**
 * Dashed links between the drawn members of each non-tied group (the kept
 * tensor to each copy). Added after layout, so they never bend it.
 */
export function buildGroupLinks(model: ViewModel, drawn: ReadonlySet<string>, representative: (id: string) => string): cytoscape.ElementDefinition[] {
  const out: cytoscape.ElementDefinition[] = [];
  for (const group of model.payload.groups) {
    if (group.kind === 'tied') continue;
    const ids = group.tensorIds.map((t) => model.weightOfTensor.get(t)).map((id) => (id === undefined ? undefined : representative(id)));
    const stride = group.kind === 'quantized' ? 3 : 1;
    const seen = new Set<string>();
    for (let i = stride; i < ids.length; i++) {
      const kept = ids[i % stride];
      const copy = ids[i];
      if (kept === undefined || copy === undefined || kept === copy || !drawn.has(kept) || !drawn.has(copy)) continue;
      const key = `${kept}\u0000${copy}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        group: 'edges',
        data: { id: `link:${group.index}:${i}`, source: kept, target: copy, g: group.index, label: group.kind, hw: 3 },
        classes: 'group-link',
      });
    }
  }
  return out;
}

function withParent<T extends Record<string, unknown>>(data: T, parent: string | undefined): T {
  if (parent !== undefined) (data as Record<string, unknown>).parent = parent;
  return data;
}
