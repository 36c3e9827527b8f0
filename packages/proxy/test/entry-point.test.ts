// The entry point on its own: context building, router handlers, the onRequestEnd hook, forwarded-header trust.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { EntryPoint } from '@berth/config';
import { WebSocket, WebSocketServer } from 'ws';
import { ALWAYS_AVAILABLE } from '../src/health/server-health.js';
import type { RequestContext, RequestLog } from '../src/http/context.js';
import { entryPointSettings } from '../src/http/entry-point-settings.js';
import type { Forward, ForwardOutcome } from '../src/http/forward-types.js';
import { createForwarder } from '../src/http/forwarder.js';
import { HttpEntryPoint } from '../src/http/http-entry-point.js';
import { PoolCache } from '../src/http/pool-cache.js';
import { TransportTable } from '../src/http/servers-transport.js';
import { buildRuntime } from '../src/runtime/build-runtime.js';
import type { Runtime } from '../src/runtime/types.js';
import { closedPort } from './support/backend.js';
import { call } from './support/client.js';
import { backendFor, Cleanups, silent } from './support/plane.js';
import { sendRaw, statusOf } from './support/raw.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

interface Harness {
  port: number;
  forward: Forward;
  runtime: Runtime;
  ended: RequestContext[];
  pools: PoolCache;
}

/** An entry point serving `b`, with the given router handlers installed as the runtime helper would. */
async function serve(
  b: ReturnType<typeof body>,
  ep: Omit<EntryPoint, 'address'> = {},
  handlers: Record<string, (ctx: RequestContext, h: Harness) => Promise<void>> = {},
): Promise<Harness> {
  const pools = new PoolCache({ graceMs: 100 });
  cleanups.add(() => pools.destroy());
  const transports = { transports: new TransportTable(b.http.serversTransports, b.http.services) };
  const forward = createForwarder({ pools, transports, logger: silent });
  const built = buildRuntime(b, { forward, health: ALWAYS_AVAILABLE, middlewares: {}, logger: silent });
  if (!built.ok) assert.fail(built.error);
  const runtime = built.runtime;
  const ended: RequestContext[] = [];
  const entry = new HttpEntryPoint({
    name: 'web',
    runtimes: { current: runtime },
    forward,
    transports,
    logger: silent,
    nodeName: 'edge-1',
    settings: entryPointSettings({ address: ':0', ...ep }),
    onRequestEnd: (ctx) => ended.push(ctx as RequestContext),
  });
  await new Promise<void>((resolve) => entry.server.listen(0, '127.0.0.1', resolve));
  cleanups.add(
    () =>
      new Promise((resolve) => {
        entry.server.close(() => resolve());
        entry.server.closeAllConnections();
      }),
  );
  const harness: Harness = {
    port: (entry.server.address() as AddressInfo).port,
    forward,
    runtime,
    ended,
    pools,
  };
  for (const router of runtime.routers.get('web')?.entries ?? []) {
    const handler = handlers[router.name];
    if (handler) router.handler = (ctx) => handler(ctx, harness);
  }
  return harness;
}

describe('the entry point', () => {
  it('reports each request once through onRequestEnd, with router, service, server, status and bytes', async () => {
    const a = await backendFor(cleanups, 'hello');
    const h = await serve(
      body(
        { r: { rule: 'Host(`a.test`)', service: 's' }, empty: { rule: 'Host(`e.test`)', service: 'none' } },
        { s: service(a.url), none: service() },
      ),
    );
    assert.equal((await call(h.port, { host: 'a.test' })).body, 'hello');
    assert.equal((await call(h.port, { host: 'nowhere.test' })).status, 404);
    assert.equal((await call(h.port, { host: 'e.test' })).status, 503);
    const logs: RequestLog[] = h.ended.map((c) => c.log);
    assert.deepEqual(logs[0], {
      entryPoint: 'web',
      router: 'r',
      service: 's',
      server: a.url,
      status: 200,
      bytesOut: 5,
      upstreamHeadersAt: logs[0]!.upstreamHeadersAt,
    });
    assert.equal(typeof logs[0]!.upstreamHeadersAt, 'bigint');
    assert.deepEqual(
      logs.slice(1).map((l) => [l.status, l.error]),
      [
        [404, 'no_route'],
        [503, 'no_server'],
      ],
    );
  });

  it('runs a router’s composed handler, whose middleware may rewrite the target and wrap respond', async () => {
    const a = await backendFor(cleanups, 'A');
    const outcomes: ForwardOutcome[] = [];
    const h = await serve(
      body({ r: { rule: 'PathPrefix(`/api`)', service: 's' } }, { s: service(a.url) }),
      {},
      {
        r: async (ctx) => {
          // A stand-in for stripPrefix + headers middlewares and a service handler.
          ctx.target = ctx.target.slice('/api'.length) || '/';
          ctx.upstreamHeaders['x-added'] = 'yes';
          const inner = ctx.respond;
          ctx.respond = (status, headers, b) => inner(status, { ...headers, 'x-wrapped': '1' }, b);
          const forward = createForwarder({
            pools: new PoolCache({ graceMs: 10 }),
            transports: { transports: new TransportTable(undefined, undefined) },
            logger: silent,
          });
          outcomes.push(
            await forward(ctx, {
              server: { url: new URL(a.url), origin: a.url, weight: 1 },
              passHostHeader: false,
            }),
          );
        },
      },
    );
    const reply = await call(h.port, { path: '/api/items?x=1' });
    assert.equal(reply.body, 'A');
    assert.equal(reply.headers['x-wrapped'], '1');
    assert.equal(a.seen[0]?.url, '/items?x=1');
    assert.equal(a.seen[0]?.headers['x-added'], 'yes');
    assert.equal(a.seen[0]?.headers.host, `127.0.0.1:${a.port}`);
    assert.deepEqual(outcomes, [{ kind: 'response', status: 200 }]);
  });

  it('returns the outcome of a failed forward after answering 502 itself', async () => {
    const dead = await closedPort();
    let outcome: ForwardOutcome | undefined;
    const pools = new PoolCache({ graceMs: 10 });
    cleanups.add(() => pools.destroy());
    const forward = createForwarder({
      pools,
      transports: { transports: new TransportTable(undefined, undefined) },
      logger: silent,
    });
    const h = await serve(
      body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(`http://127.0.0.1:${dead}`) }),
      {},
      {
        r: async (ctx) => {
          const origin = `http://127.0.0.1:${dead}`;
          outcome = await forward(ctx, {
            server: { url: new URL(origin), origin, weight: 1 },
            passHostHeader: true,
          });
        },
      },
    );
    assert.equal((await call(h.port)).status, 502);
    assert.deepEqual(outcome, { kind: 'error', reason: 'connect', responseStarted: false });
    assert.equal(h.ended[0]?.log.error, 'upstream_error');
  });

  it('answers 500 and stays up when a handler throws', async () => {
    const h = await serve(
      body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service('http://127.0.0.1:1') }),
      {},
      {
        r: async () => {
          throw new Error('boom');
        },
      },
    );
    assert.equal((await call(h.port)).status, 500);
    assert.equal((await call(h.port)).status, 500);
  });
});

