// What the two container formats (zip, legacy) hand the checkpoint reader:
// the unpickled root object and where each storage's bytes are.
import type { PickleValue } from './pickle';
import type { StorageRef } from './allowlist';
import type { StorageBytes } from './layout';

export interface CheckpointParts {
  root: PickleValue;
  /** File offset of the object pickle's byte 0 (pickle offsets in messages become file offsets). */
  base: number;
  /** How messages name the object pickle: `archive/data.pkl`, `the object pickle`. */
  where: string;
  locate(ref: StorageRef): StorageBytes;
  /** 'little' or 'big': the byte order of the tensor bytes in the file. */
  byteorder: 'little' | 'big';
  facts: Array<[string, string]>;
  metadata: Record<string, string>;
  warnings: string[];
}
