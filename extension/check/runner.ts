// Runs ONNX models with onnxruntime-web's WASM backend in Node (the CLI and
// the tests). The webview runs the same runtime in the browser with its own
// loader; what both share is tensorProto.ts, inputs.ts, compare.ts, hints.ts
// and ortValues.ts (all browser-safe).
//
// How onnxruntime-web 1.30 loads in Node: `import('onnxruntime-web')` resolves
// through the package's `exports` "node" condition to dist/ort.node.min.js
// (require) or dist/ort.node.min.mjs (import). That file finds
// ort-wasm-simd-threaded.{mjs,wasm} next to itself (from __filename /
// import.meta.url), so no `env.wasm.wasmPaths` is needed, provided the
// package is loaded from node_modules and NOT bundled: inlined into an esbuild
// bundle it loses its own location and fails at load. scripts/build.mjs
// therefore marks onnxruntime-web external for dist/cli.js.
// `numThreads = 1`: Node has no cross-origin isolation question, but threads
// would spawn workers per process for tiny models and make timings noisy.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type * as Ort from 'onnxruntime-web';
import { storedRanges, type ModelFile } from '../model/types';
import { placeInside, type PathTrust } from '../io/safePath';
import type { TensorValue } from './tensorProto';
import { hintForRuntimeError, type OpsetSource } from './hints';
import { cleanReason, fromOrtTensor, toOrtTensor, type OrtModule } from './ortValues';
import { setOwn } from '../util/ownKeys';

export interface RuntimeInfo {
  ort: OrtModule;
  /** ms to import the runtime's JS (the WASM compiles on the first session). */
  importMs: number;
}

let runtime: Promise<RuntimeInfo> | undefined;
/** ms of the first session creation in this process (includes compiling the WASM). */
let firstSessionMs: number | undefined;

/** Loads onnxruntime-web once per process. */
export function loadRuntime(): Promise<RuntimeInfo> {
  runtime ??= (async () => {
    const t0 = performance.now();
    const ort = (await import('onnxruntime-web')) as OrtModule;
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'fatal';
    return { ort, importMs: performance.now() - t0 };
  })();
  return runtime;
}

export function firstSessionCreateMs(): number | undefined {
  return firstSessionMs;
}

/** onnxruntime rejected a model or a run: names the model, gives onnxruntime's reason and a hint when the cause is known. */
export class InferenceError extends Error {
  constructor(
    readonly model: string,
    readonly stage: 'load' | 'run',
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(`${model}: onnxruntime-web ${stage === 'load' ? 'rejected the model' : 'failed to run the model'}: ${reason}${hint ? ` (hint: ${hint})` : ''}`);
    this.name = 'InferenceError';
  }
}

export interface SessionOptions extends PathTrust {
  /** The model as read by the ONNX reader: gives external data files and opsets for hints. */
  model?: ModelFile;
  /** Or those two directly (a worker gets these, not the whole model). */
  externalData?: string[];
  opsets?: OpsetSource;
}

export interface LoadedSession {
  path: string;
  session: Ort.InferenceSession;
  createMs: number;
  /** External data files passed to onnxruntime, as the model names them. */
  externalData: string[];
  release(): Promise<void>;
}

/** External data files the reader saw, relative to the model's folder (the form the model names them in). */
export function externalDataFiles(model: ModelFile): string[] {
  const modelPath = resolve(model.path);
  const files = new Set<string>();
  for (const t of model.tensors) {
    for (const r of storedRanges(t.data) ?? []) if (resolve(r.file) !== modelPath) files.add(resolve(r.file));
  }
  return [...files].map((f) => relative(dirname(modelPath), f).split(sep).join('/'));
}

const MISSING_EXTERNAL = /Failed to load external data file "+([^"]+)"+/;

/**
 * Creates a session for the model at `path`. External data files are passed
 * in the `externalData` option (onnxruntime-web cannot open them itself):
 * those the reader reported, plus any the runtime asks for by name, which
 * covers being called without a ModelFile.
 */
