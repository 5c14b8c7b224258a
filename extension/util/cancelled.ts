// The error a cancelled job ends with: named AbortError, as an aborted fetch
// or stream is, so every caller tells it from a failure the same way.

export function cancelled(message = 'cancelled'): Error {
  return Object.assign(new Error(message), { name: 'AbortError' });
}
