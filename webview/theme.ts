// Reads VS Code's theme from the CSS variables it sets on the webview and
// the body class (vscode-light / vscode-dark / vscode-high-contrast[-light]),
// and reports changes, because cytoscape draws on a canvas and cannot follow
// CSS variables by itself.

export type ThemeKind = 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';

export interface Theme {
  kind: ThemeKind;
  background: string;
  foreground: string;
  muted: string;
  border: string;
  focus: string;
  selection: string;
  widgetBackground: string;
  /** A chart colour (VS Code's charts.blue): the Layers heatmap's "alike" end. */
  accent: string;
  /** Outline every shape: high-contrast themes ask for it. */
  contrastBorder: string | null;
  fontFamily: string;
  monoFamily: string;
}

export function themeKind(body: HTMLElement): ThemeKind {
  const c = body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  if (c.contains('vscode-dark')) return 'dark';
  // Outside VS Code (or before it sets the class) follow the OS preference.
  return window.matchMedia?.('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

export function readTheme(): Theme {
  const body = document.body;
  const kind = themeKind(body);
  const css = getComputedStyle(body);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const light = kind === 'light' || kind === 'high-contrast-light';
  const contrast = v('--vscode-contrastBorder', '');
  return {
    kind,
    background: v('--vscode-editor-background', light ? '#ffffff' : '#1e1e1e'),
    foreground: v('--vscode-editor-foreground', v('--vscode-foreground', light ? '#3b3b3b' : '#cccccc')),
    muted: v('--vscode-descriptionForeground', light ? '#717171' : '#9d9d9d'),
    border: v('--vscode-panel-border', light ? '#d4d4d4' : '#444444'),
    focus: v('--vscode-focusBorder', light ? '#005fb8' : '#0078d4'),
    selection: v('--vscode-editor-selectionBackground', light ? '#add6ff' : '#264f78'),
    widgetBackground: v('--vscode-editorWidget-background', light ? '#f8f8f8' : '#252526'),
    accent: v('--vscode-charts-blue', light ? '#1a85ff' : '#3794ff'),
    contrastBorder: kind.startsWith('high-contrast') ? contrast || (light ? '#0f4a85' : '#6fc3df') : null,
    fontFamily: v('--vscode-font-family', 'system-ui, sans-serif'),
    monoFamily: v('--vscode-editor-font-family', 'monospace'),
  };
}

/**
 * Calls `onChange` whenever VS Code switches theme: it rewrites the body
 * class and the variables on <html>; one animation frame coalesces both.
 */
export function watchTheme(onChange: (theme: Theme) => void): () => void {
  let last = signature();
  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const now = signature();
      if (now === last) return;
      last = now;
      onChange(readTheme());
    });
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
  return () => observer.disconnect();
}

function signature(): string {
  return `${document.body.className}|${document.documentElement.getAttribute('style') ?? ''}`;
}

export function isLight(theme: Theme): boolean {
  return theme.kind === 'light' || theme.kind === 'high-contrast-light';
}
