// Ctrl-C or a kill in the middle of a write: this run's hidden temp files are
// removed before the process ends (SIGKILL cannot be caught: README says how
// to find what it leaves).
import { removeTempFilesSync } from '../io/atomicWrite';

export function cleanUpOnSignals(): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      removeTempFilesSync();
      process.stderr.write(`weight-sharing: stopped by ${signal}; unfinished files were removed\n`);
      process.exit(code);
    });
  }
}
