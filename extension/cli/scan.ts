// `weight-sharing scan PATH... [--json] [--min-bytes N] [--fail-over BYTES]`
// Prints the sharing report; exit 1 when --fail-over is crossed (for CI).
import { CliError, parseBytes } from './common';
import { scanFiles } from '../sharing/scan';
import { toJson, toText } from '../sharing/report';
import { formatBytes } from '../sharing/bytes';
import { DEFAULT_MIN_BYTES } from '../sharing/types';
import type { PathTrust } from '../io/safePath';

export interface ScanArgs {
  paths: string[];
  json: boolean;
  minBytes: number;
  failOver?: number;
}

export function parseScanArgs(args: string[]): ScanArgs {
  const out: ScanArgs = { paths: [], json: false, minBytes: DEFAULT_MIN_BYTES };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--json': out.json = true; break;
      case '--min-bytes': out.minBytes = parseBytes('--min-bytes', value()); break;
      case '--fail-over': out.failOver = parseBytes('--fail-over', value()); break;
      default:
        if (a.startsWith('-') && a !== '-') throw new CliError(`scan: unknown option '${a}'`);
        out.paths.push(a);
    }
  }
  if (out.paths.length === 0) throw new CliError('scan: give at least one model file or folder');
  return out;
}

export async function runScan(args: string[], trust: PathTrust = {}): Promise<number> {
  const opts = parseScanArgs(args);
  const report = await scanFiles(opts.paths, { minBytes: opts.minBytes, ...trust });
  process.stdout.write(opts.json ? `${JSON.stringify(toJson(report), null, 2)}\n` : toText(report));
  if (opts.failOver !== undefined && report.bytesSaved > opts.failOver) {
    process.stderr.write(`weight-sharing: lossless saving ${formatBytes(report.bytesSaved)} (${report.bytesSaved} bytes) exceeds --fail-over ${opts.failOver}\n`);
    return 1;
  }
  return 0;
}
