// Progress of a scan as one 0..1 fraction over weighted stages, throttled so
// a UI receives a few updates per second, not one per tensor.
import type { ScanProgress } from './types';

export class ProgressMeter {
  private base = 0;
  private span = 0;
  private label = '';
  private phase: ScanProgress['phase'] = 'open';
  private lastSent = 0;

  constructor(private readonly sink?: (p: ScanProgress) => void) {}

  /** Starts a stage covering [from, to) of the whole scan. */
  stage(from: number, to: number, label: string, phase: ScanProgress['phase'] = 'compare'): void {
    this.phase = phase;
    this.base = from;
    this.span = to - from;
    this.label = label;
    this.send(0, true);
  }

  /** Position inside the current stage (0..1). */
  update(within: number): void {
    this.send(within, false);
  }

  done(message: string): void {
    this.sink?.({ phase: 'compare', fraction: 1, message });
  }

  private send(within: number, force: boolean): void {
    if (!this.sink) return;
    const now = Date.now();
    if (!force && now - this.lastSent < 100) return;
    this.lastSent = now;
    const fraction = Math.min(1, this.base + this.span * Math.max(0, Math.min(1, within)));
    this.sink({ phase: this.phase, fraction, message: this.label });
  }
}
