// Bundles the extension host, the CLI and the webview with esbuild, and copies
// the onnxruntime-web runtime files the webview loads into media/ort/.
import * as esbuild from 'esbuild';
import { cpSync, mkdirSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const watch = process.argv.includes('--watch');

const targets = [
  { entryPoints: [join(root, 'extension/cli.ts')], outfile: join(root, 'dist/cli.js'), platform: 'node', format: 'cjs', define: { VERSION: JSON.stringify(pkg.version) }, banner: { js: '#!/usr/bin/env node' },
    // onnxruntime-web finds its .wasm beside its own file: bundled, it loses that location (check/runner.ts).
    // tsx: only named by util/startWorker.ts for runs from sources (tests), never loaded by a bundle.
    external: ['onnxruntime-web', 'tsx'] },
  { entryPoints: [join(root, 'extension/extension.ts')], outfile: join(root, 'dist/extension.js'), platform: 'node', format: 'cjs', external: ['vscode', 'tsx'] },
  // check's runs, in a worker the budget can stop (extension/check/budget.ts); onnxruntime-web external as for the CLI.
  { entryPoints: [join(root, 'extension/check/runWorker.ts')], outfile: join(root, 'dist/checkWorker.js'), platform: 'node', format: 'cjs', external: ['onnxruntime-web', 'tsx'] },
  // Opens and scans models off the extension host's thread (extension/analysis/run.ts).
  { entryPoints: [join(root, 'extension/analysis/worker.ts')], outfile: join(root, 'dist/analysisWorker.js'), platform: 'node', format: 'cjs', external: ['tsx'] },
  // One range of a layer family's sums (extension/sharing/layerPool.ts); tsx as for the CLI (util/startWorker.ts).
  { entryPoints: [join(root, 'extension/sharing/layersWorker.ts')], outfile: join(root, 'dist/layersWorker.js'), platform: 'node', format: 'cjs', external: ['tsx'] },
  { entryPoints: [join(root, 'webview/main.ts')], outfile: join(root, 'dist/webview.js'), platform: 'browser', format: 'esm', plugins: [workerSource()] },
].filter((t) => existsSync(t.entryPoints[0]));

/**
 * `import source from './x.js?worker'` in the webview: x.ts bundled on its
 * own, as a string the page starts as a blob worker. A webview cannot start
 * a worker from its resource URIs (another origin); blob: it can (the CSP's
 * worker-src). Rebuilt in watch mode when any file of the worker changes.
 */
function workerSource() {
  return {
    name: 'worker-source',
    setup(build) {
      build.onResolve({ filter: /\?worker$/ }, (args) => ({
        path: join(args.resolveDir, args.path.replace(/\?worker$/, '').replace(/\.js$/, '.ts')),
        namespace: 'worker-source',
      }));
      build.onLoad({ filter: /.*/, namespace: 'worker-source' }, async (args) => {
        const out = await esbuild.build({ entryPoints: [args.path], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', minify: true, metafile: true, absWorkingDir: root, logLevel: 'warning' });
        return {
          contents: `export default ${JSON.stringify(out.outputFiles[0].text)};`,
          loader: 'js',
          watchFiles: Object.keys(out.metafile.inputs).map((f) => join(root, f)),
        };
      });
    },
  };
}

const common = { bundle: true, sourcemap: true, target: 'es2022', logLevel: 'warning' };

function copyOrtRuntime() {
  const src = join(root, 'node_modules/onnxruntime-web/dist');
  const dst = join(root, 'media/ort');
  mkdirSync(dst, { recursive: true });
  // The webview imports the WebGPU build (ort.webgpu.min.mjs). In 1.30 that
  // build loads the asyncify wasm pair (the native WebGPU EP), not the jsep
  // one: with only the jsep pair, every session fails ("no available backend").
  // The webview names these files in ORT_FILES (extension/protocol.ts).
  const wanted = /^ort\.webgpu\.min\.mjs$|^ort-wasm-simd-threaded\.asyncify\.(mjs|wasm)$/;
  for (const f of readdirSync(src)) {
    if (wanted.test(f)) cpSync(join(src, f), join(dst, f));
  }
  // Files an earlier build copied and nothing loads (they would ship in the .vsix).
  for (const f of readdirSync(dst)) if (!wanted.test(f)) rmSync(join(dst, f));
}

/**
 * The layer sketch's SIMD kernel (extension/sharing/layerKernel.wat) as
 * dist/layerKernel.wasm, beside the bundles that load it. wabt (WebAssembly's
 * own toolkit, in JS) assembles it: nothing to install beyond npm.
 */
async function compileKernels() {
  const { default: init } = await import('wabt');
  const wabt = await init();
  const source = join(root, 'extension/sharing/layerKernel.wat');
  const module = wabt.parseWat(source, readFileSync(source, 'utf8'), { simd: true });
  try {
    mkdirSync(join(root, 'dist'), { recursive: true });
    writeFileSync(join(root, 'dist/layerKernel.wasm'), module.toBinary({}).buffer);
  } finally {
    module.destroy();
  }
}

if (watch) {
  await compileKernels();
  for (const t of targets) (await esbuild.context({ ...common, ...t })).watch();
} else {
  await Promise.all(targets.map((t) => esbuild.build({ ...common, ...t })));
  await compileKernels();
  copyOrtRuntime();
}
