// Bad input, table-driven: each case builds a broken file (mostly by damaging
// real corpus files), and the reader must reject it with exactly one
// ModelFormatError naming the file, the problem and (where it applies) the
// byte offset: never another kind of error, a hang, or a huge allocation.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openOnnx, readOnnxLayout } from '../../../../extension/model/onnx/reader';
import { openModel } from '../../../../extension/model/registry';
import { WireFile } from '../../../../extension/model/onnx/wire';
import { ModelFormatError } from '../../../../extension/model/types';
import { DT, Msg, attr, floatRaw, graph, model, node, tensorProto } from './onnxBuilder';

const CORPUS = path.join(__dirname, '../../../fixtures/corpus');
const GPT2 = path.join(CORPUS, 'gpt2-tiny.onnx');
const SIAMESE = path.join(CORPUS, 'siamese-cnn-dynamo.onnx');
const SIAMESE_DATA = 'siamese-cnn-dynamo.onnx.data';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-onnx-bad-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const gpt2 = fs.readFileSync(GPT2);
const gpt2Layout = readOnnxLayout(GPT2);
const gpt2Graph = gpt2Layout.graph;

interface Case {
  name: string;
  /** Writes the broken file(s) into `dir`; returns the model path. */
  make(dir: string): string;
  /** The problem the message must describe. */
  problem: RegExp;
  /** The byte offset the error must carry (a number), any offset (true), or none required (undefined). */
  offset?: number | true;
  /** Open through the registry instead of the ONNX reader directly. */
  viaRegistry?: boolean;
}

