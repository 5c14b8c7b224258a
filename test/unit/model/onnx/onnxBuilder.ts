// Builds small ONNX files field by field for tests that need encodings the
// corpus lacks (typed fields, unpacked repeats, sparse, odd attributes) or
// deliberately broken ones. Uses protobufjs's Writer for the wire encoding;
// independent of the project's own writer so the reader is not tested
// against itself.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writer } from 'protobufjs/minimal';

/** A protobuf message under construction; fields are written in the order added. */
export class Msg {
  private readonly chunks: Uint8Array[] = [];

  private add(fn: (w: Writer) => void): this {
    const w = new Writer();
    fn(w);
    this.chunks.push(w.finish());
    return this;
  }

  varint(field: number, value: number | bigint): this { return this.add((w) => w.uint32((field << 3) | 0).int64(value.toString())); }
  fixed32(field: number, bits: number): this { return this.add((w) => w.uint32((field << 3) | 5).fixed32(bits >>> 0)); }
  fixed64(field: number, lo: number, hi: number): this { return this.add((w) => w.uint32((field << 3) | 1).fixed32(lo >>> 0).fixed32(hi >>> 0)); }
  bytes(field: number, value: Uint8Array): this { return this.add((w) => w.uint32((field << 3) | 2).bytes(value)); }
  string(field: number, value: string): this { return this.bytes(field, Buffer.from(value, 'utf8')); }
  msg(field: number, value: Msg): this { return this.bytes(field, value.encode()); }
  packed(field: number, values: Array<number | bigint>): this {
    return this.add((w) => {
      w.uint32((field << 3) | 2).fork();
      for (const v of values) w.int64(v.toString());
      w.ldelim();
    });
  }
  /** Appends bytes verbatim (to build malformed messages). */
  raw(value: Uint8Array): this { this.chunks.push(value); return this; }

  encode(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

// --- ONNX messages (field numbers from onnx.proto) --------------------------

export const DT = { FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, UINT32: 12, UINT64: 13, BFLOAT16: 16, UINT4: 21, INT4: 22 } as const;

export function tensorProto(name: string, dataType: number, dims: number[]): Msg {
  const t = new Msg();
  for (const d of dims) t.varint(1, d);
  return t.varint(2, dataType).string(8, name);
}

export function floatRaw(values: number[]): Uint8Array {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

/** A graph input or output; a string dim is symbolic (dim_param). */
export function valueInfo(name: string, elemType: number = DT.FLOAT, shape: Array<number | string> = []): Msg {
  const dims = new Msg();
  for (const d of shape) dims.msg(1, typeof d === 'string' ? new Msg().string(2, d) : new Msg().varint(1, d));
  return new Msg().string(1, name).msg(2, new Msg().msg(1, new Msg().varint(1, elemType).msg(2, dims)));
}

export interface NodeOpts { name?: string; domain?: string; attrs?: Msg[] }

export function node(opType: string, inputs: string[], outputs: string[], opts: NodeOpts = {}): Msg {
  const n = new Msg();
  for (const i of inputs) n.string(1, i);
  for (const o of outputs) n.string(2, o);
  if (opts.name !== undefined) n.string(3, opts.name);
  n.string(4, opType);
  for (const a of opts.attrs ?? []) n.msg(5, a);
  if (opts.domain !== undefined) n.string(7, opts.domain);
  return n;
}

/** A node with NodeProto.metadata_props (field 9) entries, as the dynamo exporter writes them. */
export function scopedNode(op: string, inputs: string[], outputs: string[], name: string, meta: Record<string, string>): Msg {
  const n = node(op, inputs, outputs, { name });
  for (const [k, v] of Object.entries(meta)) n.msg(9, new Msg().string(1, k).string(2, v));
  return n;
}

export const attr = {
  tensor: (name: string, t: Msg) => new Msg().string(1, name).varint(20, 4).msg(5, t),
  graph: (name: string, g: Msg) => new Msg().string(1, name).varint(20, 5).msg(6, g),
  int: (name: string, v: number) => new Msg().string(1, name).varint(20, 2).varint(3, v),
  float: (name: string, bits: number) => new Msg().string(1, name).varint(20, 1).fixed32(2, bits),
  ints: (name: string, vs: number[]) => new Msg().string(1, name).varint(20, 7).packed(8, vs),
  floats: (name: string, vs: number[]) => new Msg().string(1, name).varint(20, 6).bytes(7, floatRaw(vs)),
  string: (name: string, s: string) => new Msg().string(1, name).varint(20, 3).string(4, s),
};

export interface GraphOpts {
  name?: string;
  nodes?: Msg[];
  initializers?: Msg[];
  sparse?: Msg[];
  inputs?: Msg[];
  outputs?: Msg[];
}

export function graph(opts: GraphOpts): Msg {
  const g = new Msg();
  for (const n of opts.nodes ?? []) g.msg(1, n);
  g.string(2, opts.name ?? 'g');
  for (const t of opts.initializers ?? []) g.msg(5, t);
  for (const i of opts.inputs ?? []) g.msg(11, i);
  for (const o of opts.outputs ?? []) g.msg(12, o);
  for (const s of opts.sparse ?? []) g.msg(15, s);
  return g;
}

export function model(g: Msg, opts: { irVersion?: number; opset?: number; producer?: string } = {}): Msg {
  return new Msg()
    .varint(1, opts.irVersion ?? 8)
    .string(2, opts.producer ?? 'test-builder')
    .msg(7, g)
    .msg(8, new Msg().string(1, '').varint(2, opts.opset ?? 17));
}

/** Writes `model(g)` as `dir/name` and returns its path. */
export function writeModel(dir: string, name: string, g: Msg): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, model(g).encode());
  return file;
}
