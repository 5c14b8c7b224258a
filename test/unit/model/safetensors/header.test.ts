// The safetensors header reader against the real corpus files (facts from
// the manifest, computed by an independent reader), the header encoder
// against those files' bytes and the reference implementation's own test
// vectors, and bad input, table-driven: each case writes a broken file and
// the reader must reject it with exactly one ModelFormatError naming the
// file, the problem and (where it applies) the byte offset: never another
// kind of error, a hang, or a huge allocation.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import {
  MAX_HEADER_BYTES, SAFETENSORS_DTYPES, SAFETENSORS_DTYPE_ORDER, encodeSafetensorsHeader, readSafetensorsHeader,
  safetensorsDtypeName, writerOrder, type SafetensorsHeader,
} from '../../../../extension/model/safetensors/header';
import { DTYPE_SIZE, ModelFormatError, type DType } from '../../../../extension/model/types';

const CORPUS = path.join(__dirname, '../../../fixtures/corpus');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wsi-st-header-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface ManifestEntry {
  file: string;
  format?: string;
  facts?: { tensors?: number; tensor_bytes?: number; metadata?: Record<string, string> };
}
const manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as ManifestEntry[];

/** Every .safetensors file in the corpus, relative to it. */
const corpusFiles = (fs.readdirSync(CORPUS, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.safetensors')).map((f) => f.split(path.sep).join('/')).sort();

function tensorBytes(h: SafetensorsHeader): number {
  return h.entries.reduce((s, e) => s + e.length, 0);
}

test('the corpus holds the safetensors files the manifest lists', () => {
  for (const f of ['gpt2-tiny-untied.safetensors', 'gpt2-tiny-hf/model.safetensors', 'gpt2-trained-neardup.safetensors']) {
    assert.ok(corpusFiles.includes(f), f);
  }
  assert.equal(corpusFiles.filter((f) => f.startsWith('gpt2-tiny-sharded/')).length, 5);
});

test('every corpus safetensors file parses, and agrees with the manifest', async (t) => {
  for (const rel of corpusFiles) {
    await t.test(rel, () => {
      const file = path.join(CORPUS, rel);
      const h = readSafetensorsHeader(file);
      const bytes = fs.readFileSync(file);
      assert.equal(h.file, path.resolve(file));
      assert.equal(h.fileSize, fs.statSync(file).size);
      assert.equal(h.dataStart, 8 + h.headerLength);
      assert.equal(h.headerLength % 8, 0, 'the reference writer pads to 8');
      // Tiles the data buffer exactly (the reader checked; check its output too).
      let at = 0;
      for (const e of h.entries) {
        assert.equal(e.begin, at, e.name);
        assert.equal(e.length, e.end - e.begin);
        assert.equal(e.offset, h.dataStart + e.begin);
        assert.equal(e.length, e.elementCount * DTYPE_SIZE[e.dtype]);
        assert.equal(e.elementCount, e.shape.reduce((p, d) => p * d, 1));
        assert.equal(e.stDtype, 'F32');
        assert.equal(e.dtype, 'float32');
        const key = bytes.subarray(e.headerOffset, e.headerOffset + e.name.length + 2).toString('utf8');
        assert.equal(key, JSON.stringify(e.name), 'headerOffset points at the key');
        at = e.end;
      }
      assert.equal(at, h.fileSize - h.dataStart);

      const entry = manifest.find((m) => m.file === rel);
      if (entry?.facts) {
        const f = entry.facts;
        if (f.tensors !== undefined) assert.equal(h.entries.length, f.tensors, 'facts.tensors');
        if (f.tensor_bytes !== undefined) assert.equal(tensorBytes(h), f.tensor_bytes, 'facts.tensor_bytes');
        if (f.metadata !== undefined) assert.deepEqual({ ...h.metadata }, f.metadata, 'facts.metadata');
      }
    });
  }
});

test('the sharded checkpoint: shards together match the manifest and the index', () => {
  const dir = path.join(CORPUS, 'gpt2-tiny-sharded');
  const facts = manifest.find((m) => m.file === 'gpt2-tiny-sharded/')?.facts;
  assert.ok(facts?.tensors && facts.tensor_bytes);
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as
    { metadata: { total_size: number }; weight_map: Record<string, string> };
  const shards = corpusFiles.filter((f) => f.startsWith('gpt2-tiny-sharded/')).map((f) => path.join(CORPUS, f));
  const seen = new Map<string, string>();
  let bytes = 0;
  for (const s of shards) {
    const h = readSafetensorsHeader(s);
    bytes += tensorBytes(h);
    for (const e of h.entries) {
      assert.ok(!seen.has(e.name), `${e.name} in one shard only`);
      seen.set(e.name, path.basename(s));
    }
  }
  assert.equal(seen.size, facts.tensors);
  assert.equal(bytes, facts.tensor_bytes);
  assert.equal(bytes, index.metadata.total_size);
  assert.deepEqual(Object.fromEntries(seen), index.weight_map);
});

test('re-encoding each corpus header reproduces the file\'s first 8 + N bytes', async (t) => {
  for (const rel of corpusFiles) {
    await t.test(rel, () => {
      const file = path.join(CORPUS, rel);
      const h = readSafetensorsHeader(file);
      const encoded = encodeSafetensorsHeader(h.metadata, h.entries);
      const original = fs.readFileSync(file).subarray(0, h.dataStart);
      assert.equal(encoded.length, original.length);
      assert.ok(Buffer.from(encoded).equals(original), 'byte-identical header');
      // The files were written by the reference writer: data order is its order.
      assert.deepEqual([...h.entries].sort(writerOrder).map((e) => e.name), h.entries.map((e) => e.name));
    });
  }
});

// The reference implementation's own serialization tests (safetensors/src/tensor.rs).
test('encoder matches the reference test vectors', () => {
  assert.deepEqual([...encodeSafetensorsHeader(undefined, [])], [8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
  assert.deepEqual([...encodeSafetensorsHeader({ framework: 'pt' }, [])], [
    40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
    95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
    116, 34, 125, 125, 32, 32, 32, 32, 32,
  ]);
  const one = encodeSafetensorsHeader(undefined, [{ name: 'attn.0', stDtype: 'F32', shape: [1, 2, 3], begin: 0, end: 24 }]);
  assert.deepEqual([...one], [
    64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
    116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
    58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
    101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125,
  ]);
  const aligned = encodeSafetensorsHeader(undefined, [{ name: 'attn0', stDtype: 'F32', shape: [1, 1, 2, 3], begin: 0, end: 24 }]);
  assert.deepEqual([...aligned], [
    72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
    121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
    91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
    115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
    32, 32,
  ]);
  // Several metadata pairs, in the order given, then the tensors.
  const two = Buffer.from(encodeSafetensorsHeader({ b: '2', a: '1' }, [{ name: 'x', stDtype: 'BOOL', shape: [], begin: 0, end: 1 }]));
  assert.equal(two.subarray(8).toString('utf8'), '{"__metadata__":{"b":"2","a":"1"},"x":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]}} ');
  assert.equal(two.readBigUInt64LE(0), BigInt(two.length - 8));
  // Escapes as serde_json writes them.
  const esc = Buffer.from(encodeSafetensorsHeader({ 'a"b': 'c\\d\n\u0001\u00e9' }, [])).subarray(8).toString('utf8').trimEnd();
  assert.equal(esc, '{"__metadata__":{"a\\"b":"c\\\\d\\n\\u0001\u00e9"}}');
});

test('writerOrder: dtype rank descending, then name byte-wise', () => {
  const items = [
    { stDtype: 'F32', name: 'b' }, { stDtype: 'BOOL', name: 'a' }, { stDtype: 'F64', name: 'z' },
    { stDtype: 'F32', name: 'a' }, { stDtype: 'U64', name: 'x' }, { stDtype: 'F4', name: 'y' },
    { stDtype: 'C64', name: 'c' }, { stDtype: 'BF16', name: 'h' }, { stDtype: 'F16', name: 'h' },
  ];
  assert.deepEqual(items.sort(writerOrder).map((i) => `${i.stDtype}:${i.name}`),
    ['U64:x', 'F64:z', 'C64:c', 'F32:a', 'F32:b', 'BF16:h', 'F16:h', 'F4:y', 'BOOL:a']);
  // Every dtype, one name: the reference enum's order reversed (written out here, not taken from the module).
  const all = Object.keys(SAFETENSORS_DTYPES).map((stDtype) => ({ stDtype, name: 'n' }));
  assert.deepEqual(all.sort(writerOrder).map((i) => i.stDtype), [
    'U64', 'I64', 'F64', 'C64', 'F32', 'U32', 'I32', 'BF16', 'F16', 'U16', 'I16',
    'F8_E5M2FNUZ', 'F8_E4M3FNUZ', 'F8_E8M0', 'F8_E4M3', 'F8_E5M2', 'I8', 'U8', 'F6_E3M2', 'F6_E2M3', 'F4', 'BOOL',
  ]);
  // UTF-16 order puts U+1F600 (a surrogate pair, 0xD83D...) before U+FFFD; UTF-8 bytes (F0 vs EF) do not.
  const names = [{ stDtype: 'U8', name: '\u{1F600}' }, { stDtype: 'U8', name: '\uFFFD' }].sort(writerOrder).map((i) => i.name);
  assert.deepEqual(names, ['\uFFFD', '\u{1F600}']);
  assert.equal(SAFETENSORS_DTYPE_ORDER.length, Object.keys(SAFETENSORS_DTYPES).length);
  assert.deepEqual([...SAFETENSORS_DTYPE_ORDER].sort(), Object.keys(SAFETENSORS_DTYPES).sort());
  assert.throws(() => writerOrder({ stDtype: 'F128', name: 'a' }, { stDtype: 'F32', name: 'b' }), /unknown safetensors dtype/);
});

test('dtype table: sizes agree with DTYPE_SIZE, names round-trip', () => {
  for (const [name, { dtype, bits }] of Object.entries(SAFETENSORS_DTYPES)) {
    assert.equal(bits / 8, DTYPE_SIZE[dtype], name);
    assert.equal(safetensorsDtypeName(dtype), name);
  }
  for (const d of ['int4', 'uint4', 'string', 'complex128'] as DType[]) assert.equal(safetensorsDtypeName(d), undefined);
  assert.equal(safetensorsDtypeName('bfloat16'), 'BF16');
  assert.equal(safetensorsDtypeName('float8e4m3fn'), 'F8_E4M3');
});

// ---- building files ---------------------------------------------------------

/** 8-byte little-endian length, then the header bytes as they are (no padding added), then the data. */
function stBytes(header: string | Uint8Array, data: number | Uint8Array = 0, length?: bigint): Buffer {
  const h = typeof header === 'string' ? Buffer.from(header, 'utf8') : Buffer.from(header);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length ?? BigInt(h.length));
  return Buffer.concat([len, h, typeof data === 'number' ? Buffer.alloc(data) : data]);
}

/** A header with one tensor `w` (F32, shape [n], data_offsets [0, 4n]) but the entry replaced by `entry`. */
function one(entry: string): string {
  return `{"w":${entry}}`;
}

/** Absolute offset of `needle` in a header string (ASCII) as written by stBytes. */
function at(header: string, needle: string): number {
  const i = Buffer.from(header, 'utf8').indexOf(needle);
  assert.ok(i >= 0, `${needle} in ${header}`);
  return 8 + i;
}

interface Case {
  name: string;
  /** The file's bytes, or a function writing the file into `dir` and returning its path. */
  bytes: Uint8Array | ((dir: string) => string);
  problem: RegExp;
  /** The byte offset the error must carry (a number), any offset (true), none (null), or not checked (undefined). */
  offset?: number | true | null;
}

const W_KEY = at(one('{}'), '"w"'); // where every one(...) case's tensor key sits: 9

const overlap = '{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}';
const hole = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}';
const late = one('{"dtype":"F32","shape":[2],"data_offsets":[8,16]}');
const f32x4 = one('{"dtype":"F32","shape":[4],"data_offsets":[0,16]}');
const bomb = `{"a":${'['.repeat(1_000_000)}`;
const floatDim = one('{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}');
const mdString = '{"w":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"__metadata__":"pt"}';
const expOffset = one('{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}');

const cases: Case[] = [
  // The length field.
  { name: 'empty file', bytes: new Uint8Array(0), problem: /empty file/, offset: 0 },
  { name: '7-byte file', bytes: new Uint8Array(7), problem: /only 7 bytes, too short for the 8-byte header length/, offset: 0 },
  { name: 'header length 0', bytes: stBytes(''), problem: /header length is 0/, offset: 0 },
  { name: 'header length 2^60', bytes: stBytes('{}', 0, 1n << 60n), problem: /header length 1152921504606846976 is over the 100000000-byte limit/, offset: 0 },
  { name: 'header length 2^64 - 1', bytes: stBytes('{}', 0, (1n << 64n) - 1n), problem: /header length 18446744073709551615 is over/, offset: 0 },
  { name: 'header length just over the cap (no 100 MB file needed)', bytes: stBytes('{}', 0, BigInt(MAX_HEADER_BYTES + 1)), problem: /header length 100000001 is over the 100000000-byte limit/, offset: 0 },
  { name: 'header length at the cap, past the end of the file', bytes: stBytes('{}', 0, BigInt(MAX_HEADER_BYTES)), problem: /header length 100000000 runs past the end of the file \(only 2 bytes follow/, offset: 0 },
  { name: 'header length past the end of the file', bytes: stBytes('{}', 0, 100n), problem: /header length 100 runs past the end of the file \(only 2 bytes/, offset: 0 },

  // Text and JSON syntax.
  { name: 'invalid UTF-8', bytes: stBytes(Buffer.concat([Buffer.from('{"a'), Buffer.from([0xff]), Buffer.from('":{}}')])), problem: /header is not valid UTF-8/, offset: 8 + 3 },
  { name: 'invalid UTF-8: a lone surrogate encoded (ED A0 80)', bytes: stBytes(Buffer.concat([Buffer.from('{"\u00e9'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('":{}}')])), problem: /not valid UTF-8/, offset: 8 + 4 },
  { name: 'blank header', bytes: stBytes('        '), problem: /header is blank/, offset: 8 },
  { name: 'not JSON', bytes: stBytes('hello, world'), problem: /does not start with '\{' \(found 'h'\)/, offset: 8 },
  { name: 'top-level array', bytes: stBytes('  []'), problem: /does not start with '\{' \(found '\['\)/, offset: 10 },
  { name: 'a bare word inside the object', bytes: stBytes('{"a": nope}'), problem: /"nope" is not valid JSON/, offset: 8 + 6 },
  { name: 'trailing comma in the object (V8 gives a position)', bytes: stBytes('{"a":{},}'), problem: /header is not valid JSON: Expected double-quoted property name \(at byte 16\)$/, offset: 8 + 8 },
  { name: 'trailing comma in an array (V8 gives no position)', bytes: stBytes(one('{"dtype":"F32","shape":[1,],"data_offsets":[0,4]}'), 4), problem: /header is not valid JSON: Unexpected token '\]'/, offset: null },
  { name: 'JSON cut short', bytes: stBytes('{"a":{"dtype":'), problem: /header is not valid JSON: Unexpected end of JSON input/, offset: 8 + 14 },
  { name: 'bad escape in a key (position from V8, in bytes)', bytes: stBytes('{"\u00e9\u00e9\\x":{}}'), problem: /not valid JSON: Bad escaped character/, offset: 8 + 7 },
  { name: 'unterminated string', bytes: stBytes('{"abc\\"   '), problem: /unterminated string/, offset: 9 },
  { name: 'a stray character', bytes: stBytes('{"a":{}}#'), problem: /unexpected '#' in JSON/, offset: 8 + 8 },
  { name: 'JSON nesting bomb (10^6 [)', bytes: stBytes(bomb), problem: /JSON nesting deeper than 64 levels/, offset: 8 + 5 + 63 },
  { name: 'duplicate tensor name', bytes: stBytes('{"a":{},"a":{}}'), problem: /duplicate tensor name "a" \(first at byte 9\)/, offset: 8 + 8 },

  // Shapes.
  { name: 'NaN dim', bytes: stBytes(one('{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}')), problem: /"NaN" in tensor "w" is not valid JSON \(JSON has no NaN/, offset: at(one('{"dtype":"F32","shape":[NaN]'), 'NaN') },
  { name: '-Infinity dim', bytes: stBytes(one('{"dtype":"F32","shape":[-Infinity],"data_offsets":[0,4]}')), problem: /"-Infinity" in tensor "w" is not valid JSON/, offset: at(one('{"dtype":"F32","shape":[-Infinity]'), '-Inf') },
  { name: 'negative dim', bytes: stBytes(one('{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}')), problem: /tensor "w": shape\[0\] is -1, not a non-negative integer/, offset: W_KEY },
  { name: 'fractional dim', bytes: stBytes(one('{"dtype":"F32","shape":[2,1.5],"data_offsets":[0,12]}')), problem: /tensor "w": shape\[1\] is 1.5, not a non-negative integer/, offset: W_KEY },
  { name: 'integral dim written as a float (2.0)', bytes: stBytes(floatDim, 8), problem: /tensor "w": shape holds 2.0, which is not written as an integer/, offset: at(floatDim, '2.0') },
  { name: 'offset written with an exponent (8e0)', bytes: stBytes(expOffset, 8), problem: /tensor "w": data_offsets holds 8e0, which is not written as an integer/, offset: at(expOffset, '8e0') },
  { name: 'huge dim (1e400 parses as Infinity)', bytes: stBytes(one('{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}')), problem: /shape\[0\] is Infinity, not a non-negative integer/, offset: W_KEY },
  { name: 'string dim', bytes: stBytes(one('{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}')), problem: /tensor "w": shape\[0\] is "2", not a non-negative integer/, offset: W_KEY },
  { name: 'null dim', bytes: stBytes(one('{"dtype":"F32","shape":[null],"data_offsets":[0,4]}')), problem: /shape\[0\] is null/, offset: W_KEY },
  { name: 'shape not an array', bytes: stBytes(one('{"dtype":"F32","shape":4,"data_offsets":[0,16]}')), problem: /tensor "w": shape is 4, not an array/, offset: W_KEY },
  { name: 'no shape', bytes: stBytes(one('{"dtype":"F32","data_offsets":[0,16]}')), problem: /tensor "w": no shape/, offset: W_KEY },
  { name: '65 dims', bytes: stBytes(one(`{"dtype":"F32","shape":[${Array(65).fill(1).join(',')}],"data_offsets":[0,4]}`)), problem: /tensor "w": shape has 65 dimensions, more than 64/, offset: W_KEY },
  { name: 'overflowing shape [2, 9223372036854775807]', bytes: stBytes(one('{"dtype":"F32","shape":[2,9223372036854775807],"data_offsets":[0,8]}')), problem: /tensor "w": shape\[1\] is 9223372036854776000, more than 2\^53 - 1/, offset: W_KEY },
  { name: 'element count overflow from safe dims [2^30, 2^30, 2^30]', bytes: stBytes(one('{"dtype":"F32","shape":[1073741824,1073741824,1073741824],"data_offsets":[0,8]}')), problem: /shape \[1073741824, 1073741824, 1073741824\] of F32 holds 1237940039285380274899124224 elements .* more than 2\^53 - 1/, offset: W_KEY },
  { name: 'byte length overflow (2^52 F64 elements)', bytes: stBytes(one('{"dtype":"F64","shape":[4503599627370496],"data_offsets":[0,8]}')), problem: /holds 4503599627370496 elements \(36028797018963968 bytes\), more than 2\^53 - 1/, offset: W_KEY },

  // Dtypes.
  { name: 'unknown dtype', bytes: stBytes(one('{"dtype":"F128","shape":[1],"data_offsets":[0,16]}')), problem: /tensor "w": unknown dtype "F128"/, offset: W_KEY },
  { name: 'dtype named like an Object.prototype key', bytes: stBytes(one('{"dtype":"toString","shape":[1],"data_offsets":[0,4]}')), problem: /unknown dtype "toString"/, offset: W_KEY },
  { name: 'missing dtype', bytes: stBytes(one('{"shape":[1],"data_offsets":[0,4]}')), problem: /tensor "w": no dtype/, offset: W_KEY },
  { name: 'dtype not a string', bytes: stBytes(one('{"dtype":32,"shape":[1],"data_offsets":[0,4]}')), problem: /tensor "w": dtype is 32, not a string/, offset: W_KEY },
  { name: 'F4 with an odd element count', bytes: stBytes(one('{"dtype":"F4","shape":[3],"data_offsets":[0,2]}'), 2), problem: /tensor "w": shape \[3\] of F4: 3 elements of 4 bits make 12 bits, not a whole number of bytes/, offset: W_KEY },
  { name: 'F6_E3M2 with 3 elements (18 bits)', bytes: stBytes(one('{"dtype":"F6_E3M2","shape":[3],"data_offsets":[0,2]}'), 2), problem: /18 bits, not a whole number of bytes/, offset: W_KEY },

  // data_offsets.
  { name: 'data_offsets with one value', bytes: stBytes(one('{"dtype":"F32","shape":[1],"data_offsets":[4]}')), problem: /tensor "w": data_offsets has 1 value, not 2/, offset: W_KEY },
  { name: 'data_offsets with three values', bytes: stBytes(one('{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}')), problem: /data_offsets has 3 values, not 2/, offset: W_KEY },
  { name: 'data_offsets missing', bytes: stBytes(one('{"dtype":"F32","shape":[1]}')), problem: /tensor "w": no data_offsets/, offset: W_KEY },
  { name: 'data_offsets negative', bytes: stBytes(one('{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}')), problem: /data_offsets\[0\] is -4, not a non-negative integer/, offset: W_KEY },
  { name: 'begin > end', bytes: stBytes(one('{"dtype":"F32","shape":[0],"data_offsets":[8,0]}'), 8), problem: /tensor "w": data_offsets \[8, 0\]: end 0 is before begin 8/, offset: W_KEY },
  { name: 'size mismatch with shape', bytes: stBytes(one('{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}'), 20), problem: /tensor "w": shape \[2, 3\] of F32 needs 24 bytes, but data_offsets \[0, 20\] hold 20/, offset: W_KEY },

  // Layout in the data buffer.
  { name: 'overlapping spans', bytes: stBytes(overlap, 24), problem: /tensors "a" \(data_offsets \[0, 16\]\) and "b" \(\[8, 24\]\) overlap/, offset: at(overlap, '"b"') },
  { name: 'hole between spans', bytes: stBytes(hole, 24), problem: /8 unused bytes between tensor "a" \(ends at 8\) and tensor "b" \(starts at 16\)/, offset: at(hole, '"b"') },
  { name: 'spans not starting at 0', bytes: stBytes(late, 16), problem: /tensor "w", first in the data, starts at data offset 8, not 0 \(8 unused bytes before it\)/, offset: W_KEY },
  { name: 'truncated data', bytes: stBytes(f32x4, 10), problem: /file is truncated: the tensors need 16 data bytes after the header, but only 10 follow \(6 bytes missing\)/, offset: 8 + f32x4.length + 10 },
  { name: 'trailing bytes', bytes: stBytes(f32x4, 20), problem: /4 extra bytes after the last tensor "w" \(its data ends at 16, the file holds 20 data bytes\)/, offset: 8 + f32x4.length + 16 },
  { name: 'data but no tensors', bytes: stBytes('{}', 3), problem: /3 extra bytes of data, but the header lists no tensors/, offset: 8 + 2 },

  // Entries and __metadata__.
  { name: 'entry not an object', bytes: stBytes(one('5')), problem: /tensor "w": entry is 5, not an object/, offset: W_KEY },
  { name: 'empty tensor name', bytes: stBytes('{"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}'), problem: /a tensor has an empty name/, offset: 9 },
  { name: 'metadata value not a string', bytes: stBytes('{"__metadata__":{"format":"pt","step":1}}'), problem: /__metadata__ value for "step" is 1, not a string/, offset: 9 },
  { name: '__metadata__ not an object', bytes: stBytes(mdString), problem: /__metadata__ is "pt", not an object of strings/, offset: at(mdString, '"__metadata__"') },
  { name: 'metadata value an array that looks like a shape', bytes: stBytes('{"__metadata__":{"shape":[1.0]}}'), problem: /__metadata__ value for "shape" is an array, not a string/, offset: 9 },
  { name: '__metadata__ an array', bytes: stBytes('{"__metadata__":["pt"]}'), problem: /__metadata__ is an array, not an object/, offset: 9 },

  // Not a file.
  { name: 'a directory', bytes: (dir) => { const d = path.join(dir, 'dir.safetensors'); fs.mkdirSync(d); return d; }, problem: /not a regular file \(a directory\)/, offset: null },
  { name: 'a missing file', bytes: (dir) => path.join(dir, 'missing.safetensors'), problem: /cannot open: ENOENT/, offset: null },
];

test('bad safetensors input is rejected with one clear ModelFormatError', async (t) => {
  assert.ok(cases.length >= 24);
  for (const [k, c] of cases.entries()) {
    await t.test(c.name, { timeout: 10_000 }, () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'case-'));
      const file = typeof c.bytes === 'function' ? c.bytes(dir) : path.join(dir, `case${k}.safetensors`);
      if (typeof c.bytes !== 'function') fs.writeFileSync(file, c.bytes);
      const t0 = performance.now();
      let err: unknown;
      try {
        readSafetensorsHeader(file);
      } catch (e) {
        err = e;
      }
      const ms = performance.now() - t0;
      assert.ok(err instanceof ModelFormatError, `expected a ModelFormatError, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
      assert.match(err.message, c.problem);
      assert.ok(err.message.includes(path.basename(file)), 'the message names the file');
      assert.equal(err.file, path.resolve(file));
      assert.equal(err.format, 'safetensors');
      if (typeof c.offset === 'number') assert.equal(err.offset, c.offset, 'offset');
      else if (c.offset === true) assert.equal(typeof err.offset, 'number', 'has an offset');
      else if (c.offset === null) assert.equal(err.offset, undefined, 'no offset');
      assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
    });
  }
});

test('a FIFO is refused at once, without waiting for a writer', (t) => {
  const fifo = path.join(tmp, 'pipe.safetensors');
  try {
    execFileSync('mkfifo', [fifo], { stdio: 'ignore' });
  } catch {
    t.skip('mkfifo is not available');
    return;
  }
  // In a child process: a blocking open would hang this one past any test timeout.
  const reader = path.join(__dirname, '../../../../extension/model/safetensors/header.ts');
  const script = `const { readSafetensorsHeader } = require(${JSON.stringify(reader)});
    try { readSafetensorsHeader(${JSON.stringify(fifo)}); console.log('no error'); }
    catch (e) { console.log(e.name + ': ' + e.message); }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.join(__dirname, '../../../..'), encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.signal, null, 'the reader returned (it did not block on the FIFO)');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ModelFormatError: .*pipe\.safetensors: safetensors: not a regular file \(a FIFO\)$/m);
});

// ---- good input -------------------------------------------------------------

function writeFile(name: string, bytes: Uint8Array): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, bytes);
  return file;
}

test('prototype-key names, sub-byte and 8-bit dtypes, zero-size tensors, header order unlike data order', () => {
  // Written by hand: an object literal's `__proto__:` would set the prototype, not a key.
  // Listed in reverse data order; the reader sorts by data_offsets.
  const header = '{"__metadata__":{"constructor":"c","__proto__":"p","format":"pt"},'
    + '"hasOwnProperty":{"dtype":"BOOL","shape":[2],"data_offsets":[10,12]},'
    + '"toString":{"dtype":"F8_E8M0","shape":[3],"data_offsets":[7,10]},'
    + '"constructor":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[4,7]},'
    + '"7":{"dtype":"F6_E3M2","shape":[1,4],"data_offsets":[1,4]},'
    + '"empty":{"dtype":"F32","shape":[0,9007199254740991],"data_offsets":[1,1]},'
    + '"__proto__":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}';
  const file = writeFile('protokeys.safetensors', stBytes(`${header}   `, 12));
  const h = readSafetensorsHeader(file);
  assert.deepEqual(h.entries.map((e) => [e.name, e.stDtype, e.dtype, e.begin, e.end, e.elementCount]), [
    ['__proto__', 'F4', 'float4e2m1', 0, 1, 2],
    ['empty', 'F32', 'float32', 1, 1, 0],
    ['7', 'F6_E3M2', 'float6e3m2', 1, 4, 4],
    ['constructor', 'F6_E2M3', 'float6e2m3', 4, 7, 4],
    ['toString', 'F8_E8M0', 'float8e8m0', 7, 10, 3],
    ['hasOwnProperty', 'BOOL', 'bool', 10, 12, 2],
  ]);
  assert.equal(h.dataStart, 8 + header.length + 3);
  for (const e of h.entries) {
    assert.equal(e.offset, h.dataStart + e.begin);
    assert.equal(Buffer.from(header).indexOf(`${JSON.stringify(e.name)}:{"dtype"`) + 8, e.headerOffset, `${e.name} headerOffset`);
  }
  const md = h.metadata;
  assert.ok(md);
  assert.equal(md.constructor, 'c');
  assert.equal(md['__proto__'], 'p');
  assert.deepEqual(Object.keys(md), ['constructor', '__proto__', 'format']);
  assert.equal(Object.hasOwn(md, 'toString'), false);
  assert.equal('toString' in md, false, 'no inherited keys');
});

test('an empty header {} with no data has no tensors; leading whitespace and padding are allowed', () => {
  const h = readSafetensorsHeader(writeFile('empty-ok.safetensors', encodeSafetensorsHeader(undefined, [])));
  assert.deepEqual(h.entries, []);
  assert.equal(h.metadata, undefined);
  assert.equal(h.headerLength, 8);
  assert.equal(h.fileSize, 16);
  const ws = readSafetensorsHeader(writeFile('ws.safetensors', stBytes('\n\t {"__metadata__":{}} \r\n')));
  assert.deepEqual({ ...ws.metadata }, {});
  assert.deepEqual(ws.entries, []);
});

test('escaped and non-ASCII names: headerOffset is a byte offset', () => {
  const header = '{"\u00e9\u00e8":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a\\u0062\\"c":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
  const h = readSafetensorsHeader(writeFile('names.safetensors', stBytes(header, 2)));
  assert.deepEqual(h.entries.map((e) => [e.name, e.headerOffset]), [['\u00e9\u00e8', 9], ['ab"c', at(header, '"a\\u0062')]]);
  // A later error in the second entry points at its key, past the two-byte characters.
  const bad = header.replace('"shape":[1],"data_offsets":[1,2]', '"shape":[2],"data_offsets":[1,2]');
  assert.throws(() => readSafetensorsHeader(writeFile('names-bad.safetensors', stBytes(bad, 2))),
    (e: unknown) => e instanceof ModelFormatError && e.offset === at(bad, '"a\\u0062') && /tensor "ab\\"c": shape \[2\] of U8 needs 2 bytes/.test(e.message));
});

test('reads only the length and the header: never the tensor data', () => {
  // A header followed by 64 MiB of data: the reader must not allocate or read it.
  const header = one('{"dtype":"U8","shape":[67108864],"data_offsets":[0,67108864]}');
  const file = path.join(tmp, 'big.safetensors');
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, stBytes(header));
  fs.ftruncateSync(fd, 8 + header.length + 67108864); // sparse
  fs.closeSync(fd);
  // Count bytes read through the real module object (this file's `fs` is an import wrapper).
  const nodeFs = createRequire(__filename)('node:fs') as { readSync: typeof fs.readSync };
  const reads: number[] = [];
  const orig = nodeFs.readSync;
  nodeFs.readSync = ((...args: Parameters<typeof fs.readSync>) => {
    const r = orig(...args);
    reads.push(r);
    return r;
  }) as typeof fs.readSync;
  try {
    const h = readSafetensorsHeader(file);
    assert.equal(h.entries[0].length, 67108864);
  } finally {
    nodeFs.readSync = orig;
  }
  assert.ok(reads.length > 0, 'the spy saw the reads');
  assert.ok(reads.reduce((a, b) => a + b, 0) <= 8 + header.length, `read ${reads.join('+')} bytes`);
});
