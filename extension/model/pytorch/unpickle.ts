// One checkpoint pickle read with the torch allowlist; a refusal or a
// corrupt opcode becomes one ModelFormatError that names the file and the
// byte of the file where it happened.
import { ModelFormatError } from '../types';
import { torchHooks, type StorageRef } from './allowlist';
import { readPickle, type PickleResult } from './pickle';
import { PickleError, type PickleSource } from './pickleInput';
import { FORMAT } from './layout';

const HINT_SCAN = 64 << 20;
const MODEL_MARKS = ['torch.nn.modules', '__torch__', '_modules'].map((s) => Buffer.from(s, 'latin1'));

/** Whether the pickle's bytes name nn.Module machinery (read only for the message of a refusal). */
function namesModules(source: PickleSource, start: number): boolean {
  const n = Math.min(HINT_SCAN, source.size - start);
  if (n <= 0) return false;
  const bytes = Buffer.from(source.read(start, n));
  return MODEL_MARKS.some((m) => bytes.includes(m));
}

/**
 * Reads the pickle at `start`. `base` is the file offset of the source's
 * byte 0 and `where` names the pickle in messages (e.g. "archive/data.pkl").
 */
export function unpickle(file: string, source: PickleSource, start: number, base: number, where: string, onStorage?: (ref: StorageRef) => void): PickleResult {
  return asFormatError(file, base, where, () => readPickle(source, torchHooks({ modelHint: () => namesModules(source, start), onStorage }), start));
}

/** Runs `fn`, turning a PickleError into the file's ModelFormatError (`base`: file offset of pickle byte 0). */
export function asFormatError<T>(file: string, base: number, where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PickleError) throw new ModelFormatError(file, FORMAT, `${where}: ${e.problem}`, base + e.offset);
    throw e;
  }
}
