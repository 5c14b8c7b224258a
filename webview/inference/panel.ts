// The "Inference" tab of the model editor: controls (backend, inputs, batch,
// sequence, seed, runs, the model to compare with), progress while the
// runtime loads, and the report. One element for the page's lifetime: it is
// re-added to each new side panel, so a report survives the graph being
// redrawn, and the runtime is loaded once.
import type { GraphPayload, InputChoices, ViewMessage, InferenceModelRef, InferenceOutcome, InferenceSetup, InferenceSetupReply } from '../../extension/protocol.js';
import type { Host } from '../host.js';
import { button, dropdown, progressRing, setDisabled, textField, type Dropdown, type Tabs, type TextField } from '../toolkit.js';
import { backendLabel, probeWebGpu, type BackendChoice } from './backend.js';
import { runCheck, type CheckReport, type CheckRequest } from './check.js';
import { formatNumber, formatPercent, renderFailure, renderReport } from './report.js';
import { loadRuntime, type RuntimeProgress } from './runtime.js';
import { InputEditor } from './inputEditor.js';
import { CheckCancelled, InferenceFailure } from './session.js';
import { addInferenceStyles } from './style.js';

export const TAB_ID = 'inference';

function hasSymbolicDims(payload: GraphPayload): boolean {
  const initializers = new Set(payload.tensors.filter((t) => t.isGraphInput).map((t) => t.name));
  return payload.inputs.some((i) => !initializers.has(i.name) && (i.shape ?? []).some((d) => typeof d !== 'number' || d < 0));
}

/** "output: rel L2 0.66, top-1 100%" per output of the comparison with the second model. */
function costLine(r: CheckReport): string {
  const outputs = r.comparisons.find((c) => c.against === 'model')?.result.outputs ?? [];
  return outputs.map((o) => `${o.name}: rel L2 ${formatNumber(o.relL2)}${o.top1Agreement === undefined ? '' : `, top-1 ${formatPercent(o.top1Agreement)}`}`).join('; ') || 'no outputs compared';
}

export type CheckResult = { ok: true; report: CheckReport } | { ok: false; error: { model: string; stage: string; reason: string; hint?: string } };

function readInt(f: TextField, fallback: number, min: number): number {
  const n = Number.parseInt(f.value(), 10);
  return Number.isFinite(n) && n >= min ? n : fallback;
}

function field(label: string, id: string, value: string, onInput: () => void = () => undefined): TextField {
  const f = textField({ id, label, onInput });
  f.setValue(value);
  return f;
}

export class InferencePanel {
  readonly element: HTMLElement;
  private setup: InferenceSetup | null = null;
  private payload: GraphPayload | null = null;
  private payloadWaiters: Array<() => void> = [];
  private tabs: Tabs | null = null;
  private running: Promise<CheckResult> | null = null;
  last: CheckResult | null = null;

  private readonly backend: Dropdown;
  private readonly inputs: Dropdown;
  private readonly batch: TextField;
  private readonly sequence: TextField;
  private readonly seed: TextField;
  private readonly runs: TextField;
  private readonly editor: InputEditor;
  private readonly compareName: HTMLElement;
  private readonly clearCompare: HTMLElement;
  private readonly runButton: HTMLElement;
  private readonly cancelButton: HTMLElement;
  /** Aborts the check in progress. */
  private controller: AbortController | null = null;
  private readonly status: HTMLElement;
  private readonly statusText: HTMLElement;
  private readonly meter: HTMLElement;
  private readonly output: HTMLElement;
  private compareEnabled = true;
  private tabShown = false;
  private preloading = false;

