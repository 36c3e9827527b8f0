// rateLimit.redis against a real redis-server: one bucket per source shared by every data plane, and a Redis that goes away never hangs a request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HttpMiddleware } from '@berth/config';
import { pino } from 'pino';
import { createRateLimit, RATELIMIT_REDIS } from '../src/http/middlewares/rate-limit.js';
import { RedisClient, RedisUnavailableError } from '../src/redis/redis-client.js';
import { closeRedisClients } from '../src/redis/redis-clients.js';
import { RedisReplyError } from '../src/redis/resp.js';
import { call } from './support/client.js';
import { buildContext, serve } from './support/mw-b-harness.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { RedisServer, redisSkipReason } from './support/redis-server.js';
import { body, service } from './support/snapshot.js';
import { makeTestCa } from './support/tls-pki.js';

const skip = redisSkipReason();
const cleanups = new Cleanups();
after(async () => {
  await cleanups.run();
  closeRedisClients();
});

function clientFor(redis: RedisServer, extra: Partial<ConstructorParameters<typeof RedisClient>[0]> = {}) {
  const client = new RedisClient({
    endpoints: [redis.endpoint],
    dialTimeoutMs: 250,
    callTimeoutMs: 300,
    maxConnections: 4,
    ...extra,
  });
  cleanups.add(async () => client.close());
  return client;
}

async function startRedis(opts: Parameters<typeof RedisServer.start>[0] = {}): Promise<RedisServer> {
  const redis = await RedisServer.start(opts);
  cleanups.add(() => redis.close());
  return redis;
}

/** Data planes on one snapshot whose router `app.test` is limited by `rateLimit`. */
async function planes(count: number, rateLimit: NonNullable<HttpMiddleware['rateLimit']>): Promise<number[]> {
  const backend = await backendFor(cleanups, 'a');
  const b = body(
    { app: { rule: 'Host(`app.test`)', service: 'app', middlewares: ['limit'] } },
    { app: service(backend.url) },
  );
  b.http.middlewares = { limit: { rateLimit } };
  const ports: number[] = [];
  for (let i = 0; i < count; i++) ports.push(await applied(planeFor(cleanups), b));
  return ports;
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await f();
  return { value, ms: performance.now() - start };
}

describe('Redis client against redis-server', { skip: skip ?? false }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis({ requirepass: 's3cret' });
  });

  it('authenticates, selects the database and runs commands over a bounded pool', async () => {
    const client = clientFor(redis, { password: 's3cret', db: 3 });
    assert.equal(await client.call(['SET', 'k', 'v']), 'OK');
    const results = await Promise.all(Array.from({ length: 20 }, () => client.call(['GET', 'k'])));
    assert.deepEqual(new Set(results), new Set(['v']));
    assert.ok(client.connections <= 4, `at most 4 connections, got ${client.connections}`);
    const other = clientFor(redis, { password: 's3cret' });
    assert.equal(await other.call(['GET', 'k']), null, 'database 0 does not hold what database 3 does');
  });

  it('closes idle connections beyond minIdleConns after the idle time', async () => {
    const client = clientFor(redis, { password: 's3cret', idleCloseMs: 50, minIdle: 1 });
    await Promise.all([client.call(['PING']), client.call(['PING']), client.call(['PING'])]);
    assert.equal(client.connections, 3);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(client.connections, 1);
    assert.equal(await client.call(['PING']), 'PONG');
  });

  it('speaks TLS with a client certificate when tls is set, and fails without the certificate', async () => {
    const ca = makeTestCa();
    cleanups.add(async () => ca.close());
    const leaf = ca.leaf(['127.0.0.1']);
    const tlsRedis = await startRedis({ tls: { cert: leaf.certPem, key: leaf.keyPem, ca: ca.caPem } });
    const id = ca.client('berth-node');
    const client = clientFor(tlsRedis, { tls: { ca: ca.caPem, cert: id.certPem, key: id.keyPem } });
    assert.equal(await client.call(['PING']), 'PONG');
    const anonymous = clientFor(tlsRedis, { tls: { ca: ca.caPem } });
    await assert.rejects(anonymous.call(['PING']), RedisUnavailableError);
  });

  it('reports a wrong password as a reply error, not as Redis being down', async () => {
    const client = clientFor(redis, { password: 'wrong' });
    await assert.rejects(client.call(['PING']), (err) => err instanceof RedisReplyError);
  });

  it('fails a call within its deadline when nothing listens, then fails fast while backing off', async () => {
    const client = new RedisClient({
      endpoints: ['127.0.0.1:1'],
      dialTimeoutMs: 200,
      callTimeoutMs: 200,
      maxConnections: 2,
    });
    cleanups.add(async () => client.close());
    const first = await timed(() => client.call(['PING']).catch((e: unknown) => e));
    assert.ok(first.value instanceof RedisUnavailableError);
    assert.ok(first.ms < 400, `first failure took ${first.ms} ms`);
    const second = await timed(() => client.call(['PING']).catch((e: unknown) => e));
    assert.ok(second.value instanceof RedisUnavailableError);
    assert.match((second.value as Error).message, /next attempt/);
  });
});

