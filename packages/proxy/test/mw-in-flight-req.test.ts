// inFlightReq: a cap on concurrent requests per source, with slots given back however a request ends.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestContext } from '../src/http/context.js';
import { MiddlewareConfigError } from '../src/http/context.js';
import { createInFlightReq, InFlightCounter } from '../src/http/middlewares/in-flight-req.js';
import type { Reply } from './support/client.js';
import { call } from './support/client.js';
import type { Harness } from './support/mw-b-harness.js';
import { serve } from './support/mw-b-harness.js';

const harnesses: Harness[] = [];
const gates: (() => void)[] = [];
after(async () => {
  for (const open of gates) open();
  await Promise.all(harnesses.map((h) => h.close()));
});

/** A handler that holds each request until the test opens its gate. */
function heldHandler(arrived: RequestContext[]) {
  return (ctx: RequestContext) =>
    new Promise<void>((resolve) => {
      arrived.push(ctx);
      gates.push(() => {
        void ctx.respond(200, { 'content-length': 4 }, 'done').then(resolve);
      });
    });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('in-flight counter', () => {
  it('gives out at most the limit per key and takes each slot back once', () => {
    const c = new InFlightCounter(2);
    const a = c.acquire('k');
    const b = c.acquire('k');
    assert.ok(a && b);
    assert.equal(c.acquire('k'), null);
    assert.ok(c.acquire('other'));
    a();
    a();
    assert.equal(c.count('k'), 1);
    b();
    assert.equal(c.count('k'), 0);
    assert.equal(c.sources, 1);
  });
});

describe('inFlightReq middleware', () => {
  it('answers 429 beyond `amount` held-open requests and admits again when one finishes', async () => {
    const arrived: RequestContext[] = [];
    const { middleware, counter } = createInFlightReq({ amount: 2 }, 'cap');
    const h = await serve(middleware, heldHandler(arrived));
    harnesses.push(h);
    const first = call(h.port);
    const second = call(h.port);
    await until(() => arrived.length === 2, 'two requests in flight');
    const refused = await call(h.port);
    assert.equal(refused.status, 429);
    assert.equal(refused.body, 'Too Many Requests\n');
    gates.shift()?.();
    assert.equal((await first).status, 200);
    const third = call(h.port);
    await until(() => arrived.length === 3, 'the third request admitted');
    gates.shift()?.();
    gates.shift()?.();
    const replies: Reply[] = await Promise.all([second, third]);
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200],
    );
    await until(() => counter.sources === 0, 'every slot given back');
  });

  it('gives the slot back when the client goes away while its request is held', async () => {
    const arrived: RequestContext[] = [];
    const { middleware, counter } = createInFlightReq({ amount: 1 }, 'cap');
    const h = await serve(middleware, heldHandler(arrived));
    harnesses.push(h);
    const req = request({ host: '127.0.0.1', port: h.port, path: '/', agent: false });
    req.on('error', () => {});
    req.end();
    await until(() => arrived.length === 1, 'the request in flight');
    assert.equal(counter.count('127.0.0.1'), 1);
    assert.equal((await call(h.port)).status, 429);
    req.destroy();
    await until(() => counter.sources === 0, 'the slot given back after the client left');
    const again = call(h.port);
    await until(() => arrived.length === 2, 'a new request admitted');
    for (const open of gates.splice(0)) open();
    assert.equal((await again).status, 200);
  });

  it('counts per source: a request header keeps tenants apart', async () => {
    const arrived: RequestContext[] = [];
    const { middleware } = createInFlightReq(
      { amount: 1, sourceCriterion: { requestHeaderName: 'x-tenant' } },
      'cap',
    );
    const h = await serve(middleware, heldHandler(arrived));
    harnesses.push(h);
    const a = call(h.port, { headers: { 'x-tenant': 'a' } });
    await until(() => arrived.length === 1, 'tenant a in flight');
    assert.equal((await call(h.port, { headers: { 'x-tenant': 'a' } })).status, 429);
    const b = call(h.port, { headers: { 'x-tenant': 'b' } });
    await until(() => arrived.length === 2, 'tenant b in flight');
    gates.shift()?.();
    gates.shift()?.();
    assert.equal((await a).status, 200);
    assert.equal((await b).status, 200);
  });

  it('refuses an amount that is not a whole number above 0', () => {
    assert.throws(() => createInFlightReq({ amount: 0 }, 'cap'), MiddlewareConfigError);
    assert.throws(() => createInFlightReq({ amount: 1.5 }, 'cap'), MiddlewareConfigError);
  });
});
