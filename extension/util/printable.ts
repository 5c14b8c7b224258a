// Text from a model file (tensor and node names, keys) reaches terminals,
// the Problems panel and Markdown. Control characters in it could retitle or
// clear a terminal (ANSI escapes), split one error over several lines, or
// reorder what a reader sees (bidirectional overrides): they are shown as
// \u escapes instead.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
