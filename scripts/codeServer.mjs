// Installs and starts code-server (a full VS Code served to a browser) for
// `npm start` and the end-to-end tests, so both run the extension the same
// way on a fresh machine. Recipe and pitfalls: GUIDE.md section 3.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// 4.100.3 (VS Code 1.100) is the newest code-server that runs on Node 20.
export const CODE_SERVER_VERSION = '4.100.3';
export const cacheDir = join(root, '.cache', 'code-server');
export const entryJs = join(cacheDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
export const chromiumPath = '/usr/bin/chromium';

const log = (msg) => process.stderr.write(`[code-server] ${msg}\n`);

function run(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`);
  const res = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${res.status ?? res.signal})`);
}

function dpkgInstalled(pkg) {
  const res = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return res.status === 0 && res.stdout.includes('install ok installed');
}

/**
 * Debian packages code-server and the tests need: libkrb5-dev (its kerberos
 * native module builds against it), chromium (the browser the tests drive)
 * and ripgrep (stands in for the blocked @vscode/ripgrep download).
 */
export function ensureSystemPackages() {
  const missing = ['libkrb5-dev', 'chromium', 'ripgrep'].filter((p) => !dpkgInstalled(p));
  if (missing.length === 0) return;
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...a) => (sudo.length ? run('sudo', ['apt-get', ...a], { env }) : run('apt-get', a, { env }));
  apt('update');
  apt('install', '-y', '--no-install-recommends', ...missing);
}

/** Installs code-server into .cache/code-server unless it is already there. */
export function ensureCodeServer() {
  ensureSystemPackages();
  if (existsSync(entryJs)) return entryJs;
  const started = Date.now();
  mkdirSync(cacheDir, { recursive: true });
  // A package.json of its own keeps npm from walking up into the project's.
  const pkgPath = join(cacheDir, 'package.json');
  if (!existsSync(pkgPath)) writeFileSync(pkgPath, JSON.stringify({ name: 'code-server-cache', private: true }, null, 2));

  // @vscode/ripgrep's postinstall downloads rg from GitHub, which is
  // blocked here; it first looks in this cache, so seed it with Debian's rg.
  const rgCache = join(process.env.TMPDIR || tmpdir(), 'vscode-ripgrep-cache-1.15.11');
  const rgTar = join(rgCache, 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
  if (!existsSync(rgTar)) {
    mkdirSync(rgCache, { recursive: true });
    run('tar', ['czf', rgTar, '-C', '/usr/bin', 'rg']);
  }

  const env = {
    ...process.env,
    npm_config_unsafe_perm: 'true', // installing as root
    npm_config_yes: 'true', // node-pty's install runs `npx node-gyp`
    // code-server's postinstall runs a nested `npm install` for its bundled
    // VS Code (node-pty, kerberos, spdlog, watcher, ripgrep); npm 11 blocks
    // dependency install scripts unless approved, and the nested install has
    // no allowScripts of its own. This env var reaches it; it is scoped to
    // this throwaway tool folder and never to the project's own install.
    npm_config_dangerously_allow_all_scripts: 'true',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_update_notifier: 'false',
  };
  run('npm', ['install', '--prefix', cacheDir, '--no-save', `code-server@${CODE_SERVER_VERSION}`], { env, cwd: cacheDir });
  if (!existsSync(entryJs)) throw new Error(`code-server install finished but ${entryJs} is missing`);
  log(`installed code-server ${CODE_SERVER_VERSION} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return entryJs;
}

/** Builds dist/ (extension host, webview, CLI) with the project's build script. */
export function buildExtension() {
  run(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root });
}

export function extensionFolderName() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return `${pkg.publisher}.${pkg.name}-${pkg.version}`;
}

/**
 * Makes `extensionsDir/publisher.name-version` hold what the .vsix would:
 * package.json, README, dist/ and media/. Files are hard links where the
 * file system allows (an in-place rebuild shows up on reload), else copies.
 * Not symlinks: VS Code maps a running module to its extension by path, and
 * a symlinked dist/ makes it attribute the extension's messages to nobody.
 */
export function linkExtension(extensionsDir) {
  const dir = join(extensionsDir, extensionFolderName());
  rmSync(dir, { recursive: true, force: true });
  const place = (src, dst) => {
    if (statSync(src).isDirectory()) {
      mkdirSync(dst, { recursive: true });
      for (const name of readdirSync(src)) place(join(src, name), join(dst, name));
      return;
    }
    try { linkSync(src, dst); } catch { copyFileSync(src, dst); }
  };
  mkdirSync(dir, { recursive: true });
  for (const name of ['package.json', 'README.md', 'LICENSE', 'dist', 'media']) {
    const src = join(root, name);
    if (existsSync(src)) place(src, join(dir, name));
  }
  return dir;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(addr.port));
    });
  });
}

/**
 * Starts code-server on 127.0.0.1 with `workspace` open and resolves once it
 * answers HTTP. `settings` become the user settings. Returns {url, port,
 * child, stop()}.
 */
export async function startCodeServer({ workspace, stateDir, port, settings = {}, logFile, stdio = 'pipe' }) {
  const userDataDir = join(stateDir, 'user-data');
  const extensionsDir = join(stateDir, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(join(userDataDir, 'User', 'settings.json'), JSON.stringify({
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'security.workspace.trust.enabled': false,
    'update.mode': 'none',
    ...settings,
  }, null, 2));
  linkExtension(extensionsDir);
  port ??= await freePort();
  const args = [
    entryJs, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
    '--disable-getting-started-override', workspace,
  ];
  const child = spawn(process.execPath, args, { stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'], detached: false });
  let output = '';
  if (child.stdout) {
    const keep = (d) => { output = (output + d.toString()).slice(-20000); if (logFile) writeFileSync(logFile, output); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
  }
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode} before answering:\n${output}`);
    try {
      const res = await fetch(`${url}healthz`);
      if (res.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { child.kill(); throw new Error(`code-server did not answer on ${url} within 60 s:\n${output}`); }
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => { if (child.exitCode === null) child.kill('SIGKILL'); }, 5000).unref();
  });
  return { url, port, child, stop, output: () => output, workspaceUrl: `${url}?folder=${encodeURIComponent(workspace)}` };
}
