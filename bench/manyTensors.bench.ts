// Memory that grows with metadata (issue 13, defect 6): an ONNX file of N
// one-element float32 initializers (21 bytes of file each), scanned by the
// CLI. Printed: wall time, peak RSS and RSS per tensor for N = 500,000 and
// 2,000,000, so the per-tensor cost shows whether records stay compact.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchContext } from './context';
import { fmtMB, fmtSeconds } from './measure';
import { manyScalars } from '../test/unit/model/onnx/scalarsModel';

/** Values seeded (a linear congruential sequence): many of them collide, as real scalars do. */
function writeScalars(file: string, n: number): void {
  if (fs.existsSync(file)) return;
  let seed = 1;
  fs.writeFileSync(`${file}.tmp`, manyScalars(n, () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32));
  fs.renameSync(`${file}.tmp`, file);
}

export default async function manyTensors(ctx: BenchContext): Promise<void> {
  const rows: Array<Record<string, unknown>> = [];
  for (const n of [500_000, 2_000_000]) {
    const file = path.join(ctx.outDir, `scalars-${n}.onnx`);
    writeScalars(file, n);
    const size = fs.statSync(file).size;
    const m = ctx.measure(process.execPath, [ctx.cli, 'scan', file], { runs: 1, warmup: 0 });
    const perTensor = m.medianPeakRssMB === undefined ? undefined : (m.medianPeakRssMB * 1e6) / n;
    ctx.log(`${n.toLocaleString('en')} one-element initializers (${(size / 1e6).toFixed(1)} MB file): scan ${fmtSeconds(m.medianWallSeconds)}, ${fmtMB(m.medianPeakRssMB)} peak RSS${perTensor === undefined ? '' : `, ${perTensor.toFixed(0)} B per tensor`}`);
    rows.push({ tensors: n, fileBytes: size, wallSeconds: m.medianWallSeconds, peakRssMB: m.medianPeakRssMB });
  }
  ctx.record('manyTensors', rows);
}