  constructor(private readonly host: Host) {
    addInferenceStyles();
    this.element = document.createElement('section');
    this.element.className = 'inference';
    this.element.id = 'inference';
    this.element.setAttribute('aria-label', 'Inference check');

    const heading = document.createElement('h2');
    heading.textContent = 'Inference check';
    const intro = document.createElement('p');
    intro.className = 'muted small';
    intro.id = 'inf-intro';
    intro.textContent = 'Runs the model with onnxruntime-web in this view and compares its outputs.';

    const controls = document.createElement('div');
    controls.className = 'inf-controls';
    this.backend = dropdown({
      id: 'inf-backend', label: 'Backend',
      choices: [
        { value: 'auto', label: 'Auto (WebGPU on a hardware adapter, else WASM)' },
        { value: 'webgpu', label: 'WebGPU' },
        { value: 'wasm', label: 'WASM' },
      ],
      value: 'auto',
      onChange: () => undefined,
    });
    this.inputs = dropdown({ id: 'inf-input-source', label: 'Inputs', choices: [{ value: 'synthesized', label: 'Synthesised' }], onChange: () => { this.inputsTouched = true; this.syncSizes(); } });
    const label = (text: string, target: HTMLElement) => {
      const l = document.createElement('label');
      l.textContent = text;
      if (target.id) l.htmlFor = target.id;
      return l;
    };
    // Batch and sequence are the defaults the per-input editor shows for dimensions left empty.
    this.batch = field('Batch size', 'inf-batch', '1', () => this.showInputs());
    this.sequence = field('Sequence length', 'inf-sequence', '8', () => this.showInputs());
    this.seed = field('Seed', 'inf-seed', '0');
    this.runs = field('Timed runs', 'inf-runs', '5');
    const sizes = document.createElement('div');
    sizes.className = 'inf-sizes';
    for (const [text, f] of [['Batch', this.batch], ['Sequence', this.sequence], ['Seed', this.seed], ['Runs', this.runs]] as const) {
      const l = document.createElement('label');
      l.append(text, f.element);
      sizes.append(l);
    }
    const compare = document.createElement('div');
    compare.className = 'inf-compare';
    this.compareName = document.createElement('span');
    this.compareName.className = 'name';
    this.compareName.id = 'inf-compare-name';
    this.clearCompare = button('Don’t compare', { appearance: 'secondary', id: 'inf-compare-clear', title: 'Run without the second model', onClick: () => this.setCompare(!this.compareEnabled) });
    compare.append('Compare with', this.compareName,
      button('Choose…', { appearance: 'secondary', id: 'inf-compare-pick', title: 'Choose a second model to compare with', onClick: () => void this.pickComparison() }),
      this.clearCompare);
    this.editor = new InputEditor((choices) => {
      if (this.setup) this.setup = { ...this.setup, inputChoices: choices };
      this.host.request({ method: 'rememberInputs', choices }).catch((err: unknown) => this.host.log('warn', `remembering inputs: ${err instanceof Error ? err.message : String(err)}`));
    });
    controls.append(label('Backend', this.backend.element), this.backend.element, label('Inputs', this.inputs.element), this.inputs.element, sizes, this.editor.element, compare);

    const actions = document.createElement('div');
    actions.className = 'inf-actions';
    this.runButton = button('Run check', { appearance: 'primary', id: 'inf-run', title: 'Run the model and compare its outputs', onClick: () => void this.run() });
    this.cancelButton = button('Cancel', { appearance: 'secondary', id: 'inf-cancel', title: 'Stop the check (at the end of the run in progress)', onClick: () => this.cancel() });
    // A toolkit button's own display style beats the hidden attribute: show and hide by style.
    this.cancelButton.style.display = 'none';
    actions.append(this.runButton, this.cancelButton);

    this.status = document.createElement('div');
    this.status.className = 'inf-status';
    this.status.id = 'inf-status';
    this.status.setAttribute('role', 'status');
    this.status.setAttribute('aria-live', 'polite');
    this.statusText = document.createElement('span');
    this.status.append(progressRing(), this.statusText);
    this.status.hidden = true;
    this.meter = document.createElement('div');
    const meterBox = document.createElement('div');
    meterBox.className = 'inf-meter';
    meterBox.hidden = true;
    meterBox.append(this.meter);

    this.output = document.createElement('div');
    this.output.id = 'inf-output';
    this.element.append(heading, intro, controls, actions, this.status, meterBox, this.output);
    this.renderSetup();
  }

  /** File name of the model the panel checks (undefined before the host's setup). */
  setupModelName(): string | undefined {
    return this.setup?.model.name;
  }

  /** Asks the host for the setup (once the page is up); a host that has none never replies. */
  requestSetup(): void {
    this.host.request({ method: 'inferenceSetup' }).then(
      (reply) => { if (reply) this.applySetup(reply); },
      (err: unknown) => this.host.log('warn', `inference setup: ${err instanceof Error ? err.message : String(err)}`),
    );
  }

