// `npm run fuzz -- READER [N] [options]`: mutation fuzzing of the model readers.
//
//   READER             onnx | safetensors | all
//   N                  inputs per reader (default 10000)
//   --seed S           run seed (default 1); input i of reader R is the same for the same seed
//   --structure-only   only structure-aware mutations
//   --generic-only     only generic byte mutations
//   --jobs J           worker threads (default: CPU count)
//   --cli-every K      every K-th input also through `node dist/cli.js scan` (default 100; 0: never)
//   --apply F          fraction of inputs also through applySharing when they open (default 0.25)
//   --hang-ms T        an input taking longer is a hang (default 10000)
//   --memory-mb M      heap / allocation / RSS-growth limit (default 512)
//   --recycle N        fresh worker every N inputs (default 1000)
//   --out DIR          where reproducers go (default test-results/fuzz)
//   --no-minimize      keep failures as found
//   --keep K           reproducers kept per distinct failure (default 3)
//   --minimize-s S     time limit per minimization (default 120; hangs 3x)
//   --progress N       progress line every N inputs (default 2000)
//   --json FILE        also write the figures as JSON
//   --verbose          also list the commonest kinds of rejection per reader
//   --only I           run input I only (regenerates a failure from its note)
//   --from I           start at input I (inputs I .. I+N-1: resumes a run)
//   --replay DIR       run a kept reproducer again and print how it ends
//
// Prints a table per reader; exits 1 when any input crashed, hung or went
// over memory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { READERS, REPO, type Reader } from './corpus';
import { DEFAULT_LIMITS, formatTable, fuzzReader, isFailure, replay, type FuzzOptions, type ReaderStats } from './harness';

