// One identity for a group (issue 12): the id the scan gives a group is what
// the webview, Problems, the outline's links and the apply command name, so
// it must survive a rescan of the unchanged model, be unique, and never match
// another group once the model changed.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { scanFiles } from '../../../extension/sharing/scan';
import { groupsOfIds } from '../../../extension/vscode/core';

const corpus = path.join(__dirname, '../../fixtures/corpus');

test('group ids: the same on a rescan, unique in a scan, carried by --json', async () => {
  const files = [path.join(corpus, 't5-tiny-split'), path.join(corpus, 'bert-tiny-mlm.onnx')];
  const a = await scanFiles(files, { minBytes: 0 });
  const b = await scanFiles(files, { minBytes: 0 });
  assert.ok(a.groups.length > 10);
  assert.deepEqual(b.groups.map((g) => g.id), a.groups.map((g) => g.id));
  assert.equal(new Set(a.groups.map((g) => g.id)).size, a.groups.length);
  for (const g of a.groups) assert.match(g.id, new RegExp(`^${g.kind}-[0-9a-f]{12}$`));
  // The picked groups come back by id, in the order asked for.
  const picked = [a.groups[3]!.id, a.groups[0]!.id];
  assert.deepEqual(groupsOfIds(b.groups, picked).map((g) => g.id), picked);
});

test('a stale group id (the model changed since the link was made) is an error, never another group', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-ids-'));
  try {
    const file = path.join(dir, 'm.onnx');
    fs.copyFileSync(path.join(corpus, 'bert-tiny-mlm.onnx'), file);
    const before = await scanFiles([file]);
    const id = before.groups[0]!.id;
    // Another model under the same name: its groups are other groups.
    fs.copyFileSync(path.join(corpus, 'siamese-cnn-dynamo.onnx'), file);
    fs.copyFileSync(path.join(corpus, 'siamese-cnn-dynamo.onnx.data'), path.join(dir, 'siamese-cnn-dynamo.onnx.data'));
    const after = await scanFiles([file]);
    assert.ok(after.groups.length > 0);
    assert.ok(!after.groups.some((g) => g.id === id));
    assert.throws(() => groupsOfIds(after.groups, [id]), new RegExp(`sharing group ${id} is no longer among the model's findings`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
