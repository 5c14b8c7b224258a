// The webview page and its Content Security Policy.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { makeNonce, renderWebviewHtml, webviewCsp } from '../../../extension/view/html';

const base = { cspSource: 'https://file+.vscode-resource.vscode-cdn.net', scriptUri: 'https://x/dist/webview.js', styleUri: 'https://x/media/webview.css' };

test('the CSP allows nothing inline without the nonce and nothing from elsewhere', () => {
  const csp = webviewCsp(base.cspSource, 'abc123');
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), ["'nonce-abc123'", "'wasm-unsafe-eval'", base.cspSource]);
  assert.deepEqual(directives.get('style-src'), [base.cspSource, "'nonce-abc123'"]);
  assert.deepEqual(directives.get('worker-src'), [base.cspSource, 'blob:']);
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes("'unsafe-eval'"), csp);
});

test('the page carries the policy, nonces its own tags and loads the module script', () => {
  const html = renderWebviewHtml({ ...base, nonce: 'N0nce', title: 'a<b>.onnx' });
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';[^"]*'nonce-N0nce'/);
  assert.match(html, /<script type="module" nonce="N0nce" src="https:\/\/x\/dist\/webview.js"><\/script>/);
  assert.match(html, /<style id="__________cytoscape_stylesheet" nonce="N0nce">/);
  assert.match(html, /<meta property="csp-nonce" content="N0nce">/);
  assert.ok(html.includes('a&lt;b&gt;.onnx') && !html.includes('a<b>.onnx'), 'title escaped');
  // Every <script> and <style> tag is nonce'd.
  for (const tag of html.match(/<(script|style)\b[^>]*>/g) ?? []) assert.match(tag, /nonce="N0nce"/, tag);
});

test('a prelude script is nonce\'d and cannot close its tag early', () => {
  const html = renderWebviewHtml({ ...base, nonce: 'n', preludeScript: 'window.x = "</script><script>alert(1)</script>";' });
  // The HTML parser ends a script only at "</script": the prelude must not contain one.
  assert.equal((html.match(/<\/script/gi) ?? []).length, 2);
});

test('nonces are 32 alphanumerics and differ', () => {
  const a = makeNonce();
  assert.match(a, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(a, makeNonce());
});
