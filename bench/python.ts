// The Python a bench's peer script runs under: one with numpy.
import { spawnSync } from 'node:child_process';

export interface Python { executable: string; version: string; numpy: string }

/**
 * The peer's interpreter: BENCH_PYTHON if set, else Debian's /usr/bin/python3
 * (what the scan bench's peer uses) when it has numpy, else the first
 * `python3` on PATH that has numpy (e.g. pyenv's).
 */
export function findPython(): { python?: Python; tried: string[] } {
  const candidates = process.env.BENCH_PYTHON ? [process.env.BENCH_PYTHON] : ['/usr/bin/python3', 'python3'];
  const tried: string[] = [];
  for (const candidate of candidates) {
    const res = spawnSync(candidate, ['-c', 'import sys, numpy; print(sys.executable, sys.version.split()[0], numpy.__version__)'], { encoding: 'utf8' });
    if (res.status === 0) {
      const [executable, version, numpy] = res.stdout.trim().split(' ');
      if (executable && version && numpy) return { python: { executable, version, numpy }, tried };
    }
    tried.push(`${candidate}: ${res.error ? res.error.message : (res.stderr.trim().split('\n').pop() ?? `exit ${res.status}`)}`);
  }
  return { tried };
}

