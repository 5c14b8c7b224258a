// The inference panel in headless Chromium with the production HTML and CSP:
// onnxruntime-web loaded from media/ort/ by URL, corpus models (and their
// external data) fetched by URL, compared with their test_data_set_0 on the
// WASM backend and on WebGPU over Chromium's software adapter (SwiftShader);
// the shared copy written by `apply` against the original; a model
// onnxruntime rejects; the Run button; light and dark screenshots.
//
// One page per browser: the 26 MB runtime loads and compiles once and every
// model after the first reuses it (as in VS Code, where a webview keeps it).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeTensorProto, elementAsNumber } from '../../extension/check/tensorProto';
import { applySharing } from '../../extension/sharing/apply';
import { WebviewHarness, type WebviewPage } from './harness';
import { CORPUS, modelRef, openModelPage, rootUrlOf, runCheck, showInferenceTab, switchModel, WEBGPU_ARGS } from './inferenceSupport';

const TOLERANCE = 1e-4;

/** Models with a test_data_set_0: a BERT (tied, transposed embedding), a CNN with external data, If branches with external data, an int8-quantised GPT-2. */
const MODELS = ['bert-tiny-mlm-trained.onnx', 'siamese-cnn-dynamo.onnx', 'cond-branches.onnx', 'gpt2-tiny-op18-int8.onnx'];

async function text(page: WebviewPage, selector: string): Promise<string> {
  return (await page.page.textContent(selector)) ?? '';
}

