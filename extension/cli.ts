// `weight-sharing` entry point: dispatches to one module per subcommand.
// Exit codes: 0 ok, 1 a CI threshold was crossed / a check failed, 2 error.
import { runScan } from './cli/scan';
import { runApply } from './cli/apply';
import { runCheck } from './cli/check';
import { runRestore } from './cli/restore';
import { runLayers } from './cli/layers';
import { runTie } from './cli/tie';
import { CliError, USAGE } from './cli/common';
import type { PathTrust } from './io/safePath';
import { printable } from './util/printable';
import { cleanUpOnSignals } from './cli/signals';

const commands: Record<string, (args: string[], trust: PathTrust) => Promise<number>> = {
  scan: (args, trust) => runScan(args, trust, VERSION),
  apply: runApply,
  check: runCheck,
  restore: runRestore,
  layers: runLayers,
  tie: runTie,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const run = commands[command];
  if (!run) throw new CliError(`unknown command '${command}' (expected scan, apply, restore, layers, tie or check)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const { args, trust } = takeTrust(rest);
  return run(args, trust);
}

/**
 * `--trust-links-into DIR` (any command, repeatable): links inside a model's
 * folder may point into DIR (a Hugging Face cache's blobs folder). Without
 * it, a file a model names that resolves outside the model's folder is refused.
 */
function takeTrust(args: string[]): { args: string[]; trust: PathTrust } {
  const rest: string[] = [];
  const roots: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--trust-links-into') {
      const dir = args[++i];
      if (dir === undefined) throw new CliError('--trust-links-into needs a folder');
      roots.push(dir);
    } else if (a.startsWith('--trust-links-into=')) roots.push(a.slice('--trust-links-into='.length));
    else rest.push(a);
  }
  return { args: rest, trust: roots.length ? { trustedRoots: roots } : {} };
}

declare const VERSION: string;

cleanUpOnSignals();

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // Bad input is reported in one line, never as a stack trace.
    // One line, whatever names the message quotes.
    const message = printable(err instanceof Error ? err.message : String(err));
    process.stderr.write(`weight-sharing: ${message}\n`);
    if (process.env.WEIGHT_SHARING_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 2;
  },
);
