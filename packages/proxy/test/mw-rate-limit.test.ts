// rateLimit: token buckets per source, Traefik's average/period/burst, 429 with Retry-After.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MiddlewareConfigError } from '../src/http/context.js';
import { createRateLimit } from '../src/http/middlewares/rate-limit.js';
import { TokenBuckets } from '../src/http/middlewares/token-bucket.js';
import { call } from './support/client.js';
import type { Harness } from './support/mw-b-harness.js';
import { buildContext, serve } from './support/mw-b-harness.js';

const harnesses: Harness[] = [];
after(() => Promise.all(harnesses.map((h) => h.close())));

async function limited(config: Parameters<typeof createRateLimit>[0], clock: { now: number }) {
  const h = await serve(createRateLimit(config, buildContext('rl'), { now: () => clock.now }), (ctx) =>
    ctx.respond(200, { 'content-length': 2 }, 'ok'),
  );
  harnesses.push(h);
  return h;
}

describe('token buckets', () => {
  it('lets a new source send a full burst at once, then one request per refill', () => {
    const b = new TokenBuckets({ ratePerMs: 1 / 1000, burst: 3, maxSources: 10 });
    assert.deepEqual(
      [0, 0, 0, 0].map(() => b.take('a', 0).ok),
      [true, true, true, false],
    );
    assert.equal(b.take('a', 999).ok, false);
    assert.equal(b.take('a', 1000).ok, true);
    assert.equal(b.take('a', 1000).ok, false);
  });

  it('tells how long until the next token', () => {
    const b = new TokenBuckets({ ratePerMs: 2 / 1000, burst: 1, maxSources: 10 });
    b.take('a', 0);
    const refused = b.take('a', 100);
    assert.equal(refused.ok, false);
    if (!refused.ok) assert.ok(Math.abs(refused.waitMs - 400) < 1e-6);
  });

  it('never holds more than a burst, however long the source was quiet', () => {
    const b = new TokenBuckets({ ratePerMs: 1, burst: 2, maxSources: 10 });
    b.take('a', 0);
    const results = [0, 0, 0].map(() => b.take('a', 1_000_000).ok);
    assert.deepEqual(results, [true, true, false]);
  });

  it('keeps each source apart', () => {
    const b = new TokenBuckets({ ratePerMs: 1 / 1000, burst: 1, maxSources: 10 });
    assert.equal(b.take('a', 0).ok, true);
    assert.equal(b.take('a', 0).ok, false);
    assert.equal(b.take('b', 0).ok, true);
  });

  it('remembers at most maxSources, forgetting the least recently seen first', () => {
    const b = new TokenBuckets({ ratePerMs: 1 / 1000, burst: 1, maxSources: 3 });
    for (let i = 0; i < 1000; i++) b.take(`s${i}`, 0);
    assert.equal(b.size, 3);
    // s999 is still remembered (and empty); s0 was forgotten (and comes back full).
    assert.equal(b.take('s999', 0).ok, false);
    assert.equal(b.take('s0', 0).ok, true);
  });

  it('does not drain a bucket when the clock steps back', () => {
    const b = new TokenBuckets({ ratePerMs: 1 / 1000, burst: 2, maxSources: 3 });
    b.take('a', 5000);
    assert.equal(b.take('a', 1000).ok, true);
  });
});

describe('rateLimit middleware', () => {
  it('answers 429 Too Many Requests with Retry-After once the burst is spent', async () => {
    const clock = { now: 0 };
    const h = await limited({ average: 2, burst: 2 }, clock);
    assert.equal((await call(h.port)).status, 200);
    assert.equal((await call(h.port)).status, 200);
    const refused = await call(h.port);
    assert.equal(refused.status, 429);
    assert.equal(refused.body, 'Too Many Requests\n');
    assert.equal(refused.headers['retry-after'], '1');
    assert.equal(h.contexts.at(-1)?.log.error, 'rate_limited');
    clock.now += 500;
    assert.equal((await call(h.port)).status, 200);
    assert.equal((await call(h.port)).status, 429);
  });

  it('reads average per period: 6 per minute is one every 10 seconds', async () => {
    const clock = { now: 0 };
    const h = await limited({ average: 6, period: '1m' }, clock);
    assert.equal((await call(h.port)).status, 200);
    const refused = await call(h.port);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers['retry-after'], '10');
    clock.now += 9_999;
    assert.equal((await call(h.port)).status, 429);
    clock.now += 2;
    assert.equal((await call(h.port)).status, 200);
  });

  it('does not limit at all when average is 0', async () => {
    const h = await limited({ average: 0 }, { now: 0 });
    for (let i = 0; i < 20; i++) assert.equal((await call(h.port)).status, 200);
  });

  it('counts per request header when sourceCriterion.requestHeaderName is set', async () => {
    const h = await limited(
      { average: 1, burst: 1, sourceCriterion: { requestHeaderName: 'X-Api-Key' } },
      { now: 0 },
    );
    assert.equal((await call(h.port, { headers: { 'x-api-key': 'alice' } })).status, 200);
    assert.equal((await call(h.port, { headers: { 'x-api-key': 'alice' } })).status, 429);
    assert.equal((await call(h.port, { headers: { 'x-api-key': 'bob' } })).status, 200);
  });

  it('counts per X-Forwarded-For entry when an ipStrategy depth is set', async () => {
    const h = await limited({ average: 1, sourceCriterion: { ipStrategy: { depth: 1 } } }, { now: 0 });
    const from = (xff: string) => call(h.port, { headers: { 'x-forwarded-for': xff } });
    assert.equal((await from('1.1.1.1, 10.0.0.1')).status, 200);
    assert.equal((await from('2.2.2.2, 10.0.0.1')).status, 429);
    assert.equal((await from('2.2.2.2, 10.0.0.2')).status, 200);
  });

  it('counts per Host when sourceCriterion.requestHost is set', async () => {
    const h = await limited({ average: 1, sourceCriterion: { requestHost: true } }, { now: 0 });
    assert.equal((await call(h.port, { host: 'a.example' })).status, 200);
    assert.equal((await call(h.port, { host: 'a.example:8080' })).status, 429);
    assert.equal((await call(h.port, { host: 'b.example' })).status, 200);
  });

  it('refuses a period that is not a duration and a negative average', () => {
    assert.throws(
      () => createRateLimit({ average: 1, period: 'soon' }, buildContext()),
      MiddlewareConfigError,
    );
    assert.throws(() => createRateLimit({ average: -1 }, buildContext()), MiddlewareConfigError);
    assert.throws(
      () =>
        createRateLimit(
          { average: 1, sourceCriterion: { ipStrategy: { excludedIPs: ['not-an-ip'] } } },
          buildContext(),
        ),
      (err: unknown) => err instanceof MiddlewareConfigError && err.code === 'BERTH_PROXY_MIDDLEWARE_CONFIG',
    );
  });
});
