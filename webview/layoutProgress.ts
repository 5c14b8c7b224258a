// The toolbar's note on a big drawing's layout in the worker: how far it is,
// and Cancel. Shown only once a layout has run SHOW_AFTER_MS, so quick ones
// do not flash it.
import type { LayoutState } from './graphView.js';
import { button, progressRing } from './toolkit.js';

const SHOW_AFTER_MS = 300;

export class LayoutProgressNote {
  readonly element: HTMLElement;
  private readonly text: HTMLElement;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(cancel: () => void) {
    this.element = document.createElement('span');
    this.element.className = 'layout-progress';
    this.element.id = 'layout-progress';
    this.element.setAttribute('role', 'status');
    this.element.hidden = true;
    this.text = document.createElement('span');
    this.element.append(progressRing(), this.text, button('Cancel', { appearance: 'secondary', id: 'cancel-layout', title: 'Stop laying out: the drawing stays as it is (Escape)', onClick: cancel }));
  }

  update(state: LayoutState | null): void {
    if (!state) {
      this.hide();
      return;
    }
    this.text.textContent = `Laying out ${state.nodes.toLocaleString('en')} nodes… ${Math.floor(state.fraction * 100)}%`;
    this.timer ??= setTimeout(() => { this.element.hidden = false; }, SHOW_AFTER_MS);
  }

  hide(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.element.hidden = true;
  }
}
