// Text widths for node sizes: the layout needs each node's size before
// cytoscape draws it, and labels must never be clipped.

let context: CanvasRenderingContext2D | null = null;
const cache = new Map<string, number>();

export function textWidth(text: string, font: string): number {
  const key = `${font}\u0000${text}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  context ??= document.createElement('canvas').getContext('2d');
  let width: number;
  if (context) {
    context.font = font;
    width = Math.ceil(context.measureText(text).width);
  } else {
    width = Math.ceil(text.length * 7); // no canvas (should not happen in a browser)
  }
  if (cache.size > 20000) cache.clear();
  cache.set(key, width);
  return width;
}

export function linesWidth(lines: string[], font: string): number {
  return Math.max(0, ...lines.map((l) => textWidth(l, font)));
}

export function clearMeasureCache(): void {
  cache.clear();
}