  private applySetup(reply: InferenceSetupReply): void {
    const newModel = this.setup?.model.path !== reply.setup.model.path;
    this.setup = reply.setup;
    // A model with a test data folder is checked against it unless the user chose otherwise.
    if (newModel && !this.inputsTouched) this.inputs.setValue(reply.setup.testData.length ? '0' : 'synthesized');
    this.compareEnabled = reply.setup.compareWith !== undefined;
    if (newModel) this.showInputs(reply.setup.inputChoices);
    this.renderSetup();
    if (this.tabShown) this.preload();
    if (reply.run) {
      this.showTab = true;
      this.tabs?.activate(TAB_ID);
      void this.run();
    }
  }

  /** Messages for the panel; false for the others. */
  handle(msg: ViewMessage): boolean {
    if (msg.type === 'model') {
      this.payload = msg.graph;
      this.showInputs(this.setup?.inputChoices);
      this.syncSizes();
      for (const w of this.payloadWaiters.splice(0)) w();
      return false;
    }
    if (msg.type !== 'inferenceSetup') return false;
    this.applySetup({ setup: msg.setup, run: msg.run });
    return true;
  }

  /** Adds the tab to a (new) side panel. */
  attach(tabs: Tabs): void {
    this.tabs = tabs;
    tabs.add({ id: TAB_ID, title: 'Inference', view: this.element });
    // Loading the 28 MB runtime takes seconds: start when the tab first shows, not on Run.
    tabs.onShow(TAB_ID, () => { this.tabShown = true; this.preload(); });
    // A check the host started (Run Inference Check) shows itself, even if the graph arrived after it.
    if (this.showTab) tabs.activate(TAB_ID);
  }

  /** The check the controls describe. */
  request(): CheckRequest {
    const source = this.inputs.value();
    const { dims, values } = this.editor.choices();
    return {
      dims, values,
      backend: (['auto', 'webgpu', 'wasm'].includes(this.backend.value()) ? this.backend.value() : 'auto') as BackendChoice,
      inputs: source === 'synthesized' ? 'synthesized' : Number(source),
      batch: readInt(this.batch, 1, 1),
      sequence: readInt(this.sequence, 8, 1),
      seed: readInt(this.seed, 0, 0),
      runs: readInt(this.runs, 5, 1),
      compare: this.compareEnabled,
    };
  }

  /** Sets controls (the tests and the Run command use it as a user would). */
  configure(o: Partial<{ backend: BackendChoice; inputs: number | 'synthesized'; batch: number; sequence: number; seed: number; runs: number; compare: boolean }>): void {
    if (o.backend) this.backend.setValue(o.backend);
    if (o.inputs !== undefined) { this.inputs.setValue(String(o.inputs)); this.inputsTouched = true; }
    if (o.batch !== undefined) this.batch.setValue(String(o.batch));
    if (o.sequence !== undefined) this.sequence.setValue(String(o.sequence));
    if (o.seed !== undefined) this.seed.setValue(String(o.seed));
    if (o.runs !== undefined) this.runs.setValue(String(o.runs));
    if (o.compare !== undefined) this.setCompare(o.compare);
    this.syncSizes();
  }

  /**
   * Runs the model against `other` (a lossy variant, written by Try tying)
   * as the Run button would with it chosen, and resolves with the result;
   * the tab shows the full report. `onStatus` hears the progress lines.
   */
  async measureAgainst(other: InferenceModelRef, onStatus?: (message: string) => void): Promise<CheckResult> {
    if (this.running) await this.running;
    if (this.setup) {
      this.setup = { ...this.setup, compareWith: other };
      this.compareEnabled = true;
      this.renderSetup();
    }
    this.statusListener = onStatus;
    this.lossy = true;
    try {
      return await this.run();
    } finally {
      this.statusListener = undefined;
      this.lossy = false;
    }
  }

  /** Hears status lines while measureAgainst runs. */
  private statusListener: ((message: string) => void) | undefined;
  /** The run measures a lossy variant: its differences are the point, not a failure to report. */
  private lossy = false;

  /** Runs a check with the controls' values; one at a time. */
  run(): Promise<CheckResult> {
    if (this.running) return this.running;
    const p = this.runNow().finally(() => {
      this.running = null;
      this.controller = null;
      this.cancelButton.style.display = 'none';
      setDisabled(this.runButton, false);
    });
    this.running = p;
    return p;
  }

