// Group colours in plain Node: twelve that stay apart in both themes, then
// one shared "more" colour (the graph adds a dashed border for those).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Theme } from '../../webview/theme.js' with { 'resolution-mode': 'import' };

const colors = () => import('../../webview/colors.js');

function theme(kind: Theme['kind']): Theme {
  return { kind } as Theme;
}

/** sRGB distance of two colours the module makes. */
function distance(a: string, b: string, mix: (a: string, b: string, t: number) => string): number {
  const rgb = (c: string) => { const h = mix(c, c, 0); return [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)); };
  const [x, y] = [rgb(a), rgb(b)];
  return Math.hypot(...x.map((v, i) => v - y[i]!));
}

test('group colours: twelve distinct strong colours per theme, then one "more" colour for the rest', async () => {
  const { groupColor, mix, STRONG_GROUPS } = await colors();
  assert.equal(STRONG_GROUPS, 12);
  for (const kind of ['light', 'dark'] as const) {
    const strong = Array.from({ length: STRONG_GROUPS }, (_, i) => groupColor(i, theme(kind)));
    for (let i = 0; i < strong.length; i++) {
      for (let j = i + 1; j < strong.length; j++) assert.ok(distance(strong[i]!, strong[j]!, mix) > 60, `${kind}: groups ${i} and ${j} look alike (${strong[i]} / ${strong[j]})`);
    }
    const more = [12, 13, 40].map((i) => groupColor(i, theme(kind)));
    assert.equal(new Set(more).size, 1);
    assert.ok(!strong.includes(more[0]!));
  }
});
