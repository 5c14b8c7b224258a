// Keys read from a model file (tensor, input, attribute or metadata names)
// used on plain objects: `__proto__` must become an own property, not the
// prototype, and a lookup must not find `constructor` on Object.prototype.

/** Sets `key` as an own, enumerable property. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `obj[key]` when `key` is the object's own property, else undefined. */
export function getOwn<T>(obj: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}
