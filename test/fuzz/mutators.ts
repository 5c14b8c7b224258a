// Mutations for the fuzzer (test/fuzz/run.ts): a seeded PRNG, generic byte
// mutations that know nothing of the format, and structure-aware ones per
// format: ONNX (a lenient protobuf field tree with the onnx.proto schema, so
// one chosen field can be changed and the enclosing lengths re-encoded),
// safetensors (the 8-byte length, the header JSON, the data region) and the
// JSON side files of a Hugging Face folder (shard index, config.json).
//
// Everything here is pure: bytes in, bytes out, and a list of words saying
// what was done (kept in each failure's note). The same seed gives the same
// mutations.

// --- PRNG ----------------------------------------------------------------

/** xoshiro128** seeded through splitmix32: fast, 2^128 period, deterministic. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Uniform uint32. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n); 0 when n <= 0. */
  int(n: number): number {
    if (n <= 1) return 0;
    if (n <= 4294967296) return Math.floor(this.float() * n);
    return Math.floor((this.u32() * 4294967296 + this.u32()) % n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)];
  }

  /** Weighted pick: [weight, value] pairs. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    let total = 0;
    for (const [w] of items) total += w;
    let x = this.float() * total;
    for (const [w, v] of items) {
      x -= w;
      if (x < 0) return v;
    }
    return items[items.length - 1][1];
  }

  /** Small counts: 1 with probability 1-p, 2 with p(1-p), ... capped at max. */
  geometric(p: number, max: number): number {
    let n = 1;
    while (n < max && this.chance(p)) n++;
    return n;
  }

  /** A length for a byte run: mostly short, sometimes long. */
  runLength(max: number): number {
    const cap = Math.max(1, max);
    const r = this.float();
    const n = r < 0.6 ? this.range(1, 8) : r < 0.9 ? this.range(1, 256) : this.range(1, 65536);
    return Math.min(n, cap);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A 32-bit seed from several parts (run seed, reader, input index): each input is reproducible on its own. */
export function mixSeed(...parts: Array<number | string>): number {
  let h = 0x811c9dc5;
  const eat = (x: number) => {
    h ^= x & 0xff; h = Math.imul(h, 0x01000193);
  };
  for (const p of parts) {
    if (typeof p === 'number') {
      let v = Math.floor(p);
      for (let i = 0; i < 8; i++) { eat(v); v = Math.floor(v / 256); }
    } else {
      for (let i = 0; i < p.length; i++) { const c = p.charCodeAt(i); eat(c); eat(c >>> 8); }
    }
    eat(0xff);
  }
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b); h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h >>> 0;
}

// --- shared helpers --------------------------------------------------------

/** Integer boundary values (unsigned; narrower widths take the low bytes). */
export const BOUNDARY: readonly bigint[] = [
  0n, 1n, 2n, 7n, 8n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n,
  2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 48n,
  2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n,
];

const U64 = 2n ** 64n;

/** A boundary value, or one relative to the input (its size, an offset in it), as an unsigned 64-bit integer. */
export function boundaryValue(rng: Rng, size: number): bigint {
  const r = rng.float();
  if (r < 0.6) return rng.pick(BOUNDARY);
  if (r < 0.8) return BigInt(Math.max(0, size + rng.range(-16, 16)));
  if (r < 0.9) return (U64 - BigInt(rng.range(1, 1 << 16))) % U64; // small negatives
  return BigInt(rng.u32()) * BigInt(rng.range(0, 1 << 16)) + BigInt(rng.u32());
}

/** Protobuf varint of an unsigned 64-bit value (negative int64s are their two's complement: 10 bytes). */
export function varint(value: bigint | number): Uint8Array {
  let v = typeof value === 'number' ? BigInt(Math.trunc(value)) : value;
  if (v < 0n) v = (v % U64 + U64) % U64;
  v %= U64;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Uint8Array.from(out);
}

/** A varint of exactly `width` bytes (non-minimal when the value is small), or undefined when it does not fit. */
export function varintOfWidth(value: bigint, width: number): Uint8Array | undefined {
  if (width < 1 || width > 10 || value < 0n || value >= 1n << BigInt(7 * width)) return undefined;
  const out = new Uint8Array(width);
  let v = value;
  for (let i = 0; i < width; i++) {
    out[i] = Number(v & 0x7fn) | (i < width - 1 ? 0x80 : 0);
    v >>= 7n;
  }
  return out;
}

export function readVarint(b: Uint8Array, pos: number, end: number): { value: bigint; next: number } | undefined {
  let v = 0n;
  let shift = 0n;
  for (let i = pos; i < end && i < pos + 10; i++) {
    const byte = b[i];
    v |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return { value: v % U64, next: i + 1 };
    shift += 7n;
  }
  return undefined;
}

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts as Uint8Array[]);
}

