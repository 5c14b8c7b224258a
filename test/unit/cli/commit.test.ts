// apply's writes are all or nothing, end to end (issue 13, defects 9, 10,
// 12): a failure injected at every write and rename point leaves the input
// unchanged and either the previous output or none, never a partial one; a
// signal mid-write leaves no hidden temp file; an output replaced by another
// process while apply verifies it is reported, not vouched for; an existing
// output needs --force; a 254-character output name works.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applySharing } from '../../../extension/sharing/apply';
import { faults, type FaultPoint } from '../../../extension/io/atomicWrite';

const root = path.join(__dirname, '../../..');
const cli = path.join(root, 'dist/cli.js');
const corpus = path.join(root, 'test/fixtures/corpus');

function scratch(...files: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'commit-'));
  for (const f of files) fs.copyFileSync(path.join(corpus, f), path.join(dir, f));
  return dir;
}

/** name -> sha256 of every file in `dir`, hidden ones included. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of fs.readdirSync(dir).sort()) out[n] = createHash('sha256').update(fs.readFileSync(path.join(dir, n))).digest('hex');
  return out;
}

const POINTS: FaultPoint[] = ['open', 'write', 'sync', 'aside', 'rename'];

for (const [model, data] of [['bert-tiny-mlm.onnx', undefined], ['siamese-cnn-dynamo.onnx', 'siamese-cnn-dynamo.onnx.data']] as const) {
  test(`9. ${model}${data ? ' (external data)' : ''}: a failure at every write and rename point leaves the previous output or none, never a partial one`, async () => {
    const dir = scratch(model, ...(data ? [data] : []));
    try {
      const input = path.join(dir, model);
      const output = path.join(dir, 'out.onnx');
      const pristine = snapshot(dir);
      let cases = 0;
      for (const previous of [false, true]) {
        if (previous) await applySharing(input, { output, minBytes: 0 }); // an earlier, good output
        const before = snapshot(dir);
        const targets = data ? [`${output}.data`, output] : [output];
        for (const point of POINTS) {
          for (const target of targets) {
            if (point === 'aside' && !previous) continue; // nothing to move aside
            faults.at = (p, t) => { if (p === point && path.resolve(t) === path.resolve(target)) throw new Error(`injected at ${p} ${path.basename(t)}`); };
            try {
              await assert.rejects(applySharing(input, { output, minBytes: 0, force: true }), /injected at/);
            } finally {
              faults.at = undefined;
            }
            cases++;
            assert.deepEqual(snapshot(dir), before, `${point} of ${path.basename(target)}, ${previous ? 'over an earlier output' : 'no earlier output'}: the folder is as it was`);
          }
        }
      }
      // The input never changed.
      const now = snapshot(dir);
      for (const n of Object.keys(pristine)) assert.equal(now[n], pristine[n], n);
      assert.ok(cases >= (data ? 18 : 9), `${cases} injected failures`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('12. an output replaced by another process while apply verifies it is reported, not vouched for', async () => {
  const dir = scratch('bert-tiny-mlm.onnx');
  try {
    const output = path.join(dir, 'out.onnx');
    faults.at = (point, target) => {
      // Another apply (or anything) renames its own file over ours right after our commit.
      if (point === 'committed') { fs.writeFileSync(`${target}.other`, 'not ours'); fs.renameSync(`${target}.other`, target); }
    };
    try {
      await assert.rejects(applySharing(path.join(dir, 'bert-tiny-mlm.onnx'), { output }), /was replaced by another process while apply checked it|out\.onnx/);
    } finally {
      faults.at = undefined;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('12. an existing output is refused without --force and replaced with it; a 254-character output name works', () => {
  assert.ok(fs.existsSync(cli), 'dist/cli.js exists: run `npm run build` first');
  const dir = scratch('bert-tiny-mlm.onnx');
  try {
    const input = path.join(dir, 'bert-tiny-mlm.onnx');
    const output = path.join(dir, 'out.onnx');
    fs.writeFileSync(output, 'precious');
    const refused = spawnSync(process.execPath, [cli, 'apply', input, '-o', output], { encoding: 'utf8' });
    assert.equal(refused.status, 2, refused.stdout);
    assert.match(refused.stderr, /out\.onnx: already exists: choose another output, or allow replacing it \(the CLI's --force\)/);
    assert.equal(fs.readFileSync(output, 'utf8'), 'precious');
    const forced = spawnSync(process.execPath, [cli, 'apply', input, '-o', output, '--force'], { encoding: 'utf8' });
    assert.equal(forced.status, 0, forced.stderr);
    assert.notEqual(fs.readFileSync(output, 'utf8').slice(0, 8), 'precious');
    const long = path.join(dir, `${'m'.repeat(249)}.onnx`);
    assert.equal(path.basename(long).length, 254);
    const r = spawnSync(process.execPath, [cli, 'apply', input, '-o', long], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(fs.existsSync(long));
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('.')), [], 'no temp file left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('10. SIGINT or SIGTERM in the middle of a write removes the hidden temp file', async () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'signal-'));
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'signalChild.ts'), path.join(dir, 'out.bin')], { cwd: root });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('started')) resolve(); });
        child.on('exit', () => reject(new Error(`exited before writing: ${stderr}`)));
      });
      assert.equal(fs.readdirSync(dir).filter((n) => n.startsWith('.')).length, 1, 'a temp file is being written');
      child.kill(signal);
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      assert.equal(code, signal === 'SIGINT' ? 130 : 143, stderr);
      assert.match(stderr, new RegExp(`stopped by ${signal}; unfinished files were removed`));
      assert.deepEqual(fs.readdirSync(dir), [], 'no temp file, no output');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
