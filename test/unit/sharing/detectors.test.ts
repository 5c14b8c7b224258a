// Detector paths the corpus does not reach (other element sizes, many
// same-sample candidates, NaN, ties), driven through scanModels on a real
// corpus model to which tensors with chosen bytes are added (inline data, as
// the ONNX reader produces for typed fields).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { openModel } from '../../../extension/model/registry';
import type { DType, ModelFile, TensorRef } from '../../../extension/model/types';
import { DTYPE_SIZE } from '../../../extension/model/types';
import { scanModels } from '../../../extension/sharing/scan';
import type { SharingGroup } from '../../../extension/sharing/types';

const base = path.join(__dirname, '../../fixtures/corpus/siamese-cnn.onnx');

function tensor(id: string, dtype: DType, shape: number[], bytes: Uint8Array): TensorRef {
  const elementCount = shape.reduce((a, b) => a * b, 1);
  assert.equal(bytes.length, elementCount * DTYPE_SIZE[dtype]);
  return {
    id, name: id, role: 'initializer', graphPath: '', dtype, shape, elementCount, byteLength: bytes.length,
    data: { kind: 'inline', bytes }, isGraphInput: false, consumers: [], recordOffset: 0,
  };
}

async function scanWith(extra: TensorRef[]): Promise<{ groups: SharingGroup[]; model: ModelFile }> {
  const m = await openModel(base);
  const model = { ...m, tensors: [...m.tensors, ...extra] };
  const r = await scanModels([model], { minBytes: 0, chunkBytes: 4096 });
  const added = new Set(extra.map((t) => t.id));
  return { groups: r.groups.filter((g) => g.members.every((x) => added.has(x.tensor.id))), model };
}

const key = (g: SharingGroup) => `${g.kind}${g.transposed ? '+t' : ''}:${g.members.map((m) => m.tensor.id).join(',')}`;

test('many same-sample candidates: split by full contents into the right classes', async () => {
  // 8 KiB of zeros differing only at byte 4100 (between sampled windows).
  const mk = (v: number) => { const b = new Uint8Array(8192); b[4100] = v; return b; };
  const { groups } = await scanWith([
    tensor('z1', 'uint8', [8192], mk(0)), tensor('c1', 'uint8', [8192], mk(1)), tensor('z2', 'uint8', [8192], mk(0)),
    tensor('d1', 'uint8', [8192], mk(2)), tensor('d2', 'uint8', [8192], mk(2)), tensor('e1', 'uint8', [8192], mk(3)),
    tensor('d3', 'uint8', [8192], mk(2)),
  ]);
  assert.deepEqual(groups.map(key).sort(), ['exact:d1,d2,d3', 'exact:z1,z2']);
});

test('transposed copies for 1, 2, 4 and 8-byte elements; square and small matrices are out of scope', async () => {
  const extra: TensorRef[] = [];
  const dtypes: DType[] = ['int8', 'float16', 'float32', 'int64'];
  for (const dt of dtypes) {
    const es = DTYPE_SIZE[dt];
    const [a, b] = [37, 23]; // 851 elements, odd sizes so tiles do not divide evenly
    const x = new Uint8Array(a * b * es);
    for (let i = 0; i < x.length; i++) x[i] = (i * 131 + 7) & 0xff;
    const y = new Uint8Array(x.length);
    for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) y.set(x.subarray((i * b + j) * es, (i * b + j + 1) * es), (j * a + i) * es);
    extra.push(tensor(`${dt}_x`, dt, [a, b], x), tensor(`${dt}_xt`, dt, [b, a], y));
    const z = y.slice();
    z[z.length - es - 1] ^= 1; // differs in the second-to-last element
    extra.push(tensor(`${dt}_not`, dt, [b, a], z));
  }
  const sq = new Uint8Array(20 * 20 * 4).map((_, i) => i & 0xff);
  extra.push(tensor('sq', 'float32', [20, 20], sq), tensor('sq_t', 'float32', [20, 20], sq.slice()));
  const { groups } = await scanWith(extra);
  assert.deepEqual(groups.filter((g) => g.kind === 'transposed').map(key).sort(), dtypes.map((d) => `transposed:${d}_x,${d}_xt`).sort());
});

test('cast copies: round-to-nearest-even bits match, same shape and transposed; a NaN or a truncated copy does not', async () => {
  const n = 24 * 40;
  const f = new Float32Array(n);
  for (let i = 0; i < n; i++) f[i] = Math.sin(i) * 3 + (i % 7 === 0 ? 1 + 2 ** -11 : 0); // includes ties (1 + 2^-11 is halfway)
  const toHalf = (v: number) => {
    // Reference conversion through float64 arithmetic (independent of the code under test): normal range only.
    if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
    const s = v < 0 ? 0x8000 : 0;
    const a = Math.abs(v);
    const e = Math.floor(Math.log2(a));
    let m = a / 2 ** e * 1024 - 1024; // 10-bit mantissa, fractional
    let fl = Math.floor(m);
    const frac = m - fl;
    if (frac > 0.5 || (frac === 0.5 && (fl & 1))) fl++;
    m = fl;
    return s | (((e + 15) << 10) + m);
  };
  const h = new Uint16Array(n);
  const trunc = new Uint16Array(n);
  for (let i = 0; i < n; i++) h[i] = toHalf(f[i]);
  for (let i = 0; i < n; i++) { const bits = new Uint32Array(new Float32Array([f[i]]).buffer)[0]; trunc[i] = ((bits >>> 16) & 0x8000) | ((((bits >>> 23) & 0xff) - 112) << 10) | ((bits >>> 13) & 0x3ff); }
  const ht = new Uint16Array(n);
  for (let i = 0; i < 24; i++) for (let j = 0; j < 40; j++) ht[j * 24 + i] = h[i * 40 + j];
  const fNaN = f.slice();
  fNaN[n - 3] = NaN;
  const u8 = (a: Float32Array | Uint16Array) => new Uint8Array(a.buffer.slice(0));
  const { groups } = await scanWith([
    tensor('f', 'float32', [24, 40], u8(f)),
    tensor('h', 'float16', [24, 40], u8(h)),
    tensor('ht', 'float16', [40, 24], u8(ht)),
    tensor('trunc', 'float16', [24, 40], u8(trunc)),
    tensor('fnan', 'float32', [24, 40], u8(fNaN)),
  ]);
  assert.ok(trunc.some((x, i) => x !== h[i]), 'truncation differs from rounding somewhere');
  assert.deepEqual(groups.filter((g) => g.kind === 'cast').map(key).sort(), ['cast+t:f,ht', 'cast:f,h']);
});
