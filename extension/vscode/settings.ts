// The extension's settings (contributes.configuration in package.json), read
// in one place so defaults live beside the CLI's.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GraphRendererSetting } from '../protocol';
import { DEFAULT_MIN_BYTES } from '../sharing/types';

export const SECTION = 'weightSharing';

export interface Settings {
  /** Groups of tensors under this size are not listed (the CLI's --min-bytes). */
  minBytes: number;
  diagnosticsEnabled: boolean;
  /** Lossless groups saving less than this get no Problems entry. */
  diagnosticsMinBytes: number;
  /** Past this many nodes the graph starts collapsed by name scope. */
  collapseThreshold: number;
  /** Which cytoscape renderer draws the graph. */
  graphRenderer: GraphRendererSetting;
  /** Relative tolerance of the inference check (issue 5). */
  inferenceTolerance: number;
  /** Folders links inside a model's folder may point into (the CLI's --trust-links-into). */
  trustedLinkRoots: string[];
}

export const DEFAULT_COLLAPSE_THRESHOLD = 1500;
export const DEFAULT_INFERENCE_TOLERANCE = 1e-4;

function nonNegative(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  return {
    minBytes: nonNegative(c.get<number>('minBytes'), DEFAULT_MIN_BYTES),
    diagnosticsEnabled: c.get<boolean>('diagnostics.enabled') ?? true,
    diagnosticsMinBytes: nonNegative(c.get<number>('diagnostics.minBytes'), DEFAULT_MIN_BYTES),
    collapseThreshold: nonNegative(c.get<number>('graph.collapseThreshold'), DEFAULT_COLLAPSE_THRESHOLD),
    graphRenderer: oneOf(c.get<string>('graph.renderer'), ['auto', 'webgl', 'canvas'] as const, 'auto'),
    inferenceTolerance: nonNegative(c.get<number>('inference.tolerance'), DEFAULT_INFERENCE_TOLERANCE),
    trustedLinkRoots: (c.get<unknown[]>('trustedLinkRoots') ?? [])
      .filter((r): r is string => typeof r === 'string' && r !== '')
      .map((r) => (r === '~' || r.startsWith('~/') ? path.join(os.homedir(), r.slice(1)) : r)),
  };
}
