// The inference panel's styles, added once as a <style> carrying the page's
// CSP nonce (the toolkit adds its own styles the same way). Colours come from
// VS Code's theme variables, so light, dark and high contrast follow.
import { addStyleSheet } from '../dom.js';

const CSS = `
.inference { padding: 8px 12px 16px; width: 100%; box-sizing: border-box; display: flex; flex-direction: column; gap: 10px; }
.inference h2 { font-size: 13px; margin: 4px 0 0; font-weight: 600; }
.inference h3 { font-size: 12px; margin: 8px 0 4px; font-weight: 600; color: var(--fg, inherit); word-break: break-word; }
.inference h3 .muted { font-weight: normal; }
.inf-controls { display: grid; grid-template-columns: auto 1fr; gap: 6px 10px; align-items: center; }
.inf-controls > label { color: var(--muted, #9d9d9d); white-space: nowrap; }
.inf-controls vscode-dropdown, .inf-controls vscode-text-field { width: 100%; min-width: 0; }
.inf-sizes { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 6px; grid-column: 1 / -1; }
.inf-sizes label { display: flex; flex-direction: column; gap: 2px; color: var(--muted, #9d9d9d); font-size: 11px; }
.inf-sizes vscode-text-field { width: 100%; min-width: 0; }
.inf-sizes vscode-text-field::part(root) { min-width: 0; width: 100%; }
.inf-inputs { grid-column: 1 / -1; display: flex; flex-direction: column; gap: 6px; border-left: 2px solid var(--border, #444); padding: 2px 0 2px 8px; }
.inf-inputs h3 { margin: 0; }
.inf-input-row { display: flex; flex-direction: column; gap: 3px; }
.inf-input-row .mono { font-family: var(--mono, monospace); font-size: 12px; word-break: break-all; }
.inf-input-row .detail { color: var(--muted, #9d9d9d); font-size: 11px; }
.inf-input-controls { display: grid; grid-template-columns: repeat(auto-fill, minmax(110px, 1fr)); gap: 6px; }
.inf-input-controls:empty { display: none; }
.inf-input-controls label { display: flex; flex-direction: column; gap: 2px; color: var(--muted, #9d9d9d); font-size: 11px; min-width: 0; }
.inf-input-controls vscode-text-field { width: 100%; min-width: 0; }
.inf-input-controls vscode-text-field::part(root) { min-width: 0; width: 100%; }
.inf-input-problem { margin: 0; color: var(--error, #f48771); font-size: 12px; }
.inf-input-problem[hidden] { display: none; }
.inf-compare { grid-column: 1 / -1; display: flex; align-items: center; gap: 6px; flex-wrap: wrap; }
.inf-compare .name { font-family: var(--mono, monospace); word-break: break-all; }
.inf-compare .name.none { font-family: inherit; color: var(--muted, #9d9d9d); font-style: italic; }
.inf-actions { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.inf-status { display: flex; gap: 8px; align-items: center; min-height: 20px; color: var(--muted, #9d9d9d); }
.inf-status vscode-progress-ring { width: 16px; height: 16px; }
.inf-status[hidden] { display: none; }
.inf-meter { height: 3px; background: var(--vscode-editorWidget-border, rgba(128,128,128,0.3)); width: 100%; }
.inf-meter > div { height: 100%; width: 0; background: var(--vscode-progressBar-background, #0078d4); }
.inf-verdict { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.verdict { font-weight: 700; font-size: 13px; padding: 2px 10px; border-radius: 3px; letter-spacing: 0.05em; }
.verdict.pass { background: var(--vscode-testing-iconPassed, #73c991); color: #101010; }
.verdict.fail, .verdict.error { background: var(--vscode-testing-iconFailed, #f14c4c); color: #ffffff; }
.verdict.ran { background: var(--vscode-badge-background, #616161); color: var(--vscode-badge-foreground, #ffffff); }
body.vscode-light .verdict.pass { background: #2f7d32; color: #ffffff; }
body.vscode-high-contrast .verdict { background: transparent; border: 1px solid currentColor; }
body.vscode-high-contrast .verdict.pass { color: #73c991; }
body.vscode-high-contrast .verdict.fail, body.vscode-high-contrast .verdict.error { color: #f48771; }
.inf-kv { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0; }
.inf-kv dt { color: var(--muted, #9d9d9d); }
.inf-kv dd { margin: 0; word-break: break-word; }
.inf-list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
.inf-list li { border-left: 2px solid var(--border, #444); padding: 2px 0 2px 8px; }
.inf-list .mono, .inference .mono { font-family: var(--mono, monospace); font-size: 12px; word-break: break-all; }
.inf-list .detail { color: var(--muted, #9d9d9d); font-size: 11px; }
.inf-out { border-left: 3px solid var(--vscode-testing-iconPassed, #73c991); }
.inf-list li.inf-out.fail { border-left-color: var(--vscode-testing-iconFailed, #f14c4c); }
.inf-out-head { display: flex; justify-content: space-between; gap: 8px; align-items: baseline; }
.inf-figures { font-family: var(--mono, monospace); font-size: 11px; color: var(--fg, inherit); }
.inf-positions { margin: 4px 0 0; padding-left: 14px; font-family: var(--mono, monospace); font-size: 11px; }
.inf-error { border: 1px solid var(--vscode-inputValidation-errorBorder, #be1100); background: var(--vscode-inputValidation-errorBackground, rgba(190,17,0,0.12)); padding: 8px 10px; border-radius: 2px; }
.inf-error h3 { color: var(--error, #f48771); text-transform: none; letter-spacing: 0; font-size: 13px; margin: 0 0 6px; }
.inf-error pre { white-space: pre-wrap; word-break: break-word; margin: 0 0 6px; font-family: var(--mono, monospace); font-size: 11px; }
.inf-error .hint { margin: 0; }
.inf-tag { display: inline-block; padding: 0 6px; border-radius: 2px; font-size: 11px; line-height: 16px; font-weight: 600; }
.inf-tag.pass { background: var(--vscode-testing-iconPassed, #73c991); color: #101010; }
.inf-tag.fail { background: var(--vscode-testing-iconFailed, #f14c4c); color: #ffffff; }
.inf-tag.same { background: var(--vscode-badge-background, #616161); color: var(--vscode-badge-foreground, #ffffff); }
body.vscode-light .inf-tag.pass { background: #2f7d32; color: #ffffff; }
`;

export function addInferenceStyles(): void {
  addStyleSheet('inference-styles', CSS);
}
