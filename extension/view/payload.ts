// Turns a parsed model and its sharing scan into the graph metadata the
// webview draws. No weights travel: only names, shapes, dtypes, byte counts
// and which sharing group each tensor belongs to. Used by the extension host
// and by the webview tests, so it stays free of 'vscode'.
import { storageIdentity } from '../sharing/entries';
import { basename } from 'node:path';
import type { AttributeValue, ModelFile, ModelGraph, TensorRef, ValueInfo } from '../model/types';
import type { ScanReport, SharingGroup } from '../sharing/types';
import type {
  GraphPayload, GroupInfo, ModelTotals, NodeInfo, TensorInfo, ValueInfoPayload,
} from '../protocol';
import { pushAll } from '../util/arrays';
import { setOwn } from '../util/ownKeys';

export interface PayloadOptions {
  /** Shown as the title; defaults to the model file's base name. */
  fileName?: string;
  /** Longest attribute string kept for tooltips (longer ones are cut). */
  maxAttributeChars?: number;
}

/** The id the webview uses for a node: its graph path and index in that graph. */
export function nodeId(graphPath: string, index: number): string {
  return `${graphPath}#${index}`;
}

export function buildGraphPayload(model: ModelFile, report: ScanReport, opts: PayloadOptions = {}): GraphPayload {
  const maxChars = opts.maxAttributeChars ?? 120;
  const nodes: NodeInfo[] = [];
  const valueInfo: ValueInfoPayload[] = [];
  const constantNodeByOutput = new Map<string, string>();
  const modules = model.graph ? undefined : moduleTree(model);
  if (modules) pushAll(nodes, modules.nodes);
  if (model.graph) walkGraphs(model.graph.main, (graph) => {
    graph.nodes.forEach((node, index) => {
      const id = nodeId(graph.path, index);
      const attributes: Record<string, string> = {};
      for (const [key, value] of Object.entries(node.attributes)) setOwn(attributes, key, renderAttribute(value, maxChars));
      const info: NodeInfo = {
        id, name: node.name, opType: node.opType, domain: node.domain, graphPath: graph.path,
        inputs: node.inputs, outputs: node.outputs, attributes,
      };
      if (node.subgraphs.length > 0) info.subgraphs = node.subgraphs.map((g) => g.path);
      if (node.scopes?.length) info.scopes = node.scopes;
      nodes.push(info);
      if (node.opType === 'Constant' && node.outputs[0]) constantNodeByOutput.set(`${graph.path}\u0000${node.outputs[0]}`, id);
    });
    for (const v of graph.valueInfo) valueInfo.push(toValueInfo(v));
    // Subgraph inputs and outputs carry shapes of values used inside bodies.
    if (graph.path !== '') for (const v of [...graph.inputs, ...graph.outputs]) valueInfo.push(toValueInfo(v));
  });

  const inModel = (g: SharingGroup) => g.members.some((m) => m.path === model.path);
  const groups: GroupInfo[] = [];
  const tensorGroups = new Map<string, number[]>();
  const sorted = report.groups.filter(inModel).sort((a, b) => b.bytesSaved - a.bytesSaved);
  for (const group of sorted) {
    const index = groups.length;
    const own = group.members.filter((m) => m.path === model.path).map((m) => m.tensor);
    const consumers = new Set<string>();
    for (const t of own) for (const c of readersOf(t, modules)) consumers.add(c);
    const info: GroupInfo = {
      index, id: group.id, kind: group.kind, lossless: group.lossless, applicable: group.applicable, bytesSaved: group.bytesSaved,
      tensorIds: unique(own.map((t) => t.id)), consumerNodeIds: [...consumers],
    };
    if (group.reason !== undefined) info.reason = group.reason;
    if (group.tiedBy !== undefined) info.tiedBy = group.tiedBy;
    const others = group.members.filter((m) => m.path !== model.path);
    if (others.length > 0) {
      info.otherMembers = others.map((m) => ({
        file: m.path, name: m.tensor.name, dtype: m.tensor.dtype, shape: m.tensor.shape, bytes: m.tensor.byteLength,
      }));
    }
    groups.push(info);
    for (const id of info.tensorIds) {
      const list = tensorGroups.get(id) ?? [];
      list.push(index);
      tensorGroups.set(id, list);
    }
  }

  const sources = new Map(report.provenance.filter((l) => l.path === model.path).map((l) => [l.tensor, l]));
  // Tied names the model does not store are drawn too (dashed), beside the stored ones.
  const unstored = model.ties.flatMap((tie) => tie.tied.filter((x) => !x.stored).map((x) => x.tensor));
  const tensors: TensorInfo[] = [...model.tensors, ...unstored].map((t) => {
    const readers = readersOf(t, modules);
    const info: TensorInfo = {
      id: t.id, name: t.name, role: t.role, dtype: t.dtype, shape: t.shape, bytes: t.byteLength,
      consumers: readers.length, isGraphInput: t.isGraphInput, groups: tensorGroups.get(t.id) ?? NO_GROUPS,
      graphPath: t.graphPath, elementCount: t.elementCount, consumerIds: readers.length === 0 ? NO_READERS : readers,
    };
    if (unstored.includes(t)) info.stored = false;
    const link = sources.get(t);
    if (link) info.source = { name: link.source.name, file: link.sourcePath, how: link.how };
    if (t.role === 'constant') {
      const holder = constantNodeByOutput.get(`${t.graphPath}\u0000${t.name}`);
      if (holder !== undefined) info.constantNodeId = holder;
    }
    return info;
  });

  const payload: GraphPayload = {
    fileName: opts.fileName ?? basename(model.path),
    filePath: model.path,
    format: model.format,
    view: model.graph ? 'graph' : 'modules',
    opsets: (model.graph?.opsets ?? []).map((o) => ({ domain: o.domain, version: o.version })),
    facts: model.facts,
    nodes,
    tensors,
    inputs: (model.graph?.main.inputs ?? []).map(toValueInfo),
    outputs: (model.graph?.main.outputs ?? []).map(toValueInfo),
    valueInfo,
    groups,
    totals: computeTotals(model, sorted),
  };
  if (model.producer !== undefined) payload.producer = model.producer;
  return payload;
}

