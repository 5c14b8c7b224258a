// Turns a parsed model and its sharing scan into the graph metadata the
// webview draws. No weights travel: only names, shapes, dtypes, byte counts
// and which sharing group each tensor belongs to. Used by the extension host
// and by the webview tests, so it stays free of 'vscode'.
import { basename } from 'node:path';
import type { AttributeValue, ModelFile, ModelGraph, TensorRef, ValueInfo } from '../model/types';
import type { ScanReport, SharingGroup } from '../sharing/types';
import type {
  GraphPayload, GroupInfo, ModelTotals, NodeInfo, TensorInfo, ValueInfoPayload,
} from '../protocol';

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
  walkGraphs(model.graph, (graph) => {
    graph.nodes.forEach((node, index) => {
      const id = nodeId(graph.path, index);
      const attributes: Record<string, string> = {};
      for (const [key, value] of Object.entries(node.attributes)) attributes[key] = renderAttribute(value, maxChars);
      const info: NodeInfo = {
        id, name: node.name, opType: node.opType, domain: node.domain, graphPath: graph.path,
        inputs: node.inputs, outputs: node.outputs, attributes,
      };
      if (node.subgraphs.length > 0) info.subgraphs = node.subgraphs.map((g) => g.path);
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
    for (const t of own) for (const c of t.consumers) consumers.add(nodeId(c.graphPath, c.nodeIndex));
    const info: GroupInfo = {
      index, kind: group.kind, lossless: group.lossless, bytesSaved: group.bytesSaved,
      tensorIds: unique(own.map((t) => t.id)), consumerNodeIds: [...consumers],
    };
    if (group.reason !== undefined) info.reason = group.reason;
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

  const tensors: TensorInfo[] = model.tensors.map((t) => {
    const info: TensorInfo = {
      id: t.id, name: t.name, role: t.role, dtype: t.dtype, shape: t.shape, bytes: t.byteLength,
      consumers: t.consumers.length, isGraphInput: t.isGraphInput, groups: tensorGroups.get(t.id) ?? [],
      graphPath: t.graphPath, elementCount: t.elementCount,
      consumerIds: unique(t.consumers.map((c) => nodeId(c.graphPath, c.nodeIndex))),
    };
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
    opsets: model.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    nodes,
    tensors,
    inputs: model.graph.inputs.map(toValueInfo),
    outputs: model.graph.outputs.map(toValueInfo),
    valueInfo,
    groups,
    totals: computeTotals(model, sorted),
  };
  if (model.producer !== undefined) payload.producer = model.producer;
  return payload;
}

/**
 * Stored figures count every tensor once; unique figures drop the members a
 * lossless group would no longer store. A tensor dropped by two groups is
 * dropped once. Tied groups drop nothing: they are already stored once.
 */
export function computeTotals(model: ModelFile, groups: SharingGroup[]): ModelTotals {
  let storedBytes = 0;
  let parameters = 0;
  for (const t of model.tensors) {
    storedBytes += t.byteLength;
    parameters += t.elementCount;
  }
  const dropped = new Map<string, TensorRef>();
  for (const group of groups) {
    if (!group.lossless || group.kind === 'tied') continue;
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
  };
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