export async function createSession(path: string, options: SessionOptions = {}): Promise<LoadedSession> {
  const { ort } = await loadRuntime();
  const modelPath = resolve(path);
  const name = path;
  let modelBytes: Uint8Array;
  try {
    modelBytes = new Uint8Array(readFileSync(modelPath));
  } catch (err) {
    throw new InferenceError(name, 'load', `cannot read the model file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const folder = dirname(modelPath);
  const external = new Set(options.externalData ?? (options.model ? externalDataFiles(options.model) : []));
  for (let attempt = 0; ; attempt++) {
    const externalData = [...external].map((rel) => ({ path: rel, data: readExternal(name, folder, rel, options) }));
    const t0 = performance.now();
    try {
      const session = await ort.InferenceSession.create(modelBytes, {
        executionProviders: ['wasm'],
        graphOptimizationLevel: 'all',
        // onnxruntime's own log lines (warnings such as initializers listed as
        // graph inputs, and errors we rethrow with context) would garble CLI output.
        logSeverityLevel: 4,
        externalData,
      });
      const createMs = performance.now() - t0;
      firstSessionMs ??= createMs;
      return { path: name, session, createMs, externalData: [...external], release: () => session.release() };
    } catch (err) {
      const reason = cleanReason(err instanceof Error ? err.message : String(err));
      const missing = MISSING_EXTERNAL.exec(reason)?.[1];
      if (missing && !external.has(missing) && attempt < 16) {
        external.add(missing);
        continue;
      }
      throw new InferenceError(name, 'load', reason, hintForRuntimeError(reason, options.opsets ?? options.model?.graph));
    }
  }
}

/**
 * Reads one external data file, refusing locations that escape the model's
 * folder (links resolved), and anything that is not a regular file, before
 * opening it.
 */
function readExternal(model: string, folder: string, location: string, trust: PathTrust): Uint8Array {
  const full = resolve(folder, location);
  const rel = relative(folder, full);
  if (isAbsolute(location) || rel.startsWith('..') || isAbsolute(rel)) {
    throw new InferenceError(model, 'load', `external data location '${location}' escapes the model's folder`);
  }
  const placed = placeInside(full, folder, trust);
  if (!placed.ok) throw new InferenceError(model, 'load', `external data '${location}' ${placed.problem === 'not found' ? 'was not found' : placed.problem}`);
  try {
    return new Uint8Array(readFileSync(full));
  } catch (err) {
    throw new InferenceError(model, 'load', `cannot read external data file '${location}' (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export interface RunResult {
  outputs: TensorValue[];
  createMs: number;
  runMs: number;
}

/**
 * Runs a loaded session on `feeds` (matched to the model's inputs by name;
 * when names are missing or differ, by position, as the backend-test layout
 * lists inputs in graph order).
 */
export async function runSession(loaded: LoadedSession, feeds: TensorValue[]): Promise<Omit<RunResult, 'createMs'>> {
  const { ort } = await loadRuntime();
  const session = loaded.session;
  const byName = new Map(feeds.map((f) => [f.name, f]));
  const useNames = session.inputNames.every((n) => byName.has(n));
  if (!useNames && feeds.length !== session.inputNames.length) {
    throw new InferenceError(loaded.path, 'run', `the model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}), ${feeds.length} were given (${feeds.map((f) => f.name || '?').join(', ')})`);
  }
  const ortFeeds: Record<string, Ort.Tensor> = {};
  session.inputNames.forEach((n, i) => { setOwn(ortFeeds, n, toOrtTensor(ort, useNames ? byName.get(n)! : feeds[i])); });
  const t0 = performance.now();
  let results: Ort.InferenceSession.OnnxValueMapType;
  try {
    results = await session.run(ortFeeds, { logSeverityLevel: 4 });
  } catch (err) {
    const reason = cleanReason(err instanceof Error ? err.message : String(err));
    throw new InferenceError(loaded.path, 'run', reason, hintForRuntimeError(reason));
  }
  const runMs = performance.now() - t0;
  const outputs = session.outputNames.map((n) => {
    const value = results[n];
    return fromOrtTensor(n, value as Ort.Tensor);
  });
  for (const n of session.outputNames) (results[n] as Ort.Tensor).dispose?.();
  return { outputs, runMs };
}

/** Loads the model, runs it once on `feeds`, releases the session. */
export async function runModel(path: string, feeds: TensorValue[], options: SessionOptions = {}): Promise<RunResult> {
  const loaded = await createSession(path, options);
  try {
    const { outputs, runMs } = await runSession(loaded, feeds);
    return { outputs, createMs: loaded.createMs, runMs };
  } finally {
    await loaded.release();
  }
}
