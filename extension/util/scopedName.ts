// How a tensor is named for people, everywhere the extension shows one.

/**
 * A tensor's name in context, for people: a subgraph tensor with the path
 * of the graph that declares it, `If_25 › then › 1072` (the name alone is
 * ambiguous: both branches of an If may declare `1072`).
 */
export function scopedName(name: string, graphPath: string | undefined): string {
  if (!graphPath) return name;
  const parts = graphPath.split('/').map((p) => (p === 'then_branch' ? 'then' : p === 'else_branch' ? 'else' : p));
  return `${parts.join(' › ')} › ${name}`;
}
