// Loads onnxruntime-web into the webview, once per page, from the
// extension's media/ort/ folder (webview URIs; nothing remote). The 28 MB
// WebAssembly binary is fetched here, with progress, and handed to the
// runtime as `wasmBinary`, so the user sees it arrive instead of a frozen
// panel; the runtime's own .mjs loader still comes from `wasmPaths`.
//
// Webviews are not cross-origin isolated: no SharedArrayBuffer, so one
// thread and no proxy worker.
import type { OrtModule } from '../../extension/check/ortValues.js';
import { ORT_FILES } from '../../extension/protocol.js';

export interface RuntimeProgress {
  loadedBytes: number;
  /** undefined when the server gives no length. */
  totalBytes?: number;
}

export interface LoadedRuntime {
  ort: OrtModule;
  baseUrl: string;
  /** ms from the first call to the runtime being usable (fetch + import; compiling happens on the first session). */
  loadMs: number;
  wasmBytes: number;
}

let loading: { baseUrl: string; promise: Promise<LoadedRuntime> } | undefined;

/** Loads the runtime once; later calls (any base URL) get the same module. */
export function loadRuntime(baseUrl: string, onProgress?: (p: RuntimeProgress) => void, expectedWasmBytes?: number): Promise<LoadedRuntime> {
  if (loading) return loading.promise;
  const promise = load(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`, onProgress, expectedWasmBytes);
  loading = { baseUrl, promise };
  // A failed load (e.g. a blocked URL) may be retried.
  promise.catch(() => { if (loading?.promise === promise) loading = undefined; });
  return promise;
}

async function load(baseUrl: string, onProgress?: (p: RuntimeProgress) => void, expectedWasmBytes?: number): Promise<LoadedRuntime> {
  const t0 = performance.now();
  const [wasm, ort] = await Promise.all([
    fetchWithProgress(baseUrl + ORT_FILES.wasm, onProgress, expectedWasmBytes),
    import(/* webpackIgnore: true */ baseUrl + ORT_FILES.script) as Promise<OrtModule>,
  ]);
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = baseUrl;
  ort.env.wasm.wasmBinary = wasm;
  ort.env.logLevel = 'error';
  return { ort, baseUrl, loadMs: performance.now() - t0, wasmBytes: wasm.byteLength };
}

/** Fetches a URL into one buffer, reporting bytes as they arrive. */
export async function fetchWithProgress(url: string, onProgress?: (p: RuntimeProgress) => void, expectedBytes?: number): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
  // Chunked responses (VS Code's resource loader, small servers) carry no length: the host said how big the file is.
  const length = Number(res.headers.get('content-length'));
  const totalBytes = Number.isFinite(length) && length > 0 ? length : expectedBytes && expectedBytes > 0 ? expectedBytes : undefined;
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    onProgress?.({ loadedBytes: bytes.byteLength, totalBytes });
    return bytes;
  }
  const reader = res.body.getReader();
  // Known length: one allocation, filled in place. Unknown: collect chunks.
  let buffer = totalBytes ? new Uint8Array(totalBytes) : undefined;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  let lastReport = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (buffer && loaded + value.byteLength <= buffer.byteLength) buffer.set(value, loaded);
    else {
      if (buffer) { chunks.push(buffer.subarray(0, loaded)); buffer = undefined; }
      chunks.push(value);
    }
    loaded += value.byteLength;
    const now = performance.now();
    if (now - lastReport > 100) { lastReport = now; onProgress?.({ loadedBytes: loaded, totalBytes }); }
  }
  onProgress?.({ loadedBytes: loaded, totalBytes });
  if (buffer) return loaded === buffer.byteLength ? buffer : buffer.subarray(0, loaded);
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}
