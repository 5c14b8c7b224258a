// The model editor webview's HTML, with its Content Security Policy. The
// host fills in webview URIs; the webview tests serve the very same page
// from a local http server, so what is tested is what ships.

export interface WebviewHtmlOptions {
  /** `webview.cspSource` (or the test server's origin). */
  cspSource: string;
  /** A fresh random value per page load (see makeNonce). */
  nonce: string;
  /** URI of dist/webview.js (an ES module). */
  scriptUri: string;
  /** URI of media/webview.css. */
  styleUri: string;
  codiconsUri?: string;
  /** Page title: the model's file name. */
  title?: string;
  /**
   * Source of a script run before the webview's module (same nonce). The
   * tests put their stub of `acquireVsCodeApi` here; the host leaves it out.
   */
  preludeScript?: string;
}

/** The policy: no inline code without the nonce, nothing from outside the webview's origin. */
export function webviewCsp(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `img-src ${cspSource} data:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}' 'wasm-unsafe-eval' ${cspSource}`,
    `connect-src ${cspSource}`,
    `worker-src ${cspSource} blob:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

/** 32 random alphanumerics from the platform's CSPRNG. */
export function makeNonce(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

export function renderWebviewHtml(o: WebviewHtmlOptions): string {
  const nonce = escapeAttr(o.nonce);
  const title = escapeText(o.title ?? 'Weight Sharing Inspector');
  const codicons = o.codiconsUri ? `\n  <link rel="stylesheet" href="${escapeAttr(o.codiconsUri)}">` : '';
  const prelude = o.preludeScript ? `\n  <script nonce="${nonce}">${o.preludeScript.replace(/<\/script/gi, '<\\/script')}</script>` : '';
  // cytoscape injects a <style> for its container unless an element with this
  // id already exists; an inline <style> would break the CSP, so the page
  // provides it, nonce'd. The toolkit (FAST) nonces the <style> it adds with
  // the value of the csp-nonce meta tag.
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta http-equiv="Content-Security-Policy" content="${escapeAttr(webviewCsp(o.cspSource, o.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta property="csp-nonce" content="${nonce}">
  <title>${title}</title>
  <style id="__________cytoscape_stylesheet" nonce="${nonce}">.__________cytoscape_container { position: relative; }</style>
  <link rel="stylesheet" href="${escapeAttr(o.styleUri)}">${codicons}${prelude}
  <script type="module" nonce="${nonce}" src="${escapeAttr(o.scriptUri)}"></script>
</head>
<body>
  <main id="app" data-state="loading">
    <div id="status" class="status" role="status" aria-live="polite">Opening ${title}…</div>
  </main>
  <noscript><p class="status error">This view needs JavaScript, which is blocked.</p></noscript>
</body>
</html>
`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
