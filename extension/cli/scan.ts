import { CliError } from './common';

// Placeholder until the scan command lands.
export async function runScan(_args: string[]): Promise<number> {
  throw new CliError('scan is not implemented yet');
}
