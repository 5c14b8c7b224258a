// A write the parent interrupts with a signal: the CLI's signal handling
// installed, then a slow atomic write (each 64 kB chunk takes 20 ms).
// Prints "started" once bytes are flowing.
import { atomicWrite, type PieceSource } from '../../../extension/io/atomicWrite';
import { cleanUpOnSignals } from '../../../extension/cli/signals';

cleanUpOnSignals();
const target = process.argv[2]!;
let told = false;
const pause = new Int32Array(new SharedArrayBuffer(4));
const source: PieceSource = {
  length: 64 << 20,
  fill(position, dst) {
    if (!told) { told = true; process.stdout.write('started\n'); }
    Atomics.wait(pause, 0, 0, 20);
    dst.fill(position & 0xff);
  },
};
void atomicWrite(target, [source], { bufferSize: 128 * 1024 }).then(() => process.stdout.write('finished\n'));
