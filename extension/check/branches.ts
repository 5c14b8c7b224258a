// Which `If` branches a check's inputs take. onnxruntime returns graph
// outputs only, so the model is given each input-dependent condition as an
// extra output (a splice of the ModelProto's graph field, weights untouched)
// and run on a few variants of the inputs; each branch then gets inputs
// that take it. Browser-safe: the webview's inference check uses it.
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

function readVarint(b: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    value += (b[i]! & 0x7f) * scale;
    scale *= 128;
    if ((b[i]! & 0x80) === 0) return [value, i + 1];
  }
  throw new Error(`model: a varint at byte ${at} runs past its end`);
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) { out.push((n % 128) | 0x80); n = Math.floor(n / 128); }
  out.push(n);
  return out;
}

function lengthDelimited(field: number, body: Uint8Array | number[]): number[] {
  return [...varint((field << 3) | 2), ...varint(body.length), ...body];
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
  let at = 0;
  while (at < model.length) {
    const [tag, afterTag] = readVarint(model, at);
    const wire = tag & 7;
    let end: number;
    if (wire === 0) end = readVarint(model, afterTag)[1];
    else if (wire === 1) end = afterTag + 8;
    else if (wire === 5) end = afterTag + 4;
    else if (wire === 2) {
      const [len, body] = readVarint(model, afterTag);
      end = body + len;
      if (end > model.length) throw new Error(`model: field ${tag >>> 3} at byte ${at} runs past the end of the file`);
      if (tag >>> 3 === GRAPH_FIELD) {
        const enc = new TextEncoder();
        const extra = names.flatMap((name) => lengthDelimited(GRAPH_OUTPUT_FIELD, [
          ...lengthDelimited(1, enc.encode(name)),
          ...lengthDelimited(2, lengthDelimited(1, [...varint(1 << 3), ...varint(BOOL)])),
        ]));
        const graph = new Uint8Array(len + extra.length);
        graph.set(model.subarray(body, end));
        graph.set(extra, len);
        const head = [...varint(tag), ...varint(graph.length)];
        const out = new Uint8Array(at + head.length + graph.length + model.length - end);
        out.set(model.subarray(0, at));
        out.set(head, at);
        out.set(graph, at + head.length);
        out.set(model.subarray(end), at + head.length + graph.length);
        return out;
      }
    } else throw new Error(`model: wire type ${wire} at byte ${at} is not a ModelProto field`);
    at = end;
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
