// `npm run package` makes a .vsix that holds only what the extension runs,
// and that VS Code (code-server 4.100, VS Code 1.100) installs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { root, skipReason } from './harness';

function listFiles(dir: string, base = dir): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p, base) : [path.relative(base, p)];
  });
}

describe('packaging', { skip: skipReason(), timeout: 10 * 60_000 }, () => {
  test('npm run package produces a .vsix that code-server installs, with only dist/, media/, package.json and README', async () => {
    const { ensureCodeServer, extensionFolderName } = await import('../../scripts/codeServer.mjs');
    const entry = ensureCodeServer();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ws-vsix-'));
    try {
      const vsix = path.join(tmp, 'weight-sharing-inspector.vsix');
      const pack = spawnSync('npm', ['run', 'package', '--', '--out', vsix], { cwd: root, encoding: 'utf8' });
      assert.equal(pack.status, 0, `npm run package failed:\n${pack.stdout}\n${pack.stderr}`);
      assert.ok(fs.statSync(vsix).size > 0);

      const ext = path.join(tmp, 'extensions');
      const user = path.join(tmp, 'user');
      const install = spawnSync(process.execPath, [entry, '--extensions-dir', ext, '--user-data-dir', user, '--install-extension', vsix], { encoding: 'utf8' });
      assert.equal(install.status, 0, `install failed:\n${install.stdout}\n${install.stderr}`);
      const list = spawnSync(process.execPath, [entry, '--extensions-dir', ext, '--user-data-dir', user, '--list-extensions', '--show-versions'], { encoding: 'utf8' });
      const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string; engines: { vscode: string } };
      assert.match(list.stdout, new RegExp(`^${pkg.publisher}\\.${pkg.name}@${pkg.version.replace(/\./g, '\\.')}$`, 'm'));
      assert.equal(pkg.engines.vscode, '^1.90.0');

      const installed = listFiles(path.join(ext, extensionFolderName())).filter((f) => !f.startsWith('.vsixmanifest') && f !== '.vsixmanifest');
      const allowed = /^(package\.json|readme\.md|README\.md|LICENSE(\.md|\.txt)?|changelog\.md|dist\/(extension|analysisWorker|layersWorker|webview)\.js|dist\/layerKernel\.wasm|dist\/webview\.css|media\/.+)$/i;
      for (const f of installed) assert.match(f, allowed, `unexpected file in the package: ${f}`);
      // The host starts its worker threads from files beside it: without them no model opens.
      for (const need of ['package.json', 'dist/extension.js', 'dist/analysisWorker.js', 'dist/layersWorker.js', 'dist/layerKernel.wasm', 'dist/webview.js', 'media/webview.css']) {
        assert.ok(installed.includes(need), `${need} is in the package (${installed.join(', ')})`);
      }
      assert.ok(!installed.some((f) => f.endsWith('.map') || f.startsWith('node_modules') || f.startsWith('test')), 'no maps, node_modules or tests');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