function setIntLE(b: Uint8Array, at: number, width: number, value: bigint): void {
  let v = value % U64;
  for (let i = 0; i < width && at + i < b.length; i++) {
    b[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

// --- generic byte mutations ------------------------------------------------

export interface Mutated {
  bytes: Uint8Array;
  /** What was done, in order, e.g. `flip-bit@1234.5`. */
  ops: string[];
}

/** Where mutations are likelier to matter: field starts, length fields, ends (from a structure parse). */
export type Hotspots = readonly number[];

function offsetIn(rng: Rng, size: number, hotspots?: Hotspots): number {
  if (size <= 0) return 0;
  const r = rng.float();
  if (hotspots && hotspots.length > 0 && r < 0.5) {
    const at = rng.pick(hotspots) + (rng.chance(0.5) ? 0 : rng.range(-2, 2));
    return Math.min(size - 1, Math.max(0, at));
  }
  if (r < 0.7) return rng.int(Math.min(size, 256)); // headers live at the start
  return rng.int(size);
}

type GenericOp = (rng: Rng, b: Buffer, hot: Hotspots | undefined) => { bytes: Buffer; op: string };


const GENERIC: ReadonlyArray<readonly [number, GenericOp]> = [
  [8, (rng, b, hot) => {
    // Truncation: anywhere, at a structural point, or a few bytes off the end.
    const r = rng.float();
    const at = r < 0.4 ? offsetIn(rng, b.length, hot) : r < 0.7 ? Math.max(0, b.length - rng.range(1, 16)) : rng.int(b.length + 1);
    return { bytes: b.subarray(0, at), op: `truncate@${at}` };
  }],
  [10, (rng, b, hot) => {
    if (b.length === 0) return { bytes: b, op: 'flip-bit(empty)' };
    const at = offsetIn(rng, b.length, hot);
    const bit = rng.int(8);
    b[at] ^= 1 << bit;
    return { bytes: b, op: `flip-bit@${at}.${bit}` };
  }],
  [8, (rng, b, hot) => {
    if (b.length === 0) return { bytes: b, op: 'set-byte(empty)' };
    const at = offsetIn(rng, b.length, hot);
    const v = rng.chance(0.5) ? rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x3a]) : rng.int(256);
    b[at] = v;
    return { bytes: b, op: `set-byte@${at}=0x${v.toString(16)}` };
  }],
  [6, (rng, b, hot) => {
    const at = rng.chance(0.8) ? offsetIn(rng, b.length, hot) : b.length;
    const n = rng.runLength(1 << 16);
    const r = rng.float();
    let run: Buffer;
    let what: string;
    if (r < 0.4) { run = Buffer.alloc(n, rng.pick([0x00, 0xff, 0x80, 0x20, 0x7b])); what = `fill 0x${run[0].toString(16)}`; }
    else if (r < 0.7 && b.length > 0) { const from = rng.int(b.length); run = Buffer.from(b.subarray(from, from + n)); what = `copy of @${from}`; }
    else { run = Buffer.alloc(n); for (let i = 0; i < n; i++) run[i] = rng.int(256); what = 'random'; }
    return { bytes: concat([b.subarray(0, at), run, b.subarray(at)]), op: `insert@${at}+${run.length}(${what})` };
  }],
  [6, (rng, b, hot) => {
    if (b.length === 0) return { bytes: b, op: 'delete(empty)' };
    const at = offsetIn(rng, b.length, hot);
    const n = Math.min(rng.runLength(1 << 16), b.length - at);
    return { bytes: concat([b.subarray(0, at), b.subarray(at + n)]), op: `delete@${at}-${n}` };
  }],
  [5, (rng, b, hot) => {
    if (b.length === 0) return { bytes: b, op: 'duplicate(empty)' };
    const at = offsetIn(rng, b.length, hot);
    const n = Math.min(rng.runLength(4096), b.length - at);
    const to = rng.chance(0.6) ? at + n : rng.int(b.length + 1);
    const run = Buffer.from(b.subarray(at, at + n));
    return { bytes: concat([b.subarray(0, to), run, b.subarray(to)]), op: `duplicate@${at}+${n}->${to}` };
  }],
  [8, (rng, b, hot) => {
    // Runs of 0x80 / 0xff are endless varints; 0x00 runs are field number 0 / empty lengths.
    if (b.length === 0) return { bytes: b, op: 'overwrite(empty)' };
    const at = offsetIn(rng, b.length, hot);
    const v = rng.pick([0x00, 0xff, 0x80, 0x80, 0xff]);
    const n = Math.min(rng.chance(0.7) ? rng.range(1, 12) : rng.runLength(4096), b.length - at);
    b.fill(v, at, at + n);
    return { bytes: b, op: `overwrite@${at}+${n}=0x${v.toString(16)}` };
  }],
  [10, (rng, b, hot) => {
    // 1/2/4/8-byte little-endian integer set to a boundary value.
    if (b.length === 0) return { bytes: b, op: 'set-int(empty)' };
    const width = rng.pick([1, 2, 4, 8, 8]);
    const at = offsetIn(rng, b.length, hot);
    const v = boundaryValue(rng, b.length) % (1n << BigInt(8 * width));
    setIntLE(b, at, width, v);
    return { bytes: b, op: `set-u${width * 8}@${at}=${v}` };
  }],
  [8, (rng, b, hot) => {
    // A protobuf varint of a boundary value written over the bytes there.
    if (b.length === 0) return { bytes: b, op: 'set-varint(empty)' };
    const at = offsetIn(rng, b.length, hot);
    const v = boundaryValue(rng, b.length);
    const enc = varint(v);
    const keep = rng.chance(0.5);
    if (keep) b.set(enc.subarray(0, b.length - at), at);
    const bytes = keep ? b : concat([b.subarray(0, at), enc, b.subarray(Math.min(b.length, at + 1))]);
    return { bytes, op: `${keep ? 'set' : 'splice'}-varint@${at}=${v}` };
  }],
];

/** One to a few generic mutations stacked (havoc). `hotspots` bias where they land. */
export function genericMutate(rng: Rng, input: Uint8Array, hotspots?: Hotspots, count = rng.geometric(0.45, 8)): Mutated {
  let b: Buffer = Buffer.from(input);
  const ops: string[] = [];
  for (let i = 0; i < count; i++) {
    const op = rng.weighted(GENERIC);
    const r = op(rng, b, hotspots);
    b = r.bytes;
    ops.push(r.op);
  }
  return { bytes: b, ops };
}

// --- protobuf field tree (ONNX) ---------------------------------------------

/** onnx.proto: message type -> field number -> message type of that field (only message-typed fields). */
export const ONNX_SCHEMA: Readonly<Record<string, Readonly<Record<number, string>>>> = {
  ModelProto: { 7: 'GraphProto', 8: 'OperatorSetIdProto', 14: 'StringStringEntryProto', 20: 'TrainingInfoProto', 25: 'FunctionProto' },
  GraphProto: { 1: 'NodeProto', 5: 'TensorProto', 11: 'ValueInfoProto', 12: 'ValueInfoProto', 13: 'ValueInfoProto', 14: 'TensorAnnotation', 15: 'SparseTensorProto', 16: 'StringStringEntryProto' },
  NodeProto: { 5: 'AttributeProto', 9: 'StringStringEntryProto' },
  AttributeProto: { 5: 'TensorProto', 6: 'GraphProto', 10: 'TensorProto', 11: 'GraphProto', 14: 'TypeProto', 15: 'TypeProto', 22: 'SparseTensorProto', 23: 'SparseTensorProto' },
  TensorProto: { 3: 'TensorProto.Segment', 13: 'StringStringEntryProto', 16: 'StringStringEntryProto' },
  SparseTensorProto: { 1: 'TensorProto', 2: 'TensorProto' },
  ValueInfoProto: { 2: 'TypeProto', 4: 'StringStringEntryProto' },
  TypeProto: { 1: 'TypeProto.Tensor', 4: 'TypeProto.Sequence', 5: 'TypeProto.Map', 8: 'TypeProto.SparseTensor', 9: 'TypeProto.Optional' },
  'TypeProto.Tensor': { 2: 'TensorShapeProto' },
  'TypeProto.SparseTensor': { 2: 'TensorShapeProto' },
  'TypeProto.Sequence': { 1: 'TypeProto' },
  'TypeProto.Optional': { 1: 'TypeProto' },
  'TypeProto.Map': { 2: 'TypeProto' },
  TensorShapeProto: { 1: 'TensorShapeProto.Dimension' },
  FunctionProto: { 7: 'NodeProto', 9: 'OperatorSetIdProto', 11: 'AttributeProto', 12: 'ValueInfoProto', 14: 'StringStringEntryProto' },
  TrainingInfoProto: { 1: 'GraphProto', 2: 'StringStringEntryProto', 3: 'GraphProto', 4: 'StringStringEntryProto' },
  TensorAnnotation: { 2: 'StringStringEntryProto' },
};

/** Length-delimited fields that hold text (names, op types, keys), by message type. */
const ONNX_STRINGS: Readonly<Record<string, readonly number[]>> = {
  ModelProto: [2, 3, 4, 6],
  GraphProto: [2, 10],
  NodeProto: [1, 2, 3, 4, 6, 7, 8],
  TensorProto: [8, 12],
  ValueInfoProto: [1, 3],
  AttributeProto: [1, 4, 13, 21],
  StringStringEntryProto: [1, 2],
  OperatorSetIdProto: [1],
  FunctionProto: [1, 4, 5, 6, 8, 10, 13],
  'TensorShapeProto.Dimension': [2, 3],
};

export interface PbMsg {
  type: string;
  start: number;
  end: number;
  children: PbNode[];
  /** First byte the lenient parse could not read as a field (`end` when all of it parsed). */
  tailStart: number;
  /** The field holding this message; undefined for the file itself. */
  owner?: PbNode;
}

export interface PbNode {
  field: number;
  wire: number;
  /** Tag start; the whole field is [start, end). */
  start: number;
  tagEnd: number;
  /** Value start (for length-delimited fields: the payload, after the length). */
  valueStart: number;
  end: number;
  /** Varint / fixed value, or the length of a length-delimited field. */
  value: bigint;
  parent: PbMsg;
  /** The parsed payload, for message-typed fields. */
  msg?: PbMsg;
}

export interface PbTree {
  bytes: Uint8Array;
  root: PbMsg;
  nodes: PbNode[];
}

const MAX_PARSE_DEPTH = 100;

/** Parses as much of `bytes` as is well-formed into a field tree (a broken field ends its message's parse). */
export function parsePb(bytes: Uint8Array, rootType = 'ModelProto', schema = ONNX_SCHEMA): PbTree {
  const nodes: PbNode[] = [];
  const root = parseMsg(bytes, 0, bytes.length, rootType, undefined, 0, nodes, schema);
  return { bytes, root, nodes };
}

function parseMsg(b: Uint8Array, start: number, end: number, type: string, owner: PbNode | undefined, depth: number, nodes: PbNode[], schema: typeof ONNX_SCHEMA): PbMsg {
  const msg: PbMsg = { type, start, end, children: [], tailStart: end, owner };
  let pos = start;
  for (;;) {
    if (pos >= end) break;
    const tag = readVarint(b, pos, end);
    if (!tag || tag.value >= 1n << 32n) break;
    const field = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    if (field === 0) break;
    let valueStart = tag.next;
    let valueEnd: number;
    let value = 0n;
    if (wire === 0) {
      const v = readVarint(b, valueStart, end);
      if (!v) break;
      value = v.value;
      valueEnd = v.next;
    } else if (wire === 1 || wire === 5) {
      valueEnd = valueStart + (wire === 1 ? 8 : 4);
      if (valueEnd > end) break;
      for (let i = valueEnd - 1; i >= valueStart; i--) value = (value << 8n) | BigInt(b[i]);
    } else if (wire === 2) {
      const l = readVarint(b, valueStart, end);
      if (!l || l.value > BigInt(end - l.next)) break;
      value = l.value;
      valueStart = l.next;
      valueEnd = valueStart + Number(l.value);
    } else {
      break;
    }
    const node: PbNode = { field, wire, start: pos, tagEnd: tag.next, valueStart, end: valueEnd, value, parent: msg };
    const childType = wire === 2 && depth < MAX_PARSE_DEPTH ? schema[type]?.[field] : undefined;
    if (childType) node.msg = parseMsg(b, valueStart, valueEnd, childType, node, depth + 1, nodes, schema);
    msg.children.push(node);
    nodes.push(node);
    pos = valueEnd;
  }
  msg.tailStart = pos;
  return msg;
}

/** What a node is called in notes: `GraphProto.initializer#5@1234` style. */
export function describeNode(n: PbNode): string {
  const idx = n.parent.children.indexOf(n);
  return `${n.parent.type}.${n.field}#${idx}@${n.start}`;
}

/** A serialisation edit: what to emit in place of a node. The node itself in the list is emitted with the edits below it applied; other nodes verbatim. */
export type Piece = Uint8Array | PbNode;
export type Edits = Map<PbNode, Piece[]>;

/** Largest input the structure mutations make (a safety net: `free` already keeps repeated fields from nesting). */
export const MAX_MUTATED_BYTES = 64 << 20;

/** Re-encodes the tree with `edits` applied; every enclosing length is recomputed, everything untouched is copied verbatim. Throws past MAX_MUTATED_BYTES. */
export function serializePb(tree: PbTree, edits: Edits): Buffer {
  const dirty = new Set<PbMsg>();
  for (const n of edits.keys()) {
    for (let m: PbMsg | undefined = n.parent; m && !dirty.has(m); m = m.owner?.parent) dirty.add(m);
  }
  const b = tree.bytes;
  const parts: Uint8Array[] = [];
  const slice = (s: number, e: number) => b.subarray(s, e);
  let emitted = 0; // leaf bytes so far: stops a runaway before it is built
  const leaf = (out: Uint8Array[], piece: Uint8Array): number => {
    emitted += piece.length;
    if (emitted > MAX_MUTATED_BYTES) throw new RangeError(`fuzz mutation would make more than ${MAX_MUTATED_BYTES} bytes`);
    out.push(piece);
    return piece.length;
  };
  const emitPlain = (n: PbNode, out: Uint8Array[]): number => {
    if (n.msg && dirty.has(n.msg)) {
      const inner: Uint8Array[] = [];
      const len = emitMsg(n.msg, inner);
      const head = leaf(out, slice(n.start, n.tagEnd)) + leaf(out, varint(len));
      for (const p of inner) out.push(p); // no spread: `inner` may hold 100,000 pieces
      return head + len;
    }
    return leaf(out, slice(n.start, n.end));
  };
  const emitNode = (n: PbNode, out: Uint8Array[]): number => {
    const e = edits.get(n);
    if (!e) return emitPlain(n, out);
    let len = 0;
    for (const p of e) {
      if (p instanceof Uint8Array) len += leaf(out, p);
      else if (p === n) len += emitPlain(p, out);
      else len += leaf(out, slice(p.start, p.end)); // another field, as it was (it may hold `n`: no cycles)
    }
    return len;
  };
  const emitMsg = (m: PbMsg, out: Uint8Array[]): number => {
    let len = 0;
    for (const c of m.children) len += emitNode(c, out);
    if (m.tailStart < m.end) len += leaf(out, slice(m.tailStart, m.end));
    return len;
  };
  emitMsg(tree.root, parts);
  return concat(parts);
}

/** Field offsets worth aiming generic mutations at (tags, lengths, payload starts and ends), sampled. */
export function pbHotspots(tree: PbTree, max = 4096): number[] {
  const out: number[] = [];
  const step = Math.max(1, Math.floor(tree.nodes.length / (max / 4)));
  for (let i = 0; i < tree.nodes.length; i += step) {
    const n = tree.nodes[i];
    out.push(n.start, n.tagEnd, n.valueStart, n.end);
  }
  return out;
}

const tagOf = (field: number, wire: number) => varint((BigInt(field) << 3n) | BigInt(wire));
const lenField = (field: number, payload: Uint8Array) => concat([tagOf(field, 2), varint(payload.length), payload]);
const varintField = (field: number, v: bigint | number) => concat([tagOf(field, 0), varint(v)]);
const strField = (field: number, s: string | Uint8Array) => lenField(field, typeof s === 'string' ? Buffer.from(s, 'utf8') : s);

/** Known ONNX data_type values are 1..23 (and 24, 25 in newer onnx); these are not, or are valid but different. */
const DATA_TYPES = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 13, 16, 17, 19, 21, 22, 23, 24, 25, 26, 30, 99, 255, 2 ** 31 - 1];
const NEG = (v: bigint) => (U64 + v) % U64;