describe('inference panel with WebGPU available (--enable-unsafe-webgpu)', () => {
  let h: WebviewHarness;
  let page: WebviewPage;
  let sharedDir: string;
  const urlOf = () => rootUrlOf(h.origin, { shared: sharedDir });

  before(async () => {
    sharedDir = mkdtempSync(join(tmpdir(), 'wsi-inference-'));
    h = await WebviewHarness.start({ args: WEBGPU_ARGS, serve: { shared: sharedDir } });
    page = await openModelPage(h, join(CORPUS, MODELS[0]), { urlOf: urlOf() });
  });
  after(async () => {
    await h?.close();
    rmSync(sharedDir, { recursive: true, force: true });
  });

  test('the runtime loads, with progress, when the Inference tab first shows: before any Run', async () => {
    const history = () => page.page.evaluate(() => [...(window as unknown as { weightSharingInference: { panel: { statusHistory: string[] } } }).weightSharingInference.panel.statusHistory]);
    assert.deepEqual((await history()).filter((m) => m.startsWith('Loading onnxruntime-web')), [], 'nothing loaded before the tab shows');
    await showInferenceTab(page);
    await page.page.waitForFunction(() => (window as unknown as { weightSharingInference: { panel: { statusHistory: string[] } } }).weightSharingInference.panel.statusHistory.some((m) => m.endsWith('(100%)')), undefined, { timeout: 60_000 });
    const before = await history();
    const loading = before.filter((m) => /^Loading onnxruntime-web: [\d.]+ of 25\.5 MB \(\d+%\)$/.test(m));
    assert.ok(loading.length >= 1, before.join(' | '));
    assert.ok(!before.some((m) => /session/i.test(m)), `no check ran yet: ${before.join(' | ')}`);
    const r = await runCheck(page, { backend: 'wasm', inputs: 0, runs: 1, compare: false });
    assert.ok(r.ok, r.ok ? '' : r.error.reason);
    const after = (await history()).slice(before.length);
    assert.ok(!after.some((m) => m.startsWith('Loading onnxruntime-web:')), `Run found the runtime loaded: ${after.join(' | ')}`);
    const history2 = await history();
    assert.ok(history2.some((m) => /^Creating a WASM session for bert-tiny-mlm-trained\.onnx/.test(m)), history2.join(' | '));
    assert.ok(r.report.runtime.wasmBytes > 20e6);
  });

  test('a long check shows how long is left and stops on Cancel, at the end of the run in progress', async () => {
    await showInferenceTab(page);
    // Ten million timed runs of a 1 MB BERT (a fraction of a millisecond each): most of an hour, unless cancelled.
    await page.page.evaluate(() => {
      const w = window as unknown as { weightSharingInference: { run(o: unknown): Promise<unknown> }; __long?: Promise<unknown> };
      w.__long = w.weightSharingInference.run({ backend: 'wasm', inputs: 0, runs: 10_000_000, compare: false });
    });
    const history = () => page.page.evaluate(() => [...(window as unknown as { weightSharingInference: { panel: { statusHistory: string[] } } }).weightSharingInference.panel.statusHistory]);
    // The panel keeps its last 100-200 status lines: look at the newest.
    for (let t = Date.now(); !(await history()).some((m) => / of 10000000, /.test(m)); ) {
      assert.ok(Date.now() - t < 60_000, `no run under way: ${(await history()).slice(-3).join(' | ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok((await history()).some((m) => /^Running bert-tiny-mlm-trained\.onnx \(\d+ of 10000000, (about [\d.]+ s left|under a second left)\)…$/.test(m)), (await history()).slice(-3).join(' | '));
    assert.equal(await page.page.isVisible('#inf-cancel'), true);
    await page.page.click('#inf-cancel');
    const t0 = Date.now();
    const result = await page.page.evaluate(() => (window as unknown as { __long: Promise<{ ok: boolean; error?: { stage: string } }> }).__long);
    assert.ok(Date.now() - t0 < 10_000, 'stopped at once');
    assert.deepEqual([result.ok, result.error?.stage], [false, 'cancelled']);
    assert.match(await text(page, '#inf-cancelled'), /cancelled/);
    assert.equal(await page.page.isVisible('#inf-cancel'), false);
    await page.screenshot('inference-cancelled');
  });

  test('the page offers a WebGPU adapter: SwiftShader, a fallback adapter', async () => {
    const gpu = await page.page.evaluate(() => (window as unknown as { weightSharingInference: { gpu(): Promise<unknown> } }).weightSharingInference.gpu()) as { available: boolean; adapter?: { vendor: string; architecture: string; isFallbackAdapter: boolean } };
    assert.equal(gpu.available, true);
    assert.equal(gpu.adapter?.isFallbackAdapter, true);
    assert.match(`${gpu.adapter?.vendor} ${gpu.adapter?.architecture}`, /swiftshader/i);
  });

  for (const name of MODELS) {
    test(`${name}: WASM and WebGPU outputs match test_data_set_0 within ${TOLERANCE} relative`, async () => {
      await switchModel(h, page, join(CORPUS, name), { urlOf: urlOf() });
      for (const backend of ['wasm', 'webgpu'] as const) {
        const r = await runCheck(page, { backend, inputs: 0, runs: 2, compare: false });
        assert.ok(r.ok, `${name} on ${backend}: ${r.ok ? '' : `${r.error.reason} (${r.error.hint})`}`);
        const rep = r.report;
        assert.equal(rep.backend, backend);
        if (backend === 'webgpu') assert.equal(rep.gpu.adapter?.isFallbackAdapter, true);
        assert.equal(rep.inputs.kind, 'test-data');
        assert.equal(rep.comparisons.length, 1);
        const c = rep.comparisons[0];
        assert.equal(c.against, 'reference');
        assert.ok(c.result.pass, `${name} on ${backend}: ${c.result.failures.join('; ')}`);
        assert.equal(c.result.missing.length, 0);
        for (const o of c.result.outputs) {
          assert.ok(o.maxRelDiff <= TOLERANCE, `${name} ${o.name} on ${backend}: max rel ${o.maxRelDiff}`);
          assert.ok(o.cosine > 0.999999, `${name} ${o.name} on ${backend}: cosine ${o.cosine}`);
        }
        // A warm-up slower than SLOW_RUN_MS (a busy machine) is followed by one timed run, not the two asked for.
        const { SLOW_RUN_MS } = await import('../../webview/inference/session.js');
        assert.equal(rep.runs[0].timings.runsMs.length, rep.runs[0].timings.warmupMs > SLOW_RUN_MS ? 1 : 2);
        assert.ok(rep.runs[0].timings.medianMs > 0);
        // The panel says the same.
        assert.equal(await text(page, '#inf-verdict'), 'PASS');
        assert.match(await text(page, '#inf-ran-on'), backend === 'webgpu' ? /^WebGPU · google swiftshader \(software fallback adapter\)/ : /^WASM \(1 thread\)/);
      }
      const outcomes = (await page.posted()).filter((m) => m.type === 'inferenceOutcome');
      assert.ok(outcomes.length >= 2);
      const last = outcomes[outcomes.length - 1];
      assert.ok(last.type === 'inferenceOutcome' && last.outcome.status === 'pass' && last.outcome.backend === 'webgpu', JSON.stringify(last));
    });
  }

  test('original and shared model (written by apply) give bit-identical outputs on WASM, and match the test data', async () => {
    for (const name of ['bert-tiny-mlm-trained.onnx', 'cond-branches.onnx']) {
      const input = join(CORPUS, name);
      const output = join(sharedDir, name.replace(/\.onnx$/, '.shared.onnx'));
      const applied = await applySharing(input, { output });
      assert.ok(applied.output, `${name}: apply wrote nothing`);
      assert.ok(applied.bytesAfter < applied.bytesBefore);
      await switchModel(h, page, input, { compareWith: output, urlOf: urlOf() });
      const r = await runCheck(page, { backend: 'wasm', inputs: 0, runs: 2, compare: true });
      assert.ok(r.ok, r.ok ? '' : r.error.reason);
      const models = r.report.comparisons.find((c) => c.against === 'model');
      assert.ok(models, 'no model comparison');
      assert.ok(models.result.pass, models.result.failures.join('; '));
      assert.ok(models.result.outputs.length > 0);
      for (const o of models.result.outputs) {
        assert.equal(o.bitIdentical, true, `${name} ${o.name}: max abs ${o.maxAbsDiff}`);
        assert.equal(o.maxAbsDiff, 0);
      }
      assert.equal(r.report.runs[1].role, 'compared');
      assert.equal(r.report.runs[1].name, output.slice(sharedDir.length + 1));
      assert.equal(r.report.pass, true);
      assert.match(await text(page, '#inf-output'), /PASS · identical/);
    }
  });

  test('cond-branches: the If decided by x gets inputs for each branch, and both branches match the shared copy', async () => {
    const input = join(CORPUS, 'cond-branches.onnx');
    const output = join(sharedDir, 'cond-branches.shared.onnx');
    await applySharing(input, { output, force: true });
    await switchModel(h, page, input, { compareWith: output, urlOf: urlOf() });
    const r = await runCheck(page, { backend: 'wasm', inputs: 0, runs: 1, compare: true });
    assert.ok(r.ok, r.ok ? '' : r.error.reason);
    const b = r.report.branches;
    assert.ok(b, 'a branch report');
    assert.deepEqual(b.points.map((p) => p.cond), ['gt']);
    // The exporter's condition is ReduceSum(x) > 0: the test data's own x decides the branch it takes.
    const x = decodeTensorProto(readFileSync(join(CORPUS, 'cond-branches.test_data_set_0', 'input_0.pb')), 'x');
    let sum = 0;
    for (let i = 0; i < x.data.length; i++) sum += elementAsNumber(x, i);
    const given = sum > 0 ? 'then' : 'else';
    const other = given === 'then' ? 'else' : 'then';
    assert.equal(b.points[0]![given], 'as given');
    assert.equal(b.points[0]![other], 'negated', 'negating x flips the sign of its sum');
    assert.deepEqual(b.runs.map((run) => run.inputs), ['negated']);
    for (const o of b.runs[0]!.comparisons[0]!.result.outputs) assert.equal(o.bitIdentical, true, `${other} branch, ${o.name}: max abs ${o.maxAbsDiff}`);
    assert.equal(r.report.pass, true);
    const shown = await text(page, '#inf-branches');
    assert.match(shown, new RegExp(`${given}: inputs as given · PASS`));
    assert.match(shown, new RegExp(`${other}: inputs negated · PASS`));
    await showInferenceTab(page);
    await page.page.locator('#inf-branches').scrollIntoViewIfNeeded();
    await page.screenshot('inference-branches-dark');
  });

  test('synthesised inputs: ids inside the vocabulary, the seed control decides the values, fixed shapes keep batch and sequence off', async () => {
    const input = join(CORPUS, 'bert-tiny-mlm-trained.onnx');
    const output = join(sharedDir, 'bert-tiny-mlm-trained.shared.onnx');
    await switchModel(h, page, input, { compareWith: output, urlOf: urlOf() });
    const synth = async (seed: number) => {
      const r = await runCheck(page, { backend: 'wasm', inputs: 'synthesized', seed, runs: 1, compare: true });
      assert.ok(r.ok, r.ok ? '' : r.error.reason);
      return r.report;
    };
    const a = await synth(7);
    assert.equal(a.inputs.kind, 'synthesized');
    assert.match(a.inputs.label, /seed 7/);
    const ids = a.inputs.tensors.find((t) => t.name === 'input_ids');
    assert.deepEqual(ids?.dims, [1, 8]);
    assert.match(ids?.source ?? '', /ids in \[0, 1000\)/);
    assert.match(a.inputs.tensors.find((t) => t.name === 'attention_mask')?.source ?? '', /all ones/);
    assert.deepEqual(a.runs[0].outputs[0].dims, [1, 8, 1000]);
    // Only the model comparison: synthesised inputs have no expected outputs.
    assert.deepEqual(a.comparisons.map((c) => c.against), ['model']);
    assert.ok(a.comparisons[0].result.outputs.every((o) => o.bitIdentical));
    const again = await synth(7);
    assert.deepEqual(again.runs[0].outputs[0].preview, a.runs[0].outputs[0].preview);
    const other = await synth(8);
    assert.notDeepEqual(other.runs[0].outputs[0].preview, a.runs[0].outputs[0].preview);
    // bert-tiny was exported with fixed [1, 8] inputs: nothing for batch and sequence to set.
    assert.equal(await page.page.getAttribute('#inf-batch', 'disabled'), '');
    assert.equal(await page.page.getAttribute('#inf-sequence', 'disabled'), '');
    assert.equal(await page.page.getAttribute('#inf-seed', 'disabled'), null);
  });

  test('a model WebGPU cannot run here (fp16 Cast, no shader-f16 on SwiftShader): WebGPU gives the reason and a hint; Auto runs it on WASM', async () => {
    await switchModel(h, page, join(CORPUS, 'half-copy.onnx'), { urlOf: urlOf() });
    const gpu = await runCheck(page, { backend: 'webgpu', inputs: 0, runs: 1, compare: false });
    assert.equal(gpu.ok, false);
    if (gpu.ok) return;
    assert.match(gpu.error.reason, /requires f16/);
    assert.match(gpu.error.hint ?? '', /shader-f16.*run the check on WASM/);
    const auto = await runCheck(page, { backend: 'auto', inputs: 0, runs: 1, compare: false });
    assert.ok(auto.ok, auto.ok ? '' : auto.error.reason);
    assert.equal(auto.report.backend, 'wasm');
    assert.equal(auto.report.pass, true);
    assert.match(await text(page, '#inf-ran-on'), /^WASM \(1 thread\) · WebGPU here is a software adapter/);
  });

  test('a different model (picked to compare with) FAILs with its differences and first differing positions', async () => {
    await switchModel(h, page, join(CORPUS, 'bert-tiny-mlm-trained.onnx'), { urlOf: urlOf() });
    // "Choose…" asks the host, which shows an open dialog and replies with the model's URLs.
    await showInferenceTab(page);
    await page.page.click('#inf-compare-pick');
    await page.page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string; method?: string }> }).__posted.some((m) => m.type === 'request' && m.method === 'pickComparisonModel'));
    const request = (await page.posted()).filter((m) => m.type === 'request' && m.method === 'pickComparisonModel').pop();
    assert.ok(request && request.type === 'request');
    await page.post({ type: 'reply', id: request.id, ok: true, result: await modelRef(join(CORPUS, 'bert-tiny-mlm.onnx'), urlOf()) });
    await page.page.waitForFunction(() => document.getElementById('inf-compare-name')?.textContent === 'bert-tiny-mlm.onnx');
    const r = await runCheck(page, { backend: 'wasm', inputs: 0, runs: 1 });
    assert.ok(r.ok, r.ok ? '' : r.error.reason);
    assert.equal(r.report.pass, false);
    const reference = r.report.comparisons.find((c) => c.against === 'reference');
    const models = r.report.comparisons.find((c) => c.against === 'model');
    assert.equal(reference?.result.pass, true);
    assert.equal(models?.result.pass, false);
    const out = models!.result.outputs[0];
    assert.ok(out.maxRelDiff > TOLERANCE && out.cosine < 0.999);
    assert.equal(out.firstDifferences.length, 5);
    assert.equal(await text(page, '#inf-verdict'), 'FAIL');
    const positions = await page.page.$$eval('.inf-comparison[data-against="model"] .inf-positions li', (lis) => lis.map((li) => li.textContent ?? ''));
    assert.equal(positions.length, 5);
    assert.match(positions[0], /^\[0, 0, \d+\] expected .+, got .+/);
    const outcome = (await page.posted()).filter((m) => m.type === 'inferenceOutcome').pop();
    assert.ok(outcome?.type === 'inferenceOutcome' && outcome.outcome.status === 'fail', JSON.stringify(outcome));
    await showInferenceTab(page);
    await page.page.evaluate(() => document.querySelector('.inf-comparison[data-against="model"]')?.scrollIntoView());
    await page.screenshot('inference-fail-dark');
  });

  test('Auto prefers WASM when the only WebGPU adapter is a software one, and says why; the Run button and the report in light and dark themes', async () => {
    const input = join(CORPUS, 'bert-tiny-mlm-trained.onnx');
    const output = join(sharedDir, 'bert-tiny-mlm-trained.shared.onnx');
    await switchModel(h, page, input, { compareWith: output, urlOf: urlOf() });
    await page.page.evaluate(() => (window as unknown as { weightSharingInference: { panel: { configure(o: unknown): void } } }).weightSharingInference.panel.configure({ backend: 'auto', inputs: 0, runs: 3, compare: true }));
    await showInferenceTab(page);
    await page.page.click('#inf-run');
    await page.page.waitForSelector('#inf-verdict', { timeout: 120_000 });
    assert.equal(await text(page, '#inf-verdict'), 'PASS');
    assert.match(await text(page, '#inf-ran-on'), /^WASM \(1 thread\) · WebGPU here is a software adapter \(google swiftshader.*\), slower than WASM: choose WebGPU to use it anyway$/);
    assert.match(await text(page, '#inf-median'), /median of 3 runs after a warm-up/);
    await page.setTheme('dark');
    await page.screenshot('inference-pass-dark');
    await page.setTheme('light');
    await page.screenshot('inference-pass-light');
    assert.deepEqual(await page.cspViolations(), []);
    assert.deepEqual(page.pageErrors, []);
  });
});

describe('inference panel without WebGPU (plain headless Chromium)', () => {
  let h: WebviewHarness;
  let page: WebviewPage;

  before(async () => {
    h = await WebviewHarness.start();
    page = await openModelPage(h, join(CORPUS, 'gpt2-tiny.onnx'), { theme: 'light' });
  });
  after(async () => { await h?.close(); });

  test('a model onnxruntime rejects (Split num_outputs at opset 17) shows the reason and the hint, and the host hears of it', async () => {
    await showInferenceTab(page);
    const r = await runCheck(page, { backend: 'auto', inputs: 'synthesized', runs: 1 });
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.error.stage, 'load');
    assert.match(r.error.reason, /Unrecognized attribute: num_outputs for operator Split/);
    assert.match(r.error.hint ?? '', /Split has no attribute 'num_outputs' at opset 17.*from opset 18 on/);
    assert.match(await text(page, '#inf-error h3'), /onnxruntime-web rejected gpt2-tiny\.onnx/);
    assert.match(await text(page, '#inf-error-reason'), /num_outputs/);
    assert.match(await text(page, '#inf-error-hint'), /^Hint: Split has no attribute 'num_outputs'/);
    const outcome = (await page.posted()).find((m) => m.type === 'inferenceOutcome');
    assert.ok(outcome && outcome.type === 'inferenceOutcome');
    assert.equal(outcome.outcome.status, 'error');
    assert.equal(outcome.outcome.error?.model, join(CORPUS, 'gpt2-tiny.onnx'));
    assert.match(outcome.outcome.error?.hint ?? '', /opset 18/);
    await page.screenshot('inference-rejected-light');
    await page.setTheme('dark');
    await page.screenshot('inference-rejected-dark');
  });

  test('the per-input editor: loop-rnn\'s trip count set to 3 reaches onnxruntime and is remembered; a value n cannot hold is refused before the run', async () => {
    await switchModel(h, page, join(CORPUS, 'loop-rnn.onnx'));
    await showInferenceTab(page);
    await page.page.evaluate(() => (window as unknown as { weightSharingInference: { panel: { configure(o: unknown): void } } }).weightSharingInference.panel.configure({ inputs: 'synthesized' }));
    const field = page.page.locator('#inf-value-n');
    await field.waitFor();
    assert.equal(await field.getAttribute('placeholder'), '1', 'empty: what the synthesiser would choose');
    assert.equal(await field.getAttribute('aria-label'), 'n: value');
    assert.match(await text(page, '#inf-input-editor'), /n int64 \[\] · 1 \(integer scalar: a count or index\)/);
    const run = async () => {
      const r = await runCheck(page, { backend: 'wasm', inputs: 'synthesized', runs: 1, compare: false });
      assert.ok(r.ok, r.ok ? '' : r.error.reason);
      return r.report;
    };
    const once = await run();
    await field.locator('input').fill('3');
    const remembered = (await page.posted()).filter((m) => m.type === 'request' && m.method === 'rememberInputs');
    assert.deepEqual((remembered.at(-1) as { choices?: unknown } | undefined)?.choices, { dims: {}, values: { n: { fill: 3 } } }, 'the host is asked to remember it');
    const thrice = await run();
    assert.match(thrice.inputs.tensors.find((t) => t.name === 'n')?.source ?? '', /all 3 \(chosen\)/);
    assert.notDeepEqual(thrice.runs[0].outputs[0].preview, once.runs[0].outputs[0].preview, 'three trips of the loop, not one');
    await page.screenshot('inference-input-editor-light');

    await field.locator('input').fill('1.5');
    assert.match(await text(page, '#inf-input-problem'), /input 'n': value 1\.5 is not a int64 value/);
    const refused = await runCheck(page, { backend: 'wasm', inputs: 'synthesized', runs: 1, compare: false });
    assert.equal(refused.ok, false);
    if (!refused.ok) assert.equal(refused.error.stage, 'inputs');

    // A setup carrying what the host remembered fills the field again.
    await switchModel(h, page, join(CORPUS, 'siamese-cnn-dynamo.onnx'));
    await switchModel(h, page, join(CORPUS, 'loop-rnn.onnx'), { inputChoices: { dims: {}, values: { n: { fill: 3 } } } });
    assert.equal(await page.page.locator('#inf-value-n input').inputValue(), '3');
  });

  test('Auto falls back to WASM and says why WebGPU is missing', async () => {
    await switchModel(h, page, join(CORPUS, 'siamese-cnn-dynamo.onnx'));
    const r = await runCheck(page, { backend: 'auto', inputs: 0, runs: 2 });
    assert.ok(r.ok, r.ok ? '' : r.error.reason);
    assert.equal(r.report.backend, 'wasm');
    assert.equal(r.report.gpu.available, false);
    assert.equal(r.report.pass, true);
    assert.match(await text(page, '#inf-ran-on'), /^WASM \(1 thread\) · WebGPU unavailable: /);
    const asked = await page.page.evaluate(() => (window as unknown as { weightSharingInference: { run(o: unknown): Promise<{ ok: boolean; error?: { reason: string } }> } }).weightSharingInference.run({ backend: 'webgpu' }));
    assert.equal(asked.ok, false);
    assert.match(asked.error?.reason ?? '', /WebGPU was asked for/);
    assert.deepEqual(await page.cspViolations(), []);
  });
});
