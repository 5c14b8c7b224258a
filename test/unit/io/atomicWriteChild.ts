// Runs one atomicWrite in a separate process, so a test can give it real
// operating-system limits (a file-size rlimit, another user id) that make the
// write fail for real. Prints one JSON line: { ok } or { error, name }.
import { atomicWrite, type PieceSource } from '../../../extension/io/atomicWrite';

const [target, size] = process.argv.slice(2);
const length = Number(size);
const source: PieceSource = {
  length,
  fill(position, dst) { for (let i = 0; i < dst.length; i++) dst[i] = (position + i) & 0xff; },
};

atomicWrite(target!, [Buffer.from('header'), source], { bufferSize: 256 * 1024 }).then(
  (n) => { process.stdout.write(`${JSON.stringify({ ok: true, written: n })}\n`); },
  (err: unknown) => {
    const e = err as Error;
    process.stdout.write(`${JSON.stringify({ ok: false, name: e.name, error: e.message })}\n`);
  },
);
