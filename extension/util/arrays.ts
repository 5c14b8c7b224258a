// Appends without spreading: `a.push(...b)` passes b as arguments and
// overflows the stack once b holds some 100,000 items (a model's tensors,
// groups or pieces can).
export function pushAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}
