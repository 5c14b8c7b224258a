// The per-input editor of the inference panel, for synthesised inputs: one
// field per named symbolic dimension (shared by every input that uses it),
// a value for each scalar input (a sample rate, a Loop's trip count) and a
// range for token ids. Empty fields keep what the synthesiser would choose,
// shown as their placeholder; what is wrong with a value is said under it,
// naming the input, before anything runs.
import { planInputs, type InputDescription, type InputValues, type SynthesisOptions } from '../../extension/check/inputs.js';
import type { GraphPayload, InputChoices } from '../../extension/protocol.js';
import { setOwn } from '../../extension/util/ownKeys.js';
import { setDisabled, textField, type TextField } from '../toolkit.js';
import { inputSourceOf } from './inputs.js';

type Base = Required<Pick<SynthesisOptions, 'batch' | 'sequence' | 'seed'>>;

interface ValueFields {
  input: InputDescription;
  fill?: TextField;
  low?: TextField;
  high?: TextField;
}

const isSymbol = (d: number | string | null): d is string => typeof d === 'string' && d !== '';

export class InputEditor {
  readonly element: HTMLElement;
  private readonly rows: HTMLElement;
  private readonly problem: HTMLElement;
  private dimFields = new Map<string, TextField>();
  private valueFields: ValueFields[] = [];
  private payload: GraphPayload | null = null;
  private base: Base = { batch: 1, sequence: 8, seed: 0 };
  /** The model has inputs to show (none: the editor stays out of the way). */
  hasRows = false;

  constructor(private readonly onChange: (choices: InputChoices) => void) {
    this.element = document.createElement('section');
    this.element.className = 'inf-inputs';
    this.element.id = 'inf-input-editor';
    this.element.setAttribute('aria-label', 'Synthesised inputs');
    const heading = document.createElement('h3');
    heading.textContent = 'Synthesised inputs';
    this.rows = document.createElement('div');
    this.rows.className = 'inf-input-rows';
    this.problem = document.createElement('p');
    this.problem.className = 'inf-input-problem';
    this.problem.id = 'inf-input-problem';
    this.problem.setAttribute('role', 'alert');
    this.problem.hidden = true;
    this.element.append(heading, this.rows, this.problem);
  }

  /** Builds the rows for a model, filled with `choices` (remembered for it). */
  show(payload: GraphPayload, choices: InputChoices | undefined, base: Base): void {
    this.payload = payload;
    this.base = base;
    this.rows.replaceChildren();
    this.dimFields = new Map();
    this.valueFields = [];
    let plan: InputDescription[];
    try {
      plan = planInputs(inputSourceOf(payload), base);
    } catch (err) {
      this.hasRows = true;
      this.say(err instanceof Error ? err.message : String(err));
      return;
    }
    const symbols = [...new Set(plan.flatMap((d) => d.shape.filter(isSymbol)))];
    if (symbols.length > 0) {
      const row = this.row('Dimensions', 'named in the input shapes');
      for (const s of symbols) {
        const f = this.field(`dimension ${s}`, `inf-dim-${s}`);
        const at = plan.find((d) => d.shape.includes(s))!;
        f.element.setAttribute('placeholder', String(at.dims[at.shape.indexOf(s)]));
        const value = choices?.dims[s];
        if (value !== undefined) f.setValue(String(value));
        this.dimFields.set(s, f);
        row.controls.append(labelled(s, f));
      }
    }
    for (const d of plan) {
      const row = this.row(d.name, `${d.dtype} [${d.shape.map((x) => (x === null ? '?' : String(x))).join(', ')}] · ${d.detail}`);
      const chosen = choices?.values[d.name];
      const fields: ValueFields = { input: d };
      if (d.kind === 'token-ids' || (chosen && 'low' in chosen)) {
        fields.low = this.field(`${d.name}: lowest id`, `inf-low-${d.name}`);
        fields.high = this.field(`${d.name}: ids below`, `inf-high-${d.name}`);
        fields.low.element.setAttribute('placeholder', String(d.range?.[0] ?? 0));
        fields.high.element.setAttribute('placeholder', String(d.range?.[1] ?? d.vocabulary ?? ''));
        if (chosen && 'low' in chosen) { fields.low.setValue(String(chosen.low)); fields.high.setValue(String(chosen.high)); }
        row.controls.append(labelled('ids from', fields.low), labelled('to (excluded)', fields.high));
      } else if (d.dims.reduce((a, b) => a * b, 1) === 1) {
        fields.fill = this.field(`${d.name}: value`, `inf-value-${d.name}`);
        fields.fill.element.setAttribute('placeholder', d.kind === 'normal' ? 'random' : d.kind === 'zeros' ? '0' : '1');
        if (chosen && 'fill' in chosen) fields.fill.setValue(String(chosen.fill));
        row.controls.append(labelled('value', fields.fill));
      }
      this.valueFields.push(fields);
    }
    this.hasRows = plan.length > 0;
    this.validate();
  }

