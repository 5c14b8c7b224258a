// The kinds of sharing group, defined once. Everything that lists, orders or
// filters kinds (CLI flags, report, webview protocol, planner) imports these.

/** In report order: copies first (largest savings), tied weights (nothing to save) last. */
export const SHARING_KINDS = ['exact', 'transposed', 'cast', 'reshaped', 'quantized', 'tied'] as const;

export type SharingKind = (typeof SHARING_KINDS)[number];

/** Kinds Apply Sharing can carry out. `tied` weights are already stored once. */
export const APPLICABLE_KINDS: readonly SharingKind[] = SHARING_KINDS.filter((k) => k !== 'tied');

export function isSharingKind(s: string): s is SharingKind {
  return (SHARING_KINDS as readonly string[]).includes(s);
}