function weirdVarint(rng: Rng, n: PbNode): bigint {
  const key = `${n.parent.type}.${n.field}`;
  const cur = n.value;
  if (key === 'TensorProto.2' || key === 'TypeProto.Tensor.1' || key === 'AttributeProto.20') return BigInt(rng.pick(DATA_TYPES));
  if (key === 'TensorProto.1' || key === 'TensorShapeProto.Dimension.1' || key === 'SparseTensorProto.3') {
    return rng.pick([NEG(1n), NEG(2n ** 31n), NEG(2n ** 63n), 0n, 1n, cur + 1n, cur * 2n, cur > 0n ? cur - 1n : 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 62n, 2n ** 63n - 1n]);
  }
  if (key === 'TensorProto.14') return BigInt(rng.pick([0, 1, 2, 3, 255, 2 ** 31 - 1])) ;
  if (key === 'ModelProto.1' || key === 'OperatorSetIdProto.2') return rng.pick([0n, 1n, 3n, 4n, 7n, 10n, 11n, 99n, NEG(1n), 2n ** 53n, 2n ** 63n]);
  return rng.chance(0.3) ? (rng.chance(0.5) ? cur + 1n : NEG(cur)) : rng.pick(BOUNDARY);
}

/** Operators the analysis and the rewriter treat specially, and names that are also Object.prototype members. */
const OP_TYPES = [
  'Constant', 'If', 'Loop', 'Scan', 'Gemm', 'MatMul', 'Transpose', 'Cast', 'Reshape', 'Gather', 'DequantizeLinear', 'QuantizeLinear',
  'MatMulInteger', 'ConvInteger', 'QLinearMatMul', 'QLinearConv', 'DynamicQuantizeMatMul', 'MatMulIntegerToFloat', 'Conv', 'Identity',
  'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf',
];

