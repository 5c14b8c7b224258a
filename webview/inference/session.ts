// Runs one model with onnxruntime-web in the webview: the model and its
// external data by URL (onnxruntime fetches them), one warm-up run and then
// timed runs on the same feeds; outputs come back as TensorValues through the
// same conversion the Node runner uses (extension/check/ortValues.ts).
import type * as Ort from 'onnxruntime-web';
import { hintForRuntimeError } from '../../extension/check/hints.js';
import { cleanReason, fromOrtTensor, toOrtTensor, type OrtModule } from '../../extension/check/ortValues.js';
import type { TensorValue } from '../../extension/check/tensorProto.js';
import type { InferenceModelRef } from '../../extension/protocol.js';
import type { BackendName } from './backend.js';
import { setOwn } from '../../extension/util/ownKeys.js';

/** onnxruntime rejected a model or a run; names the model, gives its reason and a hint when the cause is known. */
export class InferenceFailure extends Error {
  constructor(
    readonly model: string,
    readonly stage: 'load' | 'run' | 'inputs',
    readonly reason: string,
    readonly hint?: string,
  ) {
    super(`${model}: ${stage === 'load' ? 'onnxruntime-web rejected the model' : stage === 'run' ? 'onnxruntime-web failed to run the model' : 'cannot make inputs'}: ${reason}`);
    this.name = 'InferenceFailure';
  }
}

export interface RunTimings {
  /** Session creation (the first one on a page includes compiling the WebAssembly). */
  createMs: number;
  warmupMs: number;
  /** Each timed run after the warm-up. */
  runsMs: number[];
  medianMs: number;
}

export interface ModelRun {
  model: InferenceModelRef;
  backend: BackendName;
  inputNames: string[];
  outputs: TensorValue[];
  timings: RunTimings;
}

export interface RunOptions {
  backend: BackendName;
  /** Timed runs after the warm-up (at least 1; one when the warm-up took over SLOW_RUN_MS). */
  runs: number;
  /** Stops the check between stages and runs (onnxruntime cannot stop inside a run). */
  signal?: AbortSignal;
  /** Opsets, for hints on rejected attributes. */
  opsets?: Array<{ domain: string; version: number }>;
  onStage?: (message: string) => void;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Hints for causes that only the WebGPU backend has (the shared hints cover
 * onnxruntime's model rejections); the shared ones first.
 */
export function hintFor(reason: string, backend: BackendName, opsets?: Array<{ domain: string; version: number }>): string | undefined {
  const shared = hintForRuntimeError(reason, opsets ? { opsets } : undefined);
  if (shared || backend !== 'webgpu') return shared;
  if (/requires f16 but the device does not support it|shader-f16/i.test(reason)) {
    return 'this WebGPU adapter has no 16-bit float shaders (the shader-f16 feature; software adapters such as SwiftShader lack it): run the check on WASM';
  }
  if (/Could not find an implementation|not supported|unsupported/i.test(reason)) {
    return 'the WebGPU backend does not support an operator or type of this model: run the check on WASM';
  }
  return undefined;
}

const MISSING_EXTERNAL = /Failed to load external data file "+([^"]+)"+/;

/** `bytes`: the model as rewritten in the page (its external data still by URL); else onnxruntime fetches model.url. */
async function createSession(ort: OrtModule, model: InferenceModelRef, o: Pick<RunOptions, 'backend' | 'opsets'>, bytes?: Uint8Array): Promise<{ session: Ort.InferenceSession; createMs: number }> {
  const external = new Map(model.externalData.map((e) => [e.path, e.url]));
  for (let attempt = 0; ; attempt++) {
    const t0 = performance.now();
    try {
      const options: Ort.InferenceSession.SessionOptions = {
        executionProviders: [o.backend],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        externalData: [...external].map(([path, data]) => ({ path, data })),
      };
      const session = bytes ? await ort.InferenceSession.create(bytes, options) : await ort.InferenceSession.create(model.url, options);
      return { session, createMs: performance.now() - t0 };
    } catch (err) {
      const reason = cleanReason(err instanceof Error ? err.message : String(err));
      // A location the host did not list: it sits beside the model, resolve it against the model's URL.
      const missing = MISSING_EXTERNAL.exec(reason)?.[1];
      if (missing && !external.has(missing) && attempt < 16 && !/^[a-z]+:|^\/|\.\./i.test(missing)) {
        external.set(missing, new URL(missing, model.url).href);
        continue;
      }
      throw new InferenceFailure(model.name, 'load', reason, hintFor(reason, o.backend, o.opsets));
    }
  }
}

/** Feeds by name; by position when the names differ (test data files often carry no names). */
function bindFeeds(ort: OrtModule, session: Ort.InferenceSession, feeds: readonly TensorValue[], model: string): Record<string, Ort.Tensor> {
  const byName = new Map(feeds.map((f) => [f.name, f]));
  const useNames = session.inputNames.every((n) => byName.has(n));
  if (!useNames && feeds.length !== session.inputNames.length) {
    throw new InferenceFailure(model, 'run', `the model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}), ${feeds.length} were given (${feeds.map((f) => f.name || '?').join(', ')})`);
  }
  const out: Record<string, Ort.Tensor> = {};
  session.inputNames.forEach((n, i) => { setOwn(out, n, toOrtTensor(ort, useNames ? byName.get(n)! : feeds[i])); });
  return out;
}

