// The graph payload as it travels (analysis worker -> extension host ->
// webview): columns of typed arrays with every string stored once in one
// table, not a tree of objects. A 100,000-operator graph is some 40 objects
// and a few MB instead of millions of objects: the worker hands its buffers
// to the host without a copy, the host keeps the packed form (it only
// forwards it), and VS Code moves typed arrays to the webview as binary
// instead of through JSON. The webview unpacks it once, into GraphPayload.
// Imports nothing from node or vscode, so the webview bundles it.
import type { GraphPayload, GroupInfo, NodeInfo, TensorInfo, ValueInfoPayload } from '../protocol';
import { setOwn } from '../util/ownKeys';

/** A list per row, as offsets into one flat column (row i is items[start[i]..start[i+1])). */
export interface PackedLists<T extends Uint32Array | Float64Array = Uint32Array> {
  start: Uint32Array;
  items: T;
}

/** Value infos: names, types and shapes (a dim is a number, a symbolic name or unknown). */
export interface PackedValues {
  name: Uint32Array;
  /** String index of the type, or NONE. */
  type: Uint32Array;
  /** 1 where the value has a shape (an empty list is a scalar's shape). */
  hasShape: Uint8Array;
  /** Per dim: DIM_NUMBER, DIM_SYMBOL or DIM_UNKNOWN. */
  dimKind: PackedLists<Uint32Array>;
  /** Per dim: the number, or the symbol's string index. */
  dimValue: Float64Array;
}

export interface PackedNodes {
  id: Uint32Array;
  name: Uint32Array;
  opType: Uint32Array;
  domain: Uint32Array;
  graphPath: Uint32Array;
  inputs: PackedLists;
  outputs: PackedLists;
  /** Attribute keys and rendered values, pairwise: key, value, key, value… */
  attributes: PackedLists;
  subgraphs: PackedLists;
  scopes: PackedLists;
}

export interface PackedTensors {
  id: Uint32Array;
  name: Uint32Array;
  role: Uint8Array;
  dtype: Uint32Array;
  graphPath: Uint32Array;
  shape: PackedLists<Float64Array>;
  bytes: Float64Array;
  elementCount: Float64Array;
  /** FLAG_GRAPH_INPUT | FLAG_UNSTORED */
  flags: Uint8Array;
  groups: PackedLists;
  /** Ids of the nodes reading it: what `consumers` counts. */
  consumerIds: PackedLists;
  /** String index of the Constant node holding it, or NONE. */
  constantNodeId: Uint32Array;
  /** The few tensors with a checkpoint source: [tensor index, source]. */
  sources: Array<[number, NonNullable<TensorInfo['source']>]>;
}

export interface PackedGroups {
  id: Uint32Array;
  kind: Uint32Array;
  tiedBy: Uint32Array;
  reason: Uint32Array;
  /** FLAG_LOSSLESS | FLAG_APPLICABLE */
  flags: Uint8Array;
  bytesSaved: Float64Array;
  tensorIds: PackedLists;
  consumerNodeIds: PackedLists;
  otherMembers: Array<[number, NonNullable<GroupInfo['otherMembers']>]>;
}

type Head = Omit<GraphPayload, 'nodes' | 'tensors' | 'inputs' | 'outputs' | 'valueInfo' | 'groups'>;

export interface PackedGraphPayload {
  packed: 1;
  head: Head;
  /**
   * Every string once. A list of strings, not UTF-8 bytes or one joined
   * string: a name from a JSON header may hold a lone surrogate, which UTF-8
   * cannot carry, and slices of one big string are slower to compare and
   * hash wherever the view uses names as keys.
   */
  strings: string[];
  nodes: PackedNodes;
  tensors: PackedTensors;
  inputs: PackedValues;
  outputs: PackedValues;
  valueInfo: PackedValues;
  groups: PackedGroups;
}

const NONE = 0xffffffff;
const DIM_NUMBER = 0;
const DIM_SYMBOL = 1;
const DIM_UNKNOWN = 2;
const FLAG_GRAPH_INPUT = 1;
const FLAG_UNSTORED = 2;
const FLAG_LOSSLESS = 1;
const FLAG_APPLICABLE = 2;
const ROLES: ReadonlyArray<TensorInfo['role']> = ['initializer', 'constant', 'sparse', 'parameter'];

