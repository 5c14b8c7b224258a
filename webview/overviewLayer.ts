// A big drawing zoomed out past what cytoscape can hold: every node as a
// filled box, every edge as a line, painted on one canvas under cytoscape's
// in a few passes (one path per colour). Labels would be under 5 px at these
// zooms, where cytoscape hides them too. Members of a sharing group keep
// their colour and a halo, so groups still show from afar.
import type { Drawing, Rect } from './drawing.js';
import { hasClass, meets } from './drawing.js';
import { familyColors, groupColor } from './colors.js';
import type { Family } from './families.js';
import type { Theme } from './theme.js';

export interface Viewport {
  zoom: number;
  pan: { x: number; y: number };
  width: number;
  height: number;
}

interface Paint {
  fill: string;
  stroke: string;
  /** Group colour around it (sharing groups). */
  halo?: string;
  alpha?: number;
}

export class OverviewLayer {
  readonly canvas: HTMLCanvasElement;
  private paints = new Map<string, Paint>();

  constructor(container: HTMLElement, private theme: Theme) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'overview-layer';
    this.canvas.setAttribute('aria-hidden', 'true');
    Object.assign(this.canvas.style, { position: 'absolute', inset: '0', width: '100%', height: '100%', pointerEvents: 'none', zIndex: '0' });
    container.prepend(this.canvas);
  }

  setTheme(theme: Theme): void {
    this.theme = theme;
    this.paints.clear();
  }

  clear(): void {
    this.canvas.hidden = true;
  }

  draw(drawing: Drawing, view: Viewport): void {
    const c = this.canvas;
    c.hidden = false;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(view.width * dpr), h = Math.round(view.height * dpr);
    if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    const ctx = c.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const z = view.zoom;
    ctx.setTransform(z * dpr, 0, 0, z * dpr, view.pan.x * dpr, view.pan.y * dpr);
    const area: Rect = { x1: -view.pan.x / z, y1: -view.pan.y / z, x2: (view.width - view.pan.x) / z, y2: (view.height - view.pan.y) / z };
    const px = 1 / z;

    const boxes: Rect[] = [];
    const leaves = new Map<Paint, Rect[]>();
    for (const n of drawing.nodes.values()) {
      if (!meets(n.rect, area)) continue;
      if (n.inner) { boxes.push(n.rect); continue; }
      const p = this.paintOf(n.classes, Number(n.def.data.g ?? 0));
      const list = leaves.get(p);
      if (list) list.push(n.rect); else leaves.set(p, [n.rect]);
    }
    // Boxes: a faint fill and an outline, under everything.
    ctx.fillStyle = this.theme.foreground;
    ctx.globalAlpha = 0.035;
    for (const r of boxes) ctx.fillRect(r.x1, r.y1, r.x2 - r.x1, r.y2 - r.y1);
    ctx.globalAlpha = 1;
    ctx.strokeStyle = this.theme.muted;
    ctx.lineWidth = px;
    ctx.beginPath();
    for (const r of boxes) ctx.rect(r.x1, r.y1, r.x2 - r.x1, r.y2 - r.y1);
    ctx.stroke();

    // Edges: straight, centre to centre, in one stroke.
    ctx.strokeStyle = this.theme.muted;
    ctx.globalAlpha = 0.6;
    ctx.beginPath();
    for (const e of drawing.edges) {
      const s = drawing.nodes.get(e.source)?.rect, t = drawing.nodes.get(e.target)?.rect;
      if (!s || !t) continue;
      const sx = (s.x1 + s.x2) / 2, sy = s.y2, tx = (t.x1 + t.x2) / 2, ty = t.y1;
      if (Math.max(sx, tx) < area.x1 || Math.min(sx, tx) > area.x2 || Math.max(sy, ty) < area.y1 || Math.min(sy, ty) > area.y2) continue;
      ctx.moveTo(sx, sy);
      ctx.lineTo(tx, ty);
    }
    ctx.stroke();
    ctx.globalAlpha = 1;

    // Halos, then the nodes, one path per paint.
    const halo = Math.max(6, 9 * px);
    for (const [p, rects] of leaves) {
      if (!p.halo) continue;
      ctx.fillStyle = p.halo;
      ctx.globalAlpha = 0.35;
      for (const r of rects) ctx.fillRect(r.x1 - halo, r.y1 - halo, r.x2 - r.x1 + 2 * halo, r.y2 - r.y1 + 2 * halo);
    }
    for (const [p, rects] of leaves) {
      ctx.globalAlpha = p.alpha ?? 1;
      ctx.fillStyle = p.fill;
      ctx.strokeStyle = p.stroke;
      ctx.lineWidth = p.halo ? 3 * Math.min(1, px * 2) : px;
      ctx.beginPath();
      for (const r of rects) ctx.rect(r.x1, r.y1, r.x2 - r.x1, r.y2 - r.y1);
      ctx.fill();
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  /** The colours the stylesheet (style.ts) gives an element of these classes, cached per classes and group. */
  private paintOf(classes: string, group: number): Paint {
    const grouped = hasClass(classes, 'grouped') || hasClass(classes, 'has-groups');
    const key = `${classes}|${grouped ? group : ''}`;
    let p = this.paints.get(key);
    if (p) return p;
    const t = this.theme;
    const cls = new Set(classes.split(' '));
    if (grouped) {
      const g = groupColor(group, t);
      p = cls.has('tied-only') || cls.has('scope') ? { fill: t.widgetBackground, stroke: g, halo: g } : { fill: g, stroke: g, halo: g };
    } else if (cls.has('op')) {
      const fam = [...cls].find((c) => c.startsWith('fam-'))?.slice(4) as Family | undefined;
      const f = fam ? familyColors(t)[fam] : undefined;
      p = f ? { fill: f.fill, stroke: f.border } : { fill: t.widgetBackground, stroke: t.border };
    } else if (cls.has('weight')) {
      p = { fill: t.background, stroke: t.muted, alpha: cls.has('unstored') ? 0.5 : 1 };
    } else if (cls.has('graph-input') || cls.has('graph-output')) {
      p = { fill: t.background, stroke: t.foreground };
    } else {
      p = { fill: t.widgetBackground, stroke: t.contrastBorder ?? t.muted };
    }
    this.paints.set(key, p);
    return p;
  }
}
