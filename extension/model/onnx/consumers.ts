// Which node inputs read which weight tensor, across the main graph and its
// subgraphs, on the contract's ModelGraph/TensorRef.
//
// Scoping follows ONNX: a subgraph sees the names of its enclosing graphs,
// except those it defines itself (its inputs, its initializers, its nodes'
// outputs), which shadow the outer ones.
import { NO_CONSUMERS, type ConsumerRef, type ModelGraph, type TensorRef } from '../types';
import { groupBy } from '../../util/groupBy';

/** Clears and fills `consumers` of every tensor; one entry per node input that reads it. */
export function fillConsumers(graph: ModelGraph, tensors: TensorRef[]): void {
  for (const t of tensors) t.consumers = NO_CONSUMERS;
  const byGraph = groupBy(tensors, (t) => t.graphPath);
  visit(graph, undefined, byGraph);
}

/**
 * A graph's names: its own tensors, the names it declares (which hide outer
 * tensors of the same name), and the enclosing graph's scope. Looked up
 * through the chain, never copied: 2,000 subgraphs under a big main graph
 * cost 2,000 small scopes, not 2,000 copies of the main one.
 */
class Scope {
  readonly own = new Map<string, TensorRef>();
  readonly hidden = new Set<string>();

  constructor(readonly parent?: Scope) {}

  get(name: string): TensorRef | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const t = s.own.get(name);
      if (t) return t;
      if (s.hidden.has(name)) return undefined;
    }
    return undefined;
  }
}

function visit(graph: ModelGraph, outer: Scope | undefined, byGraph: Map<string, TensorRef[]>): void {
  const scope = new Scope(outer);
  if (outer) {
    // Only subgraphs can shadow: the main graph has no outer scope.
    for (const v of graph.inputs) scope.hidden.add(v.name);
    for (const n of graph.nodes) for (const o of n.outputs) scope.hidden.add(o);
    for (const name of graph.initializerNames) scope.hidden.add(name);
  }
  for (const t of byGraph.get(graph.path) ?? []) scope.own.set(t.name, t);
  graph.nodes.forEach((node, nodeIndex) => {
    node.inputs.forEach((input, inputIndex) => {
      if (input === '') return; // an omitted optional input
      const t = scope.get(input);
      if (!t) return;
      const c = { graphPath: graph.path, nodeIndex, nodeName: node.name, opType: node.opType, inputIndex };
      // The list this pass made (NO_CONSUMERS is shared and frozen): growing it in place stays linear.
      if (t.consumers === NO_CONSUMERS) t.consumers = [c];
      else (t.consumers as ConsumerRef[]).push(c);
    });
    for (const sub of node.subgraphs) visit(sub, scope, byGraph);
  });
}
