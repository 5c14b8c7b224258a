// The Layers tab's styles, added once as a <style> carrying the page's CSP
// nonce (as the inference panel does). Colours come from VS Code's theme
// variables; the heatmap's own colours are set per cell from the theme
// (scale.ts), since they are a scale, not a fixed palette.
import { addStyleSheet } from '../dom.js';

const CSS = `
.layers { padding: 8px 12px 16px; width: 100%; box-sizing: border-box; display: flex; flex-direction: column; gap: 8px; }
.layers h2 { font-size: 13px; margin: 4px 0 0; font-weight: 600; }
.layers h3 { font-size: 12px; margin: 0; font-weight: 600; }
.layers h4 { font-size: 12px; margin: 6px 0 4px; font-weight: 600; }
.layers h4 .muted { font-weight: normal; }
.layers p { margin: 0; }
.layers .mono { font-family: var(--mono, monospace); word-break: break-all; }
.ly-status { display: flex; gap: 8px; align-items: center; color: var(--muted); }
.ly-status vscode-progress-ring { width: 16px; height: 16px; flex: none; }
.ly-status[hidden] { display: none; }
.ly-error { color: var(--error); word-break: break-word; }

.ly-legend-title { font-size: 11px; color: var(--muted); margin-bottom: 3px; }
.ly-legend-bar { height: 10px; border: 1px solid var(--border); border-radius: 2px; }
.ly-legend-ticks { position: relative; height: 14px; font-size: 10px; color: var(--muted); margin: 2px 0 2px; }
.ly-legend-ticks span { position: absolute; top: 0; transform: translateX(-50%); white-space: nowrap; }
.ly-legend-ticks span.first { transform: none; }
.ly-legend-ticks span.last { transform: translateX(-100%); }

.ly-tie { border: 1px solid var(--border); border-radius: 4px; padding: 8px; display: flex; flex-direction: column; gap: 6px; }
.ly-tie-fields { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 4px 8px; align-items: center; }
.ly-tie-fields label { color: var(--muted); white-space: nowrap; }
.ly-tie-fields vscode-text-field, .ly-tie-fields vscode-dropdown { width: 100%; min-width: 0; }
.ly-tie > vscode-button { align-self: flex-start; }
.ly-tie-result:empty { display: none; }
.ly-kv { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 2px 10px; margin: 4px 0 0; }
.ly-kv dt { color: var(--muted); }
.ly-kv dd { margin: 0; word-break: break-word; font-variant-numeric: tabular-nums; }
.ly-cost-table { border-collapse: collapse; width: 100%; font-size: 12px; margin-bottom: 4px; }
.ly-cost-table th { text-align: left; color: var(--muted); font-weight: normal; border-bottom: 1px solid var(--border); padding: 2px 8px 2px 0; }
.ly-cost-table td { padding: 2px 8px 2px 0; vertical-align: top; }
.ly-cost-table th:not(:first-child), .ly-cost-table td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ly-cost vscode-button { margin-top: 4px; }

.ly-list-bar { display: flex; align-items: center; justify-content: space-between; gap: 8px; margin-top: 4px; }
.ly-list-bar vscode-dropdown { min-width: 0; width: 160px; }
.ly-families { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
.ly-family { border: 1px solid var(--border); border-radius: 4px; }
.ly-family-head {
  background: none; border: 0; color: inherit; font: inherit; width: 100%; box-sizing: border-box; text-align: left;
  padding: 5px 8px; display: flex; align-items: center; gap: 8px; cursor: pointer; border-radius: 4px;
}
.ly-family-head::before { content: '▸'; flex: none; width: 10px; color: var(--muted); }
.ly-family-head[aria-expanded="true"]::before { content: '▾'; }
.ly-family-head:hover { background: var(--hover); }
.ly-family-head:focus-visible { outline: 1px solid var(--focus); outline-offset: -1px; }
.ly-head-text { display: flex; flex-direction: column; min-width: 0; flex: 1; }
.ly-role { font-family: var(--mono, monospace); font-size: 12px; overflow-wrap: anywhere; }
.ly-meta { color: var(--muted); font-size: 11px; }
.ly-chip { flex: none; font-size: 11px; line-height: 16px; font-variant-numeric: tabular-nums; padding: 0 6px; border-radius: 3px; border: 1px solid var(--border); }
.ly-family-body { padding: 2px 8px 8px 26px; }
.ly-family-body[hidden] { display: none; }

.ly-heatmap { display: grid; grid-template-columns: 22px repeat(var(--n), minmax(0, 1fr)); max-width: calc(22px + var(--n) * 44px); gap: 1px; }
.ly-row { display: contents; }
.ly-label { font-size: 10px; color: var(--muted); display: flex; align-items: center; justify-content: center; font-variant-numeric: tabular-nums; white-space: nowrap; line-height: 14px; }
.ly-row-label { background: none; border: 0; padding: 0; margin: 0; cursor: pointer; font-family: inherit; }
.ly-row-label:hover { color: var(--fg); text-decoration: underline; }
.ly-cell {
  aspect-ratio: 1; min-width: 0; display: flex; align-items: center; justify-content: center; overflow: hidden;
  font-size: 10px; font-variant-numeric: tabular-nums; cursor: pointer; outline: none;
  box-shadow: inset 0 0 0 1px color-mix(in srgb, var(--border) 60%, transparent);
}
.ly-heatmap.with-values .ly-cell { font-size: 11px; }
.ly-cell.diag { background: var(--widget); background-image: repeating-linear-gradient(45deg, transparent 0 3px, color-mix(in srgb, var(--muted) 30%, transparent) 3px 4px); }
.ly-cell:hover, .ly-cell:focus-visible { box-shadow: inset 0 0 0 2px var(--focus); }
.ly-cell.selected { box-shadow: inset 0 0 0 2px var(--fg), inset 0 0 0 3px var(--bg); }
body.vscode-high-contrast .ly-cell, body.vscode-high-contrast-light .ly-cell { box-shadow: inset 0 0 0 1px var(--vscode-contrastBorder, #6fc3df); }
body.vscode-high-contrast .ly-cell:hover, body.vscode-high-contrast .ly-cell:focus-visible { box-shadow: inset 0 0 0 2px var(--focus); }
body.vscode-high-contrast .ly-cell.selected { box-shadow: inset 0 0 0 3px var(--fg); }

.ly-tooltip {
  position: fixed; z-index: 20; max-width: 300px; padding: 6px 8px; pointer-events: none; font-size: 12px; line-height: 1.4;
  background: var(--vscode-editorHoverWidget-background, var(--widget)); color: var(--vscode-editorHoverWidget-foreground, var(--fg));
  border: 1px solid var(--vscode-editorHoverWidget-border, var(--widget-border));
  box-shadow: 0 2px 8px var(--vscode-widget-shadow, rgba(0, 0, 0, 0.36));
}
.ly-tooltip[hidden] { display: none; }
.ly-tooltip-title { font-weight: 600; margin-bottom: 2px; }
.ly-tooltip table { border-collapse: collapse; }
.ly-tooltip th { text-align: left; font-weight: normal; color: var(--muted); padding: 0 10px 0 0; white-space: nowrap; }
.ly-tooltip td { font-family: var(--mono, monospace); font-variant-numeric: tabular-nums; }
.ly-tooltip-names { font-family: var(--mono, monospace); font-size: 11px; color: var(--muted); word-break: break-all; margin-top: 4px; }
.ly-tooltip-hint { color: var(--muted); font-style: italic; margin-top: 4px; }
`;

export function addLayersStyles(): void {
  addStyleSheet('layers-styles', CSS);
}
