// Search by name: Ctrl/Cmd+F or '/' focuses the box, typing highlights
// matches, Enter (Shift+Enter) steps to the next (previous) one, Escape
// clears. Matches hidden inside collapsed scopes are revealed when reached.
import type { ViewModel } from './viewModel.js';
import { textField, type TextField } from './toolkit.js';

export interface SearchEvents {
  show(matches: string[], current: number): void;
  clear(): void;
}

export class Search {
  readonly field: TextField;
  private matches: string[] = [];
  private current = -1;

  constructor(private readonly model: ViewModel, private readonly events: SearchEvents) {
    this.field = textField({
      id: 'search',
      placeholder: 'Search names ( / )',
      label: 'Search nodes and weights by name',
      onInput: (v) => this.update(v),
      onKey: (e) => this.onKey(e),
    });
  }

  /** Global shortcuts; call from a document keydown listener. */
  handleGlobalKey(e: KeyboardEvent): boolean {
    const target = e.target as HTMLElement | null;
    const typing = target !== null && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'VSCODE-TEXT-FIELD');
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'f') {
      e.preventDefault();
      this.field.focus();
      return true;
    }
    if (e.key === '/' && !typing) {
      e.preventDefault();
      this.field.focus();
      return true;
    }
    return false;
  }

  private update(value: string): void {
    this.matches = this.model.search(value);
    this.current = this.matches.length > 0 ? 0 : -1;
    this.report();
  }

  private step(delta: number): void {
    if (this.matches.length === 0) return;
    this.current = (this.current + delta + this.matches.length) % this.matches.length;
    this.report();
  }

  private report(): void {
    if (this.matches.length === 0) {
      this.field.setEnd(this.field.value() ? '0/0' : '');
      this.events.clear();
      return;
    }
    this.field.setEnd(`${this.current + 1}/${this.matches.length}`);
    this.events.show(this.matches, this.current);
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key === 'Enter') {
      e.preventDefault();
      // The first Enter after typing lands on the first match, which is already shown.
      this.step(e.shiftKey ? -1 : 1);
    } else if (e.key === 'Escape') {
      this.field.setValue('');
      this.update('');
    }
  }
}
