// `weight-sharing check A [B] [--inputs DIR] [--tolerance T] [--json]
// [--dim NAME=N] [--value INPUT=V|LOW:HIGH]`:
// runs models with onnxruntime-web (WASM, in Node) and compares outputs.
// Exit 0: every output within tolerance; 1: a difference beyond it; 2: error.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkModels, CheckUsageError, type CheckOptions, type CheckReport } from '../check/check';
import type { TensorComparison } from '../check/compare';
import { findTestDataDirs } from '../check/testData';
import { CliError, parseBytes } from './common';
import type { PathTrust } from '../io/safePath';
import type { InputValues } from '../check/inputs';
import { setOwn } from '../util/ownKeys';
import { printable } from '../util/printable';

interface CheckArgs {
  models: string[];
  options: CheckOptions;
  json: boolean;
}

function parseNumber(option: string, value: string | undefined, integer: boolean): number {
  if (value === undefined) throw new CliError(`${option} needs a value`);
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) {
    throw new CliError(`${option}: '${value}' is not a ${integer ? 'non-negative integer' : 'non-negative number'}`);
  }
  return n;
}

/** `NAME=VALUE`, split at the first '='. */
function namedValue(option: string, value: string | undefined): [string, string] {
  const at = value?.indexOf('=') ?? -1;
  if (value === undefined || at <= 0) throw new CliError(`${option} needs NAME=VALUE, got '${value ?? ''}'`);
  return [value.slice(0, at), value.slice(at + 1)];
}

/** `--value NAME=V` (every element V) or `--value NAME=LOW:HIGH` (drawn from [LOW, HIGH)). */
function parseInputValues(value: string | undefined): [string, InputValues] {
  const [name, text] = namedValue('--value', value);
  const num = (t: string) => {
    const n = Number(t);
    if (t.trim() === '' || !Number.isFinite(n)) throw new CliError(`--value ${name}: '${t}' is not a number`);
    return n;
  };
  const colon = text.indexOf(':', 1);
  return [name, colon < 0 ? { fill: num(text) } : { low: num(text.slice(0, colon)), high: num(text.slice(colon + 1)) }];
}

export function parseCheckArgs(args: string[]): CheckArgs {
  const models: string[] = [];
  const options: CheckOptions = {};
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? args[++i];
    switch (flag) {
      case '--json': json = true; break;
      case '--inputs': {
        const dir = value();
        if (!dir) throw new CliError('--inputs needs a folder');
        options.inputsDir = dir;
        break;
      }
      case '--tolerance': options.tolerance = parseNumber('--tolerance', value(), false); break;
      case '--batch': options.batch = parseNumber('--batch', value(), true); break;
      case '--sequence': options.sequence = parseNumber('--sequence', value(), true); break;
      case '--seed': options.seed = parseNumber('--seed', value(), true); break;
      case '--dim': {
        const [name, n] = namedValue('--dim', value());
        setOwn((options.dims ??= {}), name, parseNumber(`--dim ${name}`, n, true));
        break;
      }
      case '--value': {
        const [name, v] = parseInputValues(value());
        setOwn((options.values ??= {}), name, v);
        break;
      }
      case '--timeout': options.timeoutSeconds = parseNumber('--timeout', value(), false); break;
      case '--max-memory': options.maxMemoryBytes = parseBytes('--max-memory', value()); break;
      case '--max-input': options.maxInputBytes = parseBytes('--max-input', value()); break;
      default:
        if (arg.startsWith('-')) throw new CliError(`check: unknown option '${arg}'`);
        models.push(arg);
    }
  }
  if (models.length === 0) throw new CliError('check needs a model: check A [B] [--inputs DIR] [--tolerance T] [--json]');
  if (models.length > 2) throw new CliError(`check compares at most two models, got ${models.length}`);
  for (const m of models) if (!existsSync(m)) throw new CliError(`${m}: no such file`);
  return { models, options, json };
}

