// The safetensors reader (one file, or a Hugging Face folder as ONE model)
// against the corpus's reference facts (computed by an independent reader,
// not by this project): with minBytes 0 the exact groups equal the
// manifest's, the only other kind is `tied`, and config.json's embedding tie
// is reported for the output embedding save_pretrained dropped. Then broken
// folders (each one ModelFormatError naming the file) and config.json
// variants, built by copying the corpus fixtures into temp folders.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModel } from '../../../../extension/model/registry';
import { encodeSafetensorsHeader, writerOrder } from '../../../../extension/model/safetensors/header';
import { ModelFormatError, type ModelFile } from '../../../../extension/model/types';
import { scanFiles } from '../../../../extension/sharing/scan';
import { toJson } from '../../../../extension/sharing/report';
import type { ScanReport } from '../../../../extension/sharing/types';

const CORPUS = path.join(__dirname, '../../../fixtures/corpus');
const INDEX = 'model.safetensors.index.json';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-st-reader-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface ManifestEntry {
  file: string;
  format: string;
  files?: string[];
  torch_tied?: string[][];
  facts: { tensors: number; tensor_bytes: number; exact_duplicate_groups: string[][] };
}
const manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as ManifestEntry[];
const entries = manifest.filter((e) => e.format.startsWith('safetensors'));
const entry = (file: string): ManifestEntry => {
  const e = entries.find((x) => x.file === file);
  assert.ok(e, `manifest entry ${file}`);
  return e;
};

/** Groups as sorted name lists, sorted: comparable as sets of sets. */
const normalise = (gs: string[][]): string[][] => gs.map((g) => [...g].sort()).sort((a, b) => a.join('\n').localeCompare(b.join('\n')));

function exactGroups(report: ScanReport): string[][] {
  return normalise(report.groups.filter((g) => g.kind === 'exact').map((g) => g.members.map((m) => m.tensor.name)));
}

function tiedGroups(report: ScanReport) {
  return report.groups.filter((g) => g.kind === 'tied');
}

let serial = 0;
/** A copy of a corpus folder in a fresh temp folder; returns the copy's path. */
function copyOf(rel: string): string {
  const dir = path.join(tmp, `case-${serial++}`);
  fs.mkdirSync(dir);
  const to = path.join(dir, path.basename(rel));
  fs.cpSync(path.join(CORPUS, rel), to, { recursive: true });
  return to;
}

function readIndex(dir: string): { metadata?: unknown; weight_map: Record<string, string> } {
  return JSON.parse(fs.readFileSync(path.join(dir, INDEX), 'utf8')) as { weight_map: Record<string, string> };
}

function writeIndex(dir: string, json: unknown): void {
  fs.writeFileSync(path.join(dir, INDEX), JSON.stringify(json, null, 2));
}

/** A valid safetensors file with float32 tensors of the given element counts (bytes 1, 2, 3...). */
function writeShard(file: string, tensors: Record<string, number>): void {
  const list = Object.entries(tensors).map(([name, n]) => ({ name, stDtype: 'F32', shape: [n] })).sort(writerOrder);
  let at = 0;
  const spans = list.map((t) => {
    const e = { ...t, begin: at, end: at + t.shape[0]! * 4 };
    at = e.end;
    return e;
  });
  const data = Buffer.alloc(at);
  for (let i = 0; i < at; i++) data[i] = i & 0xff;
  fs.writeFileSync(file, Buffer.concat([encodeSafetensorsHeader({ format: 'pt' }, spans), data]));
}