/** Builds one flat column and its row offsets. */
class ListColumn {
  readonly start: number[] = [0];
  readonly items: number[] = [];
  push(values: Iterable<number>): void {
    for (const v of values) this.items.push(v);
    this.start.push(this.items.length);
  }
  u32(): PackedLists { return { start: Uint32Array.from(this.start), items: Uint32Array.from(this.items) }; }
  f64(): PackedLists<Float64Array> { return { start: Uint32Array.from(this.start), items: Float64Array.from(this.items) }; }
}

class StringTable {
  private readonly index = new Map<string, number>();
  private readonly list: string[] = [];
  of(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.index.set(s, i);
      this.list.push(s);
    }
    return i;
  }
  /**
   * A string no other row repeats (a node's or tensor's id and name): stored
   * without a lookup, which costs more than the entry at 100,000 rows. A
   * reference to it elsewhere (a tensor's readers) is interned apart.
   */
  unique(s: string): number { return this.list.push(s) - 1; }
  optional(s: string | undefined): number { return s === undefined ? NONE : this.of(s); }
  all(items: readonly string[]): number[] { return items.map((s) => this.of(s)); }
  get strings(): string[] { return this.list; }
}

export function packGraphPayload(payload: GraphPayload): PackedGraphPayload {
  const { nodes, tensors, inputs, outputs, valueInfo, groups, ...head } = payload;
  const s = new StringTable();
  const packed = {
    nodes: packNodes(nodes, s),
    tensors: packTensors(tensors, s),
    inputs: packValues(inputs, s),
    outputs: packValues(outputs, s),
    valueInfo: packValues(valueInfo, s),
    groups: packGroups(groups, s),
  };
  return { packed: 1, head, strings: s.strings, ...packed };
}

function packNodes(nodes: readonly NodeInfo[], s: StringTable): PackedNodes {
  const cols = { inputs: new ListColumn(), outputs: new ListColumn(), attributes: new ListColumn(), subgraphs: new ListColumn(), scopes: new ListColumn() };
  const id: number[] = [], name: number[] = [], opType: number[] = [], domain: number[] = [], graphPath: number[] = [];
  for (const n of nodes) {
    id.push(s.unique(n.id)); name.push(s.unique(n.name)); opType.push(s.of(n.opType)); domain.push(s.of(n.domain)); graphPath.push(s.of(n.graphPath));
    cols.inputs.push(s.all(n.inputs));
    cols.outputs.push(s.all(n.outputs));
    cols.attributes.push(Object.entries(n.attributes).flatMap(([k, v]) => [s.of(k), s.of(v)]));
    cols.subgraphs.push(s.all(n.subgraphs ?? []));
    cols.scopes.push(s.all(n.scopes ?? []));
  }
  return {
    id: Uint32Array.from(id), name: Uint32Array.from(name), opType: Uint32Array.from(opType), domain: Uint32Array.from(domain), graphPath: Uint32Array.from(graphPath),
    inputs: cols.inputs.u32(), outputs: cols.outputs.u32(), attributes: cols.attributes.u32(), subgraphs: cols.subgraphs.u32(), scopes: cols.scopes.u32(),
  };
}

