// Runs the layered layout of big drawings in a web worker, one job at a
// time: a new job or a cancel terminates the worker (a layout cannot be
// interrupted otherwise) and the next job starts a fresh one. Where no
// worker can start (a policy that forbids blob workers), the page lays out
// itself, as it did before the worker.
import LAYOUT_WORKER_SOURCE from './layoutWorker.js?worker';
import type { LayoutEdge, LayoutNode, LayoutOptions, Point } from './layered.js';
import { buffersOf, decodePositions, encodeLayout, layOutEncoded, type LayoutReply } from './layoutWire.js';

export interface LayoutJob {
  /** Leaf centres by id; null when the job was cancelled or replaced. */
  readonly result: Promise<Map<string, Point> | null>;
  cancel(): void;
}

interface Running {
  job: number;
  nodes: readonly LayoutNode[];
  edges: readonly LayoutEdge[];
  options: Partial<LayoutOptions>;
  settle(positions: Map<string, Point> | null): void;
  fail(err: Error): void;
  progress(fraction: number): void;
}

export class LayoutRunner {
  private worker: Worker | null = null;
  private url: string | null = null;
  /** Set once a worker failed to start: from then on the page lays out. */
  private noWorker = false;
  private running: Running | null = null;
  private nextJob = 1;
  /** Where the last job ran (tests check that big layouts leave the page's thread). */
  lastRanIn: 'worker' | 'page' | null = null;

  /** Lays out in the worker; `progress` hears the share of nodes placed so far. */
  run(nodes: readonly LayoutNode[], edges: readonly LayoutEdge[], options: Partial<LayoutOptions>, progress: (fraction: number) => void): LayoutJob {
    this.stopRunning();
    const job = this.nextJob++;
    let cancel = () => {};
    const result = new Promise<Map<string, Point> | null>((resolve, reject) => {
      const running: Running = {
        job, nodes, edges, options, progress,
        settle: (p) => { if (this.running === running) this.running = null; resolve(p); },
        fail: (err) => { if (this.running === running) this.running = null; reject(err); },
      };
      this.running = running;
      cancel = () => { if (this.running === running) this.stopRunning(); };
      const worker = this.workerOrNull();
      if (worker) {
        this.lastRanIn = 'worker';
        const request = encodeLayout(job, nodes, edges, options);
        worker.postMessage(request, buffersOf(request));
        return;
      }
      this.inPage(running);
    });
    return { result, cancel: () => cancel() };
  }

  /** Lays out in the page, after the current task so the caller's status can paint first. */
  private inPage(running: Running): void {
    this.lastRanIn = 'page';
    setTimeout(() => {
      if (this.running !== running) return;
      try {
        const { x, y } = layOutEncoded(encodeLayout(running.job, running.nodes, running.edges, running.options));
        running.settle(decodePositions(running.nodes, x, y));
      } catch (err) {
        running.fail(err instanceof Error ? err : new Error(String(err)));
      }
    }, 0);
  }

  dispose(): void {
    this.stopRunning();
    this.terminate();
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
  }

  /** Ends the running job, if any, as cancelled; a worker busy with it is terminated. */
  private stopRunning(): void {
    const running = this.running;
    if (!running) return;
    this.running = null;
    if (this.lastRanIn === 'worker') this.terminate();
    running.settle(null);
  }

  private terminate(): void {
    this.worker?.terminate();
    this.worker = null;
  }

  private workerOrNull(): Worker | null {
    if (this.worker || this.noWorker) return this.worker;
    try {
      this.url ??= URL.createObjectURL(new Blob([LAYOUT_WORKER_SOURCE], { type: 'text/javascript' }));
      const worker = new Worker(this.url, { name: 'weight-sharing-layout' });
      worker.onmessage = (e: MessageEvent<LayoutReply>) => this.onReply(e.data);
      worker.onerror = (e) => this.onWorkerError(e.message);
      this.worker = worker;
    } catch (err) {
      console.warn(`Weight Sharing Inspector: the layout worker did not start (${err instanceof Error ? err.message : String(err)}); laying out in the page`);
      this.noWorker = true;
    }
    return this.worker;
  }

  private onReply(m: LayoutReply): void {
    const running = this.running;
    if (!running || running.job !== m.job) return; // a job since replaced
    if (m.kind === 'progress') running.progress(m.total === 0 ? 1 : m.placed / m.total);
    else if (m.kind === 'done') running.settle(decodePositions(running.nodes, m.x, m.y));
    else running.fail(new Error(`layout failed: ${m.message}`));
  }

  /** The worker's script did not run (blocked, or an error outside a job): lay out in the page from now on. */
  private onWorkerError(message: string): void {
    console.warn(`Weight Sharing Inspector: the layout worker failed (${message || 'no message'}); laying out in the page`);
    this.terminate();
    this.noWorker = true;
    if (this.running) this.inPage(this.running);
  }
}
