// Memory stays bounded when a model's tensors sit in varint typed fields
// (issue 13, defect 6): each is under the per-tensor decode cap, but together
// they would have to be held in memory; past the model's decode budget the
// rest are left undecoded (not compared), with one warning.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DT, Msg, graph, model, node, tensorProto, valueInfo } from './onnxBuilder';
import { openOnnx, TOTAL_DECODE_CAP, INLINE_DECODE_CAP } from '../../../../extension/model/onnx/reader';

test('twelve int64_data tensors of 32 MiB canonical each: the first ones are decoded up to the budget, the rest are not, one warning', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'decode-budget-'));
  try {
    const elements = 4 << 20; // 4M int64 = 32 MiB canonical, stored as 4 MB of one-byte varints
    assert.ok(elements * 8 <= INLINE_DECODE_CAP);
    const packed = new Uint8Array(elements).fill(1); // varint 1, repeated
    const inits: Msg[] = [];
    const nodes: Msg[] = [];
    for (let i = 0; i < 12; i++) {
      inits.push(tensorProto(`t${i}`, DT.INT64, [elements]).bytes(7, packed)); // int64_data, packed
      nodes.push(node('Identity', [`t${i}`], [`y${i}`]));
    }
    const file = path.join(dir, 'varints.onnx');
    fs.writeFileSync(file, model(graph({ initializers: inits, nodes, outputs: [valueInfo('y0', DT.INT64, [elements])] })).encode());
    const before = process.memoryUsage().rss;
    const m = await openOnnx(file);
    const grown = process.memoryUsage().rss - before;
    const decoded = m.tensors.filter((t) => t.data.kind === 'inline');
    const skipped = m.tensors.filter((t) => t.data.kind === 'unavailable');
    assert.equal(decoded.length, Math.floor(TOTAL_DECODE_CAP / (elements * 8)));
    assert.equal(decoded.length + skipped.length, 12);
    assert.ok(skipped.every((t) => t.data.kind === 'unavailable' && /decode budget/.test(t.data.reason)));
    assert.equal(m.warnings.filter((w) => /decode/.test(w)).length, 1);
    assert.ok(grown < TOTAL_DECODE_CAP + (128 << 20), `memory grew by ${(grown / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