function packTensors(tensors: readonly TensorInfo[], s: StringTable): PackedTensors {
  const shape = new ListColumn(), groups = new ListColumn(), consumerIds = new ListColumn();
  const id: number[] = [], name: number[] = [], role: number[] = [], dtype: number[] = [], graphPath: number[] = [];
  const bytes: number[] = [], elementCount: number[] = [], flags: number[] = [], constantNodeId: number[] = [];
  const sources: PackedTensors['sources'] = [];
  tensors.forEach((t, i) => {
    id.push(s.unique(t.id)); name.push(s.unique(t.name)); role.push(ROLES.indexOf(t.role)); dtype.push(s.of(t.dtype)); graphPath.push(s.of(t.graphPath ?? ''));
    bytes.push(t.bytes); elementCount.push(t.elementCount ?? 0);
    flags.push((t.isGraphInput ? FLAG_GRAPH_INPUT : 0) | (t.stored === false ? FLAG_UNSTORED : 0));
    constantNodeId.push(s.optional(t.constantNodeId));
    shape.push(t.shape);
    groups.push(t.groups);
    consumerIds.push(s.all(t.consumerIds ?? []));
    if (t.source) sources.push([i, t.source]);
  });
  return {
    id: Uint32Array.from(id), name: Uint32Array.from(name), role: Uint8Array.from(role), dtype: Uint32Array.from(dtype), graphPath: Uint32Array.from(graphPath),
    shape: shape.f64(), bytes: Float64Array.from(bytes), elementCount: Float64Array.from(elementCount), flags: Uint8Array.from(flags),
    groups: groups.u32(), consumerIds: consumerIds.u32(), constantNodeId: Uint32Array.from(constantNodeId), sources,
  };
}

function packValues(values: readonly ValueInfoPayload[], s: StringTable): PackedValues {
  const dimKind = new ListColumn();
  const dimValue: number[] = [];
  for (const v of values) {
    dimKind.push((v.shape ?? []).map((d) => {
      if (typeof d === 'number') { dimValue.push(d); return DIM_NUMBER; }
      if (typeof d === 'string') { dimValue.push(s.of(d)); return DIM_SYMBOL; }
      dimValue.push(0);
      return DIM_UNKNOWN;
    }));
  }
  return {
    name: Uint32Array.from(values, (v) => s.of(v.name)), type: Uint32Array.from(values, (v) => s.optional(v.type)),
    hasShape: Uint8Array.from(values, (v) => (v.shape ? 1 : 0)), dimKind: dimKind.u32(), dimValue: Float64Array.from(dimValue),
  };
}

function packGroups(groups: readonly GroupInfo[], s: StringTable): PackedGroups {
  const tensorIds = new ListColumn(), consumerNodeIds = new ListColumn();
  const otherMembers: PackedGroups['otherMembers'] = [];
  groups.forEach((g, i) => {
    if (g.index !== i) throw new Error(`graph payload: group ${g.id} is listed at ${i} but says index ${g.index}`);
    tensorIds.push(s.all(g.tensorIds));
    consumerNodeIds.push(s.all(g.consumerNodeIds));
    if (g.otherMembers) otherMembers.push([i, g.otherMembers]);
  });
  return {
    id: Uint32Array.from(groups, (g) => s.of(g.id)), kind: Uint32Array.from(groups, (g) => s.of(g.kind)),
    tiedBy: Uint32Array.from(groups, (g) => s.optional(g.tiedBy)), reason: Uint32Array.from(groups, (g) => s.optional(g.reason)),
    flags: Uint8Array.from(groups, (g) => (g.lossless ? FLAG_LOSSLESS : 0) | (g.applicable ? FLAG_APPLICABLE : 0)),
    bytesSaved: Float64Array.from(groups, (g) => g.bytesSaved), tensorIds: tensorIds.u32(), consumerNodeIds: consumerNodeIds.u32(), otherMembers,
  };
}

/** The buffers a packed payload owns, for a postMessage transfer list (each column has its own). */
export function transferablesOf(p: PackedGraphPayload): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) out.add(v.buffer as ArrayBuffer);
    else if (v && typeof v === 'object' && !Array.isArray(v)) for (const x of Object.values(v)) visit(x);
  };
  const { head: _head, ...columns } = p;
  visit(columns);
  return [...out];
}

