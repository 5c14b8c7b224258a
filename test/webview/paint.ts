// How the webview tests, the e2e tests and the benches time a change to the
// drawing: from the call to the frame after cytoscape's next render, once the
// drawing asked for is in place (a big one's layout comes back from the
// worker first). A string to evaluate in the page: tsx would wrap named
// inner functions in a helper the page lacks.

export interface Painted {
  ms: number;
  /** The longest the page went without a frame meanwhile: how long it was held. */
  longestFrameMs: number;
  /** Nodes in the drawing, and the part of them cytoscape holds. */
  drawn: number;
  held: number;
}

/** `call` is a GraphView method call, e.g. `expandAll()` or `expand("s:|/model/encoder")`. */
export function untilPainted(call: string): string {
  return `new Promise((resolve) => {
    const view = window.weightSharingView.app.view;
    const t = performance.now();
    let last = t, longest = 0, waiting = true;
    requestAnimationFrame(function frame(now) { longest = Math.max(longest, now - last); last = now; if (waiting) requestAnimationFrame(frame); });
    // Promise.resolve: the same figures from a build whose methods returned nothing (a bench's "before").
    Promise.resolve(view.${call}).then(() => view.cy.one('render', () => requestAnimationFrame((now) => {
      waiting = false;
      resolve({ ms: performance.now() - t, longestFrameMs: Math.max(longest, now - last), drawn: view.counts().drawingNodes, held: view.counts().nodes });
    })));
  })`;
}
