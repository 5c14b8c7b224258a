// Tensor bytes for the detectors: every read goes through here, so the scan
// can count what it read, stop when cancelled, and reuse two bounded buffers
// instead of allocating per tensor (fresh memory is the expensive thing).
import type { TensorRef } from '../model/types';
import { FileSet } from '../io/fileSet';

export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

export class ScanCancelled extends Error {
  constructor() {
    super('scan cancelled');
    this.name = 'AbortError';
  }
}

export class ByteSource {
  /** Tensor bytes copied into buffers so far. */
  bytesRead = 0;
  private readonly buffers: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
  private lastYield = Date.now();

  constructor(
    private readonly files: FileSet,
    readonly chunkBytes = DEFAULT_CHUNK_BYTES,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * One of the two reused buffers, at least min(`want`, chunkBytes) long.
   * Fresh ArrayBuffers, so typed-array views at offset 0 are aligned.
   */
  buffer(which: 0 | 1, want: number): Uint8Array {
    const size = Math.min(Math.max(want, 1), this.chunkBytes);
    let buf = this.buffers[which];
    if (buf.length < size) {
      // Grow in powers of two so a scan reallocates a handful of times at most.
      let n = 4096;
      while (n < size) n *= 2;
      buf = new Uint8Array(Math.min(n, this.chunkBytes));
      this.buffers[which] = buf;
    }
    return buf;
  }

  read(tensor: TensorRef, start: number, dst: Uint8Array, dstOffset: number, length: number): void {
    if (this.signal?.aborted) throw new ScanCancelled();
    this.files.readTensor(tensor, start, dst, dstOffset, length);
    this.bytesRead += length;
  }

  checkAbort(): void {
    if (this.signal?.aborted) throw new ScanCancelled();
  }

  /**
   * Lets the event loop run now and then (an abort from a UI arrives as an
   * event), and checks for cancellation. Cheap to call between chunks.
   */
  async tick(): Promise<void> {
    this.checkAbort();
    const now = Date.now();
    if (now - this.lastYield >= 25) {
      this.lastYield = now;
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.checkAbort();
    }
  }
}
