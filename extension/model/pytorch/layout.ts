// Where each tensor of a state dict lies in the file: its storage's bytes
// (a zip record, or a legacy storage after its element count), the element
// offset, the shape and the strides. A contiguous tensor is one byte range;
// a strided view is not one range, so its bytes are marked unavailable with
// the reason. Names on one storage with the same offset, shape and strides
// carry equal StorageViews (one weight: the scan ties them); overlapping
// views that differ are pinned and reported as views, never as copies.
import * as fs from 'node:fs';
import { DTYPE_SIZE, ModelFormatError, NO_CONSUMERS, type ByteRange, type TensorData, type TensorRef } from '../types';
import { ShapeTable } from '../shapes';
import type { StorageRef } from './allowlist';
import type { NamedTensor } from './stateDict';

export const FORMAT = 'pytorch';

/** Strided views are gathered into packed bytes at open up to this much in all (they are rare and small in state dicts). */
export const GATHER_CAP = 64 << 20;

/** A storage's bytes in the file, and how messages name where they are. */
export interface StorageBytes extends ByteRange {
  /** e.g. `archive/data/3` or `storage 94822` */
  label: string;
}

export interface Layout {
  tensors: TensorRef[];
  warnings: string[];
  /** Distinct storages the tensors use. */
  storages: number;
}

function contiguous(size: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let i = size.length - 1; i >= 0; i--) {
    if (size[i] !== 1 && stride[i] !== expect) return false;
    expect *= size[i]!;
  }
  return true;
}

/** Lays out the tensors; `locate` finds a storage's bytes (and throws when they are missing). */
export function layoutTensors(file: string, named: readonly NamedTensor[], locate: (ref: StorageRef) => StorageBytes, offsetOf: (pickleAt: number) => number): Layout {
  const fail = (problem: string, at?: number) => new ModelFormatError(file, FORMAT, problem, at === undefined ? undefined : offsetOf(at));
  const tensors: TensorRef[] = [];
  const warnings: string[] = [];
  const shapes = new ShapeTable();
  const storages = new Map<string, StorageBytes>();
  const spans = new Map<string, Array<{ t: TensorRef; start: number; end: number }>>();
  const opaque: string[] = [];
  let gathered = 0;
  for (const { name, record } of named) {
    if (record.kind === 'opaqueTensor') { opaque.push(`'${name}' (${record.callable.replace(/^torch\._utils\./, '')})`); continue; }
    const s = record.storage;
    const dtype = record.dtype ? record.dtype.dtype : s.type.dtype;
    if (dtype === undefined) { opaque.push(`'${name}' (${record.dtype ? `torch.${record.dtype.name}` : s.type.name})`); continue; }
    const es = DTYPE_SIZE[dtype];
    // The root storage (a legacy view is a slice of it).
    const key = s.key;
    const storageBytes = s.numel * s.type.elementSize;
    let bytes = storages.get(key);
    if (!bytes) {
      bytes = locate(s);
      if (bytes.length < storageBytes) throw fail(`storage ${bytes.label} holds ${bytes.length} bytes, shorter than the ${storageBytes} bytes its ${s.numel} ${s.type.name} elements need`, s.at);
      storages.set(key, bytes);
    }
    const viewBytes = s.view ? s.view.offset * s.type.elementSize : 0;
    if (s.view && (s.view.offset < 0 || (s.view.offset + s.view.numel) * s.type.elementSize > bytes.length)) throw fail(`storage view of ${bytes.label} at element ${s.view.offset} runs past its end`, s.at);
    const elementCount = record.size.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(elementCount)) throw fail(`tensor '${name}' has ${record.size.join(' x ')} elements, too many to address`, record.at);
    // Bytes from the storage's start to one past the last element the view reaches.
    const last = elementCount === 0 ? 0 : record.size.reduce((a, d, i) => a + (d - 1) * record.stride[i]!, 0) + 1;
    const startByte = viewBytes + record.offset * es;
    const endByte = startByte + last * es;
    const limit = s.view ? viewBytes + s.view.numel * s.type.elementSize : bytes.length;
    if (!Number.isSafeInteger(endByte) || (elementCount > 0 && endByte > limit)) {
      throw fail(`tensor '${name}' (${record.size.join(' x ') || 'scalar'} ${dtype} at element ${record.offset}) needs ${endByte} bytes of storage ${bytes.label}, which holds ${limit}: the storage record is shorter than its tensors`, record.at);
    }
    const dense = contiguous(record.size, record.stride);
    const byteLength = elementCount * es;
    let data: TensorData;
    if (dense) data = { kind: 'range', file: bytes.file, offset: bytes.offset + startByte, length: byteLength };
    else if (gathered + (endByte - startByte) + byteLength <= GATHER_CAP) {
      gathered += (endByte - startByte) + byteLength;
      data = { kind: 'inline', bytes: gather(bytes, startByte, endByte, es, record.size, record.stride) };
    } else {
      data = { kind: 'unavailable', reason: `a strided view (strides ${record.stride.join(', ')}) of storage ${bytes.label}, over the ${GATHER_CAP >> 20} MiB this reader gathers: its elements are not one byte range` };
    }
    const t: TensorRef = {
      id: name, name, role: 'parameter', dtype, shape: shapes.of(record.size), elementCount, byteLength,
      data,
      storage: { key, offset: (viewBytes / es) + record.offset, strides: dense ? undefined : record.stride.slice() },
      recordOffset: offsetOf(record.at), graphPath: '', isGraphInput: false, consumers: NO_CONSUMERS,
    };
    tensors.push(t);
    const list = spans.get(key) ?? [];
    list.push({ t, start: startByte, end: endByte });
    spans.set(key, list);
  }
  if (opaque.length) warnings.push(`${opaque.length} tensor${opaque.length === 1 ? ' is' : 's are'} of a kind this reader does not lay out (quantized, sparse, meta or subclass) and not read: ${opaque.slice(0, 5).join(', ')}${opaque.length > 5 ? ', ...' : ''}`);
  warnings.push(...overlappingViews(spans, storages));
  return { tensors, warnings, storages: storages.size };
}

