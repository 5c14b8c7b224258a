// Shared by the inference panel tests and the benchmark: opens a corpus
// model's editor page in the webview harness (graph payload built by the
// core, exactly as the host builds it), hands the panel its setup as the host
// would (URLs of the model, its external data and its test_data_set_N
// folder), and runs checks through the panel.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { externalDataFiles } from '../../extension/check/runner';
import { findTestDataDirs, listTestDataFiles } from '../../extension/check/testData';
import { openModel } from '../../extension/model/registry';
import { ORT_FILES, type InferenceModelRef, type InputChoices, type InferenceSetup, type InferenceTestDataRef } from '../../extension/protocol';
import { scanModels } from '../../extension/sharing/scan';
import { packGraphPayload } from '../../extension/view/packedPayload';
import { buildGraphPayload } from '../../extension/view/payload';
import type { CheckResult } from '../../webview/inference/panel.js' with { 'resolution-mode': 'import' };
import { ROOT, WebviewHarness, type ThemeName, type WebviewPage } from './harness';

export const CORPUS = join(ROOT, 'test', 'fixtures', 'corpus');
export const WEBGPU_ARGS = ['--enable-unsafe-webgpu'];

/** URL of a file the harness serves: under the project root, or under an extra served folder. */
export type UrlOf = (absPath: string) => string;

export function rootUrlOf(origin: string, extra: Record<string, string> = {}): UrlOf {
  return (p) => {
    for (const [prefix, dir] of Object.entries(extra)) {
      if (p.startsWith(dir + sep)) return `${origin}/${prefix}/${relative(dir, p).split(sep).map(encodeURIComponent).join('/')}`;
    }
    return `${origin}/${relative(ROOT, p).split(sep).map(encodeURIComponent).join('/')}`;
  };
}

export async function modelRef(path: string, urlOf: UrlOf): Promise<InferenceModelRef> {
  const model = await openModel(path);
  return {
    name: basename(path), path, url: urlOf(path),
    externalData: externalDataFiles(model).map((rel) => ({ path: rel, url: urlOf(join(dirname(path), rel)) })),
  };
}

export function testDataRefs(path: string, urlOf: UrlOf): InferenceTestDataRef[] {
  return findTestDataDirs(path).map((dir) => {
    const files = listTestDataFiles(dir);
    return { name: basename(dir), inputs: files.inputs.map(urlOf), outputs: files.outputs.map(urlOf) };
  });
}

export interface SetupOptions { compareWith?: string; tolerance?: number; inputChoices?: InputChoices }

export async function setupFor(path: string, urlOf: UrlOf, origin: string, o: SetupOptions = {}): Promise<InferenceSetup> {
  return {
    ortBaseUrl: `${origin}/media/ort/`,
    // As the host does (extension/vscode/inferenceCheck.ts): the test server answers without a length.
    ortWasmBytes: statSync(join(ROOT, 'media', 'ort', ORT_FILES.wasm)).size,
    model: await modelRef(path, urlOf),
    testData: testDataRefs(path, urlOf),
    compareWith: o.compareWith ? await modelRef(o.compareWith, urlOf) : undefined,
    tolerance: o.tolerance ?? 1e-4,
    ...(o.inputChoices ? { inputChoices: o.inputChoices } : {}),
  };
}

/**
 * Points an open page at another model, as the host does when the editor
 * reloads: new graph payload, new setup. The runtime stays loaded.
 */
export async function switchModel(h: WebviewHarness, page: WebviewPage, path: string, o: SetupOptions & { urlOf?: UrlOf } = {}): Promise<void> {
  const urlOf = o.urlOf ?? rootUrlOf(h.origin);
  const model = await openModel(path);
  const report = await scanModels([model]);
  await page.post({ type: 'model', graph: packGraphPayload(buildGraphPayload(model, report)), settings: { collapseThreshold: 1500, minBytes: 1024 } });
  await page.post({ type: 'inferenceSetup', setup: await setupFor(path, urlOf, h.origin, o), run: false });
  await page.page.waitForFunction((name) => {
    const w = window as unknown as { weightSharingInference?: { panel: { setupModelName(): string | undefined } } };
    return w.weightSharingInference?.panel.setupModelName() === name;
  }, basename(path));
}

/** Opens the editor page for a model: graph drawn, inference panel set up (not run). */
export async function openModelPage(h: WebviewHarness, path: string, o: SetupOptions & { theme?: ThemeName; urlOf?: UrlOf; width?: number; height?: number } = {}): Promise<WebviewPage> {
  if (!existsSync(path)) throw new Error(`${path} is missing`);
  const urlOf = o.urlOf ?? rootUrlOf(h.origin);
  const model = await openModel(path);
  const report = await scanModels([model]);
  const page = await h.open({ theme: o.theme, title: basename(path), width: o.width, height: o.height });
  await page.showModel({ type: 'model', graph: packGraphPayload(buildGraphPayload(model, report)), settings: { collapseThreshold: 1500, minBytes: 1024 } });
  await page.post({ type: 'inferenceSetup', setup: await setupFor(path, urlOf, h.origin, o), run: false });
  await page.page.waitForFunction((name) => {
    const w = window as unknown as { weightSharingInference?: { panel: { setupModelName(): string | undefined } } };
    return w.weightSharingInference?.panel.setupModelName() === name;
  }, basename(path));
  return page;
}

export type RunOptions = { backend?: 'auto' | 'webgpu' | 'wasm'; inputs?: number | 'synthesized'; batch?: number; sequence?: number; seed?: number; runs?: number; compare?: boolean };

/** Runs a check through the panel's probe (the same path as the Run button). */
export async function runCheck(page: WebviewPage, o: RunOptions = {}): Promise<CheckResult> {
  return page.page.evaluate(async (opts) => {
    const w = window as unknown as { weightSharingInference: { run(o: unknown): Promise<unknown> } };
    const r = await w.weightSharingInference.run(opts);
    // Typed arrays and bigints do not cross evaluate(); the report holds neither, but keep it plain.
    return JSON.parse(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))) as unknown;
  }, o as Record<string, unknown>, ) as Promise<CheckResult>;
}

/** Shows the Inference tab. */
export async function showInferenceTab(page: WebviewPage): Promise<void> {
  await page.page.click('#tab-inference');
  await page.page.waitForSelector('#inference', { state: 'visible' });
}
