// Hand-assembled pickles for tests: opcodes as torch.save (protocol 2) and
// Python's pickle emit them, so hostile files can be built byte for byte.
export type Bytes = Uint8Array;

export const cat = (...parts: Array<Bytes | number[]>): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p as Uint8Array)));

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };

export const op = {
  proto: (p: number) => [0x80, p],
  stop: [0x2e],
  mark: [0x28],
  none: [0x4e],
  true: [0x88],
  false: [0x89],
  emptyTuple: [0x29],
  tuple: [0x74],
  tuple1: [0x85],
  tuple2: [0x86],
  tuple3: [0x87],
  emptyList: [0x5d],
  append: [0x61],
  appends: [0x65],
  emptyDict: [0x7d],
  setitem: [0x73],
  setitems: [0x75],
  reduce: [0x52],
  build: [0x62],
  newobj: [0x81],
  binpersid: [0x51],
  stackGlobal: [0x93],
  memoize: [0x94],
  int: (n: number): Bytes => (Math.abs(n) >= 2 ** 31 ? Uint8Array.from([0x8a, 8, ...(() => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n)); return b; })()]) : n >= 0 && n < 256 ? Uint8Array.from([0x4b, n]) : n >= 0 && n < 65536 ? Uint8Array.from([0x4d, n & 0xff, n >> 8]) : cat([0x4a], (() => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; })())),
  str: (s: string): Bytes => { const b = Buffer.from(s, 'utf8'); return cat([0x58], u32(b.length), b); },
  shortStr: (s: string): Bytes => { const b = Buffer.from(s, 'utf8'); return cat([0x8c, b.length], b); },
  global: (module: string, name: string): Bytes => cat([0x63], Buffer.from(`${module}\n${name}\n`, 'latin1')),
  inst: (module: string, name: string): Bytes => cat([0x69], Buffer.from(`${module}\n${name}\n`, 'latin1')),
  binput: (i: number) => [0x71, i],
  binget: (i: number) => [0x68, i],
  longBinget: (i: number): Bytes => cat([0x6a], u32(i)),
  long1: (bytes: number[]) => [0x8a, bytes.length, ...bytes],
  binbytes: (b: Bytes): Bytes => cat([0x42], u32(b.length), b),
};

/** A tensor of a state dict, as torch.save pickles it. */
export interface TensorSpec {
  name: string;
  key: string;
  storage?: string;
  numel: number;
  offset?: number;
  size: number[];
  stride?: number[];
  /** A legacy persistent id carries a 6th item (view metadata, None). */
  legacy?: boolean;
}

export function contiguousStride(size: readonly number[]): number[] {
  const out = new Array<number>(size.length);
  let s = 1;
  for (let i = size.length - 1; i >= 0; i--) { out[i] = s; s *= size[i]!; }
  return out;
}

const tupleOf = (items: Bytes[]): Bytes => cat(op.mark, ...items, op.tuple);

/** `_rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`. */
export function tensorPickle(t: TensorSpec): Bytes {
  const pid = tupleOf([op.str('storage'), op.global('torch', t.storage ?? 'FloatStorage'), op.str(t.key), op.str('cpu'), op.int(t.numel), ...(t.legacy ? [Uint8Array.from(op.none)] : [])]);
  return cat(
    op.global('torch._utils', '_rebuild_tensor_v2'),
    tupleOf([
      cat(pid, op.binpersid),
      op.int(t.offset ?? 0),
      tupleOf(t.size.map(op.int)),
      tupleOf((t.stride ?? contiguousStride(t.size)).map(op.int)),
      Uint8Array.from(op.false),
      cat(op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce),
    ]),
    op.reduce,
  );
}

/** A protocol-2 pickle of OrderedDict(name -> tensor), as torch.save writes a state dict. */
export function stateDictPickle(tensors: readonly TensorSpec[]): Buffer {
  // Python's pickler writes SETITEMS in batches of 1000 items.
  const parts: Uint8Array[] = [cat(op.proto(2), op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce)];
  for (let i = 0; i < tensors.length; i += 1000) {
    parts.push(Uint8Array.from(op.mark));
    for (const t of tensors.slice(i, i + 1000)) parts.push(op.str(t.name), tensorPickle(t));
    parts.push(Uint8Array.from(op.setitems));
  }
  parts.push(Uint8Array.from(op.stop));
  return Buffer.concat(parts);
}

/** A pickle that, loaded by Python, runs `callable(arg)`: GLOBAL module name, (arg,), REDUCE. */
export function callPickle(module: string, name: string, arg: string, protocol = 2): Buffer {
  return cat(op.proto(protocol), op.global(module, name), op.str(arg), op.tuple1, op.reduce, op.stop);
}

/** A state dict with a payload planted as one more entry's value. */
export function plantedStateDict(tensors: readonly TensorSpec[], payload: Bytes): Buffer {
  return cat(op.proto(2), op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce, op.mark, ...tensors.flatMap((t) => [op.str(t.name), tensorPickle(t)]), op.str('evil'), payload, op.setitems, op.stop);
}

/** Little-endian float32 bytes. */
export function f32(values: readonly number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

/** A legacy-format file: magic, protocol 1001, sys_info, the object pickle, the keys pickle, then each storage (count, bytes). */
export function buildLegacy(objectPickle: Bytes, storages: ReadonlyArray<{ key: string; numel: number; data: Bytes }>, keysPickle?: Bytes): Buffer {
  const magic = cat(op.proto(2), op.long1([0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]), op.stop);
  const protocol = cat(op.proto(2), op.int(1001), op.stop);
  const sysInfo = cat(op.proto(2), op.emptyDict, op.mark, op.str('protocol_version'), op.int(1001), op.str('little_endian'), op.true, op.setitems, op.stop);
  const keys = keysPickle ?? cat(op.proto(2), op.emptyList, op.mark, ...storages.map((s) => op.str(s.key)), op.appends, op.stop);
  const data = storages.flatMap((s) => { const n = Buffer.alloc(8); n.writeBigInt64LE(BigInt(s.numel)); return [n, Buffer.from(s.data)]; });
  return cat(magic, protocol, sysInfo, objectPickle, keys, ...data);
}
