// The webview's side of the message protocol: posts to the extension host,
// numbers requests and settles them when their reply arrives.
import type { HostToWebview, WebviewRequest, WebviewToHost } from '../extension/protocol.js';

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
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    // acquireVsCodeApi may be called only once per page.
    this.api = acquireVsCodeApi();
  }

  post(message: WebviewToHost): void {
    this.api.postMessage(message);
  }

  request(req: WebviewRequest): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post({ type: 'request', id, ...req });
    });
  }

  /** Settles a pending request; true when the message was a reply. */
  handleReply(msg: HostToWebview): boolean {
    if (msg.type !== 'reply') return false;
    const p = this.pending.get(msg.id);
    if (!p) return true;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(msg.error));
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
