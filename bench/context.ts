// What every bench module receives from bench/run.ts. A bench is a file
// bench/NAME.bench.ts whose default export is `(ctx: BenchContext) => Promise<void>`;
// run.ts runs them all in name order (or those named on the command line:
// `npm run bench -- scan`). Benches print figures; they never assert on time.
import type { BenchModel } from './bertModel';
import type { Measured, MeasureOptions, RunFigure } from './measure';

export interface BenchContext {
  /** Project root. */
  root: string;
  /** bench/out (gitignored): generated models and outputs. */
  outDir: string;
  /** The built CLI, dist/cli.js (run.ts builds first). */
  cli: string;
  /** The ~530 MB BERT-base-shaped model, written once per run (cached across runs). */
  bertModel(): Promise<BenchModel>;
  /** Times a command: warm-up runs, then the median of timed runs (wall, peak RSS). */
  measure(cmd: string, args: string[], options?: MeasureOptions): Measured;
  runOnce(cmd: string, args: string[]): RunFigure;
  /** Prints one line under the bench's heading. */
  log(line: string): void;
  /** Stores figures for bench/out/results.json (what BENCHMARKS.md is written from). */
  record(key: string, value: unknown): void;
}

export type Bench = (ctx: BenchContext) => Promise<void>;