/** The one ModelFormatError opening `target` throws, checked to name `file`. */
async function formatError(target: string, file: string, problem: RegExp): Promise<ModelFormatError> {
  let caught: unknown;
  try {
    await openModel(target);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof ModelFormatError, `expected a ModelFormatError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(caught.file, path.resolve(file), 'names the file at fault');
  assert.ok(caught.message.startsWith(`${path.resolve(file)}: safetensors: `), caught.message);
  assert.match(caught.problem, problem);
  assert.doesNotMatch(caught.message, /\n/, 'one line');
  return caught;
}

// --- the corpus ---------------------------------------------------------------

test('the corpus has the safetensors entries these tests read', () => {
  assert.deepEqual(entries.map((e) => e.file).sort(), [
    'gpt2-tiny-hf/model.safetensors', 'gpt2-tiny-sharded/', 'gpt2-tiny-untied.safetensors', 'gpt2-trained-neardup.safetensors',
  ]);
});

/** Every way to open each entry: the manifest's path, plus the folder for a folder's file and the index for a sharded folder. */
const targets: Array<{ target: string; facts: ManifestEntry }> = [
  { target: 'gpt2-tiny-untied.safetensors', facts: entry('gpt2-tiny-untied.safetensors') },
  { target: 'gpt2-trained-neardup.safetensors', facts: entry('gpt2-trained-neardup.safetensors') },
  { target: 'gpt2-tiny-hf', facts: entry('gpt2-tiny-hf/model.safetensors') },
  { target: 'gpt2-tiny-hf/model.safetensors', facts: entry('gpt2-tiny-hf/model.safetensors') },
  { target: 'gpt2-tiny-sharded', facts: entry('gpt2-tiny-sharded/') },
  { target: `gpt2-tiny-sharded/${INDEX}`, facts: entry('gpt2-tiny-sharded/') },
];

for (const { target, facts: e } of targets) {
  test(`${target}: exact groups, tensor count and bytes equal the reference facts; only exact and tied groups`, async () => {
    const report = await scanFiles([path.join(CORPUS, target)], { minBytes: 0 });
    assert.equal(report.models.length, 1, 'one model');
    const model = report.models[0]!;
    assert.equal(model.format, 'safetensors');
    assert.deepEqual(model.warnings, []);
    assert.deepEqual(exactGroups(report), normalise(e.facts.exact_duplicate_groups), 'exact groups: none missing, none extra');
    assert.deepEqual([...new Set(report.groups.map((g) => g.kind))].filter((k) => k !== 'exact' && k !== 'tied'), [], 'no other kinds');
    assert.equal(model.tensors.length, e.facts.tensors, 'facts.tensors');
    assert.equal(model.tensors.reduce((n, t) => n + t.byteLength, 0), e.facts.tensor_bytes, 'facts.tensor_bytes');
    for (const g of report.groups) {
      assert.equal(g.crossFile, false, 'a checkpoint (sharded or not) is one model: no cross-file group');
      assert.ok(g.members.every((m) => m.path === model.path));
    }
    const json = toJson(report);
    assert.equal(json.models.length, 1);
    assert.equal(json.models[0]!.tensors, e.facts.tensors);
    assert.equal(json.models[0]!.tensorBytes, e.facts.tensor_bytes);
  });
}

for (const target of ['gpt2-tiny-hf', 'gpt2-tiny-hf/model.safetensors', 'gpt2-tiny-sharded', `gpt2-tiny-sharded/${INDEX}`]) {
  test(`${target}: one tied group from config.json: transformer.wte.weight stored, lm_head.weight not`, async () => {
    const report = await scanFiles([path.join(CORPUS, target)], { minBytes: 0 });
    const tied = tiedGroups(report);
    assert.equal(tied.length, 1, JSON.stringify(tied.map((g) => g.members.map((m) => m.tensor.name))));
    const g = tied[0]!;
    assert.equal(g.tiedBy, 'config');
    assert.equal(g.bytesSaved, 0);
    assert.deepEqual(g.members.map((m) => [m.tensor.name, m.stored]), [['transformer.wte.weight', true], ['lm_head.weight', false]]);
    // The tie is the one PyTorch held (manifest torch_tied), and lm_head is not a stored tensor.
    assert.deepEqual(normalise(entry('gpt2-tiny-hf/model.safetensors').torch_tied!), normalise([['transformer.wte.weight', 'lm_head.weight']]));
    const model = report.models[0]!;
    assert.ok(!model.tensors.some((t) => t.name === 'lm_head.weight'));
    const lm = g.members[1]!.tensor;
    assert.equal(lm.data.kind, 'unavailable');
    assert.deepEqual([lm.dtype, lm.shape], [g.members[0]!.tensor.dtype, g.members[0]!.tensor.shape]);

    const json = toJson(report).groups.filter((x) => x.kind === 'tied');
    assert.equal(json.length, 1);
    assert.equal(json[0]!.tiedBy, 'config');
    assert.deepEqual(json[0]!.tensors.map((t) => ({ name: t.name, stored: t.stored })), [
      { name: 'transformer.wte.weight', stored: true },
      { name: 'lm_head.weight', stored: false },
    ]);
    assert.ok(model.facts.some(([k, v]) => k === 'tie_word_embeddings' && v.startsWith('true')), JSON.stringify(model.facts));
  });
}

test('gpt2-tiny-untied.safetensors: no config.json beside it, so no config tie (lm_head is stored, an exact copy)', async () => {
  const report = await scanFiles([path.join(CORPUS, 'gpt2-tiny-untied.safetensors')], { minBytes: 0 });
  assert.deepEqual(tiedGroups(report), []);
  assert.deepEqual(report.models[0]!.ties, []);
  assert.ok(!report.models[0]!.facts.some(([k]) => k === 'tie_word_embeddings'));
  assert.ok(exactGroups(report).some((g) => g.join() === 'lm_head.weight,transformer.wte.weight'));
});

test('the sharded folder and its index opened as a file are the same one model: same files, same tensors, same groups', async () => {
  const byFolder = await scanFiles([path.join(CORPUS, 'gpt2-tiny-sharded')], { minBytes: 0 });
  const byIndex = await scanFiles([path.join(CORPUS, 'gpt2-tiny-sharded', INDEX)], { minBytes: 0 });
  const single = await scanFiles([path.join(CORPUS, 'gpt2-tiny-hf')], { minBytes: 0 });
  for (const r of [byFolder, byIndex]) {
    assert.equal(r.models.length, 1, 'one model, not five');
    const m = r.models[0]!;
    assert.deepEqual(m.files.map((f) => path.basename(f)).sort(), entry('gpt2-tiny-sharded/').files!.filter((f) => f !== 'generation_config.json').sort());
    assert.equal(new Set(m.tensors.map((t) => t.data.kind === 'range' ? t.data.file : '')).size, 5, 'tensors come from five shards');
  }
  const shape = (r: ScanReport) => r.groups.map((g) => [g.kind, g.tiedBy ?? '', g.crossFile, g.bytesSaved, ...g.members.map((m) => `${m.tensor.name}:${m.stored}`).sort()].join(' '));
  assert.deepEqual(shape(byIndex), shape(byFolder));
  // save_pretrained wrote the same weights once and in five shards: the same groups.
  assert.deepEqual(shape(byFolder).sort(), shape(single).sort());
});

// --- broken folders ------------------------------------------------------------

test('folder error: a shard the index names is missing', async () => {
  const dir = copyOf('gpt2-tiny-sharded');
  fs.rmSync(path.join(dir, 'model-00003-of-00005.safetensors'));
  await formatError(dir, path.join(dir, INDEX), /^shard 'model-00003-of-00005\.safetensors' \(holding 6 tensors by the index\) is missing$/);
  await formatError(path.join(dir, INDEX), path.join(dir, INDEX), /is missing/);
});

test('folder error: one tensor in two shards', async () => {
  const dir = copyOf('gpt2-tiny-sharded');
  // A sixth shard holding a copy of transformer.ln_f.weight (which shard 5 holds) and a tensor of its own.
  writeShard(path.join(dir, 'model-00006-of-00006.safetensors'), { 'transformer.ln_f.weight': 64, 'extra.weight': 2 });
  const index = readIndex(dir);
  index.weight_map['extra.weight'] = 'model-00006-of-00006.safetensors';
  writeIndex(dir, index);
  await formatError(dir, path.join(dir, 'model-00006-of-00006.safetensors'), /^tensor 'transformer\.ln_f\.weight' is also in shard 'model-00005-of-00005\.safetensors'$/);
});

test('folder error: a shard holds a tensor the index does not list', async () => {
  const dir = copyOf('gpt2-tiny-sharded');
  const index = readIndex(dir);
  assert.equal(index.weight_map['transformer.ln_f.bias'], 'model-00005-of-00005.safetensors');
  delete index.weight_map['transformer.ln_f.bias'];
  writeIndex(dir, index);
  await formatError(dir, path.join(dir, 'model-00005-of-00005.safetensors'), /^tensor 'transformer\.ln_f\.bias' is not listed in model\.safetensors\.index\.json$/);
});

test('folder error: the index lists a name under a shard that does not hold it', async () => {
  const dir = copyOf('gpt2-tiny-sharded');
  const index = readIndex(dir);
  index.weight_map['ghost.weight'] = 'model-00002-of-00005.safetensors';
  writeIndex(dir, index);
  await formatError(dir, path.join(dir, INDEX), /^'ghost\.weight' is listed under shard 'model-00002-of-00005\.safetensors', which does not hold it$/);

  // A stored tensor listed under another existing shard: shard 1 (which held only it) is then not
  // listed at all, and shard 2, read, does not hold it.
  const dir2 = copyOf('gpt2-tiny-sharded');
  const index2 = readIndex(dir2);
  index2.weight_map['transformer.wte.weight'] = 'model-00002-of-00005.safetensors';
  writeIndex(dir2, index2);
  await formatError(dir2, path.join(dir2, INDEX), /^'transformer\.wte\.weight' is listed under shard 'model-00002-of-00005\.safetensors', which does not hold it$/);
});

test('folder error: a shard name that leads out of the folder (../x, absolute) is refused before anything outside is read', async () => {
  for (const shard of ['../x.safetensors', 'ABS', 'sub/x.safetensors', '..', '.']) {
    const dir = copyOf('gpt2-tiny-sharded');
    const outside = path.join(path.dirname(dir), 'x.safetensors');
    // A valid file where the name points: were it opened, the model would load (or name that file).
    writeShard(outside, { 'transformer.wte.weight': 4 });
    const name = shard === 'ABS' ? outside : shard;
    const index = readIndex(dir);
    index.weight_map['transformer.wte.weight'] = name;
    writeIndex(dir, index);
    const err = await formatError(dir, path.join(dir, INDEX), /^weight_map: shard '.*' of 'transformer\.wte\.weight' is not a file name in the checkpoint's folder$/);
    assert.ok(err.problem.includes(`'${name}'`), err.problem);
    assert.doesNotMatch(err.message, /x\.safetensors: safetensors:/, 'the outside file is not what is reported');
  }
});

test('folder error: the index is not JSON, not an object, or has no weight_map', async () => {
  const cases: Array<[string, RegExp]> = [
    ['{ "weight_map": ', /^not valid JSON: /],
    ['', /^not valid JSON: /],
    ['[1, 2]', /^not a JSON object$/],
    ['{"metadata": {"total_size": 1}}', /^no "weight_map" object$/],
    ['{"weight_map": ["a"]}', /^no "weight_map" object$/],
    ['{"weight_map": {"transformer.wte.weight": 7}}', /^weight_map: 'transformer\.wte\.weight' maps to 7, not a shard file name$/],
  ];
  for (const [text, problem] of cases) {
    const dir = copyOf('gpt2-tiny-sharded');
    fs.writeFileSync(path.join(dir, INDEX), text);
    await formatError(dir, path.join(dir, INDEX), problem);
    await formatError(path.join(dir, INDEX), path.join(dir, INDEX), problem);
  }
});

test('folder error: a folder with neither model.safetensors nor an index is not one model', async () => {
  const dir = copyOf('gpt2-tiny-hf');
  fs.renameSync(path.join(dir, 'model.safetensors'), path.join(dir, 'weights.safetensors'));
  await assert.rejects(openModel(dir), (e: unknown) => e instanceof ModelFormatError && e.file === dir && /not one model/.test(e.problem));
});

// --- config.json variants ---------------------------------------------------------

async function withConfig(config: string | Record<string, unknown>, folder = 'gpt2-tiny-hf'): Promise<ModelFile> {
  const dir = copyOf(folder);
  const file = path.join(dir, 'config.json');
  const base = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (typeof config === 'string') fs.writeFileSync(file, config);
  else {
    const merged: Record<string, unknown> = { ...base, ...config };
    for (const [k, v] of Object.entries(config)) if (v === undefined) delete merged[k];
    fs.writeFileSync(file, JSON.stringify(merged, null, 2));
  }
  return openModel(dir);
}

const configTies = (m: ModelFile) => m.ties.filter((t) => t.tiedBy === 'config').map((t) => [t.kept.name, ...t.tied.map((x) => x.tensor.name)]);

test('config.json: tie_word_embeddings false: no tie', async () => {
  for (const folder of ['gpt2-tiny-hf', 'gpt2-tiny-sharded']) {
    const m = await withConfig({ tie_word_embeddings: false }, folder);
    assert.deepEqual(configTies(m), [], folder);
    assert.deepEqual(m.warnings, []);
    assert.ok(m.facts.some(([k, v]) => k === 'tie_word_embeddings' && v === 'false (config.json)'), JSON.stringify(m.facts));
  }
});

test('config.json: no tie_word_embeddings and model_type llama: no tie (Llama defaults to false)', async () => {
  const m = await withConfig({ tie_word_embeddings: undefined, model_type: 'llama' });
  assert.deepEqual(configTies(m), []);
  assert.ok(m.facts.some(([k, v]) => k === 'tie_word_embeddings' && v === 'false (default for llama)'), JSON.stringify(m.facts));
  const asLlama = await withConfig({ tie_word_embeddings: undefined, model_type: 'llama', architectures: ['LlamaForCausalLM'] });
  assert.deepEqual(configTies(asLlama), []);
});

test('config.json: no tie_word_embeddings and model_type gpt2: tied (the PretrainedConfig default)', async () => {
  const m = await withConfig({ tie_word_embeddings: undefined });
  assert.deepEqual(configTies(m), [['transformer.wte.weight', 'lm_head.weight']]);
  assert.ok(m.facts.some(([k, v]) => k === 'tie_word_embeddings' && v === 'true (default for gpt2)'), JSON.stringify(m.facts));
});

test('config.json: an architecture without an LM head (GPT2Model): no tie', async () => {
  const m = await withConfig({ architectures: ['GPT2Model'] });
  assert.deepEqual(configTies(m), []);
  assert.deepEqual(m.warnings, []);
  // The same file with an LM head class ties again (the case is not vacuous).
  assert.deepEqual(configTies(await withConfig({ architectures: ['GPT2LMHeadModel'] })), [['transformer.wte.weight', 'lm_head.weight']]);
});

test('config.json: not valid JSON: a warning in ModelFile.warnings, no tie, no crash', async () => {
  for (const text of ['{ "tie_word_embeddings": tru', '', '\u0000\u0001']) {
    const m = await withConfig(text);
    assert.deepEqual(configTies(m), []);
    assert.equal(m.warnings.length, 1, JSON.stringify(m.warnings));
    assert.match(m.warnings[0]!, /config\.json.*not valid JSON/);
    assert.equal(m.tensors.length, 28, 'the weights are still read');
    const report = await scanFiles([m.path], { minBytes: 0 });
    assert.deepEqual(toJson(report).models[0]!.warnings, m.warnings, 'the warning reaches the JSON report');
  }
});

test('config.json beside a single file not named model.safetensors is not read', async () => {
  const dir = copyOf('gpt2-tiny-hf');
  fs.renameSync(path.join(dir, 'model.safetensors'), path.join(dir, 'other.safetensors'));
  const m = await openModel(path.join(dir, 'other.safetensors'));
  assert.deepEqual(m.ties, []);
  assert.deepEqual(m.files.map((f) => path.basename(f)), ['other.safetensors']);
});