/**
 * Stored figures count every weight once (names on one storage view are one); unique figures drop the members an
 * applicable group would no longer store (what Apply saves); the rest is counted apart. A tensor dropped by two groups is
 * dropped once. Tied groups drop nothing: they are already stored once.
 */
export function computeTotals(model: ModelFile, groups: SharingGroup[]): ModelTotals {
  let storedBytes = 0;
  let parameters = 0;
  // Names on one storage view (a state dict's tied wte/lm_head) are one weight: stored, and counted, once.
  const views = new Set<string>();
  for (const t of model.tensors) {
    const view = storageIdentity(t);
    if (view !== undefined) {
      if (views.has(view)) continue;
      views.add(view);
    }
    storedBytes += t.byteLength;
    parameters += t.elementCount;
  }
  const dropped = new Map<string, TensorRef>();
  let notApplicableGroups = 0;
  let notApplicableBytes = 0;
  for (const group of groups) {
    if (!group.applicable) {
      if (group.kind !== 'tied') { notApplicableGroups++; notApplicableBytes += group.bytesSaved; }
      continue;
    }
    // Quantized groups keep their first (weight, scale, zero point) triplet.
    const kept = group.kind === 'quantized' ? 3 : 1;
    group.members.forEach((m, i) => {
      if (i >= kept && m.path === model.path) dropped.set(m.tensor.id, m.tensor);
    });
  }
  let droppedBytes = 0;
  let droppedParameters = 0;
  for (const t of dropped.values()) {
    droppedBytes += t.byteLength;
    droppedParameters += t.elementCount;
  }
  return {
    storedBytes, uniqueBytes: storedBytes - droppedBytes,
    parameters, uniqueParameters: parameters - droppedParameters,
    notApplicableGroups, notApplicableBytes,
  };
}

/** The webview node ids that read a tensor: its graph consumers, or the module holding it. */
// One empty list for every tensor without groups or readers: a model of
// millions of unread initializers keeps (and clones to the host) two fewer
// arrays per tensor. Never mutated.
const NO_GROUPS: number[] = [];
const NO_READERS: string[] = [];