/** The payload the webview draws. Strings come from the one table, so equal names are one string. */
export function unpackGraphPayload(p: PackedGraphPayload): GraphPayload {
  const table = p.strings;
  const str = (i: number): string => {
    const v = table[i];
    if (v === undefined) throw new Error(`graph payload: string ${i} is not in the table of ${table.length}`);
    return v;
  };
  const opt = (i: number): string | undefined => (i === NONE ? undefined : str(i));
  const strings = (l: PackedLists, row: number): string[] => {
    const out: string[] = [];
    for (let k = l.start[row]!; k < l.start[row + 1]!; k++) out.push(str(l.items[k]!));
    return out;
  };
  const numbers = (l: PackedLists<Uint32Array | Float64Array>, row: number): number[] => Array.from(l.items.subarray(l.start[row], l.start[row + 1]));

  const n = p.nodes;
  const nodes: NodeInfo[] = Array.from(n.id, (id, i) => {
    const attributes: Record<string, string> = {};
    const pairs = strings(n.attributes, i);
    for (let k = 0; k + 1 < pairs.length; k += 2) setOwn(attributes, pairs[k]!, pairs[k + 1]!);
    const info: NodeInfo = {
      id: str(id), name: str(n.name[i]!), opType: str(n.opType[i]!), domain: str(n.domain[i]!), graphPath: str(n.graphPath[i]!),
      inputs: strings(n.inputs, i), outputs: strings(n.outputs, i), attributes,
    };
    const subgraphs = strings(n.subgraphs, i);
    if (subgraphs.length > 0) info.subgraphs = subgraphs;
    const scopes = strings(n.scopes, i);
    if (scopes.length > 0) info.scopes = scopes;
    return info;
  });

  const t = p.tensors;
  const NO_GROUPS: number[] = [];
  const NO_READERS: string[] = [];
  const tensors: TensorInfo[] = Array.from(t.id, (id, i) => {
    const consumerIds = t.consumerIds.start[i + 1] === t.consumerIds.start[i] ? NO_READERS : strings(t.consumerIds, i);
    const role = ROLES[t.role[i]!];
    if (role === undefined) throw new Error(`graph payload: tensor ${i} has role ${t.role[i]}`);
    const info: TensorInfo = {
      id: str(id), name: str(t.name[i]!), role, dtype: str(t.dtype[i]!), shape: numbers(t.shape, i), bytes: t.bytes[i]!,
      consumers: consumerIds.length, isGraphInput: (t.flags[i]! & FLAG_GRAPH_INPUT) !== 0,
      groups: t.groups.start[i + 1] === t.groups.start[i] ? NO_GROUPS : numbers(t.groups, i),
      graphPath: str(t.graphPath[i]!), elementCount: t.elementCount[i]!, consumerIds,
    };
    if (t.flags[i]! & FLAG_UNSTORED) info.stored = false;
    const holder = opt(t.constantNodeId[i]!);
    if (holder !== undefined) info.constantNodeId = holder;
    return info;
  });
  for (const [i, source] of t.sources) tensors[i]!.source = source;

  const values = (v: PackedValues): ValueInfoPayload[] => Array.from(v.name, (name, i) => {
    const out: ValueInfoPayload = { name: str(name) };
    const type = opt(v.type[i]!);
    if (type !== undefined) out.type = type;
    if (v.hasShape[i]) {
      const shape: Array<number | string | null> = [];
      for (let k = v.dimKind.start[i]!; k < v.dimKind.start[i + 1]!; k++) {
        const kind = v.dimKind.items[k];
        shape.push(kind === DIM_NUMBER ? v.dimValue[k]! : kind === DIM_SYMBOL ? str(v.dimValue[k]!) : null);
      }
      out.shape = shape;
    }
    return out;
  });

  const g = p.groups;
  const groups: GroupInfo[] = Array.from(g.id, (id, i) => {
    const info: GroupInfo = {
      index: i, id: str(id), kind: str(g.kind[i]!) as GroupInfo['kind'], lossless: (g.flags[i]! & FLAG_LOSSLESS) !== 0,
      applicable: (g.flags[i]! & FLAG_APPLICABLE) !== 0, bytesSaved: g.bytesSaved[i]!,
      tensorIds: strings(g.tensorIds, i), consumerNodeIds: strings(g.consumerNodeIds, i),
    };
    const tiedBy = opt(g.tiedBy[i]!);
    if (tiedBy !== undefined) info.tiedBy = tiedBy as GroupInfo['tiedBy'];
    const reason = opt(g.reason[i]!);
    if (reason !== undefined) info.reason = reason;
    return info;
  });
  for (const [i, members] of g.otherMembers) groups[i]!.otherMembers = members;

  return { ...p.head, nodes, tensors, inputs: values(p.inputs), outputs: values(p.outputs), valueInfo: values(p.valueInfo), groups };
}
