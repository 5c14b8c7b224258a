// Number, byte and shape formatting shared by the panel and the tooltips.

import { formatBytes } from '../extension/sharing/bytes.js';

export { formatBytes };

/** "36,864 B (36.9 kB)": exact figure first, since tests and users compare bytes. */
export function formatBytesExact(bytes: number): string {
  const exact = `${thousands(bytes)} B`;
  return bytes < 1000 ? exact : `${exact} (${formatBytes(bytes)})`;
}

/** 1234567 → "1,234,567" (toLocaleString costs an Intl set-up on first use). */
export function thousands(n: number): string {
  const s = String(Math.trunc(n));
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatCount(n: number): string {
  if (n < 10_000) return thousands(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)}k`;
  if (n < 1_000_000_000) return `${(n / 1_000_000).toFixed(2)}M`;
  return `${(n / 1_000_000_000).toFixed(2)}B`;
}

export function formatShape(shape: ReadonlyArray<number | string | null> | undefined): string {
  if (shape === undefined) return '?';
  if (shape.length === 0) return 'scalar';
  return shape.map((d) => (d === null ? '?' : String(d))).join('×');
}

/** Keeps the informative tail of a long dotted or slashed name. */
export function shortName(name: string, max = 28): string {
  if (name.length <= max) return name;
  const parts = name.split(/[./]/).filter(Boolean);
  let out = parts.pop() ?? name;
  while (parts.length > 0 && out.length + parts[parts.length - 1].length + 1 <= max - 1) out = `${parts.pop()}.${out}`;
  if (out.length > max) out = out.slice(out.length - max + 1);
  return `…${out}`;
}
