// One inference check in the webview: make the inputs, run the model (and
// the model to compare with) on the chosen backend, compare outputs with the
// shared comparison code (extension/check/compare.ts): against the test
// data's expected outputs and against the second model.
import { compareOutputs, type RunComparison } from '../../extension/check/compare.js';
import type { InputValues } from '../../extension/check/inputs.js';
import { elementAsNumber, type TensorValue } from '../../extension/check/tensorProto.js';
import type { GraphPayload, InferenceSetup } from '../../extension/protocol.js';
import { resolveBackend, type BackendChoice, type BackendName, type GpuProbe } from './backend.js';
import { loadTestData, synthesize, type CheckInputs, type InputSummary } from './inputs.js';
import { loadRuntime, type RuntimeProgress } from './runtime.js';
import { evaluateConditions, InferenceFailure, runModel, type RunTimings } from './session.js';
import { exposeConditions, inputDependentIfs, inputVariants } from '../../extension/check/branches.js';

export interface CheckRequest {
  backend: BackendChoice;
  /** Index into setup.testData, or 'synthesized'. */
  inputs: number | 'synthesized';
  batch: number;
  sequence: number;
  seed: number;
  /** The per-input editor's named dimensions and values (synthesised inputs only). */
  dims?: Record<string, number>;
  values?: Record<string, InputValues>;
  /** Timed runs after the warm-up. */
  runs: number;
  /** Also run setup.compareWith (when set). */
  compare: boolean;
  /** Look for inputs that take each branch of input-dependent Ifs, and check each (default true). */
  branches?: boolean;
}

/** One input-dependent If, and which inputs took each branch (undefined: none of the variants tried). */
export interface BranchCoverage {
  node: string;
  cond: string;
  then?: string;
  else?: string;
}

export interface BranchReport {
  points: BranchCoverage[];
  /** Checks on the variants that took a branch the inputs as given did not (the given inputs' check is the main one). */
  runs: Array<{ inputs: string; comparisons: ComparisonSummary[] }>;
}

export interface OutputShape {
  name: string;
  dtype: string;
  dims: number[];
  /** The first few values, as numbers (strings for string tensors). */
  preview: Array<number | string>;
}

export interface ModelRunSummary {
  name: string;
  path: string;
  role: 'model' | 'compared';
  outputs: OutputShape[];
  timings: RunTimings;
}

export interface ComparisonSummary {
  /** 'reference': the test data's expected outputs; 'model': the second model's outputs. */
  against: 'reference' | 'model';
  /** e.g. 'test_data_set_0 expected outputs' or 'model.shared.onnx'. */
  label: string;
  result: RunComparison;
}

export interface CheckReport {
  backend: BackendName;
  gpu: GpuProbe;
  /** Set when Auto tried WebGPU, it failed, and WASM ran instead. */
  fallback?: string;
  runtime: { loadMs: number; wasmBytes: number };
  inputs: { kind: CheckInputs['kind']; label: string; tensors: InputSummary[] };
  runs: ModelRunSummary[];
  comparisons: ComparisonSummary[];
  /** Each input-dependent If's branches, when the model has any. */
  branches?: BranchReport;
  /** undefined when there was nothing to compare with. */
  pass?: boolean;
  tolerance: number;
  totalMs: number;
}

export interface CheckEvents {
  stage(message: string): void;
  runtimeProgress(p: RuntimeProgress): void;
  /** Cancel: the check stops at the next stage or run. */
  signal?: AbortSignal;
}

export class CheckUsageError extends Error {}

