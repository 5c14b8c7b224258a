// `weight-sharing` entry point: dispatches to one module per subcommand.
// Exit codes: 0 ok, 1 a CI threshold was crossed / a check failed, 2 error.
import { runScan } from './cli/scan';
import { runApply } from './cli/apply';
import { runCheck } from './cli/check';
import { runRestore } from './cli/restore';
import { CliError, USAGE } from './cli/common';

const commands: Record<string, (args: string[]) => Promise<number>> = {
  scan: runScan,
  apply: runApply,
  check: runCheck,
  restore: runRestore,
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
  if (!run) throw new CliError(`unknown command '${command}' (expected scan, apply, restore or check)`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  return run(rest);
}

declare const VERSION: string;

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    // Bad input is reported in one line, never as a stack trace.
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`weight-sharing: ${message}\n`);
    if (process.env.WEIGHT_SHARING_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 2;
  },
);
