// `weight-sharing scan PATH... [--json | --format text|json|sarif] [--min-bytes N] [--fail-over BYTES]`
// Prints the sharing report (SARIF 2.1.0 for code-scanning dashboards); exit 1
// when --fail-over is crossed (for CI).
import { CliError, parseBytes } from './common';
import { scanFiles } from '../sharing/scan';
import { toJson, toText } from '../sharing/report';
import { toSarif } from '../sharing/sarif';
import { formatBytes } from '../sharing/bytes';
import { DEFAULT_MIN_BYTES } from '../sharing/types';
import type { PathTrust } from '../io/safePath';

const OUTPUT_FORMATS = ['text', 'json', 'sarif'] as const;
type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ScanArgs {
  paths: string[];
  format: OutputFormat;
  minBytes: number;
  failOver?: number;
}

export function parseScanArgs(args: string[]): ScanArgs {
  const out: ScanArgs = { paths: [], format: 'text', minBytes: DEFAULT_MIN_BYTES };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--json': out.format = 'json'; break;
      case '--format': {
        const f = value();
        if (!(OUTPUT_FORMATS as readonly string[]).includes(f ?? '')) throw new CliError(`scan: --format takes ${OUTPUT_FORMATS.join(', ')}${f === undefined ? '' : `, not '${f}'`}`);
        out.format = f as OutputFormat;
        break;
      }
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

export async function runScan(args: string[], trust: PathTrust = {}, version = 'dev'): Promise<number> {
  const opts = parseScanArgs(args);
  const report = await scanFiles(opts.paths, { minBytes: opts.minBytes, ...trust });
  const out = opts.format === 'json' ? toJson(report) : opts.format === 'sarif' ? toSarif(report, { version }) : undefined;
  process.stdout.write(out ? `${JSON.stringify(out, null, 2)}\n` : toText(report));
  if (opts.failOver !== undefined && report.bytesSaved > opts.failOver) {
    process.stderr.write(`weight-sharing: lossless saving ${formatBytes(report.bytesSaved)} (${report.bytesSaved} bytes) exceeds --fail-over ${opts.failOver}\n`);
    return 1;
  }
  return 0;
}
