// Reads an ONNX backend-test data folder (`test_data_set_N/` with
// `input_K.pb` and `output_K.pb`) from disk. Node only: the webview fetches
// the same files by URL and calls `decodeTensorProto` itself.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { placeInside } from '../io/safePath';
import { decodeTensorProto, type TensorValue } from './tensorProto';

export interface TestData {
  dir: string;
  /** input_0.pb, input_1.pb, ... in index order. */
  inputs: TensorValue[];
  /** output_0.pb, ... in index order; empty when the folder has none. */
  outputs: TensorValue[];
}

export class TestDataError extends Error {
  constructor(readonly dir: string, readonly problem: string) {
    super(`${dir}: ${problem}`);
    this.name = 'TestDataError';
  }
}

/** Files named `${prefix}_K.pb`, sorted by K as a number (input_10 after input_9). */
function indexedFiles(dir: string, names: string[], prefix: string): string[] {
  const re = new RegExp(`^${prefix}_(\\d+)\\.pb$`);
  const found = names
    .map((n) => ({ n, m: re.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .map((x) => ({ n: x.n, k: Number(x.m[1]) }))
    .sort((a, b) => a.k - b.k);
  found.forEach((f, i) => {
    if (f.k !== i) throw new TestDataError(dir, `${prefix}_${i}.pb is missing (found ${f.n})`);
  });
  return found.map((f) => join(dir, f.n));
}

/** The input_K.pb and output_K.pb files of a test data folder, in K order, without reading them (the webview fetches them by URL). */
export function listTestDataFiles(dir: string): { inputs: string[]; outputs: string[] } {
  let names: string[];
  try { names = readdirSync(dir); } catch (err) {
    throw new TestDataError(dir, `cannot read test data folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return { inputs: indexedFiles(dir, names, 'input'), outputs: indexedFiles(dir, names, 'output') };
}

/** Largest test tensor file read (1 GiB). */
const MAX_TENSOR_FILE = 1 << 30;

/**
 * Reads one input_K.pb / output_K.pb: a regular file inside its folder
 * (links resolved) and of a sane size, checked before it is opened, so a
 * pipe cannot block and /dev/zero cannot grow without end.
 */
export function readTensorFile(path: string): TensorValue {
  const placed = placeInside(path, dirname(path));
  if (!placed.ok) throw new TestDataError(path, placed.problem === 'not found' ? 'not found' : placed.problem);
  if (placed.size > MAX_TENSOR_FILE) throw new TestDataError(path, `is ${placed.size} bytes, over the ${MAX_TENSOR_FILE}-byte limit for one test tensor`);
  return decodeTensorProto(new Uint8Array(readFileSync(placed.real)), path);
}

/** Reads every input_K.pb and output_K.pb of a test data folder. */
export function readTestDataDir(dir: string): TestData {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new TestDataError(dir, 'not a folder');
    names = readdirSync(dir);
  } catch (err) {
    if (err instanceof TestDataError) throw err;
    throw new TestDataError(dir, `cannot read test data folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const inputs = indexedFiles(dir, names, 'input').map(readTensorFile);
  const outputs = indexedFiles(dir, names, 'output').map(readTensorFile);
  if (inputs.length === 0 && outputs.length === 0) throw new TestDataError(dir, 'no input_K.pb or output_K.pb files');
  return { dir, inputs, outputs };
}

/**
 * The test data folders that sit beside a model: `model.onnx` in a folder
 * with `test_data_set_N/` (the backend-test layout) or `NAME.test_data_set_N/`
 * beside `NAME.onnx` (the corpus layout). Sorted by N.
 */
export function findTestDataDirs(modelPath: string): string[] {
  const dir = join(modelPath, '..');
  const base = modelPath.slice(dir.length + 1).replace(/\.onnx$/i, '');
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const re = new RegExp(`^(?:${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.)?test_data_set_(\\d+)$`);
  const own = names.filter((n) => n.startsWith(`${base}.test_data_set_`));
  // A bare test_data_set_N belongs to the model only when it is the folder's model.onnx-style sole model.
  const candidates = own.length ? own : names.filter((n) => /^test_data_set_\d+$/.test(n));
  return candidates
    .map((n) => ({ n, m: re.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]))
    .map((x) => join(dir, x.n))
    .filter((p) => { try { return statSync(p).isDirectory(); } catch { return false; } });
}
