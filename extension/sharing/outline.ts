// The model outline: a plain-text view of a model (initializers with dtype,
// shape, bytes and sharing group; nodes with their inputs and outputs), with
// an index of where each tensor is mentioned so an editor can hang hovers,
// diagnostics and quick fixes on those spots.
import type { ModelFile, ModelGraph, TensorRef } from '../model/types';
import type { ScanReport } from './types';
import { describeGroup } from './groupText';
import { formatBytes } from './bytes';
import { printable } from '../util/printable';

export interface TensorMention {
  line: number;
  /** Character columns [start, end) of the name on the line. */
  start: number;
  end: number;
  tensorId: string;
}

export interface OutlineText {
  text: string;
  /** The line of each tensor's own row in the initializer list. */
  tensorLines: Map<string, number>;
  /** Every place a tensor name appears (its row and node inputs). */
  mentions: TensorMention[];
  /** The line of each group's entry in the group list (by report index). */
  groupLines: Map<number, number>;
  /** Report group indices each tensor belongs to. */
  groupsOfTensor: Map<string, number[]>;
}

const INDENT = '  ';

export function groupsByTensor(report: ScanReport, modelPath: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  report.groups.forEach((g, i) => {
    for (const m of g.members) {
      if (m.path !== modelPath) continue;
      const list = out.get(m.tensor.id) ?? [];
      if (!list.includes(i)) list.push(i);
      out.set(m.tensor.id, list);
    }
  });
  return out;
}

export function renderOutline(model: ModelFile, report: ScanReport | undefined): OutlineText {
  const lines: string[] = [];
  const tensorLines = new Map<string, number>();
  const mentions: TensorMention[] = [];
  const groupLines = new Map<number, number>();
  const groupsOfTensor = report ? groupsByTensor(report, model.path) : new Map<string, number[]>();
  // Names from the file may hold control characters: shown as escapes (spans below measure the escaped text).
  const push = (s = '') => { lines.push(printable(s)); return lines.length - 1; };

  const fileName = model.path.split(/[\\/]/).pop() ?? model.path;
  const storedBytes = model.tensors.reduce((a, t) => a + t.byteLength, 0);
  push(`Model outline: ${fileName} (read-only)`);
  push(`path: ${model.path}`);
  const facts = model.facts.map(([k, v]) => `${k} ${v}`);
  push(`format: ${[model.format, ...facts, ...(model.producer ? [`producer ${model.producer}`] : [])].join(' · ')}`);
  push(`${model.tensors.length} weight tensors (${formatBytes(storedBytes)})${model.graph ? ` · ${countNodes(model.graph.main)} nodes` : ''}`);
  for (const w of model.warnings) push(`warning: ${w}`);
  push();

  // Sharing groups.
  const groups = report?.groups ?? [];
  const saved = report?.bytesSaved ?? 0;
  push(report ? `Sharing groups (${groups.length}; ${formatBytes(saved)} can be shared)` : 'Sharing groups (scan not available)');
  groups.forEach((g, i) => {
    groupLines.set(i, push(`${INDENT}#${i + 1} ${g.kind}${g.applicable || g.kind === 'tied' ? '' : ` (${g.lossless ? 'not applicable' : 'not lossless'})`} · saves ${formatBytes(g.bytesSaved)} · ${describeGroup(g)}`));
  });
  if (report && groups.length === 0) push(`${INDENT}none`);
  push();

  const sources = new Map((report?.provenance ?? []).filter((l) => l.path === model.path).map((l) => [l.tensor, l]));
  // Weight tensors in file order: initializers first, then Constant-node values.
  const section = (title: string, tensors: TensorRef[]) => {
    if (tensors.length === 0) return;
    push(`${title} (${tensors.length}; name  dtype  shape  bytes  group)`);
    const nameWidth = Math.min(60, Math.max(8, ...tensors.map((t) => printable(t.id).length)));
    for (const t of tensors) {
      const gs = groupsOfTensor.get(t.id) ?? [];
      const groupText = gs.map((gi) => `#${gi + 1} ${groups[gi].kind}${groups[gi].members[0].tensor.id === t.id ? ' (kept)' : ''}`).join(', ');
      const link = sources.get(t);
      const from = link ? ` [= ${link.how === 'exact' ? '' : `${link.how} `}${link.source.name} of ${link.sourcePath.split(/[\\/]/).pop()}]` : '';
      const notes = `${t.role === 'sparse' ? ' [sparse]' : ''}${t.isGraphInput ? ' [graph input]' : ''}${from}`;
      const row = `${INDENT}${printable(t.id).padEnd(nameWidth)}  ${t.dtype.padEnd(8)}  ${`[${t.shape.join(', ')}]`.padEnd(14)}  ${formatBytes(t.byteLength).padStart(9)}${groupText ? `  ${groupText}` : ''}${notes}`;
      const line = push(row);
      tensorLines.set(t.id, line);
      mentions.push({ line, start: INDENT.length, end: INDENT.length + printable(t.id).length, tensorId: t.id });
    }
    push();
  };
  if (model.graph) {
    section('Initializers', model.tensors.filter((t) => t.role !== 'constant'));
    section('Constants', model.tensors.filter((t) => t.role === 'constant'));
  } else {
    section('Tensors', model.tensors);
  }
  for (const tie of model.ties) {
    for (const { tensor, stored } of tie.tied) if (!stored) push(`${INDENT}${tensor.name}  not stored: tied to ${tie.kept.name} by ${tie.tiedBy}`);
  }

  // Nodes, graph by graph (subgraphs after their parent).
  const readers = new Map<string, string>();
  for (const t of model.tensors) {
    for (const c of t.consumers) readers.set(`${c.graphPath}#${c.nodeIndex}#${c.inputIndex}`, t.id);
  }
  const renderGraph = (g: ModelGraph) => {
    push(g.path ? `Nodes of subgraph ${g.path}` : `Nodes (${g.nodes.length})`);
    g.nodes.forEach((n, ni) => {
      push(`${INDENT}${n.name || `(unnamed #${ni})`}  ${n.domain ? `${n.domain}.` : ''}${n.opType}`);
      let text = `${INDENT}${INDENT}in:  `;
      const spans: Array<{ start: number; end: number; tensorId: string }> = [];
      n.inputs.forEach((name, ii) => {
        if (ii > 0) text += ', ';
        const id = readers.get(`${g.path}#${ni}#${ii}`);
        const shown = printable(name);
        if (id) spans.push({ start: text.length, end: text.length + shown.length, tensorId: id });
        text += shown || '(none)';
      });
      const inLine = push(text);
      for (const s of spans) mentions.push({ line: inLine, ...s });
      push(`${INDENT}${INDENT}out: ${n.outputs.join(', ')}`);
    });
    push();
    for (const n of g.nodes) for (const sg of n.subgraphs) renderGraph(sg);
  };
  if (model.graph) renderGraph(model.graph.main);
  return { text: lines.join('\n'), tensorLines, mentions, groupLines, groupsOfTensor };
}

function countNodes(g: ModelGraph): number {
  return g.nodes.reduce((a, n) => a + 1 + n.subgraphs.reduce((b, sg) => b + countNodes(sg), 0), 0);
}

/** The mention under a cursor, if any. */
export function mentionAt(outline: OutlineText, line: number, character: number): TensorMention | undefined {
  return outline.mentions.find((m) => m.line === line && character >= m.start && character <= m.end);
}

export function tensorById(model: ModelFile, id: string): TensorRef | undefined {
  return model.tensors.find((t) => t.id === id);
}
