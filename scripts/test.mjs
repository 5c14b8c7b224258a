// Runs node's test runner over test/**/*.test.ts (node 20 does not expand
// globs itself). Pass folders to narrow: `node scripts/test.mjs test/unit`.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname, '..');
const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test'];

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) { if (path.endsWith('.test.ts')) out.push(path); return out; }
  for (const name of readdirSync(path).sort()) {
    if (name === 'fixtures' || name === 'node_modules') continue;
    collect(join(path, name), out);
  }
  return out;
}

const files = roots.flatMap((r) => collect(join(root, r), [])).map((f) => relative(root, f));
if (files.length === 0) { console.error('no test files found under', roots.join(', ')); process.exit(1); }
// Browser tests need Debian's Chromium (and code-server's build needs
// libkrb5-dev): install them before any test file runs, on a fresh machine.
if (files.some((f) => /^test[\\/](webview|e2e)[\\/]/.test(f))) {
  const { ensureSystemPackages } = await import('./codeServer.mjs');
  ensureSystemPackages();
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], { cwd: root, stdio: 'inherit' });
process.exit(res.status ?? 1);
