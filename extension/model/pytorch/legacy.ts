// The legacy checkpoint format (torch.save before PyTorch 1.6, or with
// _use_new_zipfile_serialization=False), as torch/serialization.py's
// _legacy_load reads it: five pickles one after another (the magic number
// 0x1950a86a20f9469cfc6c, the protocol version 1001, sys_info, the object
// with storages as persistent ids, the list of storage keys), then each
// listed storage in that order: its element count as 8 bytes little-endian,
// then its bytes (torch writes them little-endian whatever the machine).
// Each pickle's end is where its STOP opcode is, so the reader reports it.
import * as fs from 'node:fs';
import { ModelFormatError } from '../types';
import { PickleTuple, type PickleValue } from './pickle';
import { fileSource } from './pickleInput';
import { unpickle } from './unpickle';
import type { StorageRef, StorageType } from './allowlist';
import { FORMAT, type StorageBytes } from './layout';
import type { CheckpointParts } from './parts';

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const PROTOCOL_VERSION = 1001;

export function readLegacyCheckpoint(file: string, fd: number, size: number): CheckpointParts {
  const fail = (problem: string, at?: number) => new ModelFormatError(file, FORMAT, problem, at);
  const source = fileSource(fd, 0, size);
  const magic = unpickle(file, source, 0, 0, 'the magic-number pickle');
  if (magic.value !== LEGACY_MAGIC) throw fail('not a PyTorch checkpoint: a pickle stream that does not start with torch\'s magic number', 0);
  const proto = unpickle(file, source, magic.end, 0, 'the protocol-version pickle');
  if (proto.value !== PROTOCOL_VERSION) throw fail(`legacy protocol version ${String(proto.value)}, not ${PROTOCOL_VERSION}`, magic.end);
  const sys = unpickle(file, source, proto.end, 0, 'the sys_info pickle');
  const littleMachine = sys.value instanceof Map ? sys.value.get('little_endian') !== false : true;

  // Storages as the object pickle names them: the first mention of a key gives its type and size.
  const named = new Map<string, StorageRef>();
  const objectAt = sys.end;
  const obj = unpickle(file, source, objectAt, 0, 'the object pickle', (ref) => { if (!named.has(ref.key)) named.set(ref.key, ref); });
  const keysPickle = unpickle(file, source, obj.end, 0, 'the storage-keys pickle');
  const keys = storageKeys(keysPickle.value, () => fail('the storage-keys pickle is not a list of keys', obj.end));

  const where = new Map<string, StorageBytes>();
  const head = Buffer.alloc(8);
  let pos = keysPickle.end;
  for (const key of keys) {
    const ref = named.get(key);
    if (!ref) throw fail(`storage key '${key}' is listed but no tensor names it`, obj.end);
    if (where.has(key)) throw fail(`storage key '${key}' is listed twice`, obj.end);
    if (pos + 8 > size || fs.readSync(fd, head, 0, 8, pos) !== 8) throw fail(`storage '${key}': the file ends before its element count`, pos);
    const count = head.readBigInt64LE(0);
    const type: StorageType = ref.type;
    if (count !== BigInt(ref.numel)) throw fail(`storage '${key}' holds ${count} elements, but the object pickle says ${ref.numel}`, pos);
    const length = ref.numel * type.elementSize;
    if (pos + 8 + length > size) throw fail(`storage '${key}' (${length} bytes at ${pos + 8}) runs past the end of the ${size}-byte file: the storage record is shorter than its tensors`, pos);
    where.set(key, { file, offset: pos + 8, length, label: `storage '${key}' (at byte ${pos + 8})` });
    pos += 8 + length;
  }
  const warnings: string[] = [];
  if (pos < size) warnings.push(`${size - pos} bytes after the last storage are not part of the checkpoint`);
  return {
    root: obj.value, base: 0, where: 'the object pickle', byteorder: 'little', warnings,
    facts: [
      ['Container', 'legacy pickle stream (torch.save before PyTorch 1.6)'],
      ['Protocol version', String(PROTOCOL_VERSION)],
      ['Byte order', `little (the saving machine was ${littleMachine ? 'little' : 'big'}-endian; torch writes legacy storages little-endian)`],
    ],
    metadata: { byteorder: 'little' },
    locate(ref) {
      const w = where.get(ref.key);
      if (!w) throw fail(`the object pickle names storage '${ref.key}', which the storage-keys list does not hold`, ref.at);
      return w;
    },
  };
}

function storageKeys(v: PickleValue, bad: () => Error): string[] {
  const items = Array.isArray(v) ? v : v instanceof PickleTuple ? v.items : undefined;
  if (!items) throw bad();
  return items.map((k) => {
    if (typeof k === 'string') return k;
    if (typeof k === 'number') return String(k);
    throw bad();
  });
}
