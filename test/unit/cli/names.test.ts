// Names from a model reach terminals, Problems and Markdown: control
// characters in them are shown as escapes, never sent raw (issue 13, defect
// 7); names that are not UTF-8 are refused, since a rewrite could not keep
// them exactly (defect 8).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DT, Msg, floatRaw, graph, model, node, tensorProto, valueInfo, writeModel } from '../model/onnx/onnxBuilder';
import { describeGroup } from '../../../extension/sharing/groupText';
import { renderMarkdownReport } from '../../../extension/sharing/markdownReport';
import { renderOutline } from '../../../extension/sharing/outline';
import { scanFiles } from '../../../extension/sharing/scan';

const root = path.join(__dirname, '../../..');
const cli = path.join(root, 'dist/cli.js');

function cliRun(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: String(r.stdout), err: String(r.stderr) };
}

/** Two identical 16x16 initializers, `a` and `b` named as given, each read by a MatMul. */
function copyModel(dir: string, a: string | Uint8Array, b: string): string {
  const w = floatRaw(Array.from({ length: 256 }, (_, i) => Math.sin(i)));
  const named = (n: string | Uint8Array) => (typeof n === 'string' ? tensorProto(n, DT.FLOAT, [16, 16]) : new Msg().varint(1, 16).varint(1, 16).varint(2, DT.FLOAT).bytes(8, n));
  const aName = typeof a === 'string' ? a : Buffer.from(a).toString('latin1');
  const g = graph({
    nodes: [node('MatMul', ['x', aName], ['y1']), node('MatMul', ['x', b], ['y2'])],
    initializers: [named(a).bytes(9, w), named(b).bytes(9, w)],
    inputs: [valueInfo('x', DT.FLOAT, [1, 16])],
    outputs: [valueInfo('y1', DT.FLOAT, [1, 16]), valueInfo('y2', DT.FLOAT, [1, 16])],
  });
  return writeModel(dir, 'names.onnx', g);
}

const RAW = /[\u0000-\u0008\u000b-\u001f\u007f]/;

test('7. ANSI escapes, newlines and NULs in names are escaped in scan, apply, the report, Problems text and the outline', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'names-'));
  try {
    const evil = 'w\u001b]0;pwned\u0007\u001b[2J\nsecond line\u0000';
    const file = copyModel(dir, evil, 'plain');
    const scan = cliRun(['scan', file]);
    assert.equal(scan.code, 0, scan.err);
    assert.doesNotMatch(scan.out, RAW, 'no raw control characters in scan output');
    assert.ok(scan.out.includes('\\u001b]0;pwned'), scan.out);
    // The group is still one line of the table.
    assert.equal(scan.out.split('\n').filter((l) => l.includes('pwned')).length, 1);
    const apply = cliRun(['apply', file, '-o', path.join(dir, 'out.onnx')]);
    assert.equal(apply.code, 0, apply.err);
    assert.doesNotMatch(apply.out, RAW);
    const report = await scanFiles([file]);
    const g = report.groups.find((x) => x.kind === 'exact')!;
    assert.doesNotMatch(describeGroup(g), RAW);
    assert.doesNotMatch(renderMarkdownReport(report), RAW);
    const outline = renderOutline(report.models[0]!, report);
    assert.doesNotMatch(outline.text, RAW);
    // Hover spans point at the escaped name as shown.
    const row = outline.text.split('\n')[outline.tensorLines.get(g.members.find((m) => m.tensor.name === evil)?.tensor.id ?? evil)!]!;
    const mention = outline.mentions.find((m) => m.tensorId === evil && outline.text.split('\n')[m.line] === row)!;
    assert.equal(row.slice(mention.start, mention.end), 'w\\u001b]0;pwned\\u0007\\u001b[2J\\u000asecond line\\u0000');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('7. an error quoting a name with a newline stays one line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'names-'));
  try {
    // A tensor whose data is missing: the reader's error quotes its name.
    const t = tensorProto('bad\nname\u001b[31m', DT.FLOAT, [4]);
    fs.writeFileSync(path.join(dir, 'm.onnx'), model(graph({ initializers: [t] })).encode());
    const r = cliRun(['scan', path.join(dir, 'm.onnx')]);
    assert.equal(r.code, 2);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.doesNotMatch(r.err.trimEnd(), RAW);
    assert.match(r.err, /bad\\u000aname\\u001b\[31m/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('8. a name that is not valid UTF-8 is refused with the byte offset (a rewrite could not keep it exactly)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'names-'));
  try {
    const file = copyModel(dir, new Uint8Array([0x77, 0xff, 0xfe]), 'plain');
    for (const cmd of [['scan', file], ['apply', file, '-o', path.join(dir, 'out.onnx')]]) {
      const r = cliRun(cmd);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, /names\.onnx: onnx: .* is not valid UTF-8 \(ONNX names must be\).* \(at byte \d+\)/);
    }
    assert.deepEqual(fs.readdirSync(dir), ['names.onnx'], 'nothing written');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
