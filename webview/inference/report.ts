// Renders a check's report and errors as DOM: the verdict with the backend
// that ran, the inputs used, each model's outputs and latency, and per output
// of each comparison the differences, cosine similarity and PASS/FAIL, with
// the first differing positions when it fails.
import type { TensorComparison } from '../../extension/check/compare.js';
import { el } from '../dom.js';
import { adapterLabel, backendLabel, type GpuProbe } from './backend.js';
import type { BranchReport, CheckReport, ComparisonSummary } from './check.js';
import type { InferenceFailure } from './session.js';

function heading(prefix: string, rest: string): HTMLElement {
  const h = el('h3', undefined, prefix);
  h.append(' ', el('span', 'muted', rest));
  return h;
}

export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e4 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
}

/** 0.998 → "99.8%". */
export function formatPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

export function formatMs(ms: number): string {
  return ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`;
}

function shape(dtype: string, dims: number[]): string {
  return `${dtype}[${dims.join(', ')}]`;
}

/** "WebGPU · google swiftshader (software fallback adapter)" or "WASM (1 thread) · WebGPU unavailable: …". */
export function backendLine(backend: CheckReport['backend'], gpu: GpuProbe): string {
  if (backend === 'webgpu') return `${backendLabel(backend)} · ${gpu.adapter ? adapterLabel(gpu.adapter) : 'adapter'}`;
  const why = !gpu.available
    ? `WebGPU unavailable: ${gpu.reason ?? 'no adapter'}`
    : gpu.adapter?.isFallbackAdapter
      ? `WebGPU here is a software adapter (${adapterLabel(gpu.adapter)}), slower than WASM: choose WebGPU to use it anyway`
      : `WebGPU available (${gpu.adapter ? adapterLabel(gpu.adapter) : 'adapter'}), WASM chosen`;
  return `${backendLabel(backend)} (1 thread) · ${why}`;
}

function kv(pairs: Array<[string, string, string?]>): HTMLElement {
  const dl = el('dl', 'inf-kv');
  for (const [k, v, id] of pairs) {
    const dd = el('dd', undefined, v);
    if (id) dd.id = id;
    dl.append(el('dt', undefined, k), dd);
  }
  return dl;
}

function outputItem(c: TensorComparison): HTMLElement {
  const li = el('li', `inf-out${c.pass ? '' : ' fail'}`);
  li.dataset.output = c.name;
  const head = el('div', 'inf-out-head');
  const name = el('span', 'mono', c.name);
  const tag = el('span', `inf-tag ${c.pass ? (c.bitIdentical ? 'same' : 'pass') : 'fail'}`, c.pass ? (c.bitIdentical ? 'PASS · identical' : 'PASS') : 'FAIL');
  head.append(name, tag);
  li.append(head);
  li.append(el('div', 'detail', shape(c.actualDtype, c.actualDims)));
  li.append(el('div', 'inf-figures',
    `max abs ${formatNumber(c.maxAbsDiff)} · max rel ${formatNumber(c.maxRelDiff)} · cos ${Number.isFinite(c.cosine) ? c.cosine.toFixed(6) : formatNumber(c.cosine)}`
    // The cost of a lossy change (a tied variant): how far the outputs moved, and whether the argmax did.
    + `${Number.isNaN(c.relL2) ? '' : ` · rel L2 ${formatNumber(c.relL2)}`}${c.top1Agreement === undefined ? '' : ` · top-1 ${formatPercent(c.top1Agreement)}`}`));
  if (!c.pass) {
    if (c.reason) li.append(el('div', 'detail', c.reason));
    if (c.firstDifferences.length) {
      const ul = el('ul', 'inf-positions');
      ul.setAttribute('aria-label', 'First differing positions');
      for (const d of c.firstDifferences) {
        ul.append(el('li', undefined, `[${d.index.join(', ')}] expected ${typeof d.expected === 'number' ? formatNumber(d.expected) : d.expected}, got ${typeof d.actual === 'number' ? formatNumber(d.actual) : d.actual}`));
      }
      li.append(ul);
    }
  }
  return li;
}

export function renderReport(r: CheckReport): HTMLElement {
  const root = el('div', 'inf-report');
  root.id = 'inf-report';
  root.dataset.backend = r.backend;
  const status = r.pass === undefined ? 'ran' : r.pass ? 'pass' : 'fail';
  root.dataset.status = status;

  const verdictRow = el('div', 'inf-verdict');
  const verdict = el('span', `verdict ${status}`, status === 'ran' ? 'RAN' : status.toUpperCase());
  verdict.id = 'inf-verdict';
  const what = r.comparisons.length
    ? `${r.comparisons.length === 1 ? r.comparisons[0].label : r.comparisons.map((c) => c.label).join(' and ')}, tolerance ${r.tolerance}`
    : 'nothing to compare with: pick a second model, or add a test_data_set_N folder beside the model';
  verdictRow.append(verdict, el('span', 'muted', what));
  root.append(verdictRow);

  const runA = r.runs[0];
  root.append(kv([
    ['Backend', r.fallback ? `${backendLine(r.backend, r.gpu)} · ${r.fallback}` : backendLine(r.backend, r.gpu), 'inf-ran-on'],
    ['Latency', runA ? `${formatMs(runA.timings.medianMs)} median of ${runA.timings.runsMs.length} run${runA.timings.runsMs.length === 1 ? '' : 's'} after a warm-up` : '—', 'inf-median'],
    ['Runtime', `${(r.runtime.wasmBytes / 1048576).toFixed(1)} MB WebAssembly, loaded in ${formatMs(r.runtime.loadMs)}`],
  ]));

  for (const c of r.comparisons) {
    root.append(heading(`${c.result.pass ? 'PASS' : 'FAIL'} against`, c.label));
    const ul = el('ul', 'inf-list inf-comparison');
    ul.dataset.against = c.against;
    for (const o of c.result.outputs) ul.append(outputItem(o));
    for (const m of c.result.missing) ul.append(el('li', 'inf-out fail', `output '${m}' missing from the run`));
    root.append(ul);
    if (c.result.pairedBy === 'position') root.append(el('p', 'detail muted', 'Outputs paired by position: the names differ.'));
  }
  if (r.branches) root.append(branchSection(r.branches, r.comparisons));
  root.append(heading('Inputs', r.inputs.label));
  const inputs = el('ul', 'inf-list');
  inputs.id = 'inf-inputs';
  for (const t of r.inputs.tensors) {
    const li = el('li');
    li.append(el('div', 'mono', `${t.name}  ${shape(t.dtype, t.dims)}`), el('div', 'detail', t.source));
    inputs.append(li);
  }
  root.append(inputs);

  for (const run of r.runs) {
    root.append(heading(run.role === 'model' ? 'Outputs of' : 'Outputs of compared model', run.name));
    const ul = el('ul', 'inf-list');
    ul.dataset.model = run.name;
    for (const o of run.outputs) {
      const li = el('li');
      const more = o.preview.length < o.dims.reduce((n, d) => n * d, 1) ? ', …' : '';
      li.append(el('div', 'mono', `${o.name}  ${shape(o.dtype, o.dims)}`),
        el('div', 'detail mono', `[${o.preview.map((v) => (typeof v === 'number' ? formatNumber(v) : JSON.stringify(v))).join(', ')}${more}]`));
      ul.append(li);
    }
    const t = run.timings;
    ul.append(el('li', 'detail', `session ${formatMs(t.createMs)} · warm-up ${formatMs(t.warmupMs)} · median ${formatMs(t.medianMs)} (${t.runsMs.map((x) => x.toFixed(1)).join(', ')} ms)`));
    root.append(ul);
  }

  return root;
}

export function renderFailure(f: InferenceFailure | Error): HTMLElement {
  const box = el('div', 'inf-error');
  box.id = 'inf-error';
  box.setAttribute('role', 'alert');
  const failure = f as Partial<InferenceFailure>;
  const title = failure.stage === 'load'
    ? `onnxruntime-web rejected ${failure.model}`
    : failure.stage === 'run'
      ? `onnxruntime-web failed to run ${failure.model}`
      : failure.stage === 'inputs' ? `Cannot make inputs for ${failure.model}` : 'The check failed';
  box.append(el('h3', undefined, title));
  const pre = el('pre', undefined, failure.reason ?? f.message);
  pre.id = 'inf-error-reason';
  box.append(pre);
  if (failure.hint) {
    const p = el('p', 'hint', `Hint: ${failure.hint}`);
    p.id = 'inf-error-hint';
    box.append(p);
  }
  return box;
}

/** Which inputs took each branch of the model's input-dependent Ifs, and the check on the inputs that took a branch the given ones did not. */
function branchSection(b: BranchReport, given: ComparisonSummary[]): HTMLElement {
  const box = el('div', 'inf-branches');
  box.id = 'inf-branches';
  box.append(heading('Branches', `${b.points.length} If node${b.points.length === 1 ? '' : 's'} decided by the inputs`));
  const ul = el('ul', 'inf-list');
  for (const p of b.points) {
    const li = el('li');
    const side = (name: 'then' | 'else', label: string | undefined): string => {
      if (label === undefined) return `${name}: not taken by any inputs tried (as given, negated, zeros, scaled)`;
      const checks = b.runs.find((r) => r.inputs === label)?.comparisons ?? (label === 'as given' ? given : []);
      const verdict = checks.length ? (checks.every((c) => c.result.pass) ? ' · PASS' : ' · FAIL') : '';
      return `${name}: inputs ${label}${verdict}`;
    };
    li.dataset.node = p.node;
    li.append(el('div', 'mono', `${p.node} (on ${p.cond})`), el('div', 'detail', side('then', p.then)), el('div', 'detail', side('else', p.else)));
    ul.append(li);
  }
  box.append(ul);
  for (const run of b.runs) {
    for (const c of run.comparisons) {
      box.append(heading(`${c.result.pass ? 'PASS' : 'FAIL'} on inputs ${run.inputs} against`, c.label));
      const list = el('ul', 'inf-list inf-comparison');
      for (const o of c.result.outputs) list.append(outputItem(o));
      box.append(list);
    }
  }
  return box;
}