  /** Stops the check in progress at its next stage or run. */
  cancel(): void {
    if (!this.controller) return;
    this.controller.abort();
    this.showStatus('Cancelling (after the run in progress)…');
  }

  private async runNow(): Promise<CheckResult> {
    setDisabled(this.runButton, true);
    const controller = new AbortController();
    this.controller = controller;
    this.cancelButton.style.display = '';
    this.output.replaceChildren();
    const setup = this.setup;
    if (!setup) {
      const error = { model: '', stage: 'setup', reason: 'the host has not said where the model is yet' };
      this.output.append(renderFailure(new Error(error.reason)));
      return (this.last = { ok: false, error });
    }
    const req = this.request();
    if (req.inputs === 'synthesized' && !this.payload) {
      this.showStatus('Waiting for the model to be read…');
      await new Promise<void>((resolve) => this.payloadWaiters.push(resolve));
    }
    try {
      const report = await runCheck(setup, this.payload, req, {
        stage: (m) => { if (!controller.signal.aborted) this.showStatus(m); },
        runtimeProgress: (p) => this.showRuntimeProgress(p),
        signal: controller.signal,
      });
      this.hideStatus();
      this.output.replaceChildren(renderReport(report));
      this.post(this.outcomeOf(setup, report));
      return (this.last = { ok: true, report });
    } catch (err) {
      this.hideStatus();
      if (err instanceof CheckCancelled) {
        const note = document.createElement('p');
        note.id = 'inf-cancelled';
        note.textContent = 'The check was cancelled: nothing was compared.';
        this.output.replaceChildren(note);
        return (this.last = { ok: false, error: { model: setup.model.name, stage: 'cancelled', reason: err.message } });
      }
      const failure = err instanceof InferenceFailure ? err : undefined;
      this.output.replaceChildren(renderFailure(err instanceof Error ? err : new Error(String(err))));
      const error = {
        model: failure?.model ?? setup.model.name,
        stage: failure?.stage ?? 'load',
        reason: failure?.reason ?? (err instanceof Error ? err.message : String(err)),
        hint: failure?.hint,
      };
      const modelPath = error.model === setup.compareWith?.name ? setup.compareWith.path : setup.model.path;
      // Only onnxruntime's verdict on a model becomes a diagnostic on it; a missing runtime or backend is the panel's business.
      this.post({
        model: setup.model.path, status: 'error',
        summary: `${error.model}: ${error.reason}${error.hint ? ` (hint: ${error.hint})` : ''}`,
        ...(failure ? { error: { model: modelPath, stage: failure.stage, reason: failure.reason, hint: failure.hint } } : {}),
      });
      return (this.last = { ok: false, error });
    }
  }

  private outcomeOf(setup: InferenceSetup, r: CheckReport): InferenceOutcome {
    const status = r.pass === undefined || this.lossy ? 'ran' : r.pass ? 'pass' : 'fail';
    const against = r.comparisons.map((c) => c.label).join(' and ');
    const summary = this.lossy
      ? `measured the lossy variant ${setup.compareWith?.name ?? ''} on ${backendLabel(r.backend)}: ${costLine(r)}`
      : status === 'ran'
      ? `ran on ${backendLabel(r.backend)} in ${r.runs[0]?.timings.medianMs.toFixed(1)} ms (median); nothing to compare with`
      : `${status.toUpperCase()} on ${backendLabel(r.backend)} against ${against} (tolerance ${r.tolerance})${status === 'fail' ? `: ${r.comparisons.flatMap((c) => c.result.failures).slice(0, 2).join('; ')}` : ''}`;
    return { model: setup.model.path, backend: r.backend, status, summary };
  }

  private post(outcome: InferenceOutcome): void {
    this.host.post({ type: 'inferenceOutcome', outcome });
  }

  private async pickComparison(): Promise<void> {
    try {
      const picked = await this.host.request({ method: 'pickComparisonModel' });
      if (!picked || !this.setup) return;
      this.setup = { ...this.setup, compareWith: picked };
      this.compareEnabled = true;
      this.renderSetup();
    } catch (err) {
      this.output.replaceChildren(renderFailure(err instanceof Error ? err : new Error(String(err))));
    }
  }

