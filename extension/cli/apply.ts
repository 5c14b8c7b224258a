import { CliError } from './common';

// Placeholder until the apply command lands.
export async function runApply(_args: string[]): Promise<number> {
  throw new CliError('apply is not implemented yet');
}
