// Which node inputs read which weight tensor, across the main graph and its
// subgraphs, on the contract's ModelGraph/TensorRef.
//
// Scoping follows ONNX: a subgraph sees the names of its enclosing graphs,
// except those it defines itself (its inputs, its initializers, its nodes'
// outputs), which shadow the outer ones.
import type { ModelGraph, TensorRef } from '../types';
import { groupBy } from '../../util/groupBy';

/** Clears and fills `consumers` of every tensor; one entry per node input that reads it. */
export function fillConsumers(graph: ModelGraph, tensors: TensorRef[]): void {
  for (const t of tensors) t.consumers = [];
  const byGraph = groupBy(tensors, (t) => t.graphPath);
  visit(graph, new Map(), byGraph);
}

function visit(graph: ModelGraph, outer: Map<string, TensorRef>, byGraph: Map<string, TensorRef[]>): void {
  const scope = new Map(outer);
  if (outer.size > 0) {
    // Only subgraphs can shadow: the main graph has no outer scope.
    for (const v of graph.inputs) scope.delete(v.name);
    for (const n of graph.nodes) for (const o of n.outputs) scope.delete(o);
    for (const name of graph.initializerNames) scope.delete(name);
  }
  for (const t of byGraph.get(graph.path) ?? []) scope.set(t.name, t);
  graph.nodes.forEach((node, nodeIndex) => {
    node.inputs.forEach((input, inputIndex) => {
      if (input === '') return; // an omitted optional input
      const t = scope.get(input);
      if (t) t.consumers.push({ graphPath: graph.path, nodeIndex, nodeName: node.name, opType: node.opType, inputIndex });
    });
    for (const sub of node.subgraphs) visit(sub, scope, byGraph);
  });
}
