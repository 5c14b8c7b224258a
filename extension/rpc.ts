// The request/reply half of the webview protocol, one helper for both ends:
// the webview numbers its requests and settles each by its reply (the reply
// typed by the request's method); the host runs the handler a request names
// and answers with a reply message. Pending requests are rejected when their
// end goes away, never left hanging.
import type { ReplyMessage, ReplyOf, RequestMessage, RequestMethod, RequestOf, WebviewRequest, WebviewToHost } from './protocol';

export class RequestClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed: string | undefined;

  constructor(private readonly send: (message: WebviewToHost) => void) {}

  request<M extends RequestMethod>(req: RequestOf<M>): Promise<ReplyOf<M>> {
    if (this.closed !== undefined) return Promise.reject(new Error(`'${req.method}' not sent: ${this.closed}`));
    const id = this.nextId++;
    return new Promise<ReplyOf<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ type: 'request', id, ...req } as RequestMessage);
    });
  }

  /** Settles the request a reply answers; a reply to nothing pending (a stale one) is dropped. */
  settle(message: ReplyMessage): void {
    const p = this.pending.get(message.id);
    if (!p) return;
    this.pending.delete(message.id);
    if (message.ok) p.resolve(message.result);
    else p.reject(new Error(message.error));
  }

  /** How many requests wait for a reply. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Rejects every pending request (and any later one) with `reason`. */
  dispose(reason = 'the view was closed'): void {
    this.closed = reason;
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }
}

/** Handlers by method: each takes its own request and gives its own reply type. */
export type RequestHandlers = { [M in RequestMethod]?: (request: RequestOf<M>, signal: AbortSignal) => Promise<ReplyOf<M>> };

/**
 * Runs the first of `handlers` that has the request's method and makes the
 * reply message: its result, or its error's message (a method no handler
 * has is an error too). Undefined when `signal` aborted meanwhile: the reply
 * would have nowhere to go.
 */
export async function serveRequest(message: RequestMessage, handlers: readonly RequestHandlers[], signal: AbortSignal): Promise<ReplyMessage | undefined> {
  const { type: _type, id, ...request } = message;
  try {
    const handler = handlers.find((h) => h[request.method])?.[request.method] as ((r: WebviewRequest, s: AbortSignal) => Promise<unknown>) | undefined;
    if (!handler) throw new Error(`unknown request '${request.method}'`);
    const result = await handler(request, signal);
    return signal.aborted ? undefined : { type: 'reply', id, ok: true, result };
  } catch (err) {
    return signal.aborted ? undefined : { type: 'reply', id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
