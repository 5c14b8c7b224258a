// The inputs of a check, made as `weight-sharing check` makes them: read
// from a test_data_set_N folder (fetched by URL, decoded by the shared
// TensorProto decoder), or synthesised from the model's input types by the
// shared synthesiser (ids inside the vocabulary, masks all ones, seeded
// normals), which reads the graph metadata the webview already has.
import { synthesizeInputs, type InputNodeInfo, type InputSourceModel, type SynthesisOptions } from '../../extension/check/inputs.js';
import { decodeTensorProto, type TensorValue } from '../../extension/check/tensorProto.js';
import type { GraphPayload, InferenceTestDataRef } from '../../extension/protocol.js';
import { setOwn } from '../../extension/util/ownKeys.js';

export interface InputSummary {
  name: string;
  dtype: string;
  dims: number[];
  /** Where the values came from: a file, or how they were synthesised. */
  source: string;
}

export interface CheckInputs {
  kind: 'test-data' | 'synthesized';
  /** e.g. 'bert.test_data_set_0' or 'synthesised, seed 0, batch 1, sequence 8'. */
  label: string;
  feeds: TensorValue[];
  /** Reference outputs (test data only). */
  expected: TensorValue[];
  summary: InputSummary[];
}

/** Attribute values arrive as display strings; the synthesiser wants Gather's axis and GatherND's batch_dims as numbers. */
function numericAttributes(attrs: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) setOwn(out, k, /^-?\d+$/.test(v) ? Number(v) : v);
  return out;
}

/** What the synthesiser needs, from the graph payload (nodes of subgraphs included: ids may reach a Gather inside a branch). */
export function inputSourceOf(payload: GraphPayload): InputSourceModel {
  const nodes: InputNodeInfo[] = payload.nodes.map((n) => ({
    opType: n.opType, inputs: n.inputs, outputs: n.outputs, attributes: numericAttributes(n.attributes),
  }));
  return {
    graph: { inputs: payload.inputs, nodes },
    tensors: payload.tensors.map((t) => ({ name: t.name, shape: t.shape, isGraphInput: t.isGraphInput })),
  };
}

export function synthesize(payload: GraphPayload, options: Required<Pick<SynthesisOptions, 'batch' | 'sequence' | 'seed' | 'dims' | 'values'>>): CheckInputs {
  const { feeds, descriptions } = synthesizeInputs(inputSourceOf(payload), options);
  return {
    kind: 'synthesized',
    label: `synthesised (seed ${options.seed}, batch ${options.batch}, sequence ${options.sequence})`,
    feeds,
    expected: [],
    summary: descriptions.map((d) => ({ name: d.name, dtype: d.dtype, dims: d.dims, source: d.detail })),
  };
}

async function fetchTensor(url: string, what: string): Promise<TensorValue> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot fetch ${what}: HTTP ${res.status}`);
  return decodeTensorProto(new Uint8Array(await res.arrayBuffer()), what);
}

export async function loadTestData(ref: InferenceTestDataRef): Promise<CheckInputs> {
  const file = (url: string) => decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));
  const feeds = await Promise.all(ref.inputs.map((u) => fetchTensor(u, `${ref.name}/${file(u)}`)));
  const expected = await Promise.all(ref.outputs.map((u) => fetchTensor(u, `${ref.name}/${file(u)}`)));
  return {
    kind: 'test-data',
    label: ref.name,
    feeds,
    expected,
    summary: feeds.map((t, i) => ({ name: t.name || `input ${i}`, dtype: t.dtype, dims: t.dims, source: `${ref.name}/${file(ref.inputs[i])}` })),
  };
}