describe('Upgrade requests through router handlers', () => {
  it('let a middleware refuse the upgrade on the raw socket, and tunnel once it passes', async () => {
    const echo = await backendFor(cleanups, 'ws');
    const wss = new WebSocketServer({ server: echo.server });
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${String(m)}`)));
    cleanups.add(() => new Promise((resolve) => wss.close(() => resolve())));
    const server = { url: new URL(echo.url), origin: echo.url, weight: 1 };
    const h = await serve(
      body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(echo.url) }),
      {},
      {
        // A stand-in for basicAuth in front of a service handler.
        r: async (ctx, harness) => {
          if (ctx.req.headers.authorization !== 'Bearer ok') {
            await ctx.respond(401, { 'www-authenticate': 'Bearer' }, 'no\n');
            return;
          }
          await harness.forward(ctx, { server, passHostHeader: true });
        },
      },
    );
    const refused = await sendRaw(
      h.port,
      'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.equal(statusOf(refused.text), 401);
    assert.equal(refused.closed, true);
    assert.equal(echo.seen.length, 0);

    const ws = new WebSocket(`ws://127.0.0.1:${h.port}/`, { headers: { authorization: 'Bearer ok' } });
    cleanups.add(async () => ws.terminate());
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (m) => resolve(String(m)));
      ws.once('error', reject);
    });
    assert.equal(reply, 'echo:hi');
    assert.deepEqual(
      h.ended.map((c) => c.log.status),
      [401, 101],
    );
  });
});

describe('forwarded headers at the entry point', () => {
  async function capture(ep: Omit<EntryPoint, 'address'>): Promise<{ port: number; seen: RequestContext[] }> {
    const seen: RequestContext[] = [];
    const a = await backendFor(cleanups, 'A');
    const h = await serve(body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }), ep, {
      r: async (ctx) => {
        seen.push(ctx);
        await ctx.respond(200, { 'x-client-ip': ctx.clientIp }, ctx.view.clientIp);
      },
    });
    return { port: h.port, seen };
  }

  it('uses the peer as the client when it is not a trusted proxy', async () => {
    const { port } = await capture({ forwardedHeaders: { trustedIPs: ['10.0.0.0/8'] } });
    const reply = await call(port, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(reply.body, '127.0.0.1');
  });

  it('takes the right-most untrusted X-Forwarded-For entry behind a trusted proxy', async () => {
    const { port } = await capture({ forwardedHeaders: { trustedIPs: ['127.0.0.1', '10.0.0.0/8'] } });
    const reply = await call(port, { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.1.1.1' } });
    assert.equal(reply.body, '203.0.113.9');
    assert.equal(reply.headers['x-client-ip'], '203.0.113.9');
  });

  it('keeps a trusted proxy’s X-Forwarded-* upstream and appends the peer', async () => {
    const a = await backendFor(cleanups, 'A');
    const h = await serve(body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }), {
      forwardedHeaders: { insecure: true },
    });
    await call(h.port, {
      host: 'site.test',
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-real-ip': '203.0.113.9' },
    });
    const seen = a.seen[0]!.headers;
    assert.equal(seen['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
    assert.equal(seen['x-forwarded-proto'], 'https');
    assert.equal(seen['x-real-ip'], '203.0.113.9');
    assert.equal(seen['x-forwarded-server'], 'edge-1');
    assert.equal(seen['x-forwarded-host'], 'site.test');
    assert.equal(h.ended.at(-1)?.scheme, 'https', 'the scheme the client used, as the trusted proxy says');
  });

  it('ignores X-Forwarded-Proto from an untrusted client', async () => {
    const a = await backendFor(cleanups, 'A');
    const h = await serve(body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }));
    await call(h.port, { host: 'site.test', headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(a.seen[0]!.headers['x-forwarded-proto'], 'http');
    assert.equal(h.ended.at(-1)?.scheme, 'http');
  });
});
