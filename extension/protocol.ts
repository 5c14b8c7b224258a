// Messages between the extension host and the model editor's webview: one
// discriminated union per direction, tagged by `type`. The webview imports
// only this file from extension/ (and the kind names it imports, types only).
// Weights never travel here: the webview gets graph metadata, and fetches
// model bytes by URL when it runs them.
import type { InputValues } from './check/inputs';
import type { SharingKind } from './sharing/kinds';
import type { PackedGraphPayload } from './view/packedPayload';

// Shared with the webview, which imports nothing else from extension/.
export { scopedName } from './util/scopedName';
export { RequestClient, serveRequest, type RequestHandlers } from './rpc';
export { unpackGraphPayload, type PackedGraphPayload } from './view/packedPayload';

/** A weight tensor as the webview sees it. */
export interface TensorInfo {
  id: string;
  name: string;
  role: 'initializer' | 'constant' | 'sparse' | 'parameter';
  dtype: string;
  shape: readonly number[];
  bytes: number;
  /** Number of node inputs reading it. */
  consumers: number;
  isGraphInput: boolean;
  /** Indices into `GraphPayload.groups` this tensor belongs to. */
  groups: number[];
  /** Graph that declares it ('' main graph). */
  graphPath?: string;
  elementCount?: number;
  /** Ids of the nodes reading it (subgraphs included), for fan-out edges. */
  consumerIds?: string[];
  /** For role 'constant': the id of the Constant node that holds it. */
  constantNodeId?: string;
  /** False for a tied name the model does not store (a loader re-creates it from its group's kept tensor). */
  stored?: false;
  /** The checkpoint parameter this exported tensor came from, when a checkpoint was scanned with the model. */
  source?: { name: string; file: string; how: 'exact' | 'transposed' | 'cast' | 'reshaped' };
}

export interface NodeInfo {
  /** Unique id: `${graphPath}#${index}`. */
  id: string;
  name: string;
  opType: string;
  domain: string;
  graphPath: string;
  inputs: string[];
  outputs: string[];
  /** Attribute values rendered as short strings for tooltips. */
  attributes: Record<string, string>;
  /** Paths of the subgraphs (If/Loop/Scan bodies) this node holds. */
  subgraphs?: string[];
  /** Module path the exporter recorded (dynamo's name_scopes), outermost first: scopes for names that carry none. */
  scopes?: string[];
}

export interface ValueInfoPayload {
  name: string;
  type?: string;
  shape?: Array<number | string | null>;
}

export interface GroupInfo {
  /** Position in GraphPayload.groups (the webview's colours and lists). */
  index: number;
  /** The group's identity (SharingGroup.id): what messages to the host name. */
  id: string;
  kind: SharingKind;
  /** `tied` groups: what makes the names one weight. */
  tiedBy?: 'graph' | 'storage' | 'config' | 'omission' | 'record';
  lossless: boolean;
  /** Apply Sharing carries it out; `reason` says why not. */
  applicable: boolean;
  reason?: string;
  bytesSaved: number;
  /** Tensor ids; the first is kept. */
  tensorIds: string[];
  /** Node ids that read any member (for selecting and framing). */
  consumerNodeIds: string[];
  /** Members stored in other files of the scan (cross-file groups). */
  otherMembers?: Array<{ file: string; name: string; dtype: string; shape: readonly number[]; bytes: number }>;
}

export interface ModelTotals {
  storedBytes: number;
  uniqueBytes: number;
  parameters: number;
  uniqueParameters: number;
  /** Copies found that Apply cannot carry out (each group's reason says why), and what they would have saved. */
  notApplicableGroups: number;
  notApplicableBytes: number;
}

export interface GraphPayload {
  fileName: string;
  filePath: string;
  format: string;
  /**
   * `graph`: nodes are operators (ONNX). `modules`: the model has no graph
   * (a checkpoint), so nodes are its modules (`transformer.h.3.attn`) in
   * order, named by path, holding their parameters.
   */
  view: 'graph' | 'modules';
  producer?: string;
  opsets: Array<{ domain: string; version: number }>;
  /** What the format says about the model, for the Model tab: [label, value]. */
  facts: Array<[string, string]>;
  nodes: NodeInfo[];
  tensors: TensorInfo[];
  inputs: ValueInfoPayload[];
  outputs: ValueInfoPayload[];
  /** Shapes/types of intermediate values by name, for edge tooltips. */
  valueInfo: ValueInfoPayload[];
  groups: GroupInfo[];
  totals: ModelTotals;
}

