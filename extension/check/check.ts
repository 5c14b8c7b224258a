// The inference check in Node: run one or two models on the same inputs and
// compare every output. Used by `weight-sharing check` and by the apply tests.
import { formatBytes } from '../sharing/bytes';
import { openModel } from '../model/registry';
import type { PathTrust } from '../io/safePath';
import type { ModelFile } from '../model/types';
import { compareOutputs, DEFAULT_TOLERANCE, type RunComparison } from './compare';
import { feedableInputs, inputSourceOf, synthesizeInputs, type InputDescription, type InputSourceModel, type SynthesisOptions } from './inputs';
import { externalDataFiles } from './runner';
import { runWithinBudget, type RunBudget } from './budget';
import { readTestDataDir } from './testData';
import type { DType } from '../model/types';
import type { TensorValue } from './tensorProto';

export interface CheckOptions extends SynthesisOptions, PathTrust, RunBudget {
  /** Test data folder (input_K.pb, output_K.pb); inputs are synthesised without it. */
  inputsDir?: string;
  /** Normwise relative tolerance (default 1e-5). */
  tolerance?: number;
  /** Differing positions to report per output (default 5). */
  maxPositions?: number;
}

export interface InputSummary {
  name: string;
  dtype: DType;
  dims: number[];
  /** Where the values came from: a file, or how they were synthesised. */
  source: string;
}

export interface ModelRun {
  path: string;
  /** ms to create the session (the first one in a process includes compiling the runtime). */
  createMs: number;
  runMs: number;
  externalData: string[];
}

export interface CheckReport {
  /** `models`: A against B; `reference`: a model against the test data folder's outputs. */
  mode: 'models' | 'reference';
  pass: boolean;
  models: ModelRun[];
  inputs: { source: 'dir' | 'synthesized'; dir?: string; tensors: InputSummary[] };
  comparison: RunComparison;
  runtime: { importMs: number; firstSessionMs?: number };
}

export class CheckUsageError extends Error {}

/** One model's session and run, in the worker, within the budget. */
async function run(path: string, model: ModelFile, feeds: TensorValue[], options: CheckOptions, runtime: CheckReport['runtime']): Promise<{ run: ModelRun; outputs: TensorValue[] }> {
  const r = await runWithinBudget({
    path, externalData: externalDataFiles(model), opsets: { opsets: model.graph?.opsets ?? [] }, feeds, trustedRoots: options.trustedRoots,
  }, options);
  runtime.importMs ||= r.importMs;
  runtime.firstSessionMs ??= r.firstSessionMs;
  return { run: { path, createMs: r.createMs, runMs: r.runMs, externalData: r.externalData }, outputs: r.outputs };
}

/** A model onnxruntime can run: one with an operator graph. */
/**
 * onnxruntime-web is 32-bit WebAssembly: one module's memory tops out at
 * 4 GiB, and the weights are copied into it. A model whose tensors alone
 * reach that cannot load; say so before reading or running anything.
 */
export const WASM_MEMORY_BYTES = 2 ** 32;

async function openRunnable(file: string, trust: PathTrust): Promise<{ model: ModelFile; source: InputSourceModel }> {
  const model = await openModel(file, trust);
  const source = inputSourceOf(model);
  if (!source) throw new CheckUsageError(`${file}: a ${model.format} file holds weights only, no graph to run: check runs ONNX models`);
  const weights = model.tensors.reduce((n, t) => n + t.byteLength, 0);
  if (weights >= WASM_MEMORY_BYTES) {
    throw new CheckUsageError(`${file}: its weights take ${formatBytes(weights)} (${weights} bytes), more than the 4 GiB of memory onnxruntime-web (32-bit WebAssembly) can hold: `
      + 'this check cannot run it; run it with onnxruntime natively, or check a smaller export of the model');
  }
  return { model, source };
}

function describeSynthesized(d: InputDescription): InputSummary {
  return { name: d.name, dtype: d.dtype, dims: d.dims, source: d.detail };
}

/**
 * Runs `a` (and `b` when given) on the same inputs and compares outputs:
 * A against B, or A against the reference outputs in `options.inputsDir`
 * when there is no B. Inputs come from `inputsDir` or are synthesised from
 * A's input types.
 */
export async function checkModels(a: string, b: string | undefined, options: CheckOptions = {}): Promise<CheckReport> {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  const compareOptions = { tolerance, maxPositions: options.maxPositions };
  const runtime: CheckReport['runtime'] = { importMs: 0 };
  const { model: modelA, source } = await openRunnable(a, options);
  const modelB = b === undefined ? undefined : (await openRunnable(b, options)).model;

  let feeds: TensorValue[];
  let reference: TensorValue[] | undefined;
  let inputs: CheckReport['inputs'];
  if (options.inputsDir !== undefined) {
    const data = readTestDataDir(options.inputsDir);
    // Old backend-test files carry no names: they list the model's inputs in order.
    const expectedInputs = feedableInputs(source);
    feeds = data.inputs.map((t, i) => (t.name === '' && expectedInputs[i] ? { ...t, name: expectedInputs[i].name } : t));
    reference = data.outputs;
    inputs = {
      source: 'dir', dir: data.dir,
      tensors: feeds.map((t, i) => ({ name: t.name, dtype: t.dtype, dims: t.dims, source: `input_${i}.pb` })),
    };
  } else {
    const synthesized = synthesizeInputs(source, options);
    feeds = synthesized.feeds;
    inputs = { source: 'synthesized', tensors: synthesized.descriptions.map(describeSynthesized) };
  }

  const runA = await run(a, modelA, feeds, options, runtime);
  let comparison: RunComparison;
  const models = [runA.run];
  if (b !== undefined && modelB) {
    const runB = await run(b, modelB, feeds, options, runtime);
    models.push(runB.run);
    comparison = compareOutputs(runA.outputs, runB.outputs, compareOptions);
  } else {
    if (!reference || reference.length === 0) {
      throw new CheckUsageError(`nothing to compare ${a} with: give a second model, or --inputs DIR with output_K.pb files`);
    }
    comparison = compareOutputs(reference, runA.outputs, compareOptions);
  }
  return {
    mode: b === undefined ? 'reference' : 'models',
    pass: comparison.pass,
    models,
    inputs,
    comparison,
    runtime,
  };
}
