// Mounts the inference check in the model editor's webview: the panel
// follows the host's messages, adds itself as a tab of each new side panel,
// and exposes a read-only probe for the webview tests and the benchmark.
import type { ViewMessage } from '../../extension/protocol.js';
import type { Host } from '../host.js';
import type { Tabs } from '../toolkit.js';
import { probeWebGpu, type GpuProbe } from './backend.js';
import { InferencePanel, type CheckResult } from './panel.js';

export interface InferenceProbe {
  panel: InferencePanel;
  /** Sets the controls, runs a check as the Run button does, resolves with its result. */
  run(o?: Parameters<InferencePanel['configure']>[0]): Promise<CheckResult>;
  last(): CheckResult | null;
  gpu(): Promise<GpuProbe>;
}

declare global {
  interface Window {
    weightSharingInference?: InferenceProbe;
  }
}

export interface InferenceMount {
  /** True when the message was the panel's alone. */
  handle(msg: ViewMessage): boolean;
  /** Call after a new side panel was built. */
  attach(tabs: Tabs | undefined): void;
  /** Runs the model against a lossy variant (Try tying) and resolves with the result. */
  measureAgainst: InferencePanel['measureAgainst'];
}

export function mountInference(host: Host): InferenceMount {
  const panel = new InferencePanel(host);
  window.weightSharingInference = {
    panel,
    run: (o) => {
      if (o) panel.configure(o);
      return panel.run();
    },
    last: () => panel.last,
    gpu: () => probeWebGpu(),
  };
  // After main.ts has posted 'ready' (the rest of its module body runs first).
  queueMicrotask(() => panel.requestSetup());
  return {
    handle: (msg) => panel.handle(msg),
    attach: (tabs) => { if (tabs) panel.attach(tabs); },
    measureAgainst: (variant, onStatus) => panel.measureAgainst(variant, onStatus),
  };
}
