// The pickle reader against CPython's own pickles (protocols 0-5) and
// hand-assembled opcodes: values, the byte where a pickle stops, limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readPickle, PickleSet, PickleTuple, PickleError, type PickleValue } from '../../../../extension/model/pytorch/pickle';
import { bufferSource } from '../../../../extension/model/pytorch/pickleInput';
import { torchHooks, isTensor } from '../../../../extension/model/pytorch/allowlist';
import { callPickle, cat, op, stateDictPickle } from './pickleBuilder';

const FIXTURES = path.join(__dirname, '../../../fixtures/pytorch');
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as { plain: unknown };

/** The same normal form the generator writes (generate/make_pickles.py norm()). */
function norm(v: PickleValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { int: v.toString() };
  // The fixture's floats are none of them integral, so integral numbers are ints.
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? v : { float: pyRepr(v) };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (v instanceof PickleTuple) return { tuple: v.items.map(norm) };
  if (Array.isArray(v)) return v.map(norm);
  if (v instanceof Map) return { dict: [...v].map(([k, x]) => [norm(k), norm(x)]) };
  if (v instanceof PickleSet) return { set: v.items.map(norm).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) };
  return { record: (v as { kind: string }).kind };
}
function pyRepr(v: number): string {
  if (v === Infinity) return 'inf';
  if (Object.is(v, -0)) return '-0.0';
  const s = String(v);
  return /e/.test(s) ? s.replace(/e-(\d)$/, 'e-0$1') : s.includes('.') ? s : `${s}.0`;
}

for (let p = 0; p <= 5; p++) {
  test(`protocol ${p}: CPython's pickle of plain values reads back the same`, () => {
    const bytes = fs.readFileSync(path.join(FIXTURES, `plain-p${p}.pkl`));
    const r = readPickle(bufferSource(bytes), torchHooks());
    assert.equal(r.end, bytes.length);
    assert.deepEqual(norm(r.value), expected.plain);
  });
}

for (const p of [2, 3, 4, 5]) {
  test(`protocol ${p}: a torch-shaped state dict becomes tensor records with their storages`, () => {
    const bytes = fs.readFileSync(path.join(FIXTURES, `statedict-p${p}.pkl`));
    const r = readPickle(bufferSource(bytes), torchHooks());
    assert.ok(r.value instanceof Map);
    assert.deepEqual([...r.value.keys()], ['a.weight', 'a.alias', 'b.bias']);
    const a = r.value.get('a.weight')!;
    const alias = r.value.get('a.alias')!;
    assert.ok(isTensor(a) && isTensor(alias));
    assert.deepEqual([a.storage.key, a.storage.numel, a.storage.type.name, a.size, a.stride, a.offset], ['0', 6, 'FloatStorage', [2, 3], [3, 1], 0]);
    // Memoized: both names hold the one storage record.
    assert.equal(a.storage.key, alias.storage.key);
  });
}

test('reports the byte after STOP, so pickles that follow each other are read one by one', () => {
  const one = cat(op.proto(2), op.int(1001), op.stop);
  const two = cat(op.proto(2), op.str('x'), op.stop);
  const both = cat(one, two);
  const r1 = readPickle(bufferSource(both), torchHooks());
  assert.equal(r1.value, 1001);
  assert.equal(r1.end, one.length);
  const r2 = readPickle(bufferSource(both), torchHooks(), r1.end);
  assert.equal(r2.value, 'x');
  assert.equal(r2.end, both.length);
});

test('memo, DUP, POP, POP_MARK, LONG1 and negative BININT decode as Python does', () => {
  const bytes = cat(op.proto(2), op.emptyList, op.binput(0), op.mark, op.int(-5), op.long1([0xff, 0x7f]), op.long1([0x00, 0x80]), op.binget(0), op.appends,
    [0x32, 0x30], op.mark, op.int(1), [0x31], op.stop);
  const r = readPickle(bufferSource(bytes), torchHooks());
  const list = r.value as PickleValue[];
  assert.equal(list[0], -5);
  assert.equal(list[1], 0x7fff);
  assert.equal(list[2], -32768);
  assert.equal(list[3], list); // a list that holds itself: memo references are kept, never copied
});

test('STOP with an open MARK, stack underflow, and an unknown opcode are corrupt pickles', () => {
  for (const bytes of [cat(op.proto(2), op.mark, op.int(1), op.stop), cat(op.proto(2), op.append, op.stop), cat(op.proto(2), [0xff])]) {
    assert.throws(() => readPickle(bufferSource(bytes), torchHooks()), PickleError);
  }
});

