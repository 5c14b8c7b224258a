// `npm run bench`: builds (package.json does that first), prints the machine,
// then runs every bench/*.bench.ts in name order, or only those named:
// `npm run bench -- scan apply`. Each bench prints its figures; all of them
// are also written to bench/out/results.json. To add a bench (first paint of
// the extension, inference latency, ...), add bench/NAME.bench.ts whose
// default export takes the BenchContext of bench/context.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Bench, BenchContext } from './context';
import { ensureBertModel, type BenchModel } from './bertModel';
import { haveGnuTime, measure, runOnce, GNU_TIME } from './measure';

const root = path.join(__dirname, '..');
const outDir = path.join(__dirname, 'out');

export function machine(): Record<string, string | number> {
  const cpu = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    cpu,
    nproc: os.availableParallelism(),
    memoryGB: Number((os.totalmem() / 1e9).toFixed(1)),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts')).sort()
    .filter((f) => only.length === 0 || only.includes(f.replace(/\.bench\.ts$/, '')));
  if (files.length === 0) throw new Error(`no bench matches ${only.join(', ')}`);

  const m = machine();
  const results: Record<string, unknown> = { date: new Date().toISOString(), machine: m };
  console.log(`machine: ${m.cpu}, ${m.nproc} cores, ${m.memoryGB} GB, node ${m.node}, ${m.os}`);
  // Other work on the machine skews every figure: say how busy it was.
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`load average at start: ${load}${os.loadavg()[0]! > os.availableParallelism() ? ' (busy machine: figures will be inflated)' : ''}`);
  results.loadAverageAtStart = load;
  if (!haveGnuTime()) {
    console.log(`NOTE: ${GNU_TIME} (GNU time) is missing, so peak RSS cannot be measured.`
      + ' Install it with: apt-get install -y time');
  }
  fs.mkdirSync(outDir, { recursive: true });
  let model: Promise<BenchModel> | undefined;
  let failures = 0;

  for (const file of files) {
    const name = file.replace(/\.bench\.ts$/, '');
    console.log(`\n== ${name}`);
    const ctx: BenchContext = {
      root, outDir, cli: path.join(root, 'dist', 'cli.js'),
      bertModel: () => (model ??= ensureBertModel(outDir).then((b) => {
        console.log(`  model: ${path.relative(root, b.path)}, ${(b.bytes / 1e6).toFixed(1)} MB`
          + (b.writeSeconds === undefined ? ' (reused)' : `, written by the project's writer in ${b.writeSeconds.toFixed(2)} s`));
        return b;
      })),
      measure: (cmd, args, options) => measure(cmd, args, { cwd: root, ...options }),
      runOnce: (cmd, args) => runOnce(cmd, args, root),
      log: (line) => console.log(`  ${line}`),
      record: (key, value) => { results[`${name}.${key}`] = value; },
    };
    try {
      const mod = (await import(path.join(__dirname, file))) as { default: Bench | { default: Bench } };
      const bench = typeof mod.default === 'function' ? mod.default : mod.default.default;
      await bench(ctx);
    } catch (err) {
      failures++;
      console.log(`  FAILED: ${err instanceof Error ? err.message : String(err)}`);
      results[`${name}.error`] = err instanceof Error ? err.message : String(err);
    }
  }
  results.loadAverageAtEnd = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nfigures written to ${path.relative(root, path.join(outDir, 'results.json'))}`);
  process.exitCode = failures ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 2;
});