function write(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function patched(src: Buffer, at: number, bytes: number[]): Buffer {
  const b = Buffer.from(src);
  bytes.forEach((v, i) => { b[at + i] = v; });
  return b;
}

/** A copy of the external-data model and its data file, optionally changed. */
function siameseCopy(dir: string, change: { model?: (b: Buffer) => Buffer; data?: (b: Buffer) => Buffer | undefined } = {}): string {
  const m = fs.readFileSync(SIAMESE);
  const d = fs.readFileSync(path.join(CORPUS, SIAMESE_DATA));
  const data = change.data ? change.data(d) : d;
  if (data) write(dir, SIAMESE_DATA, data);
  return write(dir, 'siamese-cnn-dynamo.onnx', change.model ? change.model(m) : m);
}

/** Replaces every occurrence of an ASCII string by another of the same length (keeps all lengths valid). */
function replaceSameLength(b: Buffer, from: string, to: string): Buffer {
  assert.equal(from.length, to.length);
  const out = Buffer.from(b);
  let at = out.indexOf(from);
  assert.ok(at >= 0, `${from} occurs in the file`);
  while (at >= 0) {
    out.write(to, at, 'latin1');
    at = out.indexOf(from, at + 1);
  }
  return out;
}

/** The first main-graph initializer's data_type field (a varint holding 1 = float). */
function firstInitializerDataType(file: string): { valueOffset: number; tensorStart: number } {
  const layout = readOnnxLayout(file);
  const init = layout.graphFields.find((f) => f.field === 5);
  assert.ok(init);
  const w = new WireFile(file);
  try {
    const dt = [...w.nested(init, 'TensorProto')].find((f) => f.field === 2);
    assert.ok(dt && dt.lo === 1 && dt.length === 1, 'a float initializer with a one-byte data_type');
    return { valueOffset: dt.offset, tensorStart: init.start };
  } finally {
    w.close();
  }
}

/** Seeded bytes, so a failure is reproducible. */
function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    b[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return b;
}

const graphHeaderEnd = gpt2Graph.offset; // payload start of ModelProto.graph

const cases: Case[] = [
  { name: 'empty file', make: (d) => write(d, 'empty.onnx', new Uint8Array(0)), problem: /empty file/ },
  {
    name: 'truncated to one byte (inside the first varint)',
    make: (d) => write(d, 'cut1.onnx', gpt2.subarray(0, 1)),
    problem: /truncated varint/, offset: 1,
  },
  {
    name: 'truncated inside the graph field header',
    make: (d) => write(d, 'cut-header.onnx', gpt2.subarray(0, gpt2Graph.start + 2)),
    problem: /truncated length of field 7 in ModelProto/, offset: gpt2Graph.start + 1,
  },
  {
    name: 'truncated at half the file',
    make: (d) => write(d, 'cut-half.onnx', gpt2.subarray(0, gpt2.length >> 1)),
    problem: /field 7 of ModelProto claims \d+ bytes but only \d+ remain/, offset: gpt2Graph.start,
  },
  {
    name: 'truncated by one byte',
    make: (d) => write(d, 'cut-last.onnx', gpt2.subarray(0, gpt2.length - 1)),
    problem: /claims \d+ bytes but only \d+ remain|truncated/, offset: true,
  },
  {
    name: 'first tag flipped to a group wire type',
    make: (d) => write(d, 'group.onnx', patched(gpt2, 0, [0x0b])),
    problem: /unsupported group wire type 3 \(field 1\) in ModelProto/, offset: 0,
  },
  {
    name: 'first tag flipped to an invalid wire type',
    make: (d) => write(d, 'wire7.onnx', patched(gpt2, 0, [0x0f])),
    problem: /invalid wire type 7/, offset: 0,
  },
  {
    name: 'field number 0',
    make: (d) => write(d, 'field0.onnx', patched(gpt2, 0, [0x00])),
    problem: /invalid field number 0/, offset: 0,
  },
  {
    name: 'graph length replaced by a huge length (2 GiB - 1)',
    make: (d) => {
      // tag 0x3a, then a 5-byte length 0x7fffffff, then the original payload.
      const head = Buffer.from([0x3a, 0xff, 0xff, 0xff, 0xff, 0x07]);
      return write(d, 'huge-len.onnx', Buffer.concat([gpt2.subarray(0, gpt2Graph.start), head, gpt2.subarray(graphHeaderEnd)]));
    },
    problem: /field 7 of ModelProto claims 2147483647 bytes/, offset: gpt2Graph.start,
  },
  {
    name: 'overlong varint (11 bytes) for ir_version',
    make: (d) => write(d, 'overlong.onnx', Buffer.concat([Buffer.from([0x08]), Buffer.alloc(11, 0xff), Buffer.from([0x01]), gpt2.subarray(2)])),
    problem: /invalid varint in field 1 of ModelProto/, offset: 1,
  },
  {
    name: 'initializer data_type flipped from float to int64 (raw_data size mismatch)',
    make: (d) => {
      const { valueOffset } = firstInitializerDataType(GPT2);
      return write(d, 'dtype-flip.onnx', patched(gpt2, valueOffset, [7]));
    },
    problem: /tensor 'm\.transformer\.h\.0\.ln_1\.weight' \(int64 \[\d+\]\) needs \d+ bytes but its raw_data holds \d+/, offset: true,
  },
  {
    name: 'initializer data_type flipped to an unknown type',
    make: (d) => {
      const { valueOffset } = firstInitializerDataType(GPT2);
      return write(d, 'dtype-99.onnx', patched(gpt2, valueOffset, [99]));
    },
    problem: /data type 99 .*not support/, offset: firstInitializerDataType(GPT2).tensorStart,
  },
  { name: 'random bytes (seed 1)', make: (d) => write(d, 'random1.onnx', randomBytes(4096, 1)), problem: /./, offset: true },
  { name: 'random bytes (seed 2)', make: (d) => write(d, 'random2.onnx', randomBytes(65536, 2)), problem: /./, offset: true },
  {
    name: 'a text file named .onnx',
    make: (d) => write(d, 'readme.onnx', fs.readFileSync(path.join(CORPUS, 'README.md'))),
    problem: /./,
  },
  {
    name: 'a GGUF file opened through the registry',
    make: (d) => write(d, 'model.gguf', Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(28)])),
    problem: /GGUF version 0 is not one this reader knows/, viaRegistry: true,
  },
  {
    name: 'a file of no known format opened through the registry',
    make: (d) => write(d, 'notes.txt', Buffer.from('just some notes\n')),
    problem: /not a recognised model file/, viaRegistry: true,
  },
  {
    name: 'external data file missing',
    make: (d) => siameseCopy(d, { data: () => undefined }),
    problem: /external data file 'siamese-cnn-dynamo\.onnx\.data' not found/, offset: true,
  },
  {
    name: 'external data file cut short',
    make: (d) => siameseCopy(d, { data: (b) => b.subarray(0, b.length >> 1) }),
    problem: /external data \[\d+, \d+\) runs past the end of 'siamese-cnn-dynamo\.onnx\.data'/, offset: true,
  },
  {
    name: 'external data location escaping the model folder',
    make: (d) => siameseCopy(d, { model: (b) => replaceSameLength(b, SIAMESE_DATA, '../siamese-cnn-dynamo.o.data') }),
    problem: /location '\.\.\/siamese-cnn-dynamo\.o\.data' escapes the model's folder/, offset: true,
  },
  {
    name: 'external data location absolute',
    make: (d) => siameseCopy(d, { model: (b) => replaceSameLength(b, SIAMESE_DATA, '/etc/siamese-cnn-dynamo.data') }),
    problem: /location '\/etc\/siamese-cnn-dynamo\.data' is absolute/, offset: true,
  },
  {
    name: 'external data offset past the end',
    make: (d) => siameseCopy(d, { data: (b) => b.subarray(0, 8) }),
    problem: /external data (offset \d+ is past the end|\[\d+, \d+\) runs past the end)/, offset: true,
  },
  // Written from scratch.
  {
    name: 'absurd dimension count (1000 dims)',
    make: (d) => write(d, 'dims.onnx', model(graph({ initializers: [tensorProto('t', DT.FLOAT, Array(1000).fill(1))] })).encode()),
    problem: /has more than 64 dimensions/, offset: true,
  },
  {
    name: 'absurd packed dims (a 10 MB packed dims field)',
    make: (d) => write(d, 'dims-packed.onnx', model(graph({ initializers: [new Msg().bytes(1, Buffer.alloc(10 << 20, 1)).varint(2, 1).string(8, 't')] })).encode()),
    problem: /more than 64 dimensions/, offset: true,
  },
  {
    name: 'negative dimension',
    make: (d) => write(d, 'negdim.onnx', model(graph({ initializers: [tensorProto('t', DT.FLOAT, [2, -3])] })).encode()),
    problem: /negative dimension \(-3\)/, offset: true,
  },
  {
    name: 'element count over 2^53',
    make: (d) => write(d, 'huge-count.onnx', model(graph({ initializers: [tensorProto('t', DT.FLOAT, [2 ** 30, 2 ** 30, 2 ** 30]).bytes(9, floatRaw([1]))] })).encode()),
    problem: /tensor 't' has \[1073741824, 1073741824, 1073741824\]: more than 2\^53 elements/, offset: true,
  },
  {
    name: 'int32_data count does not match the shape',
    make: (d) => write(d, 'count.onnx', model(graph({ initializers: [tensorProto('h', DT.FLOAT16, [2]).packed(5, [1, 2, 3])] })).encode()),
    problem: /tensor 'h' needs 4 bytes \(float16\) but int32_data holds 6/, offset: true,
  },
  {
    name: 'dims promise far more values than int32_data holds (refused before allocating)',
    make: (d) => write(d, 'promise.onnx', model(graph({ initializers: [tensorProto('h', DT.INT32, [1 << 24]).packed(5, [1, 2, 3])] })).encode()),
    problem: /tensor 'h' needs 67108864 bytes \(int32, 16777216 values\) but int32_data holds at most 3 values/, offset: true,
  },
  {
    name: 'a folder named like a model',
    make: (d) => { const p = path.join(d, 'folder.onnx'); fs.mkdirSync(p); return p; },
    problem: /not a regular file/,
  },
  {
    name: 'typed field that does not fit the data type',
    make: (d) => write(d, 'wrong-field.onnx', model(graph({ initializers: [tensorProto('x', DT.FLOAT, [1]).packed(7, [1])] })).encode()),
    problem: /tensor 'x' is float32 but stores data in int64_data/, offset: true,
  },
  {
    name: 'tensor with no data',
    make: (d) => write(d, 'nodata.onnx', model(graph({ initializers: [tensorProto('x', DT.FLOAT, [3])] })).encode()),
    problem: /tensor 'x' \(float32 \[3\]\) has no data/, offset: true,
  },
  {
    name: 'subgraphs nested 200 deep',
    make: (d) => {
      let g = graph({});
      for (let i = 0; i < 200; i++) g = graph({ nodes: [node('If', ['c'], ['o'], { name: `if${i}`, attrs: [attr.graph('then_branch', g)] })] });
      return write(d, 'deep.onnx', model(g).encode());
    },
    problem: /subgraphs nested more than 64 deep/, offset: true,
  },
  {
    name: 'attribute typed GRAPH without a graph',
    make: (d) => write(d, 'nog.onnx', model(graph({ nodes: [node('If', ['c'], ['o'], { name: 'if0', attrs: [new Msg().string(1, 'then_branch').varint(20, 5)] })] })).encode()),
    problem: /attribute 'then_branch' of node 'if0': its type names a value field that is absent/, offset: true,
  },
  {
    name: 'no graph at all',
    make: (d) => write(d, 'nograph.onnx', new Msg().varint(1, 8).string(2, 'x').encode()),
    problem: /no graph/, offset: 0,
  },
  {
    name: 'two graph fields',
    make: (d) => write(d, 'twographs.onnx', model(graph({})).msg(7, graph({})).encode()),
    problem: /more than one ModelProto\.graph/, offset: true,
  },
  {
    name: 'node field length past the end of its graph',
    make: (d) => {
      // A graph whose only node claims 100 bytes while the graph holds 3.
      const g = new Msg().raw(Buffer.from([0x0a, 100, 0x0a, 0x01, 0x61]));
      return write(d, 'node-len.onnx', new Msg().varint(1, 8).msg(7, g).encode());
    },
    problem: /field 1 of GraphProto of main graph claims 100 bytes but only 3 remain/, offset: true,
  },
];

