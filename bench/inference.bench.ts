// The inference check's figures in headless Chromium (the webview test
// harness: production HTML and CSP, onnxruntime-web from media/ort by URL):
// loading the runtime, the first session (WebAssembly compile), and latency
// per backend for two corpus models: WASM (one thread) and WebGPU on
// Chromium's software adapter (SwiftShader; `--enable-unsafe-webgpu`).
// Latency is the median of BENCH_INFERENCE_RUNS timed runs (default 20)
// after one warm-up run, each inside the panel's own check (the same code the
// Run button runs). Figures only, no assertions.
import * as path from 'node:path';
import type { BenchContext } from './context';
import { WebviewHarness } from '../test/webview/harness';
import { CORPUS, openModelPage, runCheck, switchModel, WEBGPU_ARGS } from '../test/webview/inferenceSupport';

const MODELS = ['bert-tiny-mlm-trained.onnx', 'vit-tiny.onnx'];
const BACKENDS = ['wasm', 'webgpu'] as const;

const ms = (x: number) => (x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(2)} ms`);

export default async function inferenceBench(ctx: BenchContext): Promise<void> {
  const runs = Number(process.env.BENCH_INFERENCE_RUNS ?? 20);
  const h = await WebviewHarness.start({ args: WEBGPU_ARGS });
  try {
    const page = await openModelPage(h, path.join(CORPUS, MODELS[0]));
    const gpu = await page.page.evaluate(() => (window as unknown as { weightSharingInference: { gpu(): Promise<unknown> } }).weightSharingInference.gpu()) as { available: boolean; adapter?: { vendor: string; architecture: string; isFallbackAdapter: boolean } };
    ctx.log(`WebGPU adapter: ${gpu.available ? `${gpu.adapter?.vendor} ${gpu.adapter?.architecture}${gpu.adapter?.isFallbackAdapter ? ' (fallback adapter)' : ''}` : 'none'}; ${runs} timed runs after one warm-up per figure`);
    const figures: Record<string, unknown> = {};
    let first = true;
    for (const backend of BACKENDS) {
      for (const name of MODELS) {
        if (!first || name !== MODELS[0]) await switchModel(h, page, path.join(CORPUS, name));
        const r = await runCheck(page, { backend, inputs: 0, runs, compare: false });
        if (!r.ok) {
          ctx.log(`${name} on ${backend}: ${r.error.reason}`);
          figures[`${name}:${backend}`] = { error: r.error.reason };
          continue;
        }
        const t = r.report.runs[0].timings;
        if (first) {
          ctx.log(`runtime: ${(r.report.runtime.wasmBytes / 1048576).toFixed(1)} MB wasm fetched and ort.webgpu.min.mjs imported in ${ms(r.report.runtime.loadMs)}; first WASM session (compiles the WebAssembly) ${ms(t.createMs)}`);
          figures.runtime = { loadMs: Math.round(r.report.runtime.loadMs), wasmBytes: r.report.runtime.wasmBytes, firstSessionMs: Math.round(t.createMs) };
          first = false;
        }
        const sorted = [...t.runsMs].sort((a, b) => a - b);
        const pass = r.report.pass ? 'PASS' : 'FAIL';
        const maxRel = Math.max(...r.report.comparisons.flatMap((c) => c.result.outputs.map((o) => o.maxRelDiff)));
        ctx.log(`${name} on ${backend === 'webgpu' ? 'WebGPU (SwiftShader)' : 'WASM (1 thread)'}: median ${ms(t.medianMs)} (${ms(sorted[0])}-${ms(sorted[sorted.length - 1])}); session ${ms(t.createMs)}, warm-up run ${ms(t.warmupMs)}; ${pass} vs test_data_set_0 (max rel ${maxRel.toExponential(1)})`);
        figures[`${name}:${backend}`] = {
          medianMs: Number(t.medianMs.toFixed(2)), minMs: Number(sorted[0].toFixed(2)), maxMs: Number(sorted[sorted.length - 1].toFixed(2)),
          sessionMs: Math.round(t.createMs), warmupMs: Math.round(t.warmupMs), runs, pass: r.report.pass, maxRelDiff: maxRel,
        };
      }
    }
    ctx.record('figures', figures);
  } finally {
    await h.close();
  }
}

/** Runs this bench alone, printing to stdout (`npx tsx bench/inference.bench.ts`). */
export async function run(): Promise<void> {
  await inferenceBench({
    root: path.join(__dirname, '..'), outDir: path.join(__dirname, 'out'), cli: path.join(__dirname, '..', 'dist', 'cli.js'),
    bertModel: () => Promise.reject(new Error('not used by this bench')),
    measure: () => { throw new Error('not used by this bench'); },
    runOnce: () => { throw new Error('not used by this bench'); },
    log: (line) => console.log(`  ${line}`),
    record: () => undefined,
  });
}

if (require.main === module) {
  run().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
