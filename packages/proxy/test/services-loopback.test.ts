// Service handlers over real loopback sockets: a tiny front server, a stand-in Forward, real backends.
import assert from 'node:assert/strict';
import type { IncomingMessage, OutgoingHttpHeaders, Server } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import type { HttpService } from '@berth/config';
import type { RequestContext } from '../src/http/context.js';
import type { Forward, ForwardOutcome } from '../src/http/forward-types.js';
import type { RuntimeDeps } from '../src/runtime/build-runtime.js';
import { buildRuntime } from '../src/runtime/build-runtime.js';
import type { Runtime } from '../src/runtime/types.js';
import { type Backend, startBackend } from './support/backend.js';
import { call } from './support/client.js';
import { body } from './support/snapshot.js';

/** Streams the request to the server and the response back through `ctx.respond`, as the real forwarder does. */
const forward: Forward = (ctx, target) =>
  new Promise<ForwardOutcome>((resolve) => {
    const headers = { ...ctx.req.headers };
    delete headers['connection'];
    const upstream = request(
      {
        host: target.server.url.hostname,
        port: target.server.url.port,
        method: ctx.req.method ?? 'GET',
        path: ctx.target,
        headers,
        agent: false,
      },
      (res) => {
        const status = res.statusCode ?? 502;
        const out: OutgoingHttpHeaders = { ...res.headers };
        delete out['connection'];
        void ctx.respond(status, out, res).then(() => resolve({ kind: 'response', status }));
      },
    );
    upstream.on('error', () => {
      void ctx
        .respond(502, { 'content-length': 0 }, null)
        .then(() => resolve({ kind: 'error', reason: 'reset', responseStarted: false }));
    });
    pipeline(ctx.req, upstream).catch(() => upstream.destroy());
  });

interface Front {
  port: number;
  runtime: Runtime;
  server: Server;
}

const servers: Server[] = [];
const backends: Backend[] = [];

after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await Promise.all(backends.map((b) => b.close()));
});

async function backend(name: string, handler?: Parameters<typeof startBackend>[1]): Promise<Backend> {
  const b = await startBackend(name, handler);
  backends.push(b);
  return b;
}

/** Records the body each request carried (or `aborted`), answers its name. */
async function recordingBackend(name: string, answer = true): Promise<Backend & { bodies: string[] }> {
  const bodies: string[] = [];
  const b = await backend(name, (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString());
      if (answer) res.end(name);
    });
    req.on('aborted', () => bodies.push('aborted'));
  });
  return Object.assign(b, { bodies });
}

async function front(services: Record<string, HttpService>, deps: Partial<RuntimeDeps> = {}): Promise<Front> {
  const result = buildRuntime(body({ r: { rule: 'PathPrefix(`/`)', service: 'front' } }, services), {
    forward,
    ...deps,
  });
  if (!result.ok) assert.fail(result.error);
  const runtime = result.runtime;
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const ctx: RequestContext = {
      req,
      res,
      view: {
        host: 'test',
        path: url,
        method: req.method ?? 'GET',
        headers: req.headers,
        query: '',
        clientIp: '127.0.0.1',
      },
      target: url,
      clientIp: '127.0.0.1',
      scheme: 'http',
      startedAt: process.hrtime.bigint(),
      log: { entryPoint: 'web' },
      respond: async (status, headers, payload) => {
        res.writeHead(status, headers);
        if (payload instanceof Readable) await pipeline(payload, res).catch(() => {});
        else await new Promise<void>((resolve) => res.end(payload ?? undefined, () => resolve()));
      },
      upstreamHeaders: {},
      signal: new AbortController().signal,
    };
    void runtime.routers.get('web')?.find(ctx.view)?.handler?.(ctx);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: (server.address() as AddressInfo).port, runtime, server };
}