export async function runCheck(setup: InferenceSetup, payload: GraphPayload | null, req: CheckRequest, events: CheckEvents): Promise<CheckReport> {
  const t0 = performance.now();
  events.stage('Loading onnxruntime-web…');
  const runtime = await loadRuntime(setup.ortBaseUrl, (p) => events.runtimeProgress(p), setup.ortWasmBytes);
  const resolved = await resolveBackend(req.backend);
  const gpu = resolved.gpu;

  let inputs: CheckInputs;
  try {
    if (req.inputs === 'synthesized') {
      if (!payload) throw new CheckUsageError('the model has not been read yet, so its input types are unknown');
      events.stage('Synthesising inputs…');
      inputs = synthesize(payload, { batch: req.batch, sequence: req.sequence, seed: req.seed, dims: req.dims ?? {}, values: req.values ?? {} });
    } else {
      const ref = setup.testData[req.inputs];
      if (!ref) throw new CheckUsageError(`no test data set #${req.inputs}`);
      events.stage(`Reading ${ref.name}…`);
      inputs = await loadTestData(ref);
    }
  } catch (err) {
    if (err instanceof InferenceFailure) throw err;
    throw new InferenceFailure(setup.model.name, 'inputs', err instanceof Error ? err.message : String(err));
  }

  const opsets = payload?.opsets;
  let backend = resolved.backend;
  let fallback: string | undefined;
  let a;
  try {
    a = await runModel(runtime.ort, setup.model, inputs.feeds, { backend, runs: req.runs, opsets, onStage: events.stage, signal: events.signal });
  } catch (err) {
    // Auto: WebGPU first, WASM always. A model WebGPU cannot run still gets checked.
    if (req.backend !== 'auto' || backend !== 'webgpu' || !(err instanceof InferenceFailure) || events.signal?.aborted) throw err;
    fallback = `WebGPU failed (${err.reason.slice(0, 200)}); ran on WASM`;
    backend = 'wasm';
    a = await runModel(runtime.ort, setup.model, inputs.feeds, { backend, runs: req.runs, opsets, onStage: events.stage, signal: events.signal });
  }
  const runs: ModelRunSummary[] = [summaryOf(a.model.name, a.model.path, 'model', a.outputs, a.timings)];
  const comparisons: ComparisonSummary[] = [];
  const options = { tolerance: setup.tolerance, maxPositions: 5 };
  if (inputs.expected.length > 0) {
    comparisons.push({ against: 'reference', label: `${inputs.label} expected outputs`, result: compareOutputs(inputs.expected, a.outputs, options) });
  }
  if (req.compare && setup.compareWith) {
    // The second model's opsets are not known here; hints still name the attribute.
    const b = await runModel(runtime.ort, setup.compareWith, inputs.feeds, { backend, runs: req.runs, onStage: events.stage, signal: events.signal });
    runs.push(summaryOf(b.model.name, b.model.path, 'compared', b.outputs, b.timings));
    comparisons.push({ against: 'model', label: setup.compareWith.name, result: compareOutputs(a.outputs, b.outputs, options) });
  }
  const points = payload && req.branches !== false ? inputDependentIfs(payload, new Set(a.inputNames)) : [];
  let branches: BranchReport | undefined;
  if (points.length > 0) {
    const variants = inputVariants(inputs.feeds);
    events.stage(`Reading ${setup.model.name} to find which inputs take each branch…`);
    const res = await fetch(setup.model.url);
    if (!res.ok) throw new InferenceFailure(setup.model.name, 'load', `cannot fetch the model to find its branches: HTTP ${res.status}`);
    const exposed = exposeConditions(new Uint8Array(await res.arrayBuffer()), points.map((p) => p.cond));
    const values = await evaluateConditions(runtime.ort, setup.model, exposed, points.map((p) => p.cond), variants.map((v) => v.feeds), { backend, signal: events.signal, onStage: events.stage });
    const coverage = points.map((p): BranchCoverage => {
      const taken = values.get(p.cond)!;
      const then = taken.indexOf(true);
      const otherwise = taken.indexOf(false);
      return { ...p, ...(then >= 0 ? { then: variants[then]!.label } : {}), ...(otherwise >= 0 ? { else: variants[otherwise]!.label } : {}) };
    });
    const needed = [...new Set(coverage.flatMap((c) => [c.then, c.else]))].filter((l): l is string => l !== undefined && l !== variants[0]!.label);
    const branchRuns: BranchReport['runs'] = [];
    for (const label of needed) {
      const feeds = variants.find((v) => v.label === label)!.feeds;
      const x = await runModel(runtime.ort, setup.model, feeds, { backend, runs: 1, opsets, onStage: events.stage, signal: events.signal });
      const compared: ComparisonSummary[] = [];
      if (req.compare && setup.compareWith) {
        const y = await runModel(runtime.ort, setup.compareWith, feeds, { backend, runs: 1, onStage: events.stage, signal: events.signal });
        compared.push({ against: 'model', label: setup.compareWith.name, result: compareOutputs(x.outputs, y.outputs, options) });
      }
      branchRuns.push({ inputs: label, comparisons: compared });
    }
    branches = { points: coverage, runs: branchRuns };
  }
  const all = [...comparisons, ...(branches?.runs.flatMap((r) => r.comparisons) ?? [])];
  return {
    backend, gpu, fallback,
    runtime: { loadMs: runtime.loadMs, wasmBytes: runtime.wasmBytes },
    inputs: { kind: inputs.kind, label: inputs.label, tensors: inputs.summary },
    runs,
    comparisons,
    ...(branches ? { branches } : {}),
    pass: all.length ? all.every((c) => c.result.pass) : undefined,
    tolerance: setup.tolerance,
    totalMs: performance.now() - t0,
  };
}

const PREVIEW = 4;

function preview(t: TensorValue): Array<number | string> {
  const n = Math.min(PREVIEW, t.data.length);
  const out: Array<number | string> = [];
  for (let i = 0; i < n; i++) out.push(Array.isArray(t.data) ? t.data[i] : elementAsNumber(t, i));
  return out;
}

function summaryOf(name: string, path: string, role: ModelRunSummary['role'], outputs: TensorValue[], timings: RunTimings): ModelRunSummary {
  return { name, path, role, outputs: outputs.map((o) => ({ name: o.name, dtype: o.dtype, dims: o.dims, preview: preview(o) })), timings };
}
