// `npm start`: a real VS Code (code-server) in your browser with this
// extension and the sample models. Installs code-server on first use
// (scripts/codeServer.mjs), builds, starts on 127.0.0.1 and prints the URL.
//   npm start                 sample models (a copy of test/fixtures/corpus)
//   npm start -- DIR          another folder as the workspace
//   PORT=9000 npm start       a fixed port (default 8080, else a free one)
import { cpSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { buildExtension, ensureCodeServer, freePort, root, startCodeServer } from './codeServer.mjs';

const cache = join(root, '.cache');

function samplesWorkspace() {
  // A copy, so that files written by Apply Sharing never land in the test fixtures.
  const dir = join(cache, 'sample-models');
  if (!existsSync(dir)) {
    const corpus = join(root, 'test', 'fixtures', 'corpus');
    mkdirSync(dir, { recursive: true });
    for (const name of readdirSync(corpus)) {
      if (name !== 'generate') cpSync(join(corpus, name), join(dir, name), { recursive: true });
    }
  }
  return dir;
}

function portIsFree(port) {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

const arg = process.argv[2];
const workspace = arg ? resolve(arg) : samplesWorkspace();
if (!existsSync(workspace)) {
  console.error(`npm start: no such folder ${workspace}`);
  process.exit(2);
}
ensureCodeServer();
buildExtension();
const wanted = Number(process.env.PORT || 8080);
const port = (await portIsFree(wanted)) ? wanted : await freePort();
const server = await startCodeServer({
  workspace,
  stateDir: join(cache, 'code-server-state'),
  port,
  logFile: join(cache, 'code-server.log'),
});
console.log(`\nWeight Sharing Inspector in VS Code (code-server):\n\n  ${server.workspaceUrl}\n\nWorkspace: ${workspace}\nLog: ${join(cache, 'code-server.log')}\nRebuild with \`npm run build\` and reload the page to pick up changes. Ctrl+C stops.\n`);
const stop = async () => { await server.stop(); process.exit(0); };
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.child.on('exit', (code) => {
  console.error(`code-server exited (${code}); see ${join(cache, 'code-server.log')}`);
  process.exit(1);
});
