// `scan --format sarif`: SARIF 2.1.0 that code-scanning dashboards accept,
// validated against the OASIS schema (as published with Microsoft's SARIF
// matchers), from the built CLI on corpus models.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import type * as Sarif from 'sarif';

const root = path.join(__dirname, '../../..');
const cli = path.join(root, 'dist/cli.js');
const corpus = path.join(root, 'test/fixtures/corpus');
const schema = JSON.parse(fs.readFileSync(require.resolve('@microsoft/sarif-matcher-utils/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8')) as object;

function sarif(...args: string[]): Sarif.Log {
  assert.ok(fs.existsSync(cli), 'dist/cli.js exists: run `npm run build` first');
  const r = spawnSync(process.execPath, [cli, 'scan', '--format', 'sarif', ...args], { cwd: corpus, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Sarif.Log;
}

function json(...args: string[]): { groups: Array<{ id: string; applicable: boolean; bytesSaved: number; kind: string }> } {
  const r = spawnSync(process.execPath, [cli, 'scan', '--json', ...args], { cwd: corpus, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('scan --format sarif: valid SARIF 2.1.0, one result per applicable group with its saving, rules per kind', () => {
  // The schema's language-tag pattern is not valid under the u flag.
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  addFormats(ajv); // uri, uri-reference, date-time are checked too
  const validate = ajv.compile(schema);
  const args = ['t5-tiny-split', 'bert-tiny-mlm.onnx', 'mlp-init-as-inputs.onnx', 'cond-branches.onnx'];
  const log = sarif(...args);
  assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
  const run = log.runs[0]!;
  const ids = run.tool.driver.rules!.map((r) => r.id);
  assert.deepEqual(ids, ['weight-sharing/exact', 'weight-sharing/transposed', 'weight-sharing/cast', 'weight-sharing/reshaped', 'weight-sharing/quantized']);

  // The same groups as --json's applicable ones: cross-file and pinned copies are not results.
  const applicable = json(...args).groups.filter((g) => g.applicable);
  assert.ok(applicable.length >= 3);
  assert.deepEqual(run.results!.map((r) => r.partialFingerprints!['weightSharingGroup/v1']), applicable.map((g) => g.id));
  for (const [i, r] of run.results!.entries()) {
    const g = applicable[i]!;
    assert.equal(r.ruleId, `weight-sharing/${g.kind}`);
    assert.equal(ids[r.ruleIndex!], r.ruleId);
    assert.match(r.message.text!, new RegExp(`\\(saves [^,]+, ${g.bytesSaved} bytes\\)`));
    for (const loc of r.locations!) {
      const art = loc.physicalLocation!.artifactLocation!;
      assert.equal(art.uriBaseId, 'SRCROOT');
      assert.ok(fs.existsSync(path.join(corpus, decodeURIComponent(art.uri!))), art.uri);
      assert.equal(run.artifacts![art.index!]!.location!.uri, art.uri);
      assert.ok(loc.logicalLocations![0]!.name);
    }
  }
  // cond-branches: w and w_copy, by name, the copy's record at its byte offset in the file.
  const cond = run.results!.find((r) => r.locations!.some((l) => l.physicalLocation!.artifactLocation!.uri === 'cond-branches.onnx'))!;
  assert.deepEqual(cond.locations!.map((l) => l.logicalLocations![0]!.name), ['w', 'w_copy']);
  assert.ok(cond.locations!.every((l) => typeof l.physicalLocation!.region?.byteOffset === 'number'));
});

test('scan --format: an unknown output format is a usage error naming the choices', () => {
  const r = spawnSync(process.execPath, [cli, 'scan', '--format', 'xml', 'bert-tiny-mlm.onnx'], { cwd: corpus, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--format takes text, json, sarif, not 'xml'/);
});
