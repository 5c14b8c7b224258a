// Messages between the extension host and the model editor's webview: one
// discriminated union per direction, tagged by `type`. The webview imports
// only this file from extension/. Weights never travel here: the webview
// gets graph metadata, and fetches model bytes by URL when it runs them.

/** A weight tensor as the webview sees it. */
export interface TensorInfo {
  id: string;
  name: string;
  role: 'initializer' | 'constant' | 'sparse';
  dtype: string;
  shape: number[];
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
}

export interface ValueInfoPayload {
  name: string;
  type?: string;
  shape?: Array<number | string | null>;
}

export interface GroupInfo {
  index: number;
  kind: 'tied' | 'exact' | 'transposed' | 'reshaped' | 'cast' | 'quantized';
  lossless: boolean;
  reason?: string;
  bytesSaved: number;
  /** Tensor ids; the first is kept. */
  tensorIds: string[];
  /** Node ids that read any member (for selecting and framing). */
  consumerNodeIds: string[];
  /** Members stored in other files of the scan (cross-file groups). */
  otherMembers?: Array<{ file: string; name: string; dtype: string; shape: number[]; bytes: number }>;
}

export interface ModelTotals {
  storedBytes: number;
  uniqueBytes: number;
  parameters: number;
  uniqueParameters: number;
}

export interface GraphPayload {
  fileName: string;
  filePath: string;
  format: string;
  producer?: string;
  opsets: Array<{ domain: string; version: number }>;
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
}

export type HostToWebview =
  | { type: 'model'; graph: GraphPayload; settings: ViewSettings }
  | { type: 'loadError'; message: string }
  | { type: 'progress'; message: string; fraction?: number }
  | { type: 'focusGroup'; index: number }
  | { type: 'reply'; id: number; ok: true; result?: unknown }
  | { type: 'reply'; id: number; ok: false; error: string };

export type WebviewRequest =
  | { method: 'applySharing'; groupIndices?: number[] }
  | { method: 'openOutline' }
  | { method: 'showReport' };

export type WebviewToHost =
  | { type: 'ready' }
  | ({ type: 'request'; id: number } & WebviewRequest)
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
