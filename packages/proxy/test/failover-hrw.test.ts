// failover, highestRandomWeight and weighted services with health checks, through a data plane on loopback with real backends.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import type { HttpService } from '@berth/config';
import { pickHighestRandomWeight } from '../src/balancer/highest-random-weight.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { body } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

/** A GET from a chosen loopback address, so the proxy sees different client IPs. */
function callFrom(
  port: number,
  localAddress: string,
  host: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, localAddress },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A backend whose /health answers `state.status` and anything else its name. */
async function flippable(name: string): Promise<{ url: string; state: { status: number } }> {
  const state = { status: 200 };
  const b = await backendFor(cleanups, name, (req, res) => {
    req.resume();
    if (req.url === '/health') {
      res.writeHead(state.status);
      res.end();
      return;
    }
    res.end(name);
  });
  return { url: b.url, state };
}

/** Asks `get` until it answers `want` (health checks run every 50 ms; a loaded machine is slower), at most 10 s. */
async function eventually<T>(get: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + 10_000;
  let last = await get();
  while (last !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    last = await get();
  }
  return last;
}

const FAST = { path: '/health', interval: '50ms', timeout: '500ms' };

function checked(url: string): HttpService {
  return { loadBalancer: { servers: [{ url }], healthCheck: FAST } };
}

describe('failover service', () => {
  it('sends traffic to the main service while it is healthy, to the fallback while it is down, and back', async () => {
    const main = await flippable('main');
    const spare = await flippable('spare');
    const port = await applied(
      planeFor(cleanups),
      body(
        { web: { rule: 'Host(`app.test`)', service: 'app' } },
        {
          app: { failover: { service: 'main', fallback: 'spare', healthCheck: {} } },
          main: checked(main.url),
          spare: checked(spare.url),
        },
      ),
    );
    const get = async () => (await callFrom(port, '127.0.0.1', 'app.test')).body;
    assert.equal(await get(), 'main');
    main.state.status = 503;
    assert.equal(await eventually(get, 'spare'), 'spare');
    main.state.status = 200;
    assert.equal(await eventually(get, 'main'), 'main', 'back to the main service once it is healthy');
  });

  it('answers 503 when both the main service and the fallback are down', async () => {
    const main = await flippable('main');
    const spare = await flippable('spare');
    main.state.status = 500;
    spare.state.status = 500;
    const port = await applied(
      planeFor(cleanups),
      body(
        { web: { rule: 'Host(`app.test`)', service: 'app' } },
        {
          app: { failover: { service: 'main', fallback: 'spare' } },
          main: checked(main.url),
          spare: checked(spare.url),
        },
      ),
    );
    const status = async () => (await callFrom(port, '127.0.0.1', 'app.test')).status;
    assert.equal(await eventually(status, 503), 503);
  });
});

