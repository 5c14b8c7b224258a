// The webview's side of the message protocol: posts to the extension host;
// requests go through the protocol's RequestClient (numbered, settled by
// their typed replies, rejected if the page goes away first).
import { RequestClient, type HostToWebview, type ReplyOf, type RequestMethod, type RequestOf, type WebviewToHost } from '../extension/protocol.js';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare global {
  function acquireVsCodeApi(): VsCodeApi;
}

export class Host {
  private readonly api: VsCodeApi;
  private readonly requests: RequestClient;

  constructor() {
    // acquireVsCodeApi may be called only once per page.
    this.api = acquireVsCodeApi();
    this.requests = new RequestClient((m) => this.api.postMessage(m));
    window.addEventListener('pagehide', () => this.requests.dispose('the view was closed'));
  }

  post(message: WebviewToHost): void {
    this.api.postMessage(message);
  }

  request<M extends RequestMethod>(req: RequestOf<M>): Promise<ReplyOf<M>> {
    return this.requests.request(req);
  }

  /** Settles a pending request; true when the message was a reply. */
  handleReply(msg: HostToWebview): boolean {
    if (msg.type !== 'reply') return false;
    this.requests.settle(msg);
    return true;
  }

  log(level: 'info' | 'warn' | 'error', message: string): void {
    this.post({ type: 'log', level, message });
  }

  getState<T>(): T | undefined {
    return (this.api.getState() ?? undefined) as T | undefined;
  }

  setState<T>(state: T): void {
    this.api.setState(state);
  }
}
