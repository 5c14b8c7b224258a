// `weight-sharing layers PATH... [--json]`
// How alike the layers of each model are, per family of same-role tensors:
// the relative L2 distance and centred cosine of every pair. Lossy advice
// (never applied): which blocks are close enough to share, ALBERT-style.
import { CliError } from './common';
import { openModel } from '../model/registry';
import type { PathTrust } from '../io/safePath';
import { analyzeLayers, type LayerFamily, type LayersReport } from '../sharing/layers';
import { printable } from '../util/printable';

export function toLayersJson(reports: LayersReport[]): unknown {
  return {
    schema: 1,
    lossless: false,
    models: reports.map((r) => ({
      path: r.model.path,
      families: r.families.map((f) => ({
        role: f.role, stack: f.stack, layers: f.layers, members: f.members.map((m) => m.name), dtype: f.dtype, shape: f.shape,
        relL2: f.relL2, centredCosine: f.centredCosine,
        ...(f.estimate ? { estimate: f.estimate } : {}),
      })),
    })),
    // Filters within one tensor (Conv output filters, embedding rows): not computed yet.
    filters: [],
  };
}

const f3 = (x: number) => (Number.isNaN(x) ? ' n/a' : x.toFixed(3));

function familyText(f: LayerFamily): string[] {
  const sketched = f.estimate ? `  (sketched: other pairs within ±${(100 * f.estimate.relL2RelativeStd).toFixed(2)}% per std; closest pairs exact)` : '';
  const lines = [`  ${f.stack ? `${f.stack}.N.` : ''}${f.role}  ${f.dtype}[${f.shape.join(',')}]  ${f.members.length} layers${sketched}`];
  lines.push('    layer  closest  rel L2  centred cos');
  f.layers.forEach((layer, i) => {
    let best = -1;
    for (let j = 0; j < f.layers.length; j++) if (j !== i && (best < 0 || f.relL2[i]![j]! < f.relL2[i]![best]!)) best = j;
    lines.push(`    ${String(layer).padStart(5)}  ${String(f.layers[best]).padStart(7)}  ${f3(f.relL2[i]![best]!).padStart(6)}  ${f3(f.centredCosine[i]![best]!).padStart(11)}`);
  });
  return lines;
}

export function toLayersText(reports: LayersReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.model.path}  (${r.families.length} families of same-role tensors across layers)`);
    if (r.families.length === 0) lines.push('  no repeated blocks found by name');
    for (const f of r.families) lines.push(...familyText(f));
    lines.push('');
  }
  lines.push('rel L2 = ‖a−b‖ / max(‖a‖, ‖b‖): 0 is identical; independent random matrices of one shape sit near 1.41 (√2).');
  lines.push('centred cos = Pearson correlation of the values. Lossy: sharing layers changes outputs; measure it before relying on it.');
  return `${lines.map(printable).join('\n')}\n`;
}

export async function runLayers(args: string[], trust: PathTrust = {}): Promise<number> {
  const paths: string[] = [];
  let json = false;
  for (const a of args) {
    if (a === '--json') json = true;
    else if (a.startsWith('-') && a !== '-') throw new CliError(`layers: unknown option '${a}'`);
    else paths.push(a);
  }
  if (paths.length === 0) throw new CliError('layers: give at least one model');
  const reports: LayersReport[] = [];
  for (const p of paths) reports.push(await analyzeLayers(await openModel(p, trust)));
  process.stdout.write(json ? `${JSON.stringify(toLayersJson(reports), null, 2)}\n` : toLayersText(reports));
  return 0;
}
