// The Layers heatmap's colour scale: relative L2 distance from 0 (identical:
// the theme's chart blue at full strength) to √2 (where independent random
// matrices sit, and beyond: the background), mixed from the theme's own
// colours so light, dark and high-contrast themes each read. Text on a cell
// takes black or white, whichever reads.
import { mix, textOn } from '../colors.js';
import type { Theme } from '../theme.js';

/** ‖a−b‖ / max(‖a‖, ‖b‖) of two independent random matrices of one shape. */
export const RANDOM_REL_L2 = Math.SQRT2;

export interface HeatScale {
  fill(relL2: number): string;
  text(relL2: number): string;
}

/** How strongly a distance is coloured: 1 for identical, 0 from √2 on. */
function strength(relL2: number): number {
  if (!Number.isFinite(relL2)) return 0;
  // A gentle curve: the useful range (0.2-1.0) gets most of the steps.
  return Math.max(0, 1 - relL2 / RANDOM_REL_L2) ** 0.85;
}

export function heatScale(theme: Theme): HeatScale {
  const fill = (r: number) => mix(theme.background, theme.accent, strength(r));
  return { fill, text: (r) => textOn(fill(r)) };
}

/** The legend: the gradient with its ticks, and what the far end means. */
export function legend(theme: Theme): HTMLElement {
  const scale = heatScale(theme);
  const box = document.createElement('div');
  box.className = 'ly-legend';
  box.id = 'layers-legend';
  const title = document.createElement('div');
  title.className = 'ly-legend-title';
  title.textContent = 'Relative L2 distance ‖a−b‖ / max(‖a‖, ‖b‖)';
  const bar = document.createElement('div');
  bar.className = 'ly-legend-bar';
  const stops = Array.from({ length: 11 }, (_, i) => `${scale.fill((i / 10) * RANDOM_REL_L2)} ${i * 10}%`);
  bar.style.background = `linear-gradient(to right, ${stops.join(', ')})`;
  const ticks = document.createElement('div');
  ticks.className = 'ly-legend-ticks';
  for (const [value, label] of [[0, '0 identical'], [0.5, '0.5'], [1, '1.0'], [RANDOM_REL_L2, '1.41']] as const) {
    const t = document.createElement('span');
    t.textContent = label;
    t.style.left = `${(value / RANDOM_REL_L2) * 100}%`;
    if (value === 0) t.classList.add('first');
    if (value === RANDOM_REL_L2) t.classList.add('last');
    ticks.append(t);
  }
  const note = document.createElement('p');
  note.className = 'ly-legend-note muted small';
  note.textContent = 'Independent random matrices sit near 1.41 (√2). Lossy: tying layers changes the outputs; measure it with Try tying.';
  box.append(title, bar, ticks, note);
  return box;
}