test('bad ONNX input is rejected with one clear ModelFormatError', async (t) => {
  assert.ok(cases.length >= 15);
  for (const c of cases) {
    await t.test(c.name, { timeout: 10_000 }, async () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
      const file = c.make(dir);
      const before = process.memoryUsage().arrayBuffers;
      let caught: unknown;
      try {
        await (c.viaRegistry ? openModel(file) : openOnnx(file));
      } catch (e) {
        caught = e;
      }
      const grown = process.memoryUsage().arrayBuffers - before;
      // SHOW_ERRORS=1 prints every message, to review their wording.
      if (process.env.SHOW_ERRORS) console.log(String(caught));
      assert.ok(caught !== undefined, 'the file was rejected');
      assert.ok(caught instanceof ModelFormatError, `a ModelFormatError, not ${String(caught)}`);
      assert.ok(caught.message.includes(file), `names the file: ${caught.message}`);
      assert.match(caught.problem, c.problem);
      if (typeof c.offset === 'number') assert.equal(caught.offset, c.offset, `offset in: ${caught.message}`);
      if (c.offset === true) assert.ok(typeof caught.offset === 'number' && caught.message.includes(`(at byte ${caught.offset})`), `has an offset: ${caught.message}`);
      assert.ok(grown < 64 << 20, `allocated ${grown} bytes`);
    });
  }
});