function weirdString(rng: Rng, tree: PbTree, strings: PbNode[], n?: PbNode): Uint8Array {
  if (n && n.parent.type === 'NodeProto' && n.field === 4 && rng.chance(0.6)) return Buffer.from(rng.pick(OP_TYPES));
  const r = rng.float();
  if (r < 0.3 && strings.length > 0) {
    // Another name from the model: collisions (duplicate initializer names, inputs rewired to other tensors).
    const o = rng.pick(strings);
    return tree.bytes.subarray(o.valueStart, o.end);
  }
  const options: Array<() => Uint8Array> = [
    () => new Uint8Array(0),
    () => Buffer.from('\0'),
    () => Buffer.from([0xff, 0xfe, 0xc0, 0x80]),
    () => Buffer.from([0xed, 0xa0, 0x80]), // a UTF-8-encoded surrogate
    () => Buffer.from('../outside.onnx.data'),
    () => Buffer.from('/etc/hostname'),
    () => Buffer.from('C:\\x.data'),
    () => Buffer.from('.'),
    () => Buffer.from('__proto__'),
    () => Buffer.from('constructor'),
    () => Buffer.from(rng.pick(['toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'prototype'])),
    () => Buffer.from('名前/😀'),
    () => Buffer.alloc(rng.pick([256, 4096, 65537, (1 << 20) + 1]), 0x41),
    () => Buffer.from(`${'x/'.repeat(rng.range(1, 200))}y`),
  ];
  return rng.pick(options)();
}

/** A nested If chain `depth` deep (each then_branch holds the next If), as a NodeProto payload. */
function nestedIfNode(depth: number): Uint8Array {
  let g: Uint8Array = concat([strField(2, 'leaf')]);
  let node: Uint8Array = new Uint8Array(0);
  for (let d = 0; d < depth; d++) {
    const attr = concat([strField(1, 'then_branch'), varintField(20, 5), lenField(6, g)]);
    node = concat([strField(1, 'cond'), strField(2, `out${d}`), strField(3, `If_${d}`), strField(4, 'If'), lenField(5, attr)]);
    g = concat([lenField(1, node), strField(2, `g${d}`)]);
  }
  return node;
}

/** A TypeProto of sequences nested `depth` deep, around a float tensor type. */
function nestedSequenceType(depth: number): Uint8Array {
  let t: Uint8Array = lenField(1, varintField(1, 1)); // tensor_type { elem_type: FLOAT }
  for (let d = 0; d < depth; d++) t = lenField(4, lenField(1, t)); // sequence_type { elem_type: t }
  return t;
}

type OnnxOp = (rng: Rng, tree: PbTree, edits: Edits, ix: OnnxIndex) => string | undefined;

interface OnnxIndex {
  len: PbNode[];
  varints: PbNode[];
  messages: PbNode[];
  bigMessages: PbNode[];
  strings: PbNode[];
  tensors: PbNode[];
  raw: PbNode[];
  external: PbNode[];
  graphs: PbNode[];
  valueInfos: PbNode[];
  multi: PbMsg[];
  allMsgs: PbMsg[];
}

function indexTree(tree: PbTree): OnnxIndex {
  const ix: OnnxIndex = { len: [], varints: [], messages: [], bigMessages: [], strings: [], tensors: [], raw: [], external: [], graphs: [], valueInfos: [], multi: [], allMsgs: [tree.root] };
  for (const n of tree.nodes) {
    if (n.wire === 2) ix.len.push(n);
    if (n.wire === 0) ix.varints.push(n);
    if (n.msg) {
      ix.messages.push(n);
      ix.allMsgs.push(n.msg);
      const t = n.msg.type;
      if (t === 'NodeProto' || t === 'TensorProto' || t === 'GraphProto' || t === 'ValueInfoProto' || t === 'AttributeProto' || t === 'SparseTensorProto' || t === 'FunctionProto') ix.bigMessages.push(n);
      if (t === 'TensorProto') ix.tensors.push(n);
      if (t === 'GraphProto') ix.graphs.push(n);
      if (t === 'ValueInfoProto') ix.valueInfos.push(n);
      if (t === 'StringStringEntryProto' && n.parent.type === 'TensorProto' && n.field === 13) ix.external.push(n);
      if (n.msg.children.length >= 2) ix.multi.push(n.msg);
    }
    if (n.wire === 2 && ONNX_STRINGS[n.parent.type]?.includes(n.field)) ix.strings.push(n);
    if (n.wire === 2 && n.parent.type === 'TensorProto' && n.field === 9) ix.raw.push(n);
  }
  if (tree.root.children.length >= 2) ix.multi.push(tree.root);
  return ix;
}

const tagBytes = (tree: PbTree, n: PbNode) => tree.bytes.subarray(n.start, n.tagEnd);
const payload = (tree: PbTree, n: PbNode) => tree.bytes.subarray(n.valueStart, n.end);

/** Whether `a` encloses `b` (or is it). */
function encloses(a: PbNode, b: PbNode): boolean {
  for (let x: PbNode | undefined = b; x; x = x.parent.owner) if (x === a) return true;
  return false;
}

/**
 * Whether `n` may be edited: not yet, and neither inside nor around a field
 * already edited (a field repeated 100,000 times holding another repeated
 * 100,000 times would be 10^10 copies).
 */
function free(edits: Edits, n: PbNode | undefined): n is PbNode {
  if (n === undefined) return false;
  for (const e of edits.keys()) if (encloses(e, n) || encloses(n, e)) return false;
  return true;
}

const ONNX_OPS: ReadonlyArray<readonly [number, string, OnnxOp]> = [
  [10, 'length', (rng, tree, edits, ix) => {
    // A length-delimited field's length pushed past its message's end, past the file's end, to a huge value, or off by one.
    const n = rng.chance(0.5) && ix.messages.length ? rng.pick(ix.messages) : ix.len.length ? rng.pick(ix.len) : undefined;
    if (!free(edits, n)) return undefined;
    const len = n.end - n.valueStart;
    const inParent = n.parent.end - n.valueStart;
    const inFile = tree.bytes.length - n.valueStart;
    const v = rng.pick([BigInt(inParent + 1), BigInt(inParent + rng.range(2, 64)), BigInt(inFile + 1), BigInt(len + 1), BigInt(Math.max(0, len - 1)), 0n, 2n ** 31n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n]);
    // Same width when it fits (nothing else moves), else the longer encoding.
    const width = n.valueStart - n.tagEnd;
    const enc = varintOfWidth(v, width) ?? varint(v);
    edits.set(n, [tagBytes(tree, n), enc, payload(tree, n)]);
    return `length ${describeNode(n)} ${len}->${v}`;
  }],
  [6, 'wire-type', (rng, tree, edits) => {
    const n = rng.pick(tree.nodes);
    if (!free(edits, n)) return undefined;
    const w = rng.pick([0, 1, 2, 3, 4, 5, 6, 7].filter((x) => x !== n.wire));
    edits.set(n, [tagOf(n.field, w), tree.bytes.subarray(n.tagEnd, n.end)]);
    return `wire-type ${describeNode(n)} ${n.wire}->${w}`;
  }],
  [4, 'field-number', (rng, tree, edits) => {
    const n = rng.pick(tree.nodes);
    if (!free(edits, n)) return undefined;
    const f = rng.chance(0.8) ? rng.range(1, 26) : rng.pick([0, 2 ** 29 - 1, 19000, 536870911]);
    edits.set(n, [tagOf(f, n.wire), tree.bytes.subarray(n.tagEnd, n.end)]);
    return `field-number ${describeNode(n)} ${n.field}->${f}`;
  }],
  [8, 'duplicate', (rng, tree, edits, ix) => {
    const n = rng.chance(0.7) && ix.bigMessages.length ? rng.pick(ix.bigMessages) : rng.pick(tree.nodes);
    if (!free(edits, n)) return undefined;
    const copies = rng.chance(0.85) ? 2 : rng.range(3, 8);
    edits.set(n, Array<PbNode>(copies).fill(n));
    return `duplicate ${describeNode(n)} x${copies}`;
  }],
  [8, 'drop', (rng, tree, edits, ix) => {
    const n = rng.chance(0.6) && ix.bigMessages.length ? rng.pick(ix.bigMessages) : rng.pick(tree.nodes);
    if (!free(edits, n)) return undefined;
    edits.set(n, []);
    return `drop ${describeNode(n)}`;
  }],
  [5, 'swap', (rng, _tree, edits, ix) => {
    if (ix.multi.length === 0) return undefined;
    const m = rng.pick(ix.multi);
    const a = rng.pick(m.children);
    const b = rng.pick(m.children);
    if (a === b || !free(edits, a) || !free(edits, b)) return undefined;
    edits.set(a, [b]);
    edits.set(b, [a]);
    return `swap ${describeNode(a)} <-> ${describeNode(b)}`;
  }],
  [10, 'varint', (rng, tree, edits, ix) => {
    if (ix.varints.length === 0) return undefined;
    // Prefer the varints that mean something: dims, data_type, elem_type, versions.
    const meaningful = ix.varints.filter((n) => /^(TensorProto\.[12]|TensorProto\.14|TensorShapeProto\.Dimension\.1|TypeProto\.Tensor\.1|AttributeProto\.(3|20)|ModelProto\.1|OperatorSetIdProto\.2|SparseTensorProto\.3)$/.test(`${n.parent.type}.${n.field}`));
    const n = rng.chance(0.75) && meaningful.length ? rng.pick(meaningful) : rng.pick(ix.varints);
    if (!free(edits, n)) return undefined;
    const v = weirdVarint(rng, n);
    edits.set(n, [tagBytes(tree, n), varint(v)]);
    return `varint ${describeNode(n)} ${n.value}->${v >= 2n ** 63n ? `${v}(=${v - U64})` : v}`;
  }],
  [6, 'foreign', (rng, tree, edits, ix) => {
    // A field from elsewhere in the file inserted into (or replacing a field of) another message.
    const x = rng.chance(0.6) && ix.bigMessages.length ? rng.pick(ix.bigMessages) : rng.pick(tree.nodes);
    const m = rng.pick(ix.allMsgs);
    if (m.children.length === 0) return undefined;
    const c = rng.pick(m.children);
    if (!free(edits, c) || c === x) return undefined;
    const replace = rng.chance(0.3);
    edits.set(c, replace ? [x] : [c, x]);
    return `foreign ${describeNode(x)} ${replace ? 'replaces' : 'after'} ${describeNode(c)} (in ${m.type})`;
  }],
  [8, 'string', (rng, tree, edits, ix) => {
    if (ix.strings.length === 0) return undefined;
    const n = rng.pick(ix.strings);
    if (!free(edits, n)) return undefined;
    const s = weirdString(rng, tree, ix.strings, n);
    edits.set(n, [tagBytes(tree, n), varint(s.length), s]);
    return `string ${describeNode(n)} -> ${JSON.stringify(Buffer.from(s.subarray(0, 40)).toString('latin1'))}${s.length > 40 ? `…(${s.length})` : ''}`;
  }],
  [5, 'raw-data', (rng, tree, edits, ix) => {
    if (ix.raw.length === 0) return undefined;
    const n = rng.pick(ix.raw);
    if (!free(edits, n)) return undefined;
    const p = payload(tree, n);
    const r = rng.float();
    let next: Uint8Array;
    let what: string;
    if (r < 0.3) { next = p.subarray(0, Math.max(0, p.length - rng.pick([1, 2, 3, 4, 8, p.length]))); what = 'shrunk'; }
    else if (r < 0.55) { next = concat([p, Buffer.alloc(rng.pick([1, 2, 4, 8, 64]))]); what = 'grown'; }
    else {
      // Another raw_data of the same size copied in: a new exact duplicate for the scan and apply to find.
      const same = ix.raw.filter((o) => o !== n && o.end - o.valueStart === p.length);
      const src = same.length ? rng.pick(same) : rng.pick(ix.raw);
      next = payload(tree, src);
      what = `copied from ${describeNode(src)}`;
    }
    edits.set(n, [tagBytes(tree, n), varint(next.length), next]);
    return `raw-data ${describeNode(n)} ${p.length}->${next.length} (${what})`;
  }],
  [6, 'external-data', (rng, tree, edits, ix) => {
    if (ix.external.length === 0) return undefined;
    const n = rng.pick(ix.external);
    const entry = n.msg!;
    const value = entry.children.find((c) => c.field === 2);
    const key = entry.children.find((c) => c.field === 1);
    const keyText = key ? Buffer.from(payload(tree, key)).toString('utf8') : '?';
    if (rng.chance(0.2)) {
      // A second entry with the same key, or the entry dropped.
      if (!free(edits, n)) return undefined;
      const drop = rng.chance(0.5);
      edits.set(n, drop ? [] : [n, n]);
      return `external-data ${drop ? 'drop' : 'duplicate'} '${keyText}' ${describeNode(n)}`;
    }
    if (!free(edits, value)) return undefined;
    const weird = keyText === 'location'
      ? rng.pick(['', '../x.data', '/etc/hostname', 'missing.data', '.', 'a\0b', `${Buffer.from(payload(tree, value)).toString('utf8')}.other`, 'C:\\w.data'])
      : rng.pick(['-1', '', '1e3', '0x10', ' 12', '12abc', '1.5', '9007199254740993', '18446744073709551616', '99999999999', '0', '4', '+8', '00', 'NaN']);
    const s = Buffer.from(weird, 'utf8');
    edits.set(value, [tagBytes(tree, value), varint(s.length), s]);
    return `external-data '${keyText}' -> ${JSON.stringify(weird)}`;
  }],
  [4, 'typed-data', (rng, _tree, edits, ix) => {
    // A typed data field (float_data, int32_data, int64_data, double_data, uint64_data) added to a tensor, packed or not, with any count.
    if (ix.tensors.length === 0) return undefined;
    const t = rng.pick(ix.tensors);
    const last = t.msg!.children[t.msg!.children.length - 1];
    if (!free(edits, last)) return undefined;
    const field = rng.pick([4, 5, 6, 7, 10, 11]);
    const count = rng.pick([0, 1, 3, 4, 1000, 100000]);
    const vals: Uint8Array[] = [];
    if (field === 4) vals.push(Buffer.alloc(count * 4, 0x3f));
    else if (field === 10) vals.push(Buffer.alloc(count * 8, 0x3f));
    else if (field === 6) for (let i = 0; i < Math.min(count, 1000); i++) vals.push(strField(6, 'abc'));
    else for (let i = 0; i < count; i++) vals.push(varint(rng.pick([0n, 1n, NEG(1n), 2n ** 63n, 65535n])));
    const packed = field !== 6 && rng.chance(0.7);
    const body = field === 6 ? concat(vals) : packed ? lenField(field, concat(vals)) : concat(vals.map((v) => concat([tagOf(field, field === 4 ? 5 : field === 10 ? 1 : 0), v.length > 0 && (field === 4 || field === 10) ? v.subarray(0, field === 4 ? 4 : 8) : v])));
    edits.set(last, [last, body]);
    return `typed-data field ${field} x${count}${packed ? ' packed' : ''} into ${describeNode(t)}`;
  }],
  [3, 'nest-graph', (rng, _tree, edits, ix) => {
    // If nodes nested past the reader's subgraph depth limit (64).
    const main = ix.graphs.filter((x) => x.parent.type === 'ModelProto');
    const g = ix.graphs.length ? rng.pick(rng.chance(0.7) && main.length ? main : ix.graphs) : undefined;
    if (!g || !g.msg || g.msg.children.length === 0) return undefined;
    const c = g.msg.children[0];
    if (!free(edits, c)) return undefined;
    const depth = rng.pick([2, 63, 64, 65, 66, 200, 3000]);
    edits.set(c, [lenField(1, nestedIfNode(depth)), c]);
    return `nest-graph depth ${depth} into ${describeNode(g)}`;
  }],
  [3, 'nest-type', (rng, tree, edits, ix) => {
    // Sequence types nested past the reader's TypeProto depth limit (32).
    if (ix.valueInfos.length === 0) return undefined;
    const vi = rng.pick(ix.valueInfos);
    const type = vi.msg!.children.find((c) => c.field === 2);
    if (!free(edits, type)) return undefined;
    const depth = rng.pick([31, 32, 33, 34, 1000, 20000]);
    const t = nestedSequenceType(depth);
    edits.set(type, [tagBytes(tree, type), varint(t.length), t]);
    return `nest-type depth ${depth} in ${describeNode(vi)}`;
  }],
  [3, 'many', (rng, tree, edits, ix) => {
    // One small field repeated thousands of times (inputs, dims, nodes, value_info): quadratic behaviour shows as a hang.
    const small = tree.nodes.filter((n) => n.end - n.start <= 64);
    if (small.length === 0) return undefined;
    const n = rng.chance(0.5) ? rng.pick(small.filter((x) => x.msg?.type === 'NodeProto' || x.field === 1).concat(small)) : rng.pick(small);
    if (!free(edits, n)) return undefined;
    const size = n.end - n.start;
    const copies = Math.max(2, Math.min(rng.pick([65, 1000, 10000, 100000]), Math.floor((4 << 20) / size)));
    edits.set(n, Array<PbNode>(copies).fill(n));
    void ix;
    return `many ${describeNode(n)} x${copies}`;
  }],
  [3, 'dims-count', (rng, _tree, edits, ix) => {
    if (ix.tensors.length === 0) return undefined;
    const t = rng.pick(ix.tensors);
    const dim = t.msg!.children.find((c) => c.field === 1);
    if (!free(edits, dim)) return undefined;
    const extra = rng.pick([1, 63, 64, 65, 1000]);
    const ones = concat(Array.from({ length: extra }, () => varintField(1, 1)));
    edits.set(dim, [dim, ones]);
    return `dims-count +${extra} ones in ${describeNode(t)}`;
  }],
];

/** One to three structure-aware edits of an ONNX file's field tree. */
export function onnxStructureMutate(rng: Rng, tree: PbTree, count = rng.geometric(0.35, 3)): Mutated {
  const ix = indexTree(tree);
  const edits: Edits = new Map();
  const ops: string[] = [];
  const order: PbNode[][] = [];
  for (let attempt = 0; ops.length < count && attempt < count * 6; attempt++) {
    const [, , op] = rng.weighted(ONNX_OPS.map((o) => [o[0], o] as const));
    const before = new Set(edits.keys());
    const what = op(rng, tree, edits, ix);
    if (what) { ops.push(what); order.push([...edits.keys()].filter((k) => !before.has(k))); }
  }
  // Too large to build: drop the last edits until it is not.
  for (;;) {
    try {
      return { bytes: serializePb(tree, edits), ops };
    } catch (e) {
      if (!(e instanceof RangeError) || order.length === 0) throw e;
      for (const k of order.pop()!) edits.delete(k);
      ops.push(`(${ops.splice(order.length, 1)[0]}: dropped, too large)`);
    }
  }
}

/** The `location` of every external-data entry in an ONNX file (its side files). */
export function onnxExternalLocations(tree: PbTree): string[] {
  const out = new Set<string>();
  for (const n of tree.nodes) {
    if (n.msg?.type !== 'StringStringEntryProto' || n.parent.type !== 'TensorProto' || n.field !== 13) continue;
    const k = n.msg.children.find((c) => c.field === 1);
    const v = n.msg.children.find((c) => c.field === 2);
    if (k && v && Buffer.from(payload(tree, k)).toString('utf8') === 'location') out.add(Buffer.from(payload(tree, v)).toString('utf8'));
  }
  return [...out];
}

/** (offset, length) pairs of the external data tensors point at, for truncating a data file at tensor boundaries. */
export function onnxExternalBoundaries(tree: PbTree): number[] {
  const out: number[] = [];
  for (const n of tree.nodes) {
    if (n.msg?.type !== 'StringStringEntryProto' || n.field !== 13) continue;
    const k = n.msg.children.find((c) => c.field === 1);
    const v = n.msg.children.find((c) => c.field === 2);
    if (!k || !v) continue;
    const key = Buffer.from(payload(tree, k)).toString('utf8');
    if (key === 'offset' || key === 'length') {
      const x = Number(Buffer.from(payload(tree, v)).toString('utf8'));
      if (Number.isSafeInteger(x)) out.push(x);
    }
  }
  return out;
}

/** Drops `which` children of `msg` (for the minimizer), re-encoding every enclosing length. */
export function dropChildren(tree: PbTree, msg: PbMsg, which: readonly PbNode[]): Buffer {
  const edits: Edits = new Map();
  for (const c of which) if (c.parent === msg) edits.set(c, []);
  return serializePb(tree, edits);
}

// --- JSON with raw tokens ----------------------------------------------------

/** A literal written into JSON text as is: numbers JSON.stringify cannot produce (`2.0`, `1e400`), invalid escapes. */
export class Raw {
  constructor(readonly text: string) {}
}

/** An object written as these pairs, in order: duplicate keys and raw keys allowed. */
export class Pairs {
  constructor(readonly pairs: Array<[string | Raw, JsonValue]>) {}
}

export type JsonValue = null | boolean | number | string | Raw | Pairs | JsonValue[] | { [k: string]: JsonValue };

export function writeJson(v: JsonValue): string {
  if (v instanceof Raw) return v.text;
  if (v instanceof Pairs) return `{${v.pairs.map(([k, x]) => `${k instanceof Raw ? k.text : JSON.stringify(k)}:${writeJson(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(writeJson).join(',')}]`;
  if (v !== null && typeof v === 'object') return writeJson(new Pairs(Object.entries(v)));
  const s = JSON.stringify(v);
  return s === undefined ? 'null' : s;
}

/** JSON value -> Pairs-based tree (objects keep their key order and become mutable pair lists). */
function toPairs(v: unknown): JsonValue {
  if (Array.isArray(v)) return v.map(toPairs);
  if (v !== null && typeof v === 'object') return new Pairs(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, toPairs(x)]));
  return v as JsonValue;
}

/** Numbers that must be refused (or handled) as a shape, offset or count. */
const WEIRD_NUMBERS = [
  '-1', '-0', '0', '1', '1.5', '2.0', '1e3', '1E2', '0.5e1', '1e400', '-1e400', '9007199254740991', '9007199254740992',
  '9007199254740993', '18446744073709551615', '18446744073709551616', '4294967296', '2147483648', '1e-7', '00', '01', '-9223372036854775808',
];

function weirdJsonValue(rng: Rng, depthMax = 100000): JsonValue {
  const r = rng.float();
  if (r < 0.35) return new Raw(rng.pick(WEIRD_NUMBERS));
  if (r < 0.45) return rng.pick([null, true, false, '', 'x', '3', [], {}]);
  if (r < 0.55) return nested(rng.pick([3, 63, 64, 65, Math.min(depthMax, 1000), depthMax]), rng.chance(0.5));
  if (r < 0.65) return 'A'.repeat(rng.pick([1000, 65537, 1 << 20]));
  if (r < 0.75) return new Raw(rng.pick(['"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '"\\x41"', '"\\u12"', '"😀"', '"\u2028"', 'NaN', 'Infinity', '-Infinity', 'undefined', 'nul', 'tru']));
  if (r < 0.85) return [new Raw(rng.pick(WEIRD_NUMBERS)), new Raw(rng.pick(WEIRD_NUMBERS))];
  return rng.int(1 << 30);
}

function nested(depth: number, arrays: boolean): Raw {
  return new Raw(arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
}

const ST_DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'C64'];
const WEIRD_DTYPES = ['F128', 'f32', '', 'F32 ', 'F32\u0000', 'I4', 'U4', 'Q4_0', '__proto__', 'toString', 'constructor', 'hasOwnProperty', 'BF16\ud800'];
const WEIRD_NAMES = ['', '__proto__', 'constructor', 'toString', '__metadata__', 'a'.repeat(100000), '😀/名前', 'a\u0000b', '\ud800', 'weight_sharing.ties', ' ', '0', '-1', '4294967295'];

// --- safetensors -------------------------------------------------------------

export interface SafetensorsParts {
  /** The header length field as written. */
  n: bigint;
  /** Header JSON bytes as written (padding included). */
  json: Uint8Array;
  data: Uint8Array;
  /** The JSON parsed; undefined when it is not JSON (a mutated seed). */
  root?: Pairs;
}

export function splitSafetensors(b: Uint8Array): SafetensorsParts | undefined {
  if (b.length < 8) return undefined;
  const n = Buffer.from(b.buffer, b.byteOffset, 8).readBigUInt64LE(0);
  if (n > BigInt(b.length - 8)) return undefined;
  const json = b.subarray(8, 8 + Number(n));
  const data = b.subarray(8 + Number(n));
  let root: Pairs | undefined;
  try {
    const v = toPairs(JSON.parse(Buffer.from(json).toString('utf8')));
    if (v instanceof Pairs) root = v;
  } catch { /* not JSON */ }
  return { n, json, data, root };
}

function u64le(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(((v % U64) + U64) % U64);
  return b;
}

interface StEntry { name: string; value: Pairs; begin: number; end: number; dtype: string; shape: number[] }

function entriesOf(root: Pairs): StEntry[] {
  const out: StEntry[] = [];
  for (const [k, v] of root.pairs) {
    if (typeof k !== 'string' || k === '__metadata__' || !(v instanceof Pairs)) continue;
    const get = (key: string) => v.pairs.find(([x]) => x === key)?.[1];
    const offs = get('data_offsets');
    const shape = get('shape');
    const dtype = get('dtype');
    if (!Array.isArray(offs) || typeof offs[0] !== 'number' || typeof offs[1] !== 'number') continue;
    out.push({ name: k, value: v, begin: offs[0], end: offs[1], dtype: typeof dtype === 'string' ? dtype : '?', shape: Array.isArray(shape) ? shape.filter((d): d is number => typeof d === 'number') : [] });
  }
  return out;
}

function setKey(obj: Pairs, key: string, v: JsonValue): void {
  const p = obj.pairs.find(([k]) => k === key);
  if (p) p[1] = v; else obj.pairs.push([key, v]);
}

type StOp = (rng: Rng, st: { root: Pairs; data: Uint8Array; entries: StEntry[] }) => { op: string; data?: Uint8Array; lengthOnly?: bigint; textEdit?: (s: string) => string } | undefined;

const ST_OPS: ReadonlyArray<readonly [number, StOp]> = [
  // The 8-byte header length set to a boundary value (the JSON stays as it was; the value is picked below).
  [10, () => ({ op: 'header length field', lengthOnly: -1n })],
  [10, (rng, st) => {
    const e = rng.pick(st.entries);
    const current = e.value.pairs.find(([k]) => k === 'shape')?.[1];
    const shape: JsonValue[] = Array.isArray(current) ? [...current] : [];
    const r = rng.float();
    let v: JsonValue;
    let what: string;
    if (r < 0.5 && shape.length > 0) { const i = rng.int(shape.length); shape[i] = new Raw(rng.pick(WEIRD_NUMBERS)); v = shape; what = `shape[${i}] -> ${(shape[i] as Raw).text}`; }
    else if (r < 0.65) { v = []; what = 'shape -> []'; }
    else if (r < 0.75) { const k = rng.pick([63, 64, 65, 1000]); v = [...shape, ...Array<number>(k).fill(1)]; what = `shape +${k} ones`; }
    else if (r < 0.85) { v = [...shape].reverse(); what = 'shape reversed'; }
    else { v = weirdJsonValue(rng); what = `shape -> ${writeJson(v).slice(0, 40)}`; }
    setKey(e.value, 'shape', v);
    return { op: `${JSON.stringify(e.name.slice(0, 60))} ${what}` };
  }],
  [10, (rng, st) => {
    const e = rng.pick(st.entries);
    const opts: Array<[string, JsonValue]> = [
      ['swapped', [e.end, e.begin]], ['empty range', [e.begin, e.begin]], ['end+1', [e.begin, e.end + 1]], ['begin-1', [e.begin - 1, e.end]],
      ['one value', [e.begin]], ['three values', [e.begin, e.end, e.end]], ['past the end', [e.begin, e.end + st.data.length]],
      ['huge', [e.begin, new Raw(rng.pick(WEIRD_NUMBERS))]], ['weird begin', [new Raw(rng.pick(WEIRD_NUMBERS)), e.end]],
      ['string', `${e.begin},${e.end}`], ['floats', [new Raw(`${e.begin}.0`), new Raw(`${e.end}.0`)]],
      ['other entry', (() => { const o = rng.pick(st.entries); return [o.begin, o.end]; })()],
    ];
    const [what, v] = rng.pick(opts);
    setKey(e.value, 'data_offsets', v);
    return { op: `${JSON.stringify(e.name.slice(0, 60))} data_offsets ${what}` };
  }],
  [8, (rng, st) => {
    const e = rng.pick(st.entries);
    const v: JsonValue = rng.chance(0.5) ? rng.pick(WEIRD_DTYPES) : rng.chance(0.8) ? rng.pick(ST_DTYPES) : weirdJsonValue(rng);
    setKey(e.value, 'dtype', v);
    return { op: `${JSON.stringify(e.name.slice(0, 60))} dtype ${e.dtype} -> ${writeJson(v).slice(0, 40)}` };
  }],
  [6, (rng, st) => {
    const e = rng.pick(st.entries);
    const r = rng.float();
    if (r < 0.4) {
      const i = rng.int(e.value.pairs.length);
      const [k] = e.value.pairs.splice(i, 1)[0];
      return { op: `${JSON.stringify(e.name.slice(0, 60))} drop key ${writeJson(k instanceof Raw ? k : String(k))}` };
    }
    if (r < 0.7) {
      const p = rng.pick(e.value.pairs);
      e.value.pairs.push([p[0], rng.chance(0.5) ? p[1] : weirdJsonValue(rng)]);
      return { op: `${JSON.stringify(e.name.slice(0, 60))} duplicate inner key` };
    }
    e.value.pairs.push([rng.pick(['extra', '__proto__', 'dtype ', 'shape\u0000', 'offsets']), weirdJsonValue(rng)]);
    return { op: `${JSON.stringify(e.name.slice(0, 60))} extra key` };
  }],
  [6, (rng, st) => {
    const i = rng.int(st.root.pairs.length);
    const r = rng.float();
    if (r < 0.35) { const [k] = st.root.pairs.splice(i, 1)[0]; return { op: `drop entry ${writeJson(k instanceof Raw ? k : String(k)).slice(0, 60)}` }; }
    if (r < 0.6) { st.root.pairs.splice(i, 0, st.root.pairs[i]); return { op: 'duplicate top-level key' }; }
    const name = rng.chance(0.8) ? rng.pick(WEIRD_NAMES) : rng.pick(st.entries).name;
    const raw = rng.chance(0.15) ? new Raw(rng.pick(['"\\ud800"', '"\\u0000"', '"a\\"b"', '"\\\\"', '"\\/"', '"\\uDEAD\\uBEEF"'])) : name;
    st.root.pairs[i] = [raw, st.root.pairs[i][1]];
    return { op: `rename entry #${i} -> ${writeJson(raw).slice(0, 40)}` };
  }],
  [8, (rng, st) => {
    // __metadata__: not an object, values not strings, or this tool's drop records, well-formed and not.
    const names = st.entries.map((e) => e.name);
    const a = names.length ? rng.pick(names) : 'x';
    const b = names.length ? rng.pick(names) : 'y';
    const r = rng.float();
    let meta: JsonValue;
    let what: string;
    if (r < 0.15) { meta = weirdJsonValue(rng); what = 'weird value'; }
    else if (r < 0.25) { meta = new Pairs([['k', weirdJsonValue(rng)]]); what = 'non-string value'; }
    else {
      const ties: Record<string, string> = {};
      const derived: Record<string, JsonValue> = {};
      const kind = rng.int(8);
      if (kind === 0) ties['lm_head.weight'] = a;
      else if (kind === 1) ties[a] = b; // a stored name recorded as dropped
      else if (kind === 2) { ties[a] = b; ties[b] = a; }
      else if (kind === 3) ties.missing = 'also-missing';
      else if (kind === 4) for (let i = 0; i < 2000; i++) ties[`t${i}`] = a;
      else derived[rng.chance(0.5) ? 'new.weight' : a] = new Pairs([
        ['from', rng.chance(0.8) ? b : 'missing'],
        ['ops', rng.pick<JsonValue>([['transpose'], ['cast'], ['reshape'], ['transpose', 'cast'], ['bogus'], [], 'transpose'])],
        ['dtype', rng.pick<JsonValue>(['F16', 'F32', 'BF16', 'F128', 7, 'F4'])],
        ['shape', rng.pick<JsonValue>([[2, 3], [], [0], [2 ** 53], [1.5], [-1], [1e308], [3, 2], [1000000, 1000000, 1000000]])],
      ]);
      const records: Array<[string, JsonValue]> = [];
      if (Object.keys(ties).length) records.push(['weight_sharing.ties', rng.chance(0.9) ? JSON.stringify(ties) : '{"a":']);
      if (Object.keys(derived).length) records.push(['weight_sharing.derived', rng.chance(0.9) ? writeJson(derived) : '[1,2]']);
      if (rng.chance(0.1)) records.push(['weight_sharing.ties', `${'['.repeat(100000)}${']'.repeat(100000)}`]);
      meta = new Pairs([['format', 'pt'], ...records]);
      what = `drop records ${writeJson(meta).slice(0, 80)}`;
    }
    const at = st.root.pairs.findIndex(([k]) => k === '__metadata__');
    if (at >= 0) st.root.pairs[at] = ['__metadata__', meta]; else st.root.pairs.unshift(['__metadata__', meta]);
    return { op: `__metadata__ ${what}` };
  }],
  [4, (rng, st) => {
    const e = rng.pick(st.entries);
    const key = rng.pick(['shape', 'data_offsets', 'dtype']);
    const depth = rng.pick([63, 64, 65, 1000, 100000]);
    setKey(e.value, key, nested(depth, rng.chance(0.7)));
    return { op: `${JSON.stringify(e.name.slice(0, 60))} ${key} nested ${depth} deep` };
  }],
  [5, (rng) => {
    // Whitespace and encodings around the JSON: legal padding, BOM, NBSP, NUL, trailing garbage.
    const kind = rng.pick(['lead-space', 'trail-space', 'tabs', 'bom', 'nbsp', 'nul', 'trailing-garbage', 'second-object', 'crlf']);
    const edit = (s: string): string => {
      switch (kind) {
        case 'lead-space': return `${' '.repeat(rng.range(1, 64))}${s}`;
        case 'trail-space': return `${s}${' '.repeat(rng.range(1, 64))}`;
        case 'tabs': return s.replace(/,/g, ',\t\n');
        case 'bom': return `\ufeff${s}`;
        case 'nbsp': return s.replace(/:/, ':\u00a0');
        case 'nul': return `${s}\0\0\0`;
        case 'trailing-garbage': return `${s}garbage`;
        case 'second-object': return `${s}{}`;
        default: return s.replace(/,/g, ',\r\n');
      }
    };
    return { op: `json ${kind}`, textEdit: edit };
  }],
  [4, (rng) => {
    // Integers written as floats or with signs: what JSON.parse accepts and the reference reader does not.
    const form = rng.pick(['.0', 'e0', '+', '0-pad', '.', 'E+0']);
    const edit = (s: string) => s.replace(/\[(\d+)(,\d+)*\]/g, (m) => m.replace(/\d+/g, (d) => {
      switch (form) {
        case '.0': return `${d}.0`;
        case 'e0': return `${d}e0`;
        case '+': return `+${d}`;
        case '0-pad': return `0${d}`;
        case '.': return `${d}.`;
        default: return `${d}E+0`;
      }
    }));
    return { op: `json integers as ${form}`, textEdit: edit };
  }],
  [8, (rng, st) => {
    // The data region: cut, grown, or a piece removed from the middle.
    const d = st.data;
    const r = rng.float();
    if (r < 0.35) { const k = rng.pick([1, 2, 4, 8, rng.range(1, Math.max(1, d.length))]); return { op: `data -${k} at the end`, data: d.subarray(0, Math.max(0, d.length - k)) }; }
    if (r < 0.6) { const k = rng.pick([1, 8, 4096]); return { op: `data +${k} at the end`, data: concat([d, Buffer.alloc(k)]) }; }
    if (r < 0.75) return { op: 'data emptied', data: new Uint8Array(0) };
    const at = rng.int(d.length);
    const k = Math.min(d.length - at, rng.range(1, 64));
    return { op: `data -${k} at ${at}`, data: concat([d.subarray(0, at), d.subarray(at + k)]) };
  }],
  [6, (rng, st) => {
    // Valid changes that move the analysis: entries reordered, offsets swapped between equal-size tensors, one tensor's bytes copied over another's.
    const r = rng.float();
    if (r < 0.3) { rng.shuffle(st.root.pairs); return { op: 'entries shuffled' }; }
    const a = rng.pick(st.entries);
    const same = st.entries.filter((x) => x !== a && x.end - x.begin === a.end - a.begin);
    const b = same.length ? rng.pick(same) : rng.pick(st.entries);
    if (r < 0.6) {
      setKey(a.value, 'data_offsets', [b.begin, b.end]);
      setKey(b.value, 'data_offsets', [a.begin, a.end]);
      return { op: `data_offsets swapped ${JSON.stringify(a.name.slice(0, 40))} <-> ${JSON.stringify(b.name.slice(0, 40))}` };
    }
    const data = Buffer.from(st.data);
    const n = Math.min(a.end - a.begin, b.end - b.begin);
    if (n > 0 && b.begin + n <= data.length && a.begin + n <= data.length) data.copy(data, b.begin, a.begin, a.begin + n);
    return { op: `bytes of ${JSON.stringify(a.name.slice(0, 40))} copied over ${JSON.stringify(b.name.slice(0, 40))}`, data };
  }],
  [4, (rng, st) => {
    // A new entry over appended data: valid when its size matches (a scalar, a zero-size tensor, a copy of another).
    const end = st.data.length;
    const src = rng.pick(st.entries);
    const kind = rng.int(4);
    let data = st.data;
    let entry: Pairs;
    if (kind === 0) entry = new Pairs([['dtype', 'F32'], ['shape', []], ['data_offsets', [end, end + 4]]]);
    else if (kind === 1) entry = new Pairs([['dtype', rng.pick(ST_DTYPES)], ['shape', rng.pick<JsonValue>([[0], [0, 5], [3, 0]])], ['data_offsets', [end, end]]]);
    else if (kind === 2) entry = new Pairs([['dtype', rng.pick(['F4', 'F6_E2M3', 'F6_E3M2'])], ['shape', [rng.range(1, 9)]], ['data_offsets', [end, end + rng.range(0, 8)]]]);
    else entry = new Pairs([['dtype', src.dtype], ['shape', src.shape], ['data_offsets', [end, end + (src.end - src.begin)]]]);
    const need = kind === 0 ? 4 : kind === 3 ? src.end - src.begin : kind === 2 ? ((entry.pairs[2][1] as number[])[1] - end) : 0;
    if (need > 0) data = concat([st.data, kind === 3 ? st.data.subarray(src.begin, src.end) : Buffer.alloc(need, 0x3c)]);
    st.root.pairs.push([rng.chance(0.1) ? src.name : `fuzz.${kind}`, entry]);
    return { op: `new entry kind ${kind} (${writeJson(entry).slice(0, 80)})`, data };
  }],
];

/** One to three structure-aware edits of a safetensors file; the header length is refitted to the new JSON unless that was the edit. */
export function safetensorsStructureMutate(rng: Rng, bytes: Uint8Array, count = rng.geometric(0.35, 3)): Mutated {
  const parts = splitSafetensors(bytes);
  if (!parts || !parts.root) return genericMutate(rng, bytes);
  const root = parts.root;
  let data = parts.data;
  const ops: string[] = [];
  const textEdits: Array<(s: string) => string> = [];
  let lengthOnly = false;
  for (let i = 0; i < count; i++) {
    const entries = entriesOf(root);
    if (entries.length === 0) { root.pairs.push(['fuzz.empty', new Pairs([['dtype', 'F32'], ['shape', [0]], ['data_offsets', [0, 0]]])]); continue; }
    const op = rng.weighted(ST_OPS);
    const r = op(rng, { root, data, entries });
    if (!r) continue;
    if (r.lengthOnly !== undefined) lengthOnly = true;
    if (r.data) data = r.data;
    if (r.textEdit) textEdits.push(r.textEdit);
    ops.push(r.op);
  }
  let text = writeJson(root);
  for (const e of textEdits) text = e(text);
  let json: Uint8Array = Buffer.from(text, 'utf8');
  // Pad like the reference writer (spaces to a multiple of 8), mostly.
  if (rng.chance(0.6)) json = concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  let n = BigInt(json.length);
  if (lengthOnly) {
    const v = rng.pick([0n, 1n, 2n, 7n, n - 1n, n + 1n, n - 8n, n + 8n, BigInt(json.length + data.length), BigInt(json.length + data.length + 1), 2n ** 31n, 2n ** 32n, 2n ** 32n + n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 100_000_000n, 100_000_001n]);
    ops.push(`header length ${n} -> ${v}`);
    n = v;
  } else if (rng.chance(0.05)) {
    n += BigInt(rng.pick([-1, 1]));
    ops.push(`header length off by one (${n})`);
  }
  return { bytes: concat([u64le(n), json, data]), ops };
}

/** Offsets worth aiming generic safetensors mutations at: the length field, the JSON's numbers and quotes, the data start. */
export function safetensorsHotspots(bytes: Uint8Array): number[] {
  const out = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const parts = splitSafetensors(bytes);
  if (!parts) return out;
  const end = 8 + parts.json.length;
  out.push(end - 1, end, end + 1, bytes.length - 1);
  for (let i = 8; i < end && out.length < 4096; i++) {
    const c = bytes[i];
    if (c === 0x22 || c === 0x5b || c === 0x5d || c === 0x2c || (c >= 0x30 && c <= 0x39 && !(bytes[i - 1] >= 0x30 && bytes[i - 1] <= 0x39))) out.push(i);
  }
  return out;
}

// --- JSON side files (shard index, config.json) ------------------------------

/** Mutates one JSON file of a checkpoint folder: a chosen value replaced, keys dropped or duplicated, shard names pointing elsewhere. */
export function jsonFileMutate(rng: Rng, bytes: Uint8Array, role: 'index' | 'config', shardNames: readonly string[], count = rng.geometric(0.35, 3)): Mutated {
  let root: JsonValue;
  try {
    root = toPairs(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch {
    return genericMutate(rng, bytes);
  }
  const ops: string[] = [];
  for (let i = 0; i < count; i++) {
    // Every (container, index) slot in the tree.
    const slots: Array<{ path: string; get: () => JsonValue; set: (v: JsonValue) => void; drop: () => void; dup: () => void }> = [];
    const walk = (v: JsonValue, p: string) => {
      if (v instanceof Pairs) {
        v.pairs.forEach((pair, k) => {
          const key = pair[0] instanceof Raw ? pair[0].text : pair[0];
          slots.push({ path: `${p}.${key}`, get: () => pair[1], set: (x) => { pair[1] = x; }, drop: () => { v.pairs.splice(k, 1); }, dup: () => { v.pairs.splice(k, 0, [pair[0], pair[1]]); } });
          walk(pair[1], `${p}.${key}`);
        });
      } else if (Array.isArray(v)) {
        v.forEach((x, k) => {
          slots.push({ path: `${p}[${k}]`, get: () => v[k], set: (y) => { v[k] = y; }, drop: () => { v.splice(k, 1); }, dup: () => { v.splice(k, 0, x); } });
          walk(x, `${p}[${k}]`);
        });
      }
    };
    walk(root, '$');
    if (slots.length === 0) { root = weirdJsonValue(rng); ops.push('root replaced'); continue; }
    const weightMap = slots.filter((s) => s.path.startsWith('$.weight_map.'));
    const s = role === 'index' && weightMap.length && rng.chance(0.6) ? rng.pick(weightMap) : rng.pick(slots);
    const r = rng.float();
    if (r < 0.15) { s.drop(); ops.push(`drop ${s.path.slice(0, 80)}`); continue; }
    if (r < 0.25) { s.dup(); ops.push(`duplicate ${s.path.slice(0, 80)}`); continue; }
    let v: JsonValue;
    if (s.path.startsWith('$.weight_map.') && rng.chance(0.7)) {
      v = rng.pick<JsonValue>([
        ...shardNames, 'model.safetensors.index.json', 'config.json', '../model.safetensors', '.', '..', '', 'missing.safetensors',
        'a/b.safetensors', 'x\u0000.safetensors', 7, null, ['model.safetensors'],
      ]);
    } else if (role === 'config' && rng.chance(0.5)) {
      v = rng.pick<JsonValue>([true, false, 'true', null, 'llama', 'bert', 'gpt_neox', '__proto__', ['GPT2LMHeadModel'], ['BertForMaskedLM', 7], new Pairs([['tie_word_embeddings', true]]), 'GPT2LMHeadModel']);
    } else {
      v = weirdJsonValue(rng, 5000);
    }
    s.set(v);
    ops.push(`${s.path.slice(0, 80)} -> ${writeJson(v).slice(0, 60)}`);
  }
  return { bytes: Buffer.from(writeJson(root), 'utf8'), ops };
}

// --- GGUF ----------------------------------------------------------------

/** A field of a GGUF header the structure-aware mutator can aim at. */
interface GgufField {
  at: number;
  size: 4 | 8;
  kind: 'version' | 'count' | 'string length' | 'value type' | 'array type' | 'array length' | 'n_dims' | 'dim' | 'ggml type' | 'offset' | 'u32 value';
  key?: string;
}

/** The header's fields and section boundaries, read leniently (as far as the bytes make sense). */
export function ggufFields(bytes: Uint8Array): { fields: GgufField[]; boundaries: number[] } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: GgufField[] = [];
  const boundaries = [0, 4, 8, 24];
  let p = 24;
  const ok = (n: number) => p + n <= b.length;
  const big = (at: number) => Number(b.readBigUInt64LE(at));
  const str = (): string | undefined => {
    if (!ok(8)) return undefined;
    fields.push({ at: p, size: 8, kind: 'string length' });
    const n = big(p);
    if (n > b.length - p - 8) return undefined;
    const s = b.toString('utf8', p + 8, p + 8 + n);
    p += 8 + n;
    return s;
  };
  const FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  if (b.length < 24) return { fields, boundaries };
  fields.push({ at: 4, size: 4, kind: 'version' }, { at: 8, size: 8, kind: 'count', key: 'tensors' }, { at: 16, size: 8, kind: 'count', key: 'kvs' });
  const nTensors = big(8), nKv = big(16);
  for (let i = 0; i < nKv && i < 100_000; i++) {
    boundaries.push(p);
    const key = str();
    if (key === undefined || !ok(4)) return { fields, boundaries };
    fields.push({ at: p, size: 4, kind: 'value type', key });
    const type = b.readUInt32LE(p);
    p += 4;
    if (type === 8) { if (str() === undefined) return { fields, boundaries }; continue; }
    if (type === 9) {
      if (!ok(12)) return { fields, boundaries };
      fields.push({ at: p, size: 4, kind: 'array type', key }, { at: p + 4, size: 8, kind: 'array length', key });
      const et = b.readUInt32LE(p), n = big(p + 4);
      p += 12;
      if (et === 8) { for (let j = 0; j < n; j++) if (str() === undefined) return { fields, boundaries }; fields.splice(fields.length - n, n); continue; }
      const size = FIXED[et];
      if (size === undefined || n * size > b.length - p) return { fields, boundaries };
      p += n * size;
      continue;
    }
    const size = FIXED[type];
    if (size === undefined || !ok(size)) return { fields, boundaries };
    if (size === 4) fields.push({ at: p, size: 4, kind: 'u32 value', key });
    p += size;
  }
  for (let i = 0; i < nTensors && i < 100_000; i++) {
    boundaries.push(p);
    if (str() === undefined || !ok(4)) return { fields, boundaries };
    fields.push({ at: p, size: 4, kind: 'n_dims' });
    const nd = b.readUInt32LE(p);
    p += 4;
    if (nd > 8 || !ok(nd * 8 + 12)) return { fields, boundaries };
    for (let d = 0; d < nd; d++, p += 8) fields.push({ at: p, size: 8, kind: 'dim' });
    fields.push({ at: p, size: 4, kind: 'ggml type' }, { at: p + 4, size: 8, kind: 'offset' });
    p += 12;
  }
  boundaries.push(p, Math.ceil(p / 32) * 32, b.length);
  return { fields, boundaries };
}

const GGUF_VALUES: Record<GgufField['kind'], bigint[]> = {
  version: [0n, 1n, 2n, 4n, 0x03000000n, 0xffffffffn],
  count: [0n, 1n, 2n, 255n, 65536n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n],
  'string length': [0n, 1n, 63n, 64n, 65536n, 2n ** 24n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n],
  'value type': [0n, 7n, 8n, 9n, 10n, 12n, 13n, 255n, 0xffffffffn],
  'array type': [0n, 4n, 8n, 9n, 13n, 0xffffffffn],
  'array length': [0n, 1n, 65n, 2n ** 20n, 2n ** 32n, 2n ** 61n, 2n ** 64n - 1n],
  n_dims: [0n, 1n, 3n, 4n, 5n, 8n, 0xffffffffn],
  dim: [0n, 1n, 31n, 33n, 256n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n],
  'ggml type': [0n, 1n, 2n, 4n, 8n, 12n, 14n, 16n, 31n, 34n, 40n, 43n, 99n, 0xffffffffn],
  offset: [0n, 1n, 16n, 32n, 64n, 2n ** 20n, 2n ** 32n, 2n ** 53n, 2n ** 64n - 1n],
  'u32 value': [0n, 1n, 3n, 31n, 32n, 48n, 64n, 4096n, 0xffffffffn],
};

/** GGUF fields set to edge values (counts, lengths, types, dims, offsets, the alignment), cut or shifted at section boundaries. */
export function ggufStructureMutate(rng: Rng, bytes: Uint8Array, count = rng.geometric(0.35, 3)): Mutated {
  const { fields, boundaries } = ggufFields(bytes);
  if (fields.length === 0) return genericMutate(rng, bytes);
  let b: Buffer = Buffer.from(bytes);
  const ops: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = rng.float();
    // An earlier cut or shift may have moved fields: aim only at those still inside the bytes.
    const inside = fields.filter((x) => x.at + x.size <= b.length);
    if (r < 0.7 && inside.length > 0) {
      const f = rng.pick(inside);
      const old = f.size === 4 ? BigInt(b.readUInt32LE(f.at)) : b.readBigUInt64LE(f.at);
      const choices = [...GGUF_VALUES[f.kind], old + 1n, old - 1n, old * 2n, old + 32n].filter((v) => v >= 0n && v < 2n ** BigInt(f.size * 8));
      const v = rng.pick(choices);
      if (f.size === 4) b.writeUInt32LE(Number(v), f.at); else b.writeBigUInt64LE(v, f.at);
      ops.push(`${f.kind}${f.key ? ` of '${f.key}'` : ''}@${f.at}: ${old} -> ${v}`);
    } else if (r < 0.85) {
      const at = Math.min(b.length, Math.max(0, rng.pick(boundaries) + rng.range(-2, 2)));
      b = b.subarray(0, at);
      ops.push(`truncate@${at}`);
    } else {
      // Shift everything after a boundary: offsets no longer line up.
      const at = Math.min(b.length, rng.pick(boundaries));
      const n = rng.pick([1, 4, 8, 31, 32]);
      b = rng.chance(0.5) ? concat([b.subarray(0, at), Buffer.alloc(n), b.subarray(at)]) : concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + n))]);
      ops.push(`${b.length > bytes.length ? 'insert' : 'delete'} ${n}@${at}`);
    }
  }
  return { bytes: b, ops };
}

/** Offsets worth aiming generic GGUF mutations at: every header field. */
export function ggufHotspots(bytes: Uint8Array): number[] {
  return ggufFields(bytes).fields.flatMap((f) => [f.at, f.at + f.size - 1]);
}
