// `weight-sharing tie MODEL --layers 1,2,3 --to 0|mean [--roles REGEX] [--checkpoint CKPT] [-o OUT] [--force] [--json]`
// Writes the ALBERT-style variant: the listed blocks' parameters replaced by
// block T's (or by the mean of those blocks and block 0, stored once) and
// stored once. Lossy: measure it with `weight-sharing check MODEL OUT`.
import { CliError } from './common';
import type { PathTrust } from '../io/safePath';
import { formatBytes } from '../sharing/bytes';
import { tieLayers, type TieResult } from '../sharing/tie';
import { printable } from '../util/printable';

function parseLayers(v: string | undefined): number[] {
  if (!v) throw new CliError('tie: --layers needs a list, e.g. --layers 1,2,3');
  const out = v.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => {
    if (!/^\d+$/.test(s)) throw new CliError(`tie: --layers: '${s}' is not a block number`);
    return Number(s);
  });
  if (out.length === 0) throw new CliError('tie: --layers needs at least one block');
  return out;
}

export function toTieText(r: TieResult): string {
  const lines = [`${r.input} -> ${r.output}`];
  for (const f of r.families) lines.push(`  ${f.role}: ${f.dropped.join(', ')} -> ${f.kept}${f.mean ? ' (now the mean of them all)' : ''}`);
  for (const s of r.skipped) lines.push(`  not tied: ${s.role}: ${s.reason}`);
  const saved = r.bytesBefore - r.bytesAfter;
  lines.push(`bytes: ${r.bytesBefore} -> ${r.bytesAfter} (${formatBytes(r.bytesBefore)} -> ${formatBytes(r.bytesAfter)}, ${formatBytes(saved)} saved)`);
  lines.push(`lossy: outputs change; measure the cost with: weight-sharing check ${r.input} ${r.output}`);
  return `${lines.map(printable).join('\n')}\n`;
}

export async function runTie(args: string[], trust: PathTrust = {}): Promise<number> {
  let layers: number[] | undefined;
  let to: number | 'mean' = 0;
  let roles: RegExp | undefined;
  let output: string | undefined;
  let force = false;
  let checkpoint: string | undefined;
  let json = false;
  const models: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--layers': layers = parseLayers(value()); break;
      case '--to': {
        const v = value();
        if (v === 'mean') to = 'mean';
        else if (v !== undefined && /^\d+$/.test(v)) to = Number(v);
        else throw new CliError(`tie: --to takes a block number or 'mean', not '${v ?? ''}'`);
        break;
      }
      case '--roles': {
        const v = value();
        try { roles = new RegExp(v ?? ''); } catch (e) { throw new CliError(`tie: --roles: ${(e as Error).message}`); }
        break;
      }
      case '-o': case '--output': output = value(); if (!output) throw new CliError(`tie: ${flag} needs a value`); break;
      case '--force': force = true; break;
      case '--checkpoint': checkpoint = value(); if (!checkpoint) throw new CliError('tie: --checkpoint needs the checkpoint the export came from'); break;
      case '--json': json = true; break;
      default:
        if (a.startsWith('-') && a !== '-') throw new CliError(`tie: unknown option '${a}'`);
        models.push(a);
    }
  }
  if (models.length !== 1) throw new CliError('tie: give one model');
  if (!layers) throw new CliError('tie: name the blocks to tie with --layers, e.g. --layers 1,2,3');
  const r = await tieLayers(models[0]!, { layers, to, roles, output, force, checkpoint, ...trust });
  process.stdout.write(json
    ? `${JSON.stringify({ schema: 1, lossless: false, input: r.input, output: r.output, families: r.families, skipped: r.skipped, bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter, bytesSaved: r.bytesBefore - r.bytesAfter }, null, 2)}\n`
    : toTieText(r));
  return 0;
}
