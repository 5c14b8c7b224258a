// A transformer-shaped GraphPayload of any size, named the way the
// TorchScript exporter names nodes (/model/encoder/layer.3/attention/...),
// with a tied embedding / lm_head pair, for the large-graph benchmark and the
// collapse tests. Real models cover everything else.
import type { GraphPayload, GroupInfo, NodeInfo, TensorInfo } from '../../extension/protocol';

interface Op {
  scope: string;
  op: string;
  /** Inputs: 'prev' (previous op), 'res' (residual), or a weight suffix 'w:name:shape'. */
  inputs: string[];
}

/** One encoder layer, 50 operators. */
function layerOps(): Op[] {
  const ops: Op[] = [];
  const add = (scope: string, op: string, ...inputs: string[]) => ops.push({ scope, op, inputs: inputs.length ? inputs : ['prev'] });
  add('attention/ln', 'LayerNormalization', 'prev', 'w:attention.ln.weight:H', 'w:attention.ln.bias:H');
  for (const p of ['query', 'key', 'value']) {
    add(`attention/self/${p}`, 'MatMul', 'ln', `w:attention.self.${p}.weight:HxH`);
    add(`attention/self/${p}`, 'Add', 'prev', `w:attention.self.${p}.bias:H`);
    add(`attention/self/${p}`, 'Reshape');
    add(`attention/self/${p}`, 'Transpose');
  }
  add('attention/self', 'MatMul', 'q', 'k');
  add('attention/self', 'Div');
  add('attention/self', 'Add', 'prev', 'mask');
  add('attention/self', 'Softmax');
  add('attention/self', 'Dropout');
  add('attention/self', 'MatMul', 'prev', 'v');
  add('attention/self', 'Transpose');
  add('attention/self', 'Reshape');
  add('attention/output/dense', 'MatMul', 'prev', 'w:attention.output.dense.weight:HxH');
  add('attention/output/dense', 'Add', 'prev', 'w:attention.output.dense.bias:H');
  add('attention/output', 'Dropout');
  add('attention/output', 'Add', 'prev', 'res');
  add('mlp/ln', 'LayerNormalization', 'prev', 'w:mlp.ln.weight:H', 'w:mlp.ln.bias:H');
  add('mlp/fc1', 'MatMul', 'prev', 'w:mlp.fc1.weight:Hx4H');
  add('mlp/fc1', 'Add', 'prev', 'w:mlp.fc1.bias:4H');
  for (const op of ['Div', 'Erf', 'Add', 'Mul', 'Mul']) add('mlp/act', op);
  add('mlp/fc2', 'MatMul', 'prev', 'w:mlp.fc2.weight:4HxH');
  add('mlp/fc2', 'Add', 'prev', 'w:mlp.fc2.bias:H');
  add('mlp', 'Dropout');
  add('mlp', 'Add', 'prev', 'res2');
  for (const op of ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Reshape', 'Cast', 'Mul', 'Sub', 'Identity', 'Identity', 'Identity', 'Identity', 'Identity', 'Identity', 'Identity', 'Identity', 'Identity', 'Identity']) add('mlp/extra', op);
  return ops;
}

export interface SyntheticOptions {
  /** Operators wanted (rounded to whole layers). Default 5000. */
  operators?: number;
  hidden?: number;
  vocab?: number;
  /** false: names without scopes, as the dynamo exporter writes them (node_MatMul_12). */
  scoped?: boolean;
}

export function syntheticTransformer(o: SyntheticOptions = {}): GraphPayload {
  const H = o.hidden ?? 64;
  const V = o.vocab ?? 1000;
  const perLayer = layerOps();
  const layers = Math.max(1, Math.round(((o.operators ?? 5000) - 6) / perLayer.length));
  const nodes: NodeInfo[] = [];
  const tensors: TensorInfo[] = [];
  const tensorByName = new Map<string, TensorInfo>();
  const dims = (spec: string) => spec.split('x').map((d) => (d === 'H' ? H : d === '4H' ? 4 * H : Number(d)));
  const weight = (name: string, shape: number[], consumer: string): string => {
    let t = tensorByName.get(name);
    if (!t) {
      const elements = shape.reduce((a, b) => a * b, 1);
      t = {
        id: name, name, role: 'initializer', dtype: 'float32', shape, bytes: elements * 4, consumers: 0,
        isGraphInput: false, groups: [], graphPath: '', elementCount: elements, consumerIds: [],
      };
      tensorByName.set(name, t);
      tensors.push(t);
    }
    t.consumers++;
    t.consumerIds!.push(consumer);
    return name;
  };
  let counter = 0;
  const node = (scopedName: string, opType: string, inputs: string[]): NodeInfo => {
    const id = `#${nodes.length}`;
    const name = o.scoped === false ? `node_${opType}_${nodes.length}` : scopedName;
    const n: NodeInfo = { id, name, opType, domain: '', graphPath: '', inputs, outputs: [`${name}_output_${counter++}`], attributes: {} };
    nodes.push(n);
    return n;
  };
  const resolveWeights = (n: NodeInfo, specs: string[]) => {
    n.inputs = n.inputs.map((x, i) => {
      const spec = specs[i];
      if (!spec?.startsWith('w:')) return x;
      const [, name, shape] = spec.split(':');
      return weight(name, dims(shape), n.id);
    });
  };

  const emb = node('/model/embeddings/word_embeddings/Gather', 'Gather', ['word_embeddings.weight', 'input_ids']);
  weight('word_embeddings.weight', [V, H], emb.id);
  const pos = node('/model/embeddings/position/Add', 'Add', [emb.outputs[0], 'position_embeddings.weight']);
  weight('position_embeddings.weight', [128, H], pos.id);
  const eln = node('/model/embeddings/LayerNorm', 'LayerNormalization', [pos.outputs[0], 'embeddings.ln.weight', 'embeddings.ln.bias']);
  weight('embeddings.ln.weight', [H], eln.id);
  weight('embeddings.ln.bias', [H], eln.id);
  const mask = node('/model/mask/Cast', 'Cast', ['attention_mask']);
  let prev = eln.outputs[0];
  for (let l = 0; l < layers; l++) {
    let residual = prev;
    let res2 = prev;
    let ln = prev;
    const qkv: Record<string, string> = {};
    for (const op of perLayer) {
      const name = `/model/encoder/layer.${l}/${op.scope}/${op.op}`;
      const inputs = op.inputs.map((s) => {
        if (s === 'prev') return prev;
        if (s === 'res') return residual;
        if (s === 'res2') return res2;
        if (s === 'ln') return ln;
        if (s === 'mask') return mask.outputs[0];
        if (s === 'q' || s === 'k' || s === 'v') return qkv[s];
        return s.startsWith('w:') ? `${s.split(':')[1]}` : s;
      });
      const n = node(name, op.op, inputs);
      resolveWeights(n, op.inputs.map((s) => (s.startsWith('w:') ? `w:encoder.layer.${l}.${s.split(':')[1]}:${s.split(':')[2]}` : s)));
      prev = n.outputs[0];
      if (op.op === 'LayerNormalization') ln = prev;
      if (op.op === 'Transpose' && op.scope.startsWith('attention/self/')) qkv[op.scope.split('/')[2][0]] = prev;
      if (op.scope === 'attention/output' && op.op === 'Add') res2 = prev;
      if (op.scope === 'mlp' && op.op === 'Add') residual = prev;
    }
  }
  const head = node('/model/lm_head/MatMul', 'MatMul', [prev, 'onnx::MatMul_9999']);
  weight('onnx::MatMul_9999', [H, V], head.id);
  const out = node('/model/lm_head/Add', 'Add', [head.outputs[0], 'lm_head.bias']);
  weight('lm_head.bias', [V], out.id);
  out.outputs = ['logits'];

  // The exporter's folded transpose of the tied embedding, and a layer-norm pair copied across layers.
  const groups: GroupInfo[] = [];
  const addGroup = (kind: GroupInfo['kind'], names: string[]) => {
    const members = names.map((n) => tensorByName.get(n)!);
    const index = groups.length;
    for (const m of members) m.groups.push(index);
    groups.push({
      index, id: `${kind}-synthetic-${index}`, kind, lossless: true, applicable: true, bytesSaved: members.slice(1).reduce((a, m) => a + m.bytes, 0),
      tensorIds: members.map((m) => m.id), consumerNodeIds: [...new Set(members.flatMap((m) => m.consumerIds ?? []))],
    });
  };
  addGroup('transposed', ['word_embeddings.weight', 'onnx::MatMul_9999']);
  if (layers > 3) addGroup('exact', ['encoder.layer.0.mlp.fc2.weight', `encoder.layer.${layers - 1}.mlp.fc2.weight`]);
  const stored = tensors.reduce((a, t) => a + t.bytes, 0);
  const saved = groups.reduce((a, g) => a + g.bytesSaved, 0);
  const params = tensors.reduce((a, t) => a + (t.elementCount ?? 0), 0);
  return {
    fileName: `synthetic-${nodes.length}.onnx`,
    filePath: `/synthetic/synthetic-${nodes.length}.onnx`,
    format: 'onnx',
    view: 'graph',
    producer: 'synthetic',
    opsets: [{ domain: '', version: 17 }],
    facts: [['Opsets', 'ai.onnx 17']],
    nodes,
    tensors,
    inputs: [{ name: 'input_ids', type: 'tensor(int64)', shape: ['batch', 'sequence'] }, { name: 'attention_mask', type: 'tensor(int64)', shape: ['batch', 'sequence'] }],
    outputs: [{ name: 'logits', type: 'tensor(float)', shape: ['batch', 'sequence', V] }],
    valueInfo: [],
    groups,
    totals: { storedBytes: stored, uniqueBytes: stored - saved, parameters: params, uniqueParameters: params - saved / 4, notApplicableGroups: 0, notApplicableBytes: 0 },
  };
}
