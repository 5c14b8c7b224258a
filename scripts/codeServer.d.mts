// Types for scripts/codeServer.mjs (plain JS so `npm start` needs no build step).
import type { ChildProcess } from 'node:child_process';

export const root: string;
export const CODE_SERVER_VERSION: string;
export const cacheDir: string;
export const entryJs: string;
export const chromiumPath: string;
export function ensureSystemPackages(): void;
export function ensureCodeServer(): string;
export function buildExtension(): void;
export function extensionFolderName(): string;
export function linkExtension(extensionsDir: string): string;
export function freePort(): Promise<number>;
export interface StartOptions {
  workspace: string;
  stateDir: string;
  port?: number;
  settings?: Record<string, unknown>;
  logFile?: string;
  stdio?: 'pipe' | 'inherit';
}
export interface CodeServer {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
  output(): string;
  workspaceUrl: string;
}
export function startCodeServer(options: StartOptions): Promise<CodeServer>;
