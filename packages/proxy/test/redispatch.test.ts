// Redispatch: a request whose server refuses the connection goes to another server, on the fast path and on node:http's.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import type { HttpMiddleware, HttpService } from '@berth/config';
import { pino } from 'pino';
import { defaultCookieName, stickyValue } from '../src/balancer/sticky-cookie.js';
import { DataPlane } from '../src/data-plane.js';
import type { RequestLog, RequestRecord } from '../src/http/context.js';
import { startBackend } from './support/backend.js';
import { body } from './support/snapshot.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A loopback URL nothing listens on: a port bound, then closed, so connecting is refused. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

async function live(name: string): Promise<string> {
  const backend = await startBackend(name);
  cleanups.push(() => backend.close());
  return backend.url;
}

/**
 * The ways a router reaches its service: the raw fast path; node:http through a middleware, with
 * the response written straight (`node`) or handed to a middleware as a stream (`stream`).
 */
const PATHS = ['fast', 'node', 'stream'] as const;
type Path = (typeof PATHS)[number];

interface Plane {
  p: DataPlane;
  port: number;
  logs: RequestLog[];
  agent: Agent;
}

async function plane(path: Path, svc: HttpService): Promise<Plane> {
  const logs: RequestLog[] = [];
  const p = new DataPlane({
    logger,
    entryPointOverrides: { web: '127.0.0.1:0' },
    closeDrainMs: 50,
    onRequestEnd: (ctx: RequestRecord) => logs.push({ ...ctx.log }),
  });
  cleanups.push(() => p.close());
  const b = body(
    {
      app: { rule: 'Host(`app.test`)', service: 'app', ...(path === 'fast' ? {} : { middlewares: [path] }) },
    },
    { app: svc },
  );
  // A middleware takes the router off the fast path: node:http, the forwarder and undici serve it.
  const node: HttpMiddleware = { headers: { customRequestHeaders: { 'x-path': 'node' } } };
  const stream: HttpMiddleware = { headers: { customResponseHeaders: { 'x-path': 'stream' } } };
  b.http.middlewares = { node, stream };
  const result = await p.apply(b);
  if (!result.ok) assert.fail(`${result.code}: ${result.error}`);
  const address = result.listeners[0]!.address;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  return { p, port: Number(address.slice(address.lastIndexOf(':') + 1)), logs, agent };
}

interface Answer {
  status: number;
  body: string;
  setCookie: string[];
}

function send(pl: Plane, opts: { method?: string; payload?: string; cookie?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: 'app.test' };
    if (opts.cookie !== undefined) headers['cookie'] = opts.cookie;
    const req = request(
      { host: '127.0.0.1', port: pl.port, method: opts.method ?? 'GET', path: '/', headers, agent: pl.agent },
      (res) => {
        let text = '';
        res.setEncoding('latin1');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, setCookie: res.headers['set-cookie'] ?? [] }),
        );
      },
    );
    req.on('error', reject);
    req.end(opts.payload);
  });
}

function lb(urls: string[], extra: Partial<NonNullable<HttpService['loadBalancer']>> = {}): HttpService {
  return { loadBalancer: { servers: urls.map((url) => ({ url })), ...extra } };
}

function statusOf(pl: Plane, url: string): string | undefined {
  return pl.p.health.report().find((s) => s.url === url)?.status;
}

const PASSIVE = { passiveHealthCheck: { maxFailedAttempts: 1, ejectTime: '1m' } };

describe('redispatch after a failed connect', () => {
  for (const path of PATHS) {
    test(`${path} path: a dead server among two costs no request`, async () => {
      const dead = await closedPort();
      const up = await live('up');
      const pl = await plane(path, lb([dead, up]));
      for (let i = 0; i < 100; i++) {
        const answer = await send(pl);
        assert.equal(answer.status, 200, `request ${i}`);
        assert.equal(answer.body, 'up');
      }
      assert.equal(pl.p.fastPathRequests(), path === 'fast' ? 100 : 0);
      // Round robin sends every other request to the dead server first; the log names the one that answered.
      const redispatched = pl.logs.filter((log) => log.redispatches === 1);
      assert.equal(redispatched.length, 50);
      assert.ok(pl.logs.every((log) => log.server === up && log.status === 200));
    });

    test(`${path} path: three attempts at most, then 502`, async () => {
      const dead = [await closedPort(), await closedPort(), await closedPort(), await closedPort()];
      const pl = await plane(path, lb(dead, PASSIVE));
      const answer = await send(pl);
      assert.equal(answer.status, 502);
      assert.equal(answer.body, 'Bad Gateway\n');
      assert.equal(pl.logs[0]?.redispatches, 2);
      assert.equal(pl.logs[0]?.error, 'upstream_error');
      // Each attempt was a failure for passive health: three servers ejected, the fourth never tried.
      const statuses = dead.map((url) => statusOf(pl, url));
      assert.deepEqual(statuses.filter((s) => s === 'ejected').length, 3, statuses.join());
      assert.deepEqual(statuses.filter((s) => s === 'up').length, 1, statuses.join());
    });

    test(`${path} path: passive health ejects the server that refused`, async () => {
      const dead = await closedPort();
      const up = await live('up');
      const pl = await plane(path, lb([dead, up], PASSIVE));
      assert.equal((await send(pl)).status, 200);
      assert.equal(pl.logs[0]?.redispatches, 1);
      assert.equal(statusOf(pl, dead), 'ejected');
      assert.equal(statusOf(pl, up), 'up');
      // Ejected: the next requests go straight to the live server.
      assert.equal((await send(pl)).status, 200);
      assert.equal(pl.logs[1]?.redispatches, undefined);
    });
  }

  test('a request with a body is not redispatched (node:http path)', async () => {
    const dead = await closedPort();
    const up = await live('up');
    const pl = await plane('node', lb([dead, up]));
    // Round robin's first pick is the dead server; the body may be partly read when the connect fails.
    const answer = await send(pl, { method: 'POST', payload: 'x'.repeat(1000) });
    assert.equal(answer.status, 502);
    assert.equal(pl.logs[0]?.redispatches, undefined);
    assert.equal((await send(pl)).status, 200);
  });

  test('a sticky client pinned to a refusing server is served by another and pinned to it', async () => {
    const dead = await closedPort();
    const up = await live('up');
    const pl = await plane('node', lb([dead, up], { sticky: { cookie: {} } }));
    const name = defaultCookieName('app');
    const answer = await send(pl, { cookie: `${name}=${stickyValue(new URL(dead).href)}` });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'up');
    assert.deepEqual(
      answer.setCookie.map((c) => c.split(';')[0]),
      [`${name}=${stickyValue(new URL(up).href)}`],
    );
  });
});