/** Polls a condition a bounded number of times. */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('services over loopback', { timeout: 30_000 }, () => {
  it('keeps a client with the sticky cookie on one backend among three', async () => {
    const [a, b, c] = await Promise.all([backend('a'), backend('b'), backend('c')]);
    const { port } = await front({
      front: {
        loadBalancer: {
          servers: [a!, b!, c!].map((x) => ({ url: x.url })),
          sticky: { cookie: { name: 'pin' } },
        },
      },
    });
    const first = await call(port);
    const cookie = String(first.headers['set-cookie']).split(';')[0]!;
    const replies = [];
    for (let i = 0; i < 30; i++) replies.push(await call(port, { headers: { cookie } }));
    assert.ok(replies.every((r) => r.body === first.body && r.headers['set-cookie'] === undefined));
    // Without the cookie, clients are spread over all three.
    const spread = new Set<string>();
    for (let i = 0; i < 6; i++) spread.add((await call(port)).body);
    assert.equal(spread.size, 3);
  });

  it('splits a canary 3:1 between two services', async () => {
    const [stable, canary] = await Promise.all([backend('stable'), backend('canary')]);
    const { port } = await front({
      front: {
        weighted: {
          services: [
            { name: 'stable', weight: 3 },
            { name: 'canary', weight: 1 },
          ],
        },
      },
      stable: { loadBalancer: { servers: [{ url: stable!.url }] } },
      canary: { loadBalancer: { servers: [{ url: canary!.url }] } },
    });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const reply = await call(port);
      counts[reply.body] = (counts[reply.body] ?? 0) + 1;
    }
    assert.deepEqual(counts, { stable: 30, canary: 10 });
  });

  it('mirrors the request body to the mirror while it streams to the main service', async () => {
    const main = await recordingBackend('main');
    const shadow = await recordingBackend('shadow');
    const { port } = await front({
      front: { mirroring: { service: 'main', mirrors: [{ name: 'shadow', percent: 100 }] } },
      main: { loadBalancer: { servers: [{ url: main.url }] } },
      shadow: { loadBalancer: { servers: [{ url: shadow.url }] } },
    });
    const payload = 'x'.repeat(1024 * 1024);
    const reply = await call(port, { method: 'POST', body: payload });
    assert.equal(reply.body, 'main');
    assert.equal(main.bodies[0]?.length, payload.length);
    await eventually(() => shadow.bodies.length === 1, 'the mirrored request');
    assert.equal(shadow.bodies[0], payload);
  });

  it('answers from the main service while a mirror hangs without ever answering', async () => {
    const main = await recordingBackend('main');
    const hanging = await recordingBackend('hanging', false);
    const { port } = await front({
      front: { mirroring: { service: 'main', mirrors: [{ name: 'hanging', percent: 100 }] } },
      main: { loadBalancer: { servers: [{ url: main.url }] } },
      hanging: { loadBalancer: { servers: [{ url: hanging.url }] } },
    });
    for (let i = 0; i < 5; i++) {
      const reply = await call(port, { method: 'POST', body: `request ${i}` });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'main');
    }
    await eventually(() => hanging.bodies.length === 5, 'the mirror to see every request');
    assert.deepEqual(
      hanging.bodies,
      [0, 1, 2, 3, 4].map((i) => `request ${i}`),
    );
  });

  it('does not mirror a body larger than maxBodySize, and still serves it in full', async () => {
    const main = await recordingBackend('main');
    const shadow = await recordingBackend('shadow');
    const { port } = await front({
      front: {
        mirroring: { service: 'main', maxBodySize: 1000, mirrors: [{ name: 'shadow', percent: 100 }] },
      },
      main: { loadBalancer: { servers: [{ url: main.url }] } },
      shadow: { loadBalancer: { servers: [{ url: shadow.url }] } },
    });
    const big = 'y'.repeat(5000);
    assert.equal((await call(port, { method: 'POST', body: big })).body, 'main');
    assert.equal(main.bodies[0]?.length, 5000);
    // A small one goes through, so the mirror is reachable: the big one was skipped, not lost.
    assert.equal((await call(port, { method: 'POST', body: 'small' })).body, 'main');
    await eventually(() => shadow.bodies.length >= 1, 'the small mirrored request');
    assert.deepEqual(shadow.bodies, ['small']);
  });

  it('drops the mirror of a chunked body once it outgrows maxBodySize, and still serves it in full', async () => {
    const main = await recordingBackend('main');
    const shadow = await recordingBackend('shadow');
    const { port } = await front({
      front: {
        mirroring: { service: 'main', maxBodySize: 1000, mirrors: [{ name: 'shadow', percent: 100 }] },
      },
      main: { loadBalancer: { servers: [{ url: main.url }] } },
      shadow: { loadBalancer: { servers: [{ url: shadow.url }] } },
    });
    const big = 'z'.repeat(64 * 1024);
    const reply = await call(port, {
      method: 'POST',
      body: big,
      headers: { 'transfer-encoding': 'chunked' },
    });
    assert.equal(reply.body, 'main');
    assert.equal(main.bodies[0], big);
    // The mirror either never got a request or saw it aborted; it never got a truncated body as whole.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(
      shadow.bodies.every((b) => b === 'aborted'),
      `shadow saw ${shadow.bodies.map((b) => b.length)}`,
    );
  });

  it('answers 503 when health says every server of the service is down', async () => {
    const down = await backend('down');
    const { port } = await front(
      { front: { loadBalancer: { servers: [{ url: down.url }] } } },
      { health: { isAvailable: () => false, record: () => {} } },
    );
    const reply = await call(port);
    assert.equal(reply.status, 503);
    assert.equal(reply.body, 'Service Unavailable\n');
    assert.equal(down.seen.length, 0);
  });
});