test('random damage anywhere in real files: either opens or fails with a ModelFormatError', async () => {
  // Damage in tensor bytes cannot be detected (the file stays valid); damage
  // in structure must be. Either way nothing else may escape.
  const sources = ['gpt2-tiny.onnx', 'cond-branches.onnx', 'loop-rnn.onnx', 'gpt2-tiny-op18-int8.onnx', 'bert-tiny-mlm.onnx'];
  const dir = fs.mkdtempSync(path.join(tmp, 'fuzz-'));
  let rejected = 0;
  let opened = 0;
  for (const [k, name] of sources.entries()) {
    const original = fs.readFileSync(path.join(CORPUS, name));
    const noise = randomBytes(4 * 80, 1000 + k);
    for (let i = 0; i < 80; i++) {
      const b = Buffer.from(original);
      const at = noise.readUInt32LE(i * 4) % b.length;
      // Mostly single-byte flips; every fourth case cuts the file there instead.
      const file = write(dir, `${name}.${i}.onnx`, i % 4 === 3 ? b.subarray(0, at) : patched(b, at, [b[at] ^ (1 << (i % 8))]));
      try {
        await openOnnx(file);
        opened++;
      } catch (e) {
        assert.ok(e instanceof ModelFormatError, `${name} damaged at ${at}: ${String(e)}`);
        assert.ok(e.message.includes(file));
        rejected++;
      }
    }
  }
  assert.ok(rejected > 50, `${rejected} damaged files rejected, ${opened} still valid`);
});