function readersOf(t: TensorRef, modules: ModuleTree | undefined): string[] {
  if (modules) {
    const m = modules.holder.get(t.name);
    return m === undefined ? [] : [m];
  }
  return unique(t.consumers.map((c) => nodeId(c.graphPath, c.nodeIndex)));
}

interface ModuleTree {
  nodes: NodeInfo[];
  /** Tensor name -> id of the module node holding it. */
  holder: Map<string, string>;
}

/**
 * A checkpoint's modules as nodes: one per module that holds parameters
 * (`transformer.h.3.attn.c_attn` holds `.weight` and `.bias`), named by its
 * path with '/' so the view nests blocks and layers as scopes, chained in
 * natural order (layer 2 before layer 10) so the drawing reads top to bottom
 * like the model.
 */
function moduleTree(model: ModelFile): ModuleTree {
  const names = [...model.tensors.map((t) => t.name), ...model.ties.flatMap((tie) => tie.tied.filter((x) => !x.stored).map((x) => x.tensor.name))];
  const moduleOf = (name: string): string => {
    const dot = name.lastIndexOf('.');
    return dot < 0 ? '' : name.slice(0, dot);
  };
  const paths = unique(names.map(moduleOf)).sort(forwardCompare);
  const nodes: NodeInfo[] = [];
  const ids = new Map<string, string>();
  let previous: string | undefined;
  for (const p of paths) {
    const id = `m:${p}`;
    const segments = p === '' ? [] : p.split('.');
    const output = `module ${p || '(root)'}`;
    nodes.push({
      id, name: `/${segments.join('/')}` || '/', opType: segments[segments.length - 1] ?? '(root)', domain: '', graphPath: '',
      inputs: previous === undefined ? [] : [previous], outputs: [output], attributes: { module: p || '(root)' },
    });
    ids.set(p, id);
    previous = output;
  }
  return { nodes, holder: new Map(names.map((n) => [n, ids.get(moduleOf(n))!])) };
}

/** Where a module usually sits in the forward pass among its siblings: embeddings first, heads and final norms last. */
function stage(segment: string): number {
  if (/emb|^wte$|^wpe$|^tok|^shared$|patch/.test(segment)) return -1;
  if (/^(lm_head|head|output|classifier|cls|pooler|final_.*|norm|ln_f|vocab_projector|embed_out)$/.test(segment)) return 1;
  return 0;
}

/**
 * Module paths in the order a reader expects (state dicts in safetensors
 * come sorted by name): siblings by forward stage, then numeric segments by
 * value (`h.2` before `h.10`), then by name.
 */
export function forwardCompare(a: string, b: string): number {
  const x = a === '' ? [] : a.split('.');
  const y = b === '' ? [] : b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    const s = stage(x[i]!) - stage(y[i]!);
    if (s !== 0) return s;
    const nx = /^\d+$/.test(x[i]!) ? Number(x[i]) : NaN;
    const ny = /^\d+$/.test(y[i]!) ? Number(y[i]) : NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) return nx - ny;
    return x[i]! < y[i]! ? -1 : 1;
  }
  return x.length - y.length;
}

function walkGraphs(graph: ModelGraph, visit: (g: ModelGraph) => void): void {
  visit(graph);
  for (const node of graph.nodes) for (const sub of node.subgraphs) walkGraphs(sub, visit);
}

function toValueInfo(v: ValueInfo): ValueInfoPayload {
  const out: ValueInfoPayload = { name: v.name };
  if (v.type !== undefined) out.type = v.type;
  if (v.shape !== undefined) out.shape = v.shape;
  return out;
}

function renderAttribute(value: AttributeValue, maxChars: number): string {
  let text: string;
  if (typeof value === 'number') text = String(value);
  else if (typeof value === 'string') text = JSON.stringify(value);
  else if (Array.isArray(value)) text = `[${(value as Array<number | string>).join(', ')}]`;
  else if ('tensor' in value) text = `tensor ${value.tensor}`;
  else if ('graph' in value) text = `graph ${value.graph}`;
  else if ('graphs' in value) text = `graphs ${value.graphs.join(', ')}`;
  else text = `(${value.unsupported})`;
  return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}
