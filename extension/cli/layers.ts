// `weight-sharing layers PATH... [--json]`
// How alike the layers of each model are, per family of same-role tensors:
// the relative L2 distance and centred cosine of every pair. Lossy advice
// (never applied): which blocks are close enough to share, ALBERT-style.
import { CliError } from './common';
import { openModel } from '../model/registry';
import type { PathTrust } from '../io/safePath';
import { analyzeFilters, DEFAULT_FILTER_THRESHOLD, type FilterFinding } from '../sharing/filters';
import { analyzeLayers, type LayerFamily, type LayersReport } from '../sharing/layers';
import { sourceNamesOf } from '../sharing/layerSources';
import { printable } from '../util/printable';

/** One model's layer families and, within single tensors, its near-identical filters or rows. */
export interface ModelLayers extends LayersReport {
  filters: FilterFinding[];
}

export function toLayersJson(reports: ModelLayers[]): unknown {
  return {
    schema: 1,
    lossless: false,
    models: reports.map((r) => ({
      path: r.model.path,
      families: r.families.map((f) => ({
        role: f.role, stack: f.stack, layers: f.layers, members: f.members.map((m) => m.name), ...(f.sources ? { sources: f.sources } : {}), dtype: f.dtype, shape: f.shape,
        relL2: f.relL2, centredCosine: f.centredCosine,
        ...(f.estimate ? { estimate: f.estimate } : {}),
      })),
      filters: r.filters.map(({ tensor, ...f }) => ({ tensor: tensor.id, dtype: tensor.dtype, shape: tensor.shape, ...f })),
    })),
  };
}

function filterText(f: FilterFinding): string {
  const unit = f.kind === 'conv' ? 'filters' : 'rows';
  const best = f.closest[0];
  const how = f.method === 'exact' ? 'all pairs' : `hashed candidates, ${(100 * f.recallAtThreshold!).toFixed(1)}% recall at the threshold${f.truncated ? ', budget spent: at least' : ''}`;
  return `    ${f.tensor.id}  ${f.kind} ${f.rows} ${unit} x ${f.rowElements}  ${f.pairsWithin} pairs within ${f.threshold} (${f.rowsWithPartner} ${unit})`
    + `${best ? `; closest ${best.a}↔${best.b} ${best.relL2.toFixed(3)}` : ''}  (${how})`;
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

export function toLayersText(reports: ModelLayers[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(`${r.model.path}  (${r.families.length} families of same-role tensors across layers)`);
    if (r.families.length === 0) lines.push('  no repeated blocks found by name');
    for (const f of r.families) lines.push(...familyText(f));
    if (r.filters.length > 0) {
      lines.push(`  within one tensor: Conv output filters and embedding rows closer than rel L2 ${r.filters[0]!.threshold}`);
      for (const f of r.filters) lines.push(filterText(f));
    }
    lines.push('');
  }
  lines.push('rel L2 = ‖a−b‖ / max(‖a‖, ‖b‖): 0 is identical; independent random matrices of one shape sit near 1.41 (√2).');
  lines.push('centred cos = Pearson correlation of the values. Lossy: sharing layers changes outputs; measure it before relying on it.');
  return `${lines.map(printable).join('\n')}\n`;
}

export async function runLayers(args: string[], trust: PathTrust = {}): Promise<number> {
  const paths: string[] = [];
  let json = false;
  let threshold = DEFAULT_FILTER_THRESHOLD;
  let checkpoint: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') json = true;
    else if (a === '--filter-threshold') {
      threshold = Number(args[++i]);
      if (!(threshold >= 0 && threshold <= 2)) throw new CliError(`layers: --filter-threshold needs a relative L2 in [0, 2], got '${args[i] ?? ''}'`);
    } else if (a === '--checkpoint') {
      checkpoint = args[++i];
      if (checkpoint === undefined) throw new CliError('layers: --checkpoint needs the checkpoint an ONNX export came from');
    } else if (a.startsWith('-') && a !== '-') throw new CliError(`layers: unknown option '${a}'`);
    else paths.push(a);
  }
  if (paths.length === 0) throw new CliError('layers: give at least one model');
  const reports: ModelLayers[] = [];
  const source = checkpoint === undefined ? undefined : await openModel(checkpoint, trust);
  for (const p of paths) {
    const model = await openModel(p, trust);
    // An export's anonymous tensors take the names of the parameters they were exported from.
    const sourceNames = source && model.graph ? await sourceNamesOf(model, source) : undefined;
    // The filters' worker runs beside the layer sums.
    const [layers, filters] = await Promise.all([analyzeLayers(model, { sourceNames }), analyzeFilters(model, { threshold })]);
    reports.push({ ...layers, filters });
  }
  process.stdout.write(json ? `${JSON.stringify(toLayersJson(reports), null, 2)}\n` : toLayersText(reports));
  return 0;
}
