// The scan as a Markdown document ("Show Sharing Report"): totals per file,
// then one table row per group, sorted as the scan sorted them (bytes saved).
import { scopedName } from '../util/scopedName';
import { printable } from '../util/printable';
import type { ScanReport } from './types';
import { describeGroup } from './groupText';
import { formatBytes } from './bytes';

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/`/g, "'");
const code = (s: string) => `\`${esc(s)}\``;

export function renderMarkdownReport(report: ScanReport, options: { minBytes?: number } = {}): string {
  const out: string[] = [];
  const names = report.models.map((m) => m.path.split(/[\\/]/).pop() ?? m.path);
  out.push(`# Weight sharing report: ${names.join(', ')}`, '');
  const stored = report.models.reduce((a, m) => a + m.tensors.reduce((b, t) => b + t.byteLength, 0), 0);
  const applicable = report.groups.filter((g) => g.applicable);
  const notApplicable = report.groups.filter((g) => !g.applicable && g.kind !== 'tied');
  const tied = report.groups.filter((g) => g.kind === 'tied');
  out.push(
    `- Weights stored: **${formatBytes(stored)}** in ${report.models.reduce((a, m) => a + m.tensors.length, 0)} tensors`,
    `- Can be shared without changing outputs: **${formatBytes(report.bytesSaved)}** (${stored ? ((100 * report.bytesSaved) / stored).toFixed(1) : '0'}%) in ${applicable.length} group${applicable.length === 1 ? '' : 's'}`,
    ...(notApplicable.length ? [`- Found but not applicable (see each group's reason): ${notApplicable.length} group${notApplicable.length === 1 ? '' : 's'}`] : []),
    `- Already tied (stored once, several readers or names): ${tied.length}`,
  );
  if (options.minBytes !== undefined) out.push(`- Groups of tensors under ${formatBytes(options.minBytes)} are not listed`);
  out.push('');
  for (const m of report.models) {
    out.push(`**${esc(m.path)}**: ${m.format}, ${formatBytes(m.fileSize)}${m.producer ? `, ${esc(m.producer)}` : ''}`, '');
    for (const w of m.warnings) out.push(`> ${esc(w)}`, '');
  }
  if (report.groups.length === 0) {
    out.push('No shared or shareable weights found.', '');
    return out.map(printable).join('\n');
  }
  out.push('## Groups', '', '| # | kind | saves | applies | tensors (kept first) | dtype | shape |', '| --: | --- | --: | --- | --- | --- | --- |');
  report.groups.forEach((g, i) => {
    const tensors = g.members.map((m) => {
      const name = scopedName(m.tensor.name, m.tensor.graphPath);
      return code(report.models.length > 1 ? `${m.path.split(/[\\/]/).pop()}:${name}` : name);
    }).join('<br>');
    const dtypes = [...new Set(g.members.map((m) => m.tensor.dtype))].join(', ');
    const shapes = [...new Set(g.members.map((m) => `[${m.tensor.shape.join('×')}]`))].join(', ');
    out.push(`| ${i + 1} | ${g.kind} | ${formatBytes(g.bytesSaved)} | ${g.applicable ? 'yes' : g.kind === 'tied' ? 'already stored once' : `no: ${esc(g.reason ?? '')}`} | ${tensors} | ${dtypes} | ${shapes} |`);
  });
  out.push('', '## In words', '');
  report.groups.forEach((g, i) => out.push(`${i + 1}. ${esc(describeGroup(g))}`));
  out.push('');
  return out.map(printable).join('\n');
}