  private setCompare(on: boolean): void {
    this.compareEnabled = on && this.setup?.compareWith !== undefined;
    this.renderSetup();
  }

  private renderSetup(): void {
    const s = this.setup;
    const data = s?.testData ?? [];
    const choices = [
      ...data.map((d, i) => ({ value: String(i), label: d.name })),
      { value: 'synthesized', label: 'Synthesised from the input types' },
    ];
    this.inputs.setChoices(choices);
    this.compareName.textContent = s?.compareWith ? (this.compareEnabled ? s.compareWith.name : `${s.compareWith.name} (off)`) : 'no second model';
    this.compareName.classList.toggle('none', !s?.compareWith);
    this.clearCompare.textContent = this.compareEnabled ? 'Don’t compare' : 'Compare';
    this.clearCompare.hidden = !s?.compareWith;
    setDisabled(this.runButton, !s || this.running !== null);
    this.syncSizes();
  }

  /** Rebuilds the per-input editor for the model (its remembered choices, else what the fields hold). */
  private showInputs(choices: InputChoices | undefined = this.editor.choices()): void {
    if (!this.payload || this.payload.view !== 'graph') return;
    this.editor.show(this.payload, choices, { batch: readInt(this.batch, 1, 1), sequence: readInt(this.sequence, 8, 1), seed: 0 });
    this.syncSizes();
  }

  private inputsTouched = false;
  private showTab = false;

  /** Batch and sequence apply to synthesised inputs only; test data has fixed shapes. */
  private syncSizes(): void {
    const synthesized = this.inputs.value() === 'synthesized';
    // Batch and sequence set symbolic dimensions only; a model exported with fixed shapes has none.
    const symbolic = this.payload ? hasSymbolicDims(this.payload) : true;
    setDisabled(this.seed.element, !synthesized);
    this.editor.element.style.display = synthesized && this.editor.hasRows ? '' : 'none';
    for (const f of [this.batch, this.sequence]) {
      setDisabled(f.element, !synthesized || !symbolic);
      f.element.title = !symbolic ? 'The model’s inputs have fixed shapes' : synthesized ? '' : 'Test data has fixed shapes';
    }
  }

  /** Every status line shown, in order (for the tests: progress must be visible while the runtime loads). */
  readonly statusHistory: string[] = [];

  private showStatus(message: string): void {
    this.statusListener?.(message);
    this.status.hidden = false;
    this.statusText.textContent = message;
    if (this.statusHistory[this.statusHistory.length - 1] !== message) this.statusHistory.push(message);
    if (this.statusHistory.length > 200) this.statusHistory.splice(0, 100);
  }

  private showRuntimeProgress(p: RuntimeProgress): void {
    const mb = (n: number) => (n / 1048576).toFixed(1);
    const frac = p.totalBytes ? Math.min(1, p.loadedBytes / p.totalBytes) : undefined;
    this.showStatus(`Loading onnxruntime-web: ${mb(p.loadedBytes)}${p.totalBytes ? ` of ${mb(p.totalBytes)}` : ''} MB${frac !== undefined ? ` (${Math.round(frac * 100)}%)` : ''}`);
    const box = this.meter.parentElement!;
    box.hidden = frac === undefined || frac >= 1;
    if (frac !== undefined) this.meter.style.width = `${Math.round(frac * 100)}%`;
  }

  /** Loads onnxruntime-web and asks for a WebGPU adapter ahead of Run (once; a failure shows again on Run). */
  private preload(): void {
    const setup = this.setup;
    if (!setup || this.preloading || this.running) return;
    this.preloading = true;
    void probeWebGpu();
    loadRuntime(setup.ortBaseUrl, (p) => { if (!this.running) this.showRuntimeProgress(p); }, setup.ortWasmBytes).then(
      () => { if (!this.running) this.hideStatus(); },
      (err: unknown) => {
        this.preloading = false;
        if (!this.running) this.hideStatus();
        this.host.log('warn', `preloading onnxruntime-web: ${err instanceof Error ? err.message : String(err)}`);
      },
    );
  }

  private hideStatus(): void {
    this.status.hidden = true;
    this.meter.parentElement!.hidden = true;
  }
}
