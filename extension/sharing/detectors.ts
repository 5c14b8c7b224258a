// The detectors the scan runs, as a list: each turns what the byte-class
// pass established (which tensors are byte-identical, verified) into groups
// of one kind, reading more bytes only where its kind needs them. To add a
// kind of finding, add a detector here.
import type { ByteClasses } from './byteClasses';
import type { ByteSource } from './byteSource';
import { findCasts } from './cast';
import { findEncodings } from './encodings';
import type { Entry } from './entries';
import { byteClassGroups, relationGroups } from './groups';
import type { ProgressMeter } from './progress';
import { findQuantized } from './quantized';
import { findTied } from './tied';
import { findTransposed } from './transposed';
import type { ModelFile } from '../model/types';
import type { SharingGroup } from './types';

export interface DetectorContext {
  models: ModelFile[];
  /** Tensors to compare, each storage once. */
  entries: Entry[];
  classes: ByteClasses;
  src: ByteSource;
  meter: ProgressMeter;
}

export interface Detector {
  /** What it looks for, as progress says it. */
  label: string;
  /** Share of the comparison time it is expected to take (for progress). */
  weight: number;
  find(ctx: DetectorContext): Promise<SharingGroup[]> | SharingGroup[];
}

export const DETECTORS: readonly Detector[] = [
  { label: 'grouping identical copies', weight: 0, find: (c) => byteClassGroups(c.classes.multi) },
  { label: 'looking for transposed copies', weight: 0.6, find: async (c) => relationGroups(await findTransposed(c.classes.shapeClasses, c.src, c.meter)) },
  { label: 'looking for cast copies', weight: 0.4, find: async (c) => relationGroups(await findCasts(c.classes.shapeClasses, c.src, c.meter)) },
  { label: 'comparing encodings of one weight', weight: 0.1, find: (c) => findEncodings(c.models, c.classes.shapeClasses, c.src, c.meter) },
  { label: 'matching quantized triplets', weight: 0, find: (c) => findQuantized(c.entries, c.classes.classOf) },
  { label: 'listing tied weights', weight: 0, find: (c) => findTied(c.models, c.entries) },
];
