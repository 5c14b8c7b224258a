// A 32-bit integer hash (murmur3's finaliser), seeded: the sketches' bucket
// maps and random signs (sharing/layerSums.ts, sharing/filters.ts).

/** Well-mixed 32 bits of `x` (an integer; bits past 2³² wrap) under `seed`. */
export function mix32(x: number, seed = 0x5bd1e995): number {
  let h = Math.imul(x ^ seed, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
