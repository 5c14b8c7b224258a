// Colours derived from the theme: muted fills for operator families, strong
// distinct colours for sharing groups (so "these are one weight" reads at a
// glance), and a readable text colour on top of each.
import { FAMILIES, type Family } from './families.js';
import { isLight, type Theme } from './theme.js';

export interface FamilyColors {
  fill: string;
  border: string;
}

export function familyColors(theme: Theme): Record<Family, FamilyColors> {
  const light = isLight(theme);
  const out = {} as Record<Family, FamilyColors>;
  for (const { family, hue } of FAMILIES) {
    if (theme.contrastBorder !== null) {
      out[family] = { fill: theme.background, border: hsl(hue, 70, light ? 30 : 70) };
    } else {
      out[family] = light
        ? { fill: hsl(hue, 60, 90), border: hsl(hue, 40, 58) }
        : { fill: hsl(hue, 28, 24), border: hsl(hue, 35, 45) };
    }
  }
  return out;
}

/**
 * Twelve colours that stay apart (every pair over 60 apart in sRGB, in both
 * themes): six hues, then six others at another lightness (searched for the
 * widest smallest gap). Past them colours would start to look alike, so the
 * rest share one "more" colour (and a dashed border, see style.ts).
 */
const FIRST_HUES = [0, 140, 290, 48, 200, 320];
const SECOND_HUES = [20, 60, 100, 170, 220, 270];
export const STRONG_GROUPS = FIRST_HUES.length + SECOND_HUES.length;

export function groupColor(index: number, theme: Theme): string {
  const light = isLight(theme);
  if (index >= STRONG_GROUPS) return light ? hsl(220, 10, 42) : hsl(220, 10, 66);
  const second = index >= FIRST_HUES.length;
  const hue = second ? SECOND_HUES[index - FIRST_HUES.length]! : FIRST_HUES[index]!;
  return light ? hsl(hue, 85, second ? 28 : 42) : hsl(hue, 85, second ? 74 : 58);
}

/** Black or white, whichever reads better on `color` (an hsl() string from this module or #rrggbb). */
export function textOn(color: string): string {
  const [r, g, b] = toRgb(color);
  const lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  return lum > 0.22 ? '#000000' : '#ffffff';
}

/** `a` moved towards `b` by t (0..1), as #rrggbb; inputs as this module's textOn reads them. */
export function mix(a: string, b: string, t: number): string {
  const x = toRgb(a);
  const y = toRgb(b);
  const c = x.map((v, i) => Math.round(v + (y[i] - v) * Math.min(1, Math.max(0, t))));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

export function hsl(h: number, s: number, l: number): string {
  return `hsl(${h}, ${s}%, ${l}%)`;
}

function lin(c: number): number {
  const v = c / 255;
  return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

/** `color` as this module's functions read it (hsl(), #rrggbb, #rgb, rgb()), as 0-255 channels. */
export function toRgb(color: string): [number, number, number] {
  const m = /^hsl\((\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?)%,\s*(\d+(?:\.\d+)?)%\)$/.exec(color);
  if (m) return hslToRgb(Number(m[1]), Number(m[2]) / 100, Number(m[3]) / 100);
  const hex = /^#([0-9a-f]{6})/i.exec(color);
  if (hex) {
    const n = parseInt(hex[1], 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(color);
  if (short) return [1, 2, 3].map((i) => parseInt(short[i] + short[i], 16)) as [number, number, number];
  const rgb = /^rgba?\((\d+)[,\s]+(\d+)[,\s]+(\d+)/.exec(color);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  return [128, 128, 128];
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const k = (n: number) => (n + h / 30) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}