function fmt(x: number): string {
  if (Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return String(x);
  return x === 0 ? '0' : x.toExponential(2);
}

function formatTolerance(t: number): string {
  return t !== 0 && t < 1e-3 ? t.toExponential() : String(t);
}

function shape(dims: number[]): string {
  return `[${dims.join(',')}]`;
}

function outputLine(o: TensorComparison): string {
  const status = o.pass ? 'PASS' : 'FAIL';
  const same = o.bitIdentical ? '  bit-identical' : '';
  const head = `  ${status}  ${o.name}  ${o.expectedDtype}${shape(o.expectedDims)}`;
  const top1 = o.top1Agreement === undefined ? '' : `  top-1 ${(100 * o.top1Agreement).toFixed(1)}%`;
  const stats = `max abs ${fmt(o.maxAbsDiff)}  max rel ${fmt(o.maxRelDiff)}  cosine ${Number.isNaN(o.cosine) ? 'n/a' : o.cosine.toFixed(6)}  rel L2 ${fmt(o.relL2)}${top1}${same}`;
  const lines = [`${head}  ${stats}`];
  if (!o.pass) {
    lines.push(`        ${o.reason}`);
    for (const p of o.firstDifferences) {
      lines.push(`        at [${p.index.join(', ')}] (flat ${p.flatIndex}): expected ${p.expected}, got ${p.actual}`);
    }
  }
  return lines.join('\n');
}

export function formatCheckReport(report: CheckReport): string {
  const out: string[] = [];
  const [a, b] = report.models;
  out.push(report.mode === 'models' ? `check: ${a.path} vs ${b.path}` : `check: ${a.path} vs reference outputs in ${report.inputs.dir}`);
  out.push(`inputs (${report.inputs.source === 'dir' ? `from ${report.inputs.dir}` : 'synthesised'}):`);
  for (const t of report.inputs.tensors) out.push(`  ${t.name || '?'}  ${t.dtype}${shape(t.dims)}  ${t.source}`);
  out.push(`outputs (tolerance ${formatTolerance(report.comparison.tolerance)}, relative to each output's largest magnitude):`);
  for (const o of report.comparison.outputs) out.push(outputLine(o));
  for (const m of report.comparison.missing) out.push(`  FAIL  ${m}: missing from the run`);
  if (report.comparison.outputs.length === 0 && report.comparison.missing.length === 0) out.push('  (no outputs to compare)');
  const timings = report.models.map((m) => `${m.path}: session ${m.createMs.toFixed(0)} ms, run ${m.runMs.toFixed(1)} ms`).join('; ');
  out.push(`onnxruntime-web (wasm): ${timings}`);
  out.push(report.pass ? 'PASS' : `FAIL: ${report.comparison.failures.length} problem(s)`);
  // Input and output names come from the model: one line each, whatever they hold.
  return `${out.flatMap((l) => l.split('\n')).map(printable).join('\n')}\n`;
}

/** JSON has no NaN or Infinity: write them as strings so nothing turns silently into null. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** `--inputs` may name a backend-test folder (model.onnx + test_data_set_0/) instead of the data set itself. */
function testDataFolder(dir: string): string {
  let names: string[];
  try { names = readdirSync(dir); } catch { return dir; } // readTestDataDir reports the problem
  if (names.some((n) => /^(input|output)_\d+\.pb$/.test(n))) return dir;
  return names.includes('test_data_set_0') ? join(dir, 'test_data_set_0') : dir;
}

export async function runCheck(args: string[], trust: PathTrust = {}): Promise<number> {
  const { models, options, json } = parseCheckArgs(args);
  if (models.length === 1 && options.inputsDir === undefined) {
    // `check MODEL` alone: use the test data folder beside it when there is one.
    const [dir] = findTestDataDirs(models[0]);
    if (!dir) throw new CliError(`${models[0]}: nothing to compare with: give a second model, or --inputs DIR with output_K.pb files`);
    options.inputsDir = dir;
  }
  if (options.inputsDir !== undefined) options.inputsDir = testDataFolder(options.inputsDir);
  let report: CheckReport;
  try {
    report = await checkModels(models[0], models[1], { ...options, ...trust });
  } catch (err) {
    if (err instanceof CheckUsageError) throw new CliError(err.message);
    throw err;
  }
  process.stdout.write(json ? `${JSON.stringify(report, jsonReplacer, 2)}\n` : formatCheckReport(report));
  return report.pass ? 0 : 1;
}
