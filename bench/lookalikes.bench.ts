// Many lookalikes (issue 11): N tensors of one size whose sampled bytes
// agree but whose contents differ (each differs from the others in one byte
// between the sample windows), so every one is a candidate for every other.
// Pairwise verification would be quadratic in N; the scan must stay linear
// in the bytes read: one comparison pass against the first, then one digest
// pass over the rest. Printed for N = 12,500, 25,000 and 50,000 (8 KiB float32
// tensors in one safetensors file, written once): the wall time per tensor
// should stay flat as N doubles.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchContext } from './context';
import { fmtMB, fmtSeconds } from './measure';

const BYTES = 8192;
/** Between the first and second 64-byte sample windows of an 8 KiB tensor (samples.ts). */
const DIFFERING_BYTE = 200;

function writeLookalikes(file: string, n: number): void {
  if (fs.existsSync(file)) return;
  const header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = {};
  for (let i = 0; i < n; i++) header[`t${i}`] = { dtype: 'F32', shape: [BYTES / 4], data_offsets: [i * BYTES, (i + 1) * BYTES] };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const fd = fs.openSync(`${file}.tmp`, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.writeSync(fd, len);
    fs.writeSync(fd, json);
    const t = Buffer.alloc(BYTES, 0x3f);
    for (let i = 0; i < n; i++) {
      // The same bytes everywhere but a counter between the sample windows.
      t.writeUInt32LE(i, DIFFERING_BYTE);
      fs.writeSync(fd, t);
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${file}.tmp`, file);
}

export default async function lookalikes(ctx: BenchContext): Promise<void> {
  const rows: Array<Record<string, unknown>> = [];
  for (const n of [12_500, 25_000, 50_000]) {
    const file = path.join(ctx.outDir, `lookalikes-${n}.safetensors`);
    writeLookalikes(file, n);
    const m = ctx.measure(process.execPath, [ctx.cli, 'scan', '--json', file], { runs: 3, warmup: 1 });
    const perTensorUs = (m.medianWallSeconds * 1e6) / n;
    ctx.log(`${n.toLocaleString('en')} lookalikes (${(n * BYTES / 1e6).toFixed(0)} MB): ${fmtSeconds(m.medianWallSeconds)} wall, ${fmtMB(m.medianPeakRssMB)} peak, ${perTensorUs.toFixed(1)} µs per tensor`);
    rows.push({ tensors: n, bytes: n * BYTES, medianWallSeconds: m.medianWallSeconds, medianPeakRssMB: m.medianPeakRssMB, perTensorUs });
  }
  ctx.record('lookalikes', rows);
}
