// A big export the way the dynamo exporter writes it, for the scale e2e test
// and the editorScale bench (issue 11): a chain of `layers x opsPerLayer`
// operators named node_OP_K, their module paths only in each node's
// `pkg.torch.onnx.name_scopes`, one 16x16 weight per layer, the first
// layer's and the last one's byte-identical (one group to find).
import { DT, floatRaw, graph, scopedNode, tensorProto, valueInfo, writeModel, type Msg } from '../unit/model/onnx/onnxBuilder';

export interface DynamoExport {
  file: string;
  operators: number;
}

export function writeDynamoExport(dir: string, name: string, layers = 1000, opsPerLayer = 50): DynamoExport {
  const nodes: Msg[] = [];
  const inits: Msg[] = [];
  let prev = 'x';
  let k = 0;
  for (let l = 0; l < layers; l++) {
    const module = `encoder.layer.${l}`;
    const w = `${module}.weight`;
    const seed = l === layers - 1 ? 0 : l;
    inits.push(tensorProto(w, DT.FLOAT, [16, 16]).bytes(9, floatRaw(Array.from({ length: 256 }, (_, i) => Math.sin(i + seed * 257)))));
    for (let j = 0; j < opsPerLayer; j++) {
      const op = j === 0 ? 'MatMul' : j % 3 === 0 ? 'Add' : 'Relu';
      const nodeName = `node_${op}_${k++}`;
      const out = `${nodeName}_out`;
      const inputs = op === 'MatMul' ? [prev, w] : op === 'Add' ? [prev, prev] : [prev];
      const scopes = `['', 'encoder', '${module}', '${module}.${j < opsPerLayer / 2 ? 'attn' : 'mlp'}', '${nodeName}']`;
      nodes.push(scopedNode(op, inputs, [out], nodeName, { 'pkg.torch.onnx.name_scopes': scopes }));
      prev = out;
    }
  }
  const file = writeModel(dir, name, graph({
    nodes, initializers: inits,
    inputs: [valueInfo('x', DT.FLOAT, [1, 16])],
    outputs: [valueInfo(prev, DT.FLOAT, [1, 16])],
  }));
  return { file, operators: layers * opsPerLayer };
}
