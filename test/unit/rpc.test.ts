// The protocol's request helper, both ends wired to each other as the
// webview and the host are: typed replies, errors as rejections, unknown
// methods, cancelled requests, and pending requests rejected on dispose.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { RequestClient, serveRequest, type RequestHandlers } from '../../extension/rpc';
import type { RequestMessage, WebviewToHost } from '../../extension/protocol';

function wire(handlers: RequestHandlers[], signal = new AbortController().signal) {
  const sent: RequestMessage[] = [];
  const client = new RequestClient((m: WebviewToHost) => { if (m.type === 'request') sent.push(m); });
  /** Answers every request sent so far, as the host would. */
  const answer = async () => {
    for (const m of sent.splice(0)) {
      const reply = await serveRequest(m, handlers, signal);
      if (reply) client.settle(reply);
    }
  };
  return { client, sent, answer };
}

test('a request gets the reply its handler gives; the first handler with the method answers', async () => {
  const { client, answer } = wire([
    { showReport: async () => undefined },
    { pickComparisonModel: async () => ({ name: 'b.onnx', path: '/m/b.onnx', url: 'https://x/b.onnx', externalData: [] }) },
    { pickComparisonModel: async () => null },
  ]);
  const picked = client.request({ method: 'pickComparisonModel' });
  await answer();
  assert.deepEqual(await picked, { name: 'b.onnx', path: '/m/b.onnx', url: 'https://x/b.onnx', externalData: [] });
  assert.equal(client.waiting, 0);
});

test('a failing handler and an unknown method reject with their message', async () => {
  const { client, answer } = wire([{ applySharing: async (r) => { throw new Error(`no group ${r.groupIds?.join()}`); } }]);
  const failed = client.request({ method: 'applySharing', groupIds: ['exact-0'] });
  const unknown = client.request({ method: 'layers' });
  await answer();
  await assert.rejects(failed, /no group exact-0/);
  await assert.rejects(unknown, /unknown request 'layers'/);
});

test('a request whose panel closed gets no reply; dispose rejects what is pending and what comes after', async () => {
  const closed = new AbortController();
  const { client, sent, answer } = wire([{ showReport: async () => undefined }], closed.signal);
  const waiting = client.request({ method: 'showReport' });
  closed.abort();
  await answer();
  assert.equal(client.waiting, 1, 'no reply was made for the aborted request');
  client.dispose('the view was closed');
  await assert.rejects(waiting, /the view was closed/);
  await assert.rejects(client.request({ method: 'showReport' }), /'showReport' not sent: the view was closed/);
  assert.equal(sent.length, 0);
});