test('a million nested MARKs are refused at the limit, fast', () => {
  const bytes = Buffer.concat([Buffer.from(op.proto(2)), Buffer.alloc(1_000_000, 0x28)]);
  const t0 = Date.now();
  assert.throws(() => readPickle(bufferSource(bytes), torchHooks()), /nested deeper than 1000 levels/);
  assert.ok(Date.now() - t0 < 2000);
});

test('a string length past the end of the input is refused before anything is allocated', () => {
  const bytes = cat(op.proto(2), [0x58, 0xff, 0xff, 0xff, 0x7f], op.stop);
  assert.throws(() => readPickle(bufferSource(bytes), torchHooks()), /claims 2147483647 bytes but only 1 remain/);
  const b8 = cat(op.proto(4), [0x8d, 0, 0, 0, 0, 0, 0, 0x10, 0], op.stop);
  assert.throws(() => readPickle(bufferSource(b8), torchHooks()), /BINUNICODE8/);
});

test('a memo index that was never stored is refused (LONG_BINGET 2^32-1)', () => {
  const bytes = cat(op.proto(2), op.longBinget(0xffffffff), op.stop);
  assert.throws(() => readPickle(bufferSource(bytes), torchHooks()), /memo entry 4294967295 was never stored/);
});

test('stateDictPickle (the test builder) reads back as the tensors it describes', () => {
  const bytes = stateDictPickle([{ name: 'w', key: '3', numel: 12, offset: 2, size: [2, 5], stride: [5, 1] }]);
  const r = readPickle(bufferSource(bytes), torchHooks());
  const w = (r.value as Map<PickleValue, PickleValue>).get('w')!;
  assert.ok(isTensor(w));
  assert.deepEqual([w.storage.key, w.offset, w.size], ['3', 2, [2, 5]]);
});

test('a refused global is refused at its own GLOBAL opcode, before anything after it is read', () => {
  const bytes = cat(callPickle('os', 'system', 'touch /tmp/never'));
  assert.throws(() => readPickle(bufferSource(bytes), torchHooks()), (e: unknown) => e instanceof PickleError && e.offset === 2 && /refuses global os\.system/.test(e.problem));
});

test('the allowlist as records: Parameter, _rebuild_from_type_v2, torch.Size, torch.device, _codecs.encode', () => {
  const storage = cat(op.mark, op.str('storage'), op.global('torch', 'HalfStorage'), op.str('7'), op.str('cuda:0'), op.int(4), op.tuple, op.binpersid);
  const hooks = cat(op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce);
  const v2 = cat(op.global('torch._utils', '_rebuild_tensor_v2'), op.mark, storage, op.int(0), cat(op.global('torch', 'Size'), cat(op.mark, op.int(4), op.tuple), op.tuple1, op.reduce), cat(op.mark, op.int(1), op.tuple), op.false, hooks, op.emptyDict, op.tuple, op.reduce);
  const param = cat(op.global('torch._utils', '_rebuild_parameter'), op.mark, v2, op.true, hooks, op.tuple, op.reduce);
  const fromType = cat(op.global('torch._tensor', '_rebuild_from_type_v2'), op.mark, op.global('torch._utils', '_rebuild_tensor_v2'), op.global('torch', 'Tensor'),
    cat(op.mark, storage, op.int(1), cat(op.mark, op.int(2), op.tuple), cat(op.mark, op.int(1), op.tuple), op.false, hooks, op.tuple), op.emptyDict, op.tuple, op.reduce);
  const device = cat(op.global('torch', 'device'), op.str('cuda'), op.int(1), op.tuple2, op.reduce);
  const encoded = cat(op.global('_codecs', 'encode'), op.str('\u00ff\u0001'), op.str('latin1'), op.tuple2, op.reduce);
  const pickle = cat(op.proto(2), op.emptyDict, op.mark, op.str('p'), param, op.str('f'), fromType, op.str('d'), device, op.str('b'), encoded, op.setitems, op.stop);
  const m = readPickle(bufferSource(pickle), torchHooks()).value as Map<PickleValue, PickleValue>;
  const p = m.get('p')!;
  assert.ok(isTensor(p));
  assert.deepEqual([p.parameter, p.requiresGrad, p.size, p.storage.type.dtype, p.storage.location], [true, true, [4], 'float16', 'cuda:0']);
  const f = m.get('f')!;
  assert.ok(isTensor(f));
  assert.deepEqual([f.offset, f.size], [1, [2]]);
  assert.deepEqual(m.get('d'), { kind: 'device', name: 'cuda:1' });
  assert.deepEqual([...(m.get('b') as Uint8Array)], [0xff, 0x01]);
});