export interface ViewSettings {
  /** Past this many nodes the graph starts collapsed by name scope. */
  collapseThreshold: number;
  minBytes: number;
  /** Layout engine; 'auto' (default) uses dagre when affordable, else the fast layered layout. */
  layout?: 'auto' | 'dagre' | 'layered';
  /** Cytoscape's renderer (weightSharing.graph.renderer); 'auto' when absent. */
  renderer?: GraphRendererSetting;
}

/** 'auto': WebGL for large graphs where WebGL runs on a GPU, else the canvas. */
export type GraphRendererSetting = 'auto' | 'webgl' | 'canvas';

// The inference check (issue 5). Model, external-data and test-data bytes
// reach the webview by URL (asWebviewUri; the model's folder is a local
// resource root), never through these messages.

/** A model the inference check runs, by webview URL. */
export interface InferenceModelRef {
  /** File name, for display. */
  name: string;
  /** Path on the host, for messages and diagnostics. */
  path: string;
  url: string;
  /** External data files: the location as the model names it, and its URL. */
  externalData: Array<{ path: string; url: string }>;
}

/** A `test_data_set_N` folder beside the model: URLs of its input_K.pb / output_K.pb in K order. */
export interface InferenceTestDataRef {
  name: string;
  inputs: string[];
  outputs: string[];
}

/** The onnxruntime-web files the webview loads from media/ort/ (scripts/build.mjs copies them there). */
export const ORT_FILES = { script: 'ort.webgpu.min.mjs', wasm: 'ort-wasm-simd-threaded.asyncify.wasm' } as const;

export interface InferenceSetup {
  /** URL of the extension's media/ort/ folder (ends with '/'): onnxruntime-web's .mjs and .wasm. */
  ortBaseUrl: string;
  /** Size of ORT_FILES.wasm, for the loading progress when the response has no length. */
  ortWasmBytes?: number;
  model: InferenceModelRef;
  testData: InferenceTestDataRef[];
  /** The second model to compare with (the shared variant after Apply Sharing, or one the user picked). */
  compareWith?: InferenceModelRef;
  /** Largest normwise relative difference that passes (setting weightSharing.inference.tolerance). */
  tolerance: number;
  /** What the user last set in the per-input editor for this model. */
  inputChoices?: InputChoices;
}

/** The per-input editor's settings for one model: named symbolic dimensions, and values per input name. */
export interface InputChoices {
  dims: Record<string, number>;
  values: Record<string, InputValues>;
}

/** The reply to the webview's 'inferenceSetup' request; `run`: start a check at once (Run Inference Check opened the editor). */
export interface InferenceSetupReply {
  setup: InferenceSetup;
  run: boolean;
}

/** What a check ended in, for the host (diagnostics, logs). */
export interface InferenceOutcome {
  /** Host path of the model the panel checks. */
  model: string;
  backend?: 'webgpu' | 'wasm';
  status: 'pass' | 'fail' | 'ran' | 'error';
  /** One line, e.g. "PASS on WebGPU: 2 outputs within 1e-4 of test_data_set_0". */
  summary: string;
  /** onnxruntime rejected a model (or its inputs could not be made). */
  error?: { model: string; stage: 'load' | 'run' | 'inputs'; reason: string; hint?: string };
}

// Sharing across layers (issue 10): the Layers tab. Lossy advice, never part
// of Apply Sharing: how alike the blocks are, and what tying them costs.

/** Tensors of one role in repeated blocks (`h.N.attn.c_attn.weight`), with how alike each pair is. */
export interface LayerFamilyInfo {
  /** The role within a block: the name without its block prefix and index (`attn.c_attn.weight`). */
  role: string;
  /** What the blocks hang from (`transformer.h`). */
  stack: string;
  /** Block index of each member, in order. */
  layers: number[];
  /** Tensor names, in layer order (an anonymous export tensor: `val_12 = its checkpoint name`). */
  members: string[];
  /** The members' ids (TensorInfo.id), so the view can select them. */
  tensorIds: string[];
  dtype: string;
  shape: readonly number[];
  /** Bytes of one member. */
  bytes: number;
  /** [i][j]: ‖mᵢ − mⱼ‖ / max(‖mᵢ‖, ‖mⱼ‖); 0 on the diagonal. */
  relL2: number[][];
  /** [i][j]: Pearson correlation of the values; NaN where a member has no variance. */
  centredCosine: number[][];
}

/** The reply to the webview's 'layers' request. */
export interface LayersPayload {
  families: LayerFamilyInfo[];
  millis: number;
}

/** Where Try tying points its blocks: block 0's parameters, or the mean of them all and block 0's. */
export type TieTarget = 0 | 'mean';

