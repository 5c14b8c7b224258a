import { CliError } from './common';

// Placeholder until the check command lands.
export async function runCheck(_args: string[]): Promise<number> {
  throw new CliError('check is not implemented yet');
}
