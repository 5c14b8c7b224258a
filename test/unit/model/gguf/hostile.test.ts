// Hostile GGUF headers, table-driven: each is refused with one
// ModelFormatError naming the file, the problem and the byte offset, without
// a crash, a hang or a large allocation.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readGgufHeader } from '../../../../extension/model/gguf/header';
import { openModel } from '../../../../extension/model/registry';
import { ModelFormatError } from '../../../../extension/model/types';

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u64 = (n: number | bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);

interface Tensor { name: string; dims: Array<number | bigint>; type: number; offset: number | bigint }
interface Spec {
  magic?: Buffer; version?: Buffer; tensorCount?: number | bigint; kvCount?: number | bigint;
  kvs?: Buffer[]; tensors?: Tensor[]; data?: number; alignment?: number;
}

const kvString = (key: string, value: string) => Buffer.concat([str(key), u32(8), str(value)]);
const kvU32 = (key: string, value: number) => Buffer.concat([str(key), u32(4), u32(value)]);
const BASE_KVS = [kvString('general.architecture', 'llama'), kvU32('llama.block_count', 1)];
const BASE_TENSORS: Tensor[] = [
  { name: 'token_embd.weight', dims: [32, 4], type: 0, offset: 0 },
  { name: 'output_norm.weight', dims: [32], type: 0, offset: 512 },
];