function usage(problem: string): never {
  process.stderr.write(`fuzz: ${problem}\nusage: node --import tsx test/fuzz/run.ts onnx|safetensors|all [N] [--seed S] [--structure-only|--generic-only] [--jobs J] [--cli-every K] [--apply F] [--hang-ms T] [--memory-mb M] [--out DIR] [--no-minimize] [--json FILE] | --replay DIR\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<number> {
  const positional: string[] = [];
  const opts: Omit<FuzzOptions, 'reader'> = {
    count: 10_000, seed: 1, mode: 'both', jobs: os.availableParallelism(), limits: { ...DEFAULT_LIMITS }, cliEvery: 100, applyFraction: 0.25,
    saveDir: path.join(REPO, 'test-results/fuzz'), minimize: true, keepPerSignature: 3, minimizeBudget: 1000, minimizeMs: 120_000, progressEvery: 2000,
    log: (line) => process.stdout.write(`${line}\n`),
  };
  let jsonFile: string | undefined;
  let verbose = false;
  let replayDir: string | undefined;
  const num = (flag: string, v: string | undefined, min = 0): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) usage(`${flag} needs a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--seed': opts.seed = num(a, argv[++i]); break;
      case '--structure-only': opts.mode = 'structure'; break;
      case '--generic-only': opts.mode = 'generic'; break;
      case '--jobs': opts.jobs = num(a, argv[++i], 1); break;
      case '--cli-every': opts.cliEvery = num(a, argv[++i]); break;
      case '--apply': opts.applyFraction = num(a, argv[++i]); break;
      case '--hang-ms': opts.limits.hangMs = num(a, argv[++i], 1); break;
      case '--memory-mb': opts.limits.memoryMb = num(a, argv[++i], 16); break;
      case '--recycle': opts.limits.recycleEvery = num(a, argv[++i], 1); break;
      case '--out': opts.saveDir = path.resolve(argv[++i] ?? usage('--out needs a folder')); break;
      case '--no-minimize': opts.minimize = false; break;
      case '--minimize-s': opts.minimizeMs = num(a, argv[++i], 1) * 1000; break;
      case '--keep': opts.keepPerSignature = num(a, argv[++i]); break;
      case '--progress': opts.progressEvery = num(a, argv[++i]); break;
      case '--json': jsonFile = path.resolve(argv[++i] ?? usage('--json needs a file')); break;
      case '--verbose': verbose = true; break;
      case '--only': opts.only = num(a, argv[++i]); break;
      case '--from': opts.from = num(a, argv[++i]); break;
      case '--replay': replayDir = path.resolve(argv[++i] ?? usage('--replay needs a folder')); break;
      default:
        if (a.startsWith('-')) usage(`unknown option '${a}'`);
        positional.push(a);
    }
  }
  if (replayDir) {
    const o = await replay(replayDir, opts.limits);
    process.stdout.write(`${JSON.stringify(o, null, 2)}\n`);
    return isFailure(o) ? 1 : 0;
  }
  const [which, n] = positional;
  if (!which) usage('name a reader');
  const readers: Reader[] = which === 'all' ? [...READERS] : READERS.includes(which as Reader) ? [which as Reader] : usage(`unknown reader '${which}' (expected ${READERS.join(', ')} or all)`);
  if (n !== undefined) opts.count = num('N', n, 1);
  if (!fs.existsSync(path.join(REPO, 'dist/cli.js')) && opts.cliEvery > 0) usage('dist/cli.js is missing: build first (npm run fuzz builds it)');

  const started = new Date();
  process.stdout.write(`fuzz: ${readers.join(', ')}: ${opts.only !== undefined ? `input ${opts.only}` : `${opts.count} inputs each`}, seed ${opts.seed}, ${opts.mode} mutations, ${opts.jobs} job(s), `
    + `hang ${opts.limits.hangMs} ms, memory ${opts.limits.memoryMb} MiB, CLI every ${opts.cliEvery || 'never'}, apply ${opts.applyFraction}; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  const all: ReaderStats[] = [];
  for (const reader of readers) all.push(await fuzzReader({ ...opts, reader }));
  process.stdout.write(`\n${formatTable(all)}\n`);
  for (const s of all) {
    const m = s.byMode;
    process.stdout.write(`${s.reader}: ${s.seeds} seeds; structure-aware ${s.structure} (ok ${m.structure.ok}, rejected ${m.structure.rejected}, failed ${m.structure.failed}), `
      + `generic ${s.generic} (ok ${m.generic.ok}, rejected ${m.generic.rejected}, failed ${m.generic.failed}); ${Object.keys(s.rejections).length} kinds of rejection\n`);
  }
  for (const s of all) {
    if (verbose) {
      const kinds = Object.entries(s.rejections).sort((a, b) => b[1] - a[1]);
      process.stdout.write(`\n${s.reader}: ${kinds.length} kinds of rejection; the commonest:\n`);
      for (const [k, c] of kinds.slice(0, 40)) process.stdout.write(`  ${String(c).padStart(6)}  ${k}\n`);
    }
    const sigs = Object.entries(s.signatures);
    if (sigs.length === 0) continue;
    process.stdout.write(`\n${s.reader}: ${sigs.length} distinct failure(s):\n`);
    for (const [sig, k] of sigs.sort((a, b) => b[1] - a[1])) {
      const saved = s.failures.find((f) => f.signature === sig && f.saved)?.saved;
      process.stdout.write(`  ${k} x ${sig}${saved ? `\n      ${path.relative(REPO, saved)}` : ''}\n`);
    }
  }
  process.stdout.write(`\nload average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
  if (jsonFile) {
    fs.mkdirSync(path.dirname(jsonFile), { recursive: true });
    fs.writeFileSync(jsonFile, `${JSON.stringify({ started: started.toISOString(), argv, loadavg: os.loadavg(), cpus: os.cpus().length, node: process.version, readers: all }, null, 2)}\n`);
  }
  for (const s of all) if (s.harnessErrors > 0) process.stdout.write(`${s.reader}: the fuzzer itself failed on ${s.harnessErrors} input(s) (HARNESS ERROR above)\n`);
  return all.some((s) => s.crashes + s.hangs + s.overMemory + s.harnessErrors > 0) ? 1 : 0;
}

// Stopped by hand: exit, so that the temporary inputs are removed ('exit' handlers in harness.ts).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    process.stderr.write(`fuzz: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 2;
  },
);