/** The reply to 'tieLayers' once the variant is written. */
export interface TieOutcome {
  /** Host path of the variant. */
  output: string;
  fileName: string;
  /** The model and its external data, before and after. */
  bytesBefore: number;
  bytesAfter: number;
  /** Families tied, and the tensors no longer stored. */
  families: number;
  tensorsDropped: number;
  /** Families left as they were, with why ("attn.bias: no block 0 in this family"). */
  skipped: string[];
  /** The variant to run against the model (ONNX only: checkpoints have nothing to run). */
  compareWith?: InferenceModelRef;
}

/** The model to draw, packed (view/packedPayload.ts): columns of typed arrays travel as binary, not JSON. */
export type HostToWebview =
  | { type: 'model'; graph: PackedGraphPayload; settings: ViewSettings }
  /** How far the Layers tab's analysis is. */
  | { type: 'layersProgress'; message: string; fraction?: number }
  | { type: 'loadError'; message: string }
  | { type: 'progress'; message: string; fraction?: number }
  | { type: 'focusGroup'; groupId: string }
  /** Configures the inference panel; `run` starts a check at once (the Run Inference Check command). */
  | { type: 'inferenceSetup'; setup: InferenceSetup; run: boolean }
  | ReplyMessage;

/** A host message as the webview's parts handle it: the model unpacked once, on arrival. */
export type ViewMessage =
  | Exclude<HostToWebview, { type: 'model' }>
  | { type: 'model'; graph: GraphPayload; settings: ViewSettings };

/** The answer to the request numbered `id`: its result (typed by the request's method), or why it failed. */
export type ReplyMessage =
  | { type: 'reply'; id: number; ok: true; result?: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

/** What Apply Sharing wrote, for the side panel to keep showing (the reply to 'applySharing'). */
export interface ApplySummary {
  /** Host path of the shared copy, and its file name. */
  output: string;
  outputName: string;
  inputBytes: number;
  outputBytes: number;
  bytesSaved: number;
  /** Applied groups and the ones not applied (with why), in words. */
  applied: string[];
  skipped: string[];
  loadingNote?: string;
  /** The copy can be run (ONNX): the inference check is offered. */
  runnable: boolean;
}

/**
 * Every request the webview makes of the host: its parameters and the reply
 * it gets. The reply type follows from the method (see ReplyOf), on both
 * sides, through the one helper of rpc.ts.
 */
export interface Requests {
  /** Stores the named groups once (all the applicable ones when none are named); `cancelled` when the user stopped. */
  applySharing: { params: { groupIds?: string[] }; reply: { summary: ApplySummary } | { cancelled: true } };
  /** Opens the copy the last Apply of this editor wrote. */
  openApplied: { params: object; reply: void };
  /** The graph of the copy the last Apply wrote, for the side-by-side view. */
  compareApplied: { params: object; reply: { graph: PackedGraphPayload } };
  /** Runs the inference check on this model against the copy the last Apply wrote. */
  checkApplied: { params: object; reply: void };
  openOutline: { params: object; reply: void };
  /** Asks the user for the checkpoint the model was exported from; the model is scanned again with it. */
  compareWithCheckpoint: { params: object; reply: void };
  showReport: { params: object; reply: void };
  /** Where the model's bytes are (asked once the page is up). */
  inferenceSetup: { params: object; reply: InferenceSetupReply };
  /** Remembers the per-input editor's settings for this model (the next setup carries them). */
  rememberInputs: { params: { choices: InputChoices }; reply: void };
  /** A second model to compare with, picked by the user; null when cancelled. */
  pickComparisonModel: { params: object; reply: InferenceModelRef | null };
  /** How alike the layers are (the Layers tab, when first shown); progress comes as 'layersProgress'. */
  layers: { params: object; reply: LayersPayload };
  /** Writes the variant in which `layers` are tied to `to` (`role`: that family only). */
  tieLayers: { params: { layers: number[]; to: TieTarget; role?: string }; reply: TieOutcome | { cancelled: true } };
}

export type RequestMethod = keyof Requests;
export type RequestOf<M extends RequestMethod> = { method: M } & Requests[M]['params'];
export type ReplyOf<M extends RequestMethod> = Requests[M]['reply'];
export type WebviewRequest = { [M in RequestMethod]: RequestOf<M> }[RequestMethod];

export type RequestMessage = { type: 'request'; id: number } & WebviewRequest;

export type WebviewToHost =
  | { type: 'ready' }
  | RequestMessage
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'inferenceOutcome'; outcome: InferenceOutcome };
