// Which `If` branches a check's inputs take. onnxruntime returns graph
// outputs only, so the model is given each input-dependent condition as an
// extra output (a splice of the ModelProto's graph field, weights untouched)
// and run on a few variants of the inputs; each branch then gets inputs
// that take it. Browser-safe: the webview's inference check uses it.
import { Reader, Writer } from 'protobufjs/minimal';
import type { TensorValue } from './tensorProto';

/** What the search needs of a graph: its inputs and main-graph nodes (the webview's payload has both). */
export interface BranchGraph {
  inputs: ReadonlyArray<{ name: string }>;
  nodes: ReadonlyArray<{ name: string; opType: string; inputs: readonly string[]; outputs: readonly string[]; graphPath: string }>;
}

export interface BranchPoint {
  /** The If node's name (or its position when it has none). */
  node: string;
  /** The value it branches on. */
  cond: string;
}

/** Main-graph `If` nodes whose condition is computed from a fed input (not from weights or constants alone). */
export function inputDependentIfs(graph: BranchGraph, fed: ReadonlySet<string>): BranchPoint[] {
  const main = graph.nodes.filter((n) => n.graphPath === '');
  const producer = new Map<string, (typeof main)[number]>();
  for (const n of main) for (const o of n.outputs) if (o) producer.set(o, n);
  const dependsOnInput = (value: string): boolean => {
    const seen = new Set<string>();
    const stack = [value];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (fed.has(v)) return true;
      if (seen.has(v)) continue;
      seen.add(v);
      for (const i of producer.get(v)?.inputs ?? []) if (i) stack.push(i);
    }
    return false;
  };
  return main.flatMap((n, i) => (n.opType === 'If' && n.inputs[0] && dependsOnInput(n.inputs[0]) ? [{ node: n.name || `If #${i}`, cond: n.inputs[0] }] : []));
}

const GRAPH_FIELD = 7;
const GRAPH_OUTPUT_FIELD = 12;
const BOOL = 9;

/**
 * The ModelProto with `names` added as boolean graph outputs (ValueInfoProto
 * name, type tensor(bool)). Only the graph field is rewritten; the rest is
 * copied byte for byte.
 */
export function exposeConditions(model: Uint8Array, names: readonly string[]): Uint8Array {
  const reader = new Reader(model);
  while (reader.pos < reader.len) {
    const at = reader.pos;
    let tag: number;
    try {
      tag = reader.uint32();
      if ((tag & 7) !== 2 || tag >>> 3 !== GRAPH_FIELD) { reader.skipType(tag & 7); continue; }
    } catch (err) {
      if (err instanceof RangeError) throw new Error(`model: the field at byte ${at} runs past the end of the file`);
      throw new Error(`model: the field at byte ${at} is not a ModelProto field (${(err as Error).message})`);
    }
    const len = reader.uint32();
    const body = reader.pos;
    if (body + len > model.length) throw new Error(`model: field ${GRAPH_FIELD} at byte ${at} runs past the end of the file`);
    // ValueInfoProto { name = 1; type = 2: TypeProto { tensor_type = 1: { elem_type = 1 } } } per condition.
    const extra = new Writer();
    for (const name of names) {
      extra.uint32((GRAPH_OUTPUT_FIELD << 3) | 2).fork()
        .uint32((1 << 3) | 2).string(name)
        .uint32((2 << 3) | 2).fork().uint32((1 << 3) | 2).fork().uint32(1 << 3).int32(BOOL).ldelim().ldelim()
        .ldelim();
    }
    const added = extra.finish();
    const head = new Writer().uint32((GRAPH_FIELD << 3) | 2).uint32(len + added.length).finish();
    const out = new Uint8Array(at + head.length + len + added.length + model.length - body - len);
    out.set(model.subarray(0, at));
    out.set(head, at);
    out.set(model.subarray(body, body + len), at + head.length);
    out.set(added, at + head.length + len);
    out.set(model.subarray(body + len), at + head.length + len + added.length);
    return out;
  }
  throw new Error('model: no graph field');
}

/** A variant of the check's inputs, and how it was made. */
export interface InputVariant {
  label: string;
  feeds: TensorValue[];
}

/**
 * The inputs as given, then floats negated, zeroed and scaled: conditions on
 * a sum, a mean or a sign change under them. Integer and boolean inputs
 * (ids, masks) stay as given, so ids keep inside their vocabulary.
 */
export function inputVariants(feeds: readonly TensorValue[]): InputVariant[] {
  const map = (label: string, f: (v: number) => number): InputVariant => ({
    label,
    feeds: feeds.map((t) => (t.data instanceof Float32Array || t.data instanceof Float64Array ? { ...t, data: t.data.map(f) } : t)),
  });
  return [
    { label: 'as given', feeds: [...feeds] },
    map('negated', (v) => -v),
    map('zeros', () => 0),
    map('scaled ×10', (v) => v * 10),
    map('negated ×10', (v) => -v * 10),
  ];
}