  /** What the fields say; empty or unreadable fields are left to the synthesiser (validate() says which). */
  choices(): InputChoices {
    const dims: Record<string, number> = {};
    for (const [s, f] of this.dimFields) {
      const n = readNumber(f);
      if (n !== undefined && Number.isInteger(n) && n > 0) setOwn(dims, s, n);
    }
    const values: Record<string, InputValues> = {};
    for (const v of this.valueFields) {
      const fill = v.fill && readNumber(v.fill);
      if (fill !== undefined) setOwn(values, v.input.name, { fill });
      const low = v.low && readNumber(v.low);
      const high = v.high && readNumber(v.high);
      if (low !== undefined || high !== undefined) setOwn(values, v.input.name, { low: low ?? v.input.range?.[0] ?? 0, high: high ?? v.input.range?.[1] ?? 0 });
    }
    return { dims, values };
  }

  setEnabled(on: boolean): void {
    for (const f of [...this.dimFields.values(), ...this.valueFields.flatMap((v) => [v.fill, v.low, v.high])]) if (f) setDisabled(f.element, !on);
  }

  /** Checks the choices as the synthesiser will; the problem, naming the input, shows under the fields. */
  validate(): string | undefined {
    if (!this.payload) return undefined;
    const bad = [...this.dimFields].find(([, f]) => f.value().trim() !== '' && !(Number.isInteger(readNumber(f)) && readNumber(f)! > 0));
    if (bad) return this.say(`dimension ${bad[0]}: '${bad[1].value()}' is not a positive whole number`);
    const unreadable = this.valueFields.flatMap((v) => [v.fill, v.low, v.high].filter((f): f is TextField => f !== undefined && f.value().trim() !== '' && readNumber(f) === undefined).map(() => v.input.name));
    if (unreadable.length > 0) return this.say(`input '${unreadable[0]}': that is not a number`);
    try {
      planInputs(inputSourceOf(this.payload), { ...this.base, ...this.choices() });
      return this.say(undefined);
    } catch (err) {
      return this.say(err instanceof Error ? err.message : String(err));
    }
  }

  private say(problem: string | undefined): string | undefined {
    this.problem.hidden = problem === undefined;
    this.problem.textContent = problem ?? '';
    return problem;
  }

  private row(title: string, detail: string): { controls: HTMLElement } {
    const row = document.createElement('div');
    row.className = 'inf-input-row';
    const head = document.createElement('div');
    const name = document.createElement('span');
    name.className = 'mono';
    name.textContent = title;
    const what = document.createElement('span');
    what.className = 'detail';
    what.textContent = ` ${detail}`;
    head.append(name, what);
    const controls = document.createElement('div');
    controls.className = 'inf-input-controls';
    row.append(head, controls);
    this.rows.append(row);
    return { controls };
  }

  private field(label: string, id: string): TextField {
    return textField({ id: id.replace(/[^\w-]/g, '_'), label, onInput: () => { this.validate(); this.onChange(this.choices()); } });
  }
}

function readNumber(f: TextField): number | undefined {
  const t = f.value().trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

function labelled(text: string, f: TextField): HTMLElement {
  const l = document.createElement('label');
  l.append(text, f.element);
  return l;
}
