// `weight-sharing restore SHARED -o FULL [--json]`
// Writes the full checkpoint back from a shared copy that `apply` made: every
// tensor it dropped is rebuilt from the one it kept (bit for bit) and this
// tool's records are removed. The output is re-read and proven equal, tensor
// by tensor, to what the records promise. Exit 0 when proven, 1 when not, 2 on errors.
import * as path from 'node:path';
import { CliError } from './common';
import { formatOf, openModel } from '../model/registry';
import { formatBytes } from '../sharing/bytes';
import type { PathTrust } from '../io/safePath';
import { printable } from '../util/printable';
import { verifyRecovery } from '../sharing/recovery';

export async function runRestore(args: string[], trust: PathTrust = {}): Promise<number> {
  let output: string | undefined;
  let json = false;
  const inputs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-o' || a === '--output') {
      output = args[++i];
      if (output === undefined) throw new CliError(`restore: ${a} needs a value`);
    } else if (a.startsWith('--output=')) output = a.slice('--output='.length);
    else if (a === '--json') json = true;
    else if (a.startsWith('-') && a !== '-') throw new CliError(`restore: unknown option '${a}'`);
    else inputs.push(a);
  }
  if (inputs.length !== 1) throw new CliError('restore: give one shared model (a file or folder that apply wrote)');
  if (output === undefined) throw new CliError('restore: name the output with -o FULL (restore never writes over its input)');
  const model = await openModel(inputs[0]!, trust);
  const module = formatOf(model);
  if (!module.restore) throw new CliError(`restore: ${module.label} files hold no drop records to restore from`);
  // What restore stores again: this tool's records, and a GGUF output.weight left out (the omission is its record).
  const rebuilds = (t: { tiedBy: string }) => t.tiedBy === 'record' || t.tiedBy === 'omission';
  const recorded = model.ties.filter(rebuilds).flatMap((t) => t.tied.map((x) => x.tensor.name));
  const target = path.resolve(output);
  const written = await module.restore(model, target, trust);
  const full = await openModel(target, trust);
  // Every recorded name is stored again, no records are left, and every
  // tensor of the output is the one the shared copy stores or records, byte
  // for byte (both files read).
  const names = new Set(full.tensors.map((t) => t.name));
  const missing = recorded.filter((n) => !names.has(n));
  const problems = await verifyRecovery(full, model);
  const ok = missing.length === 0 && problems.length === 0 && full.ties.every((t) => !rebuilds(t));
  if (json) {
    process.stdout.write(`${JSON.stringify({ schema: 1, input: model.path, output: target, files: written.files, restored: recorded, bytesBefore: model.fileSize, bytesAfter: full.fileSize, ok, missing, problems }, null, 2)}\n`);
  } else {
    process.stdout.write(`${model.path} -> ${target}\n`);
    process.stdout.write(`${printable(`restored ${recorded.length} tensor${recorded.length === 1 ? '' : 's'}${recorded.length ? `: ${recorded.join(', ')}` : ''}`)}\n`);
    process.stdout.write(`bytes: ${model.fileSize} -> ${full.fileSize} (${formatBytes(model.fileSize)} -> ${formatBytes(full.fileSize)})\n`);
    process.stdout.write(ok
      ? 'verified: re-read the output: every recorded tensor is stored again, bit for bit, no records remain.\n'
      : `${printable(`ERROR: not restored: ${[...missing, ...problems].join('; ')}`)}\n`);
  }
  return ok ? 0 : 1;
}
