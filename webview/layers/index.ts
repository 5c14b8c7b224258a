// Mounts the Layers tab in the model editor's webview: one tab for the
// page's lifetime, re-added to each new side panel (graphs and module trees
// alike), following the theme, with a read-only probe for the tests.
import type { ViewMessage } from '../../extension/protocol.js';
import type { Host } from '../host.js';
import { readTheme, watchTheme } from '../theme.js';
import type { Tabs } from '../toolkit.js';
import { addLayersStyles } from './style.js';
import { LayersTab, type LayersEvents } from './tab.js';

declare global {
  interface Window {
    weightSharingLayers?: { tab: LayersTab };
  }
}

export interface LayersMount {
  /** True when the message was the tab's alone. */
  handle(msg: ViewMessage): boolean;
  /** Call after a new side panel was built (a new model). */
  attach(tabs: Tabs | undefined): void;
  /** A selection made elsewhere (a sharing group): no cell stays marked. */
  clearSelection(): void;
}

export function mountLayers(host: Host, events: LayersEvents): LayersMount {
  addLayersStyles();
  const tab = new LayersTab(host, readTheme(), events);
  watchTheme((t) => tab.setTheme(t));
  window.weightSharingLayers = { tab };
  return {
    handle: (msg) => tab.handle(msg),
    attach: (tabs) => { if (tabs) tab.attach(tabs); },
    clearSelection: () => tab.clearSelection(),
  };
}
