// How the webview tests, the e2e tests and the benches time a change to the
// drawing: from the call to the frame after cytoscape's next render, once the
// drawing asked for is in place (a big one's layout comes back from the
// worker first). A string to evaluate in the page: tsx would wrap named
// inner functions in a helper the page lacks.

export interface Painted {
  ms: number;
  /** Nodes in the drawing, and the part of them cytoscape holds. */
  drawn: number;
  held: number;
}

/** `call` is a GraphView method call, e.g. `expandAll()` or `expand("s:|/model/encoder")`. */
export function untilPainted(call: string): string {
  return `new Promise((resolve) => {
    const view = window.weightSharingView.app.view;
    const t = performance.now();
    view.${call}.then(() => view.cy.one('render', () => requestAnimationFrame(() => resolve({ ms: performance.now() - t, drawn: view.counts().drawingNodes, held: view.counts().nodes }))));
  })`;
}
