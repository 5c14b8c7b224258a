// How byte counts are written everywhere (CLI, Problems, outline, report,
// webview), so a user sees one figure for one saving: SI units as VS Code
// and file managers show them ("256 kB", "23.4 MB"), exact below 1 kB.
// Browser-safe: the webview imports it too.

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (v < 1000) return `${sign}${v} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let u = -1;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  // 999.95 kB would print as "1000.0 kB": move up a unit instead.
  if (v >= 999.95 && u < units.length - 1) { v /= 1000; u++; }
  return `${sign}${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[u]}`;
}
