// Words for sharing groups, shared by the Problems panel, the
// outline, the Markdown report and the quick pick so they all say the same.
import { formatBytes } from './bytes';
import { printable } from '../util/printable';
import type { GroupMember, SharingGroup } from './types';
import { scopedName } from '../util/scopedName';

/** A member's name in context (`If_25 › then › 1072` for a subgraph tensor). */
function nameOf(m: GroupMember): string {
  return scopedName(m.tensor.name, m.tensor.graphPath);
}

/** The tensor names of a group, the kept one first. */
export function memberNames(group: SharingGroup): string[] {
  return group.members.map((m) => printable(nameOf(m)));
}

const COPY_WORDS: Record<SharingGroup['kind'], string> = {
  tied: 'tied',
  exact: 'an exact copy',
  transposed: 'a transposed copy',
  reshaped: 'a reshaped copy',
  cast: 'a converted copy',
  quantized: 'a copy of the quantized weights',
};

function list(names: string[]): string {
  if (names.length <= 1) return names.join('');
  if (names.length === 2) return `${names[0]} and ${names[1]}`;
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * One sentence for a group, e.g. "onnx::MatMul_377 is a transposed copy of
 * m.bert.embeddings.word_embeddings.weight: 256 KB can be shared".
 */
export function describeGroup(group: SharingGroup): string {
  return printable(describeRaw(group));
}

function describeRaw(group: SharingGroup): string {
  const [kept, ...copies] = group.members;
  if (group.kind === 'tied') return `${nameOf(kept)} is tied: one ${formatBytes(kept.tensor.byteLength)} weight ${tiedPhrase(group)}`;
  if (group.kind === 'quantized') {
    // Members come in (weight, scale, zero point) triplets: name the weights.
    const weights = group.members.filter((_, i) => i % 3 === 0).map(nameOf);
    const head = `${list(weights.slice(1))} ${weights.length > 2 ? 'are copies' : 'is a copy'} of the quantized weight ${weights[0]}`;
    return `${head}${savedClause(group)}`;
  }
  const names = copies.map(nameOf);
  const words = COPY_WORDS[group.kind];
  const verb = names.length > 1 ? `are ${words.replace(/^an? /, '').replace(/copy$/, 'copies')}` : `is ${words}`;
  const castNote = group.kind === 'cast' ? ` (${copies[0].tensor.dtype} of ${kept.tensor.dtype})` : '';
  const crossFile = group.crossFile ? ' in another file' : '';
  return `${list(names)} ${verb}${castNote} of ${nameOf(kept)}${crossFile}${savedClause(group)}`;
}

/** How a tied group is one weight, after "one weight ...": "read by 3 node inputs", "also named lm_head.weight, which config.json ties to it". */
export function tiedPhrase(group: SharingGroup): string {
  const [kept, ...others] = group.members;
  const names = list(others.map(nameOf));
  switch (group.tiedBy ?? 'graph') {
    case 'graph': return `read by ${kept.tensor.consumers.length} node inputs`;
    case 'storage': return `under ${others.length + 1} names on one storage (also ${names})`;
    case 'config': return `also used as ${names}, not stored: config.json ties it (tie_word_embeddings), so loaders re-create it`;
    case 'omission': return `also used as ${names}, not stored: the loader falls back to it`;
    case 'record': return `also stands for ${names}, not stored: recorded in __metadata__ by Apply Sharing (restore gives it back)`;
  }
}

function savedClause(group: SharingGroup): string {
  if (!group.applicable) return `; not shared automatically: ${group.reason ?? 'not lossless'}`;
  return `: ${formatBytes(group.bytesSaved)} can be shared`;
}

/** Short label: "transposed · 256 KB · a ↔ b". */
export function groupLabel(group: SharingGroup): string {
  return `${group.kind} · ${formatBytes(group.bytesSaved)} · ${memberNames(group).join(' ↔ ')}`;
}

/** Bytes of the largest member: how big the weight itself is (tied groups save 0). */
export function groupTensorBytes(group: SharingGroup): number {
  return group.members.reduce((n, m) => Math.max(n, m.tensor.byteLength), 0);
}