/** A strided view's elements, packed in row-major order, from the storage bytes [start, end) it spans. */
function gather(bytes: StorageBytes, start: number, end: number, es: number, size: readonly number[], stride: readonly number[]): Uint8Array {
  const span = Buffer.alloc(end - start);
  const fd = fs.openSync(bytes.file, 'r');
  try {
    if (fs.readSync(fd, span, 0, span.length, bytes.offset + start) !== span.length) throw new ModelFormatError(bytes.file, FORMAT, `storage ${bytes.label} ends early`, bytes.offset + start);
  } finally {
    fs.closeSync(fd);
  }
  const count = size.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * es);
  const index = new Array<number>(size.length).fill(0);
  let at = 0; // element offset into the span
  for (let i = 0; i < count; i++) {
    out.set(span.subarray(at * es, at * es + es), i * es);
    // Advance the multi-index, last dimension fastest.
    for (let d = size.length - 1; d >= 0; d--) {
      if (++index[d]! < size[d]!) { at += stride[d]!; break; }
      at -= (size[d]! - 1) * stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}

const sameView = (a: TensorRef, b: TensorRef) => a.storage!.offset === b.storage!.offset && a.dtype === b.dtype
  && a.shape.join(',') === b.shape.join(',') && (a.storage!.strides?.join(',') ?? '') === (b.storage!.strides?.join(',') ?? '');

/** Different views that overlap in one storage share memory already: pinned and reported, so no detector calls them copies. */
function overlappingViews(spans: Map<string, Array<{ t: TensorRef; start: number; end: number }>>, storages: Map<string, StorageBytes>): string[] {
  const out: string[] = [];
  for (const [key, list] of spans) {
    if (list.length < 2) continue;
    const sorted = list.filter((x) => x.end > x.start).sort((a, b) => a.start - b.start || a.end - b.end);
    let reach: { t: TensorRef; end: number } | undefined;
    for (const x of sorted) {
      if (reach && x.start < reach.end && !sameView(reach.t, x.t)) {
        const why = `a view into the storage of '${reach.t.name}' (${storages.get(key)!.label}, bytes ${x.start}-${x.end}): PyTorch already shares this memory, so it is a view, not a copy`;
        x.t.pinned = why;
        if (out.length < 20) out.push(`'${x.t.name}' is ${why}`);
      }
      if (!reach || x.end > reach.end) reach = { t: x.t, end: x.end };
    }
  }
  return out;
}
