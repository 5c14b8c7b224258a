// Small DOM builders shared by the panels. Text always goes in as text:
// names come from model files, never markup.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The name with line-break opportunities after separators, so long names wrap at dots, not mid-word. */
export function breakable(name: string): Node[] {
  const out: Node[] = [];
  for (const part of name.split(/(?<=[./:_])/)) {
    if (out.length) out.push(document.createElement('wbr'));
    out.push(document.createTextNode(part));
  }
  return out;
}

/**
 * Adds a <style> once (by id), carrying the page's CSP nonce as the toolkit's
 * own styles do: the policy blocks styles without it.
 */
export function addStyleSheet(id: string, css: string): void {
  if (document.getElementById(id)) return;
  const style = document.createElement('style');
  const nonce = document.querySelector('meta[property="csp-nonce"]')?.getAttribute('content');
  if (nonce) style.nonce = nonce;
  style.id = id;
  style.textContent = css;
  document.head.append(style);
}