describe('rateLimit with redis, through real data planes', { skip: skip ?? false }, () => {
  it('holds one bucket per source across data planes: two planes together pass exactly the burst', async () => {
    const redis = await startRedis();
    // 1 per minute after the burst: nothing refills during the test.
    const ports = await planes(2, {
      average: 1,
      period: '1m',
      burst: 10,
      redis: { endpoints: [redis.endpoint] },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      for (const port of ports) statuses.push((await call(port, { host: 'app.test' })).status);
    assert.equal(statuses.filter((s) => s === 200).length, 10);
    assert.equal(statuses.filter((s) => s === 429).length, 6);
    assert.deepEqual(
      statuses.slice(10),
      [429, 429, 429, 429, 429, 429],
      'the first 10 pass, whichever plane',
    );
    const refused = await call(ports[0]!, { host: 'app.test' });
    assert.ok(Number(refused.headers['retry-after']) >= 1);
  });

  it('keeps the bucket where Traefik does, and reloads the script after Redis forgot it', async () => {
    const redis = await startRedis();
    const [port] = await planes(1, {
      average: 1,
      period: '1m',
      burst: 2,
      redis: { endpoints: [redis.endpoint] },
    });
    assert.equal((await call(port!, { host: 'app.test' })).status, 200);
    const probe = clientFor(redis);
    const keys = (await probe.call(['KEYS', 'rate:*'])) as string[];
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, /^rate:limit(@[a-z]+)?:127\.0\.0\.1$/);
    assert.deepEqual(((await probe.call(['HKEYS', keys[0]!])) as string[]).sort(), ['last', 'tokens']);
    const ttl = (await probe.call(['TTL', keys[0]!])) as number;
    assert.ok(ttl > 0 && ttl <= 61, `TTL ${ttl}: Traefik's 1 + 1/rate seconds`);
    assert.equal(await probe.call(['SCRIPT', 'FLUSH']), 'OK');
    assert.equal((await call(port!, { host: 'app.test' })).status, 200, 'EVAL after NOSCRIPT');
    assert.equal((await call(port!, { host: 'app.test' })).status, 429);
  });

  it('answers 500 as Traefik does when Redis is down, within the deadline, and limits again once it is back', async () => {
    const redis = await startRedis();
    const [port] = await planes(1, {
      average: 1,
      period: '1m',
      burst: 3,
      redis: {
        endpoints: [redis.endpoint],
        dialTimeout: '200ms',
        readTimeout: '150ms',
        writeTimeout: '50ms',
      },
    });
    assert.equal((await call(port!, { host: 'app.test' })).status, 200);
    await redis.stop();
    for (let i = 0; i < 5; i++) {
      const { value, ms } = await timed(() => call(port!, { host: 'app.test' }));
      assert.equal(value.status, 500);
      assert.equal(value.body, 'Could not insert/update bucket\n');
      assert.ok(ms < 600, `answered in ${ms} ms`);
    }
    await redis.resume();
    // The client retries after its backoff (at most 5 s); the bucket starts afresh on the new server.
    let status = 500;
    for (let i = 0; i < 80 && status === 500; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await call(port!, { host: 'app.test' })).status;
    }
    assert.equal(status, 200);
  });

  it('lets requests through unlimited with failOpen while Redis is down, none of them hanging', async () => {
    const redis = await startRedis();
    const [port] = await planes(1, {
      average: 1,
      period: '1m',
      burst: 1,
      redis: { endpoints: [redis.endpoint], failOpen: true },
    });
    assert.equal((await call(port!, { host: 'app.test' })).status, 200);
    assert.equal((await call(port!, { host: 'app.test' })).status, 429);
    await redis.stop();
    const { value, ms } = await timed(() =>
      Promise.all(Array.from({ length: 20 }, () => call(port!, { host: 'app.test' }))),
    );
    assert.deepEqual(new Set(value.map((r) => r.status)), new Set([200]));
    assert.ok(ms < 1500, `20 requests in ${ms} ms`);
  });
});

describe('rateLimit with an unreachable Redis', () => {
  it('logs the failure once per period with its code, however many requests fail', async () => {
    const lines: { level: number; code?: string; alsoFailedSinceLastLog?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const middleware = createRateLimit(
      { average: 10, redis: { endpoints: ['127.0.0.1:1'], dialTimeout: '100ms' } },
      { ...buildContext('rl'), logger },
    );
    const h = await serve(middleware, (ctx) => ctx.respond(200, { 'content-length': 2 }, 'ok'));
    cleanups.add(() => h.close());
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(h.port)).status);
    assert.deepEqual(statuses, [500, 500, 500, 500, 500]);
    const warnings = lines.filter((l) => l.code === RATELIMIT_REDIS);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.level, 40);
  });
});
