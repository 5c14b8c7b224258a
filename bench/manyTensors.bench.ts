// Memory that grows with metadata (issue 13, defect 6): an ONNX file of N
// one-element float32 initializers (21 bytes of file each), scanned by the
// CLI. Printed: wall time, peak RSS and RSS per tensor for N = 500,000 and
// 2,000,000, so the per-tensor cost shows whether records stay compact.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchContext } from './context';
import { fmtMB, fmtSeconds } from './measure';

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n & 127) | 128);
  out.push(n);
  return out;
}

/** Encoded by hand: ModelProto { ir_version 8, opset 17, graph { name 'g', initializer × n } }, values seeded. */
function writeScalars(file: string, n: number): void {
  if (fs.existsSync(file)) return;
  const parts: Buffer[] = [];
  const value = Buffer.alloc(4);
  let seed = 1;
  for (let i = 0; i < n; i++) {
    const name = Buffer.from(`t${i}`);
    seed = (seed * 1103515245 + 12345) >>> 0;
    value.writeFloatLE(seed / 2 ** 32, 0);
    const t = Buffer.from([0x08, 1, 0x10, 1, 0x42, ...varint(name.length), ...name, 0x4a, 4, ...value]);
    parts.push(Buffer.from([0x2a, ...varint(t.length)]), t);
  }
  const graph = Buffer.concat([Buffer.from([0x12, 1, 0x67]), ...parts]);
  fs.writeFileSync(`${file}.tmp`, Buffer.concat([Buffer.from([0x08, 8, 0x42, 2, 0x10, 17, 0x3a, ...varint(graph.length)]), graph]));
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