function build(s: Spec = {}): Buffer {
  const kvs = s.kvs ?? BASE_KVS;
  const tensors = s.tensors ?? BASE_TENSORS;
  const infos = tensors.map((t) => Buffer.concat([str(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(t.type), u64(t.offset)]));
  const head = Buffer.concat([
    s.magic ?? Buffer.from('GGUF'), s.version ?? u32(3), u64(s.tensorCount ?? tensors.length), u64(s.kvCount ?? kvs.length), ...kvs, ...infos,
  ]);
  const align = s.alignment ?? 32;
  const padded = Math.ceil(head.length / align) * align;
  return Buffer.concat([head, Buffer.alloc(padded - head.length), Buffer.alloc(s.data ?? 640)]);
}

/** Offset of `needle` in the built file (to name where a case's bad field is). */
const at = (b: Buffer, needle: string) => b.indexOf(Buffer.from(needle));
/** Where the tensor infos start when the base metadata is used. */
const INFOS = 24 + Buffer.concat(BASE_KVS).length;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-hostile-'));
let n = 0;
function file(bytes: Buffer): string {
  const f = path.join(dir, `case${n++}.gguf`);
  fs.writeFileSync(f, bytes);
  return f;
}

interface Case { name: string; bytes: Buffer; problem: RegExp; offset?: number | ((b: Buffer) => number) }

const CASES: Case[] = [
  { name: 'bad magic', bytes: Buffer.concat([Buffer.from('GGUX'), build().subarray(4)]), problem: /not a recognised model file|not a GGUF file/, offset: 0 },
  { name: 'version 1', bytes: build({ version: u32(1) }), problem: /version 1 .*not supported/, offset: 4 },
  { name: 'big-endian', bytes: build({ version: Buffer.from([0, 0, 0, 3]) }), problem: /big-endian GGUF file \(version 3\)/, offset: 4 },
  { name: 'unknown version', bytes: build({ version: u32(7) }), problem: /version 7 is not one this reader knows/, offset: 4 },
  { name: 'absurd tensor count', bytes: build({ tensorCount: 2n ** 40n }), problem: /claims 1099511627776 tensors/, offset: 8 },
  { name: 'absurd metadata count', bytes: build({ kvCount: 10 ** 12 }), problem: /claims 1000000000000 metadata pairs/, offset: 16 },
  { name: 'count beyond 2^53', bytes: build({ tensorCount: 2n ** 63n }), problem: /tensor count is 9223372036854775808/, offset: 8 },
  { name: 'absurd key length', bytes: build({ kvs: [Buffer.concat([u64(2n ** 50n), Buffer.from('x')])] }), problem: /metadata key 0 claims 1125899906842624 bytes/, offset: 24 },
  { name: 'string value past the end', bytes: build({ kvs: [Buffer.concat([str('general.name'), u32(8), u64(10 ** 9)])] }), problem: /the value of 'general.name' claims 1000000000 bytes/ },
  { name: 'absurd string array', bytes: build({ kvs: [Buffer.concat([str('tokenizer.ggml.tokens'), u32(9), u32(8), u64(10 ** 15)])] }), problem: /array 'tokenizer.ggml.tokens' claims 1000000000000000 string elements/ },
  { name: 'absurd u32 array', bytes: build({ kvs: [Buffer.concat([str('x.ids'), u32(9), u32(4), u64(10 ** 10)])] }), problem: /array 'x.ids' claims 10000000000 u32 elements/ },
  { name: 'array of arrays', bytes: build({ kvs: [Buffer.concat([str('x.nested'), u32(9), u32(9), u64(1)])] }), problem: /arrays of arrays/ },
  { name: 'unknown value type', bytes: build({ kvs: [Buffer.concat([str('x.weird'), u32(13), u32(0)])] }), problem: /unknown value type 13/, offset: (b) => at(b, 'x.weird') + 7 },
  { name: 'duplicate key', bytes: build({ kvs: [kvU32('a.b', 1), kvU32('a.b', 2)] }), problem: /'a.b' appears twice/, offset: 24 + 19 },
  { name: 'too many dims', bytes: build({ tensors: [{ name: 't', dims: [1, 1, 1, 1, 1], type: 0, offset: 0 }] }), problem: /'t' has 5 dimensions; ggml allows at most 4/ },
  { name: 'dims product overflow', bytes: build({ tensors: [{ name: 't', dims: [2 ** 32, 2 ** 32, 2 ** 32], type: 0, offset: 0 }] }), problem: /more elements than the file could hold/ },
  { name: 'dim beyond 2^53', bytes: build({ tensors: [{ name: 't', dims: [2n ** 60n], type: 0, offset: 0 }] }), problem: /dimension 0 of 't' is 1152921504606846976/ },
  { name: 'dims larger than the file', bytes: build({ tensors: [{ name: 't', dims: [65536, 65536], type: 0, offset: 0 }] }), problem: /more elements than the file could hold/ },
  { name: 'removed ggml type (Q4_2)', bytes: build({ tensors: [{ name: 't', dims: [32], type: 4, offset: 0 }] }), problem: /ggml type 4, which ggml does not define/ },
  { name: 'unknown ggml type', bytes: build({ tensors: [{ name: 't', dims: [32], type: 99, offset: 0 }] }), problem: /ggml type 99/ },
  { name: 'row not whole blocks', bytes: build({ tensors: [{ name: 't', dims: [33, 2], type: 8, offset: 0 }] }), problem: /row of 33 values is not a whole number of q8_0 blocks/ },
  { name: 'misaligned offset', bytes: build({ tensors: [{ name: 't', dims: [4], type: 0, offset: 4 }] }), problem: /data offset 4, not a multiple of the alignment 32/, offset: INFOS },
  { name: 'overlapping tensors', bytes: build({ tensors: [{ name: 'a', dims: [32], type: 0, offset: 0 }, { name: 'b', dims: [32], type: 0, offset: 64 }] }), problem: /'a' and 'b' overlap/, offset: INFOS + 8 + 1 + 4 + 8 + 4 + 8 },
  { name: 'data past the end', bytes: build({ data: 100 }), problem: /'token_embd.weight' \(512 bytes at data offset 0\) ends past the end of the file/ },
  { name: 'alignment not a power of two', bytes: build({ kvs: [...BASE_KVS, kvU32('general.alignment', 48)], alignment: 48 }), problem: /general.alignment is 48, not a power of two/ },
  { name: 'alignment zero', bytes: build({ kvs: [kvU32('general.alignment', 0)] }), problem: /general.alignment is 0/ },
  { name: 'alignment of the wrong type', bytes: build({ kvs: [kvString('general.alignment', '32')] }), problem: /general.alignment must be a u32, not string/ },
  { name: 'duplicate tensor name', bytes: build({ tensors: [{ name: 'a', dims: [32], type: 0, offset: 0 }, { name: 'a', dims: [32], type: 0, offset: 128 }] }), problem: /'a' is listed twice/ },
  { name: 'tensor name too long', bytes: build({ tensors: [{ name: 'n'.repeat(70000), dims: [32], type: 0, offset: 0 }], data: 200 }), problem: /the name of tensor 0 is 70000 bytes long, over the 65536-byte limit/ },
  { name: 'a key with terminal escapes, 300 bytes long', bytes: build({ kvs: [Buffer.concat([str(`\u001b[2J${'x'.repeat(300)}`), u32(77), u32(0)])] }), problem: /^[^\u001b]*value type of '\\u001b\[2Jx{90,}…': unknown value type 77[^\u001b]{0,200}$/ },
  { name: 'three bytes', bytes: Buffer.from('GGU'), problem: /not a recognised model file|truncated/ },
  { name: 'magic only', bytes: Buffer.from('GGUF'), problem: /truncated: the version needs 4 bytes, 0 left/, offset: 4 },
];

test(`${CASES.length} hostile headers: one ModelFormatError each, with the file and the offset`, async () => {
  assert.ok(CASES.length >= 20);
  for (const c of CASES) {
    const f = file(c.bytes);
    const before = process.memoryUsage();
    await assert.rejects(openModel(f), (e: unknown) => {
      assert.ok(e instanceof ModelFormatError, `${c.name}: ${String(e)}`);
      assert.match(e.message, c.problem, c.name);
      assert.ok(e.message.startsWith(f), `${c.name}: names the file`);
      if (!/not a recognised/.test(e.message)) {
        assert.equal(e.format, 'gguf', c.name);
        assert.ok(e.offset !== undefined && e.offset >= 0 && e.offset <= c.bytes.length, `${c.name}: offset ${e.offset}`);
      }
      if (c.offset !== undefined) assert.equal(e.offset, typeof c.offset === 'function' ? c.offset(c.bytes) : c.offset, `${c.name}: offset`);
      return true;
    }, c.name);
    const after = process.memoryUsage();
    assert.ok(after.arrayBuffers - before.arrayBuffers < 32 << 20, `${c.name}: allocated ${after.arrayBuffers - before.arrayBuffers} bytes`);
  }
});

test('a real fixture truncated at every byte of its header (and in its data) is refused, never misread', async () => {
  const full = fs.readFileSync(path.resolve(__dirname, '../../../fixtures/gguf/llama-tiny.q8_0.gguf'));
  // Header end: the first tensor's data starts at the data offset; scan every cut up to a little past it.
  const dataOffset = readGgufHeader(path.resolve(__dirname, '../../../fixtures/gguf/llama-tiny.q8_0.gguf')).dataOffset;
  const f = path.join(dir, 'cut.gguf');
  const cuts = new Set<number>();
  for (let i = 4; i < dataOffset; i += i < 2048 ? 1 : 37) cuts.add(i);
  for (const i of [dataOffset, dataOffset + 1, full.length - 1]) cuts.add(i);
  for (const cut of cuts) {
    fs.writeFileSync(f, full.subarray(0, cut));
    await assert.rejects(openModel(f), (e: unknown) => e instanceof ModelFormatError && e.offset !== undefined && e.offset <= cut, `cut at ${cut}`);
  }
});
