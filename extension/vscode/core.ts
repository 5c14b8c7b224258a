// The core entry points the extension host uses, gathered in one file so the
// vscode/ folder depends on the core through one narrow door.
export { openModel } from '../model/registry';
export { scanModels } from '../sharing/scan';
export { buildGraphPayload } from '../view/payload';
export { renderWebviewHtml } from '../view/html';

import type { SharingGroup } from '../sharing/types';

/** What writing a shared copy produced. */
export interface ApplyOutcome {
  output: string;
  inputBytes: number;
  outputBytes: number;
  bytesSaved: number;
}

export interface ApplyOptions {
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
}

/**
 * Writes `output`, a copy of the model at `input` storing each group once.
 * Placeholder until the rewrite (extension/sharing/plan.ts) lands.
 */
export async function applyGroups(input: string, output: string, groups: SharingGroup[], _options: ApplyOptions = {}): Promise<ApplyOutcome> {
  void input; void output; void groups;
  throw new Error('Apply Sharing is not available yet: the rewrite has not landed');
}