describe('highestRandomWeight service', () => {
  const clients = Array.from({ length: 24 }, (_, i) => `127.0.0.${i + 2}`);

  it('keeps each client IP on one child and spreads clients over the children', async () => {
    const names = ['a', 'b', 'c'];
    const services: Record<string, HttpService> = {
      app: { highestRandomWeight: { services: names.map((name) => ({ name, weight: 1 })) } },
    };
    for (const name of names) {
      const b = await backendFor(cleanups, name);
      services[name] = { loadBalancer: { servers: [{ url: b.url }] } };
    }
    const port = await applied(
      planeFor(cleanups),
      body({ web: { rule: 'Host(`app.test`)', service: 'app' } }, services),
    );
    const first = new Map<string, string>();
    for (const ip of clients) first.set(ip, (await callFrom(port, ip, 'app.test')).body);
    for (const ip of clients) {
      for (let i = 0; i < 3; i++) assert.equal((await callFrom(port, ip, 'app.test')).body, first.get(ip));
    }
    // The same pick as Traefik's scoring of the client IP (the expected child per client).
    for (const ip of clients) {
      const expected = pickHighestRandomWeight(
        names,
        ip,
        (n) => n,
        () => 1,
      );
      assert.equal(first.get(ip), expected, `client ${ip}`);
    }
    const counts = names.map((n) => [...first.values()].filter((v) => v === n).length);
    assert.ok(
      counts.every((c) => c >= 3),
      `24 clients spread over 3 children: ${counts.join(', ')}`,
    );
  });

  it('moves only the clients of a child that goes down, and back when it recovers', async () => {
    const a = await flippable('a');
    const b = await flippable('b');
    const port = await applied(
      planeFor(cleanups),
      body(
        { web: { rule: 'Host(`app.test`)', service: 'app' } },
        {
          app: { highestRandomWeight: { services: [{ name: 'a' }, { name: 'b' }], healthCheck: {} } },
          a: checked(a.url),
          b: checked(b.url),
        },
      ),
    );
    const before = new Map<string, string>();
    for (const ip of clients) before.set(ip, (await callFrom(port, ip, 'app.test')).body);
    assert.ok([...before.values()].includes('a') && [...before.values()].includes('b'));
    a.state.status = 503;
    const onA = clients.filter((ip) => before.get(ip) === 'a');
    const probe = onA[0] as string;
    const fromProbe = async () => (await callFrom(port, probe, 'app.test')).body;
    assert.equal(await eventually(fromProbe, 'b'), 'b');
    for (const ip of clients) assert.equal((await callFrom(port, ip, 'app.test')).body, 'b');
    a.state.status = 200;
    assert.equal(await eventually(fromProbe, 'a'), 'a');
    for (const ip of clients) assert.equal((await callFrom(port, ip, 'app.test')).body, before.get(ip));
  });

  it('keeps clients on their server with loadBalancer strategy hrw', async () => {
    const servers = [];
    for (const name of ['s1', 's2', 's3']) servers.push({ url: (await backendFor(cleanups, name)).url });
    const port = await applied(
      planeFor(cleanups),
      body(
        { web: { rule: 'Host(`app.test`)', service: 'app' } },
        { app: { loadBalancer: { servers, strategy: 'hrw' } } },
      ),
    );
    const seen = new Set<string>();
    for (const ip of clients.slice(0, 12)) {
      const firstPick = (await callFrom(port, ip, 'app.test')).body;
      seen.add(firstPick);
      for (let i = 0; i < 3; i++) assert.equal((await callFrom(port, ip, 'app.test')).body, firstPick);
    }
    assert.ok(seen.size >= 2, `clients spread over servers: ${[...seen].join(', ')}`);
  });
});

describe('weighted service with healthCheck', () => {
  it('leaves out a child whose servers are down and propagates "down" to a failover parent', async () => {
    const a = await flippable('a');
    const b = await flippable('b');
    const spare = await flippable('spare');
    const port = await applied(
      planeFor(cleanups),
      body(
        { web: { rule: 'Host(`app.test`)', service: 'front' } },
        {
          front: { failover: { service: 'split', fallback: 'spare', healthCheck: {} } },
          split: { weighted: { services: [{ name: 'a' }, { name: 'b' }], healthCheck: {} } },
          a: checked(a.url),
          b: checked(b.url),
          spare: checked(spare.url),
        },
      ),
    );
    const get = async () => (await callFrom(port, '127.0.0.1', 'app.test')).body;
    const mix = new Set([await get(), await get(), await get(), await get()]);
    assert.deepEqual([...mix].sort(), ['a', 'b']);
    a.state.status = 503;
    const pair = async () => `${await get()} ${await get()}`;
    assert.equal(await eventually(pair, 'b b'), 'b b');
    for (let i = 0; i < 6; i++) assert.equal(await get(), 'b', 'the weighted service skips the down child');
    b.state.status = 503;
    assert.equal(
      await eventually(get, 'spare'),
      'spare',
      'all children down: the weighted service is down for its parent',
    );
  });
});