async function runOnce(session: Ort.InferenceSession, feeds: Record<string, Ort.Tensor>, model: string, backend: BackendName): Promise<Ort.InferenceSession.OnnxValueMapType> {
  try {
    return await session.run(feeds);
  } catch (err) {
    const reason = cleanReason(err instanceof Error ? err.message : String(err));
    throw new InferenceFailure(model, 'run', reason, hintFor(reason, backend));
  }
}

/** The user stopped the check. */
export class CheckCancelled extends Error {
  constructor() {
    super('the check was cancelled');
    this.name = 'CheckCancelled';
  }
}

/** A first run slower than this gets one timed run after it, not the number asked for. */
export const SLOW_RUN_MS = 5000;

/**
 * Lets the page handle its events (a Cancel click, a repaint of the status
 * line): a WASM run settles its promise without a task boundary, so a loop
 * of runs would otherwise hold the page until the last one. A message to
 * itself is a task with none of setTimeout's 4 ms clamp.
 */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(null);
  });
}

async function stopIfCancelled(signal: AbortSignal | undefined): Promise<void> {
  await yieldToPage();
  if (signal?.aborted) throw new CheckCancelled();
}

/** "about 12 s left" from the runs to go and the time one takes. */
function remaining(runs: number, runMs: number): string {
  const s = (runs * runMs) / 1000;
  return s < 1 ? 'under a second left' : `about ${s < 10 ? s.toFixed(1) : Math.round(s)} s left`;
}

function dispose(results: Ort.InferenceSession.OnnxValueMapType): void {
  for (const v of Object.values(results)) (v as Ort.Tensor).dispose?.();
}

/**
 * Creates a session, runs once to warm up (the first WebGPU run compiles its
 * shaders), then `runs` timed runs. Outputs are those of the last run.
 */
export async function runModel(ort: OrtModule, model: InferenceModelRef, feeds: readonly TensorValue[], o: RunOptions): Promise<ModelRun> {
  await stopIfCancelled(o.signal);
  o.onStage?.(`Creating a ${o.backend === 'webgpu' ? 'WebGPU' : 'WASM'} session for ${model.name}…`);
  const { session, createMs } = await createSession(ort, model, o);
  try {
    await stopIfCancelled(o.signal);
    const bound = bindFeeds(ort, session, feeds, model.name);
    o.onStage?.(`Running ${model.name} (warm-up)…`);
    let t0 = performance.now();
    let results = await runOnce(session, bound, model.name, o.backend);
    const warmupMs = performance.now() - t0;
    // A slow model (a first run over SLOW_RUN_MS) is timed once: the answer matters more than the median.
    const runs = warmupMs > SLOW_RUN_MS ? 1 : Math.max(1, o.runs);
    const runsMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      await stopIfCancelled(o.signal);
      const estimate = runsMs.length ? runsMs[runsMs.length - 1]! : warmupMs;
      o.onStage?.(`Running ${model.name} (${i + 1} of ${runs}, ${remaining(runs - i, estimate)})…`);
      dispose(results);
      t0 = performance.now();
      results = await runOnce(session, bound, model.name, o.backend);
      runsMs.push(performance.now() - t0);
    }
    const outputs = session.outputNames.map((n) => fromOrtTensor(n, results[n] as Ort.Tensor));
    dispose(results);
    return {
      model, backend: o.backend, inputNames: [...session.inputNames], outputs,
      timings: { createMs, warmupMs, runsMs, medianMs: median(runsMs) },
    };
  } finally {
    await session.release();
  }
}

/**
 * Runs `bytes` (the model with its `If` conditions as extra outputs) once per
 * feed set, in one session, and returns each condition's value per run
 * (true: the then branch).
 */
export async function evaluateConditions(ort: OrtModule, model: InferenceModelRef, bytes: Uint8Array, conds: readonly string[], feedSets: ReadonlyArray<readonly TensorValue[]>, o: Pick<RunOptions, 'backend' | 'signal' | 'onStage'>): Promise<Map<string, boolean[]>> {
  const { session } = await createSession(ort, model, o, bytes);
  const out = new Map<string, boolean[]>(conds.map((c) => [c, []]));
  try {
    for (const [i, feeds] of feedSets.entries()) {
      await stopIfCancelled(o.signal);
      o.onStage?.(`Finding which branches inputs take (${i + 1} of ${feedSets.length})…`);
      const results = await runOnce(session, bindFeeds(ort, session, feeds, model.name), model.name, o.backend);
      for (const c of conds) out.get(c)!.push(Boolean(Number((results[c] as Ort.Tensor).data[0])));
      dispose(results);
    }
    return out;
  } finally {
    await session.release();
  }
}
