// The only module that knows about @vscode/webview-ui-toolkit. The toolkit
// was archived in January 2025; swapping it (e.g. for @vscode-elements)
// means rewriting these factories and nothing else.
import {
  provideVSCodeDesignSystem, vsCodeButton, vsCodeDivider, vsCodeDropdown, vsCodeOption, vsCodePanels, vsCodePanelTab,
  vsCodePanelView, vsCodeProgressRing, vsCodeTag, vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

let registered = false;

export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(
    vsCodeButton(), vsCodeDivider(), vsCodePanels(), vsCodePanelTab(), vsCodePanelView(),
    vsCodeProgressRing(), vsCodeTag(), vsCodeTextField(), vsCodeDropdown(), vsCodeOption(),
  );
}

export interface ButtonOptions {
  appearance?: 'primary' | 'secondary' | 'icon';
  title?: string;
  id?: string;
  onClick: () => void;
}

export function button(label: string, o: ButtonOptions): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  if (o.appearance) b.setAttribute('appearance', o.appearance);
  if (o.title) {
    b.setAttribute('title', o.title);
    b.setAttribute('aria-label', o.title);
  }
  if (o.id) b.id = o.id;
  b.addEventListener('click', () => o.onClick());
  return b;
}

export function setDisabled(el: HTMLElement, disabled: boolean): void {
  el.toggleAttribute('disabled', disabled);
}

export interface TextFieldOptions {
  id?: string;
  placeholder?: string;
  label?: string;
  onInput: (value: string) => void;
  onKey?: (e: KeyboardEvent) => void;
}

export interface TextField {
  element: HTMLElement;
  value(): string;
  setValue(v: string): void;
  focus(): void;
  /** Text shown at the end of the field (e.g. "3/12"). */
  setEnd(text: string): void;
}

/**
 * Gives a toolkit element an accessible name that stays: vscode-text-field
 * (and vscode-panels) set their own aria-label when they are connected ("Text
 * field" when they hold no text), which screen readers then read instead.
 */
function keepLabel(el: HTMLElement, label: string): void {
  el.setAttribute('aria-label', label);
  new MutationObserver(() => {
    if (el.getAttribute('aria-label') !== label) el.setAttribute('aria-label', label);
  }).observe(el, { attributes: true, attributeFilter: ['aria-label'] });
}

export function textField(o: TextFieldOptions): TextField {
  const f = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  if (o.id) f.id = o.id;
  if (o.placeholder) f.setAttribute('placeholder', o.placeholder);
  if (o.label) keepLabel(f, o.label);
  const end = document.createElement('span');
  end.setAttribute('slot', 'end');
  end.className = 'field-end';
  f.append(end);
  f.addEventListener('input', () => o.onInput(f.value ?? ''));
  if (o.onKey) f.addEventListener('keydown', o.onKey);
  return {
    element: f,
    value: () => f.value ?? '',
    setValue: (v) => { f.value = v; },
    focus: () => {
      // The real <input> lives in the component's shadow root.
      const inner = f.shadowRoot?.querySelector('input');
      (inner ?? f).focus();
    },
    setEnd: (t) => { end.textContent = t; },
  };
}

export interface Tab {
  id: string;
  title: string;
  view: HTMLElement;
}

export interface Tabs {
  element: HTMLElement;
  add(tab: Tab): void;
  activate(id: string): void;
  /** Calls `fn` each time the tab's view is shown (a click, the keyboard, or activate()). */
  onShow(id: string, fn: () => void): void;
}

/** A tab strip; issue 5's inference panel adds itself as another tab. */
export function tabs(initial: Tab[]): Tabs {
  const panels = document.createElement('vscode-panels');
  panels.className = 'side-tabs';
  keepLabel(panels, 'Side panel');
  const add = (t: Tab) => {
    const tab = document.createElement('vscode-panel-tab');
    tab.id = `tab-${t.id}`;
    tab.textContent = t.title;
    const view = document.createElement('vscode-panel-view');
    view.id = `view-${t.id}`;
    view.append(t.view);
    // Tabs go before the first view, views after the last one.
    const firstView = panels.querySelector('vscode-panel-view');
    panels.insertBefore(tab, firstView);
    panels.append(view);
  };
  for (const t of initial) add(t);
  return {
    element: panels,
    add,
    activate: (id) => panels.setAttribute('activeid', `tab-${id}`),
    onShow: (id, fn) => {
      const view = panels.querySelector<HTMLElement>(`#view-${CSS.escape(id)}`);
      if (!view) throw new Error(`no tab '${id}'`);
      // The toolkit shows a tab's view by removing its hidden attribute.
      let shown = view.isConnected && !view.hasAttribute('hidden');
      new MutationObserver(() => {
        const now = !view.hasAttribute('hidden');
        if (now && !shown) fn();
        shown = now;
      }).observe(view, { attributes: true, attributeFilter: ['hidden'] });
    },
  };
}

/**
 * A tag styled like vscode-tag. Not the toolkit's own: its template (FAST's
 * badge) binds an inline style attribute, which the CSP rightly blocks.
 */
export function tag(label: string): HTMLElement {
  const t = document.createElement('span');
  t.className = 'tag';
  t.textContent = label;
  return t;
}

export function divider(): HTMLElement {
  return document.createElement('vscode-divider');
}

export function progressRing(): HTMLElement {
  return document.createElement('vscode-progress-ring');
}

export interface DropdownOptions {
  id?: string;
  label?: string;
  /** value → label, in display order. */
  choices: Array<{ value: string; label: string }>;
  value?: string;
  onChange: (value: string) => void;
}

export interface Dropdown {
  element: HTMLElement;
  value(): string;
  setValue(v: string): void;
  setChoices(choices: Array<{ value: string; label: string }>, value?: string): void;
}

/** A select box (the inference panel's backend and input choices). */
export function dropdown(o: DropdownOptions): Dropdown {
  const d = document.createElement('vscode-dropdown') as HTMLElement & { value: string };
  if (o.id) d.id = o.id;
  if (o.label) d.setAttribute('aria-label', o.label);
  let current = o.value ?? o.choices[0]?.value ?? '';
  const fill = (choices: Array<{ value: string; label: string }>) => {
    d.replaceChildren(...choices.map((c) => {
      const opt = document.createElement('vscode-option') as HTMLElement & { value: string };
      opt.setAttribute('value', c.value);
      opt.textContent = c.label;
      if (c.value === current) opt.setAttribute('selected', '');
      return opt;
    }));
  };
  fill(o.choices);
  d.addEventListener('change', () => { current = d.value; o.onChange(current); });
  // `current` is the truth: the element ignores a value set before its
  // options are slotted (they arrive asynchronously after a refill).
  return {
    element: d,
    value: () => current,
    setValue: (v) => {
      current = v;
      d.value = v;
      for (const opt of d.querySelectorAll('vscode-option')) opt.toggleAttribute('selected', opt.getAttribute('value') === v);
    },
    setChoices: (choices, value) => {
      if (value !== undefined) current = value;
      if (!choices.some((c) => c.value === current)) current = choices[0]?.value ?? '';
      const existing = [...d.querySelectorAll('vscode-option')];
      if (existing.length === choices.length && existing.every((opt, i) => opt.getAttribute('value') === choices[i].value)) {
        // Same values: relabel in place. Refilling would re-slot the options,
        // and the element then announces a stale selection as a 'change'.
        existing.forEach((opt, i) => { opt.textContent = choices[i].label; opt.toggleAttribute('selected', choices[i].value === current); });
      } else fill(choices);
      d.value = current;
    },
  };
}
