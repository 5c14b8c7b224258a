// Opening a big export in a real VS Code (issue 11): code-server and
// Chromium through the e2e harness. It opens a corpus model, then a
// generated 50,000-operator export with dynamo-style flat names whose module
// paths are only in each node's `pkg.torch.onnx.name_scopes`. Printed: the
// time from Quick Open to the graph being interactive for each, the nodes
// drawn collapsed, and the time to expand all. The targets: open
// within 2x the corpus model, a few hundred nodes collapsed, and expand all
// within 3x that open time. Figures only.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchContext } from './context';
import { writeDynamoExport } from '../test/e2e/dynamoExport';
import { openModelEditor, skipReason, startSession } from '../test/e2e/harness';
import { untilPainted, type Painted } from '../test/webview/paint';

const CORPUS_MODEL = 'bert-tiny-mlm-trained.onnx';

export default async function editorScale(ctx: BenchContext): Promise<void> {
  const skip = skipReason();
  if (skip) { ctx.log(`skipped: ${skip}`); return; }
  const s = await startSession({ files: [CORPUS_MODEL] });
  try {
    const { file, operators } = writeDynamoExport(s.workspace, 'dynamo-50k.onnx');
    ctx.log(`generated ${path.basename(file)}: ${operators} operators, ${(fs.statSync(file).size / 1e6).toFixed(1)} MB, scopes only in name_scopes`);
    const corpus = await openModelEditor(s.page, CORPUS_MODEL);
    ctx.log(`${CORPUS_MODEL}: open ${corpus.seconds.toFixed(1)} s, ${corpus.drawn} nodes drawn`);
    const big = await openModelEditor(s.page, path.basename(file));
    const t = await big.frame.evaluate(() => window.weightSharingView!.app.timings);
    ctx.log(`  in the webview: unpack ${t.unpackMs?.toFixed(0)} ms, view model ${t.modelMs?.toFixed(0)} ms, layout ${t.layoutMs?.toFixed(0)} ms, set-up ${t.setupMs?.toFixed(0)} ms, `
      + `message to interactive ${(t.interactive! - t.received! + (t.unpackMs ?? 0)).toFixed(0)} ms; before the message (host, worker, webview load): ${(big.seconds * 1000 - (t.interactive! - t.received! + (t.unpackMs ?? 0))).toFixed(0)} ms`);
    ctx.log(`${path.basename(file)}: open ${big.seconds.toFixed(1)} s (${(big.seconds / corpus.seconds).toFixed(2)}x the corpus model; target <= 2x), ${big.drawn} nodes drawn collapsed`);
    const all = await big.frame.evaluate(untilPainted('expandAll()')) as Painted;
    ctx.log(`expand all: ${(all.ms / 1000).toFixed(1)} s to paint ${all.drawn} nodes, ${all.held} of them held near the view (${(all.ms / 1000 / big.seconds).toFixed(2)}x the open time; target <= 3x)`);
    ctx.record('editorScale', { corpus: { seconds: corpus.seconds, drawn: corpus.drawn }, big: { seconds: big.seconds, drawn: big.drawn }, expandAll: all });
  } finally {
    await s.close();
  }
}
