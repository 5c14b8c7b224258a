// Where an exported model's weights came from: when an ONNX export is
// scanned together with the checkpoint it was exported from, every group
// that joins a graph tensor with a checkpoint parameter says "this
// initializer is that parameter" (exact, or transposed as MatMul wants it,
// or cast). Those joins are provenance, not copies to share: they leave the
// groups and become links, so the view can name an anonymous `val_12` after
// `transformer.h.0.attn.c_attn.weight`.
import type { ModelFile, TensorRef } from '../model/types';
import type { GroupMember, ProvenanceLink, SharingGroup } from './types';

/** Splits `groups` into what stays a sharing group and the provenance links across formats. */
export function splitProvenance(groups: SharingGroup[], models: ModelFile[]): { groups: SharingGroup[]; links: ProvenanceLink[] } {
  const hasGraph = new Map(models.map((m) => [m.path, m.graph !== undefined]));
  if (!models.some((m) => m.graph) || models.every((m) => m.graph)) return { groups, links: [] };
  const kept: SharingGroup[] = [];
  const links: ProvenanceLink[] = [];
  const linked = new Set<TensorRef>();
  for (const g of groups) {
    if (!g.crossFile || g.kind === 'tied' || g.kind === 'quantized') { kept.push(g); continue; }
    const exported = g.members.filter((m) => hasGraph.get(m.path));
    const sources = g.members.filter((m) => !hasGraph.get(m.path));
    if (exported.length === 0 || sources.length === 0) { kept.push(g); continue; }
    for (const e of exported) {
      if (linked.has(e.tensor)) continue;
      const s = bestSource(e, sources);
      // Relation groups are [source, copy]: the copy is derived from the source; exact ones are the same bytes.
      const how = g.kind === 'exact' ? 'exact' : g.kind === 'reshaped' ? (sameShape(e.tensor, s.tensor) ? 'exact' : 'reshaped') : g.kind;
      links.push({ path: e.path, tensor: e.tensor, sourcePath: s.path, source: s.tensor, how });
      linked.add(e.tensor);
    }
    // What stays: copies among the exports, or among the checkpoints, across their files.
    for (const side of [exported, sources]) {
      if (new Set(side.map((m) => m.path)).size > 1 && (g.kind === 'exact' || g.kind === 'reshaped')) {
        kept.push({ ...g, members: side, bytesSaved: side[0]!.tensor.byteLength * (new Set(side.map((m) => m.path)).size - 1) });
      }
    }
  }
  // A copy derived inside the export (the TorchScript exporter's transposed
  // embedding) comes from the same parameter as the tensor it is derived from.
  const linkOf = new Map(links.map((l) => [l.tensor, l]));
  for (const g of kept) {
    if (g.crossFile || (g.kind !== 'transposed' && g.kind !== 'cast')) continue;
    const from = linkOf.get(g.members[0]!.tensor);
    const copy = g.members[1];
    if (!from || from.how !== 'exact' || !copy || linkOf.has(copy.tensor)) continue;
    const link: ProvenanceLink = { path: copy.path, tensor: copy.tensor, sourcePath: from.sourcePath, source: from.source, how: g.kind };
    links.push(link);
    linkOf.set(copy.tensor, link);
  }
  return { groups: kept, links };
}

/** The checkpoint member whose dotted name ends like the exported one (`m.h.0.attn.c_attn.weight` ~ `h.0.attn.c_attn.weight`), else the first. */
function bestSource(e: GroupMember, sources: GroupMember[]): GroupMember {
  const tail = e.tensor.name.split(/[./]/);
  let best = sources[0]!;
  let bestScore = -1;
  for (const s of sources) {
    const parts = s.tensor.name.split(/[./]/);
    let n = 0;
    while (n < parts.length && n < tail.length && parts[parts.length - 1 - n] === tail[tail.length - 1 - n]) n++;
    if (n > bestScore) { best = s; bestScore = n; }
  }
  return best;
}

function sameShape(a: TensorRef, b: TensorRef): boolean {
  return a.shape.join(',') === b.shape.join(',');
}
