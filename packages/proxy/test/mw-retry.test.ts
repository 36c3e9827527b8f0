// retry: attempts again only after a proxy-made failure with nothing sent and no body; real answers pass.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler, Middleware, RequestContext } from '../src/http/context.js';
import { MiddlewareConfigError } from '../src/http/context.js';
import { createRetry } from '../src/http/middlewares/retry.js';
import { retryDelay } from '../src/http/middlewares/retry-backoff.js';
import type { Backend } from './support/backend.js';
import { closedPort, startBackend } from './support/backend.js';
import { call } from './support/client.js';
import type { Harness } from './support/mw-b-harness.js';
import { serve, standInForward } from './support/mw-b-harness.js';

const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((c) => c())));

let good: Backend;
let bad: Backend;
let deadOrigin: string;
before(async () => {
  good = await startBackend('good');
  bad = await startBackend('bad', (req, res) => {
    req.resume();
    res.writeHead(502, { 'content-length': 8 });
    res.end('upstream');
  });
  cleanups.push(
    () => good.close(),
    () => bad.close(),
  );
  deadOrigin = `http://127.0.0.1:${await closedPort()}`;
});

/** Fails (connection refused, answered 502 the forwarder's way) the first `failures` attempts. */
function flaky(failures: number, origin: () => string): Handler & { calls: number } {
  const handler = Object.assign(
    (ctx: RequestContext) => {
      handler.calls++;
      return standInForward(handler.calls <= failures ? deadOrigin : origin())(ctx);
    },
    { calls: 0 },
  );
  return handler;
}

async function withRetry(
  attempts: number,
  handler: Handler,
  sleeps: number[] = [],
  inner?: Middleware,
): Promise<Harness> {
  const m = createRetry({ attempts, initialInterval: '100ms' }, 'retry', {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
  });
  const h = await serve((next) => m(inner ? inner(next) : next), handler);
  cleanups.push(() => h.close());
  return h;
}

describe('retry backoff', () => {
  it('waits nothing with one attempt or no initial interval', () => {
    assert.equal(retryDelay(100, 1, 1, 0.5), 0);
    assert.equal(retryDelay(0, 5, 1, 0.5), 0);
  });

  it('grows the interval so it doubles over the run of attempts, jittered by half either way', () => {
    assert.equal(retryDelay(100, 3, 1, 0.5), 100);
    assert.ok(Math.abs(retryDelay(100, 3, 2, 0.5) - 100 * Math.SQRT2) < 1e-9);
    assert.ok(Math.abs(retryDelay(100, 3, 3, 0.5) - 200) < 1e-9);
    assert.equal(retryDelay(100, 3, 1, 0), 50);
    assert.equal(retryDelay(100, 3, 1, 0.999999) < 150, true);
  });
});

describe('retry middleware', () => {
  it('tries again after connection failures and answers with the first real response', async () => {
    const handler = flaky(2, () => good.url);
    const sleeps: number[] = [];
    const h = await withRetry(4, handler, sleeps);
    const before = good.seen.length;
    const reply = await call(h.port);
    assert.equal(reply.status, 200);
    assert.equal(reply.body, 'good');
    assert.equal(handler.calls, 3);
    assert.equal(good.seen.length - before, 1);
    assert.equal(h.contexts[0]?.log.attempts, 3);
    assert.equal(h.contexts[0]?.log.error, undefined);
    assert.equal(sleeps.length, 2);
    assert.ok((sleeps[0] ?? 0) < (sleeps[1] ?? 0), 'the wait grows');
  });

  it('passes the last failure on when every attempt failed', async () => {
    const handler = flaky(10, () => good.url);
    const h = await withRetry(3, handler);
    const reply = await call(h.port);
    assert.equal(reply.status, 502);
    assert.equal(handler.calls, 3);
    assert.equal(h.contexts[0]?.log.attempts, 3);
    assert.equal(h.contexts[0]?.log.error, 'upstream_error');
  });

  it('does not retry a real upstream answer, even a 502', async () => {
    const handler = flaky(0, () => bad.url);
    const h = await withRetry(3, handler);
    const reply = await call(h.port);
    assert.equal(reply.status, 502);
    assert.equal(reply.body, 'upstream');
    assert.equal(handler.calls, 1);
    assert.equal(h.contexts[0]?.log.attempts, 1);
  });

  it('does not retry a request with a body, which may already be spent', async () => {
    const handler = flaky(1, () => good.url);
    const h = await withRetry(3, handler);
    const reply = await call(h.port, { method: 'POST', body: 'payload' });
    assert.equal(reply.status, 502);
    assert.equal(handler.calls, 1);
    const chunked = await call(h.port, {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: 'x',
    });
    assert.equal(chunked.status, 200, 'the second request is the flaky handler’s second call');
    assert.equal(handler.calls, 2);
  });

  it('starts each attempt from the same request, whatever inner middlewares rewrote', async () => {
    const handler = flaky(2, () => good.url);
    const appendOnce: Middleware = (next) => (ctx) => {
      ctx.target = `/prefix${ctx.target}`;
      ctx.upstreamHeaders['x-hop'] = `${ctx.upstreamHeaders['x-hop'] ?? ''}+`;
      return next(ctx);
    };
    const h = await withRetry(3, handler, [], appendOnce);
    const before = good.seen.length;
    const reply = await call(h.port, { path: '/x' });
    assert.equal(reply.status, 200);
    const seen = good.seen.slice(before);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.url, '/prefix/x');
    assert.equal(seen[0]?.headers['x-hop'], '+');
  });

  it('stops waiting and gives up when the client goes away during the backoff', async () => {
    const handler = flaky(10, () => good.url);
    const m = createRetry({ attempts: 5, initialInterval: '10s' }, 'retry');
    const h = await serve(m, handler);
    cleanups.push(() => h.close());
    const req = request({ host: '127.0.0.1', port: h.port, path: '/', agent: false });
    req.on('error', () => {});
    req.end();
    for (let i = 0; i < 400 && handler.calls < 1; i++) await sleep(5);
    // Let the first failure be swallowed and the 10 s backoff begin, then leave.
    await sleep(50);
    req.destroy();
    for (let i = 0; i < 400 && !h.contexts[0]?.signal.aborted; i++) await sleep(5);
    await sleep(50);
    assert.equal(handler.calls, 1);
    assert.equal(h.contexts[0]?.log.attempts, 1);
  });

  it('refuses attempts below 1 and an interval that is not a duration', () => {
    assert.throws(() => createRetry({ attempts: 0 }, 'r'), MiddlewareConfigError);
    assert.throws(() => createRetry({ attempts: 2, initialInterval: 'later' }, 'r'), MiddlewareConfigError);
  });
});
