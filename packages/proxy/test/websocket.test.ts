// Upgrade/WebSocket pass-through and hot reload: tunnels survive config changes, a removed route's close after its grace.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpRouter } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { WebSocket, WebSocketServer } from 'ws';
import type { Backend } from './support/backend.js';
import { closedPort } from './support/backend.js';
import { applied, backendFor, Cleanups, planeFor, portOf, until } from './support/plane.js';
import { sendRaw, statusOf } from './support/raw.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

interface EchoBackend extends Backend {
  /** Headers of each upgrade request the server accepted. */
  upgrades: IncomingMessage['headers'][];
}

/** An HTTP server that echoes WebSocket messages, prefixed with its name. */
async function echoBackend(name: string): Promise<EchoBackend> {
  const backend = await backendFor(cleanups, name);
  const wss = new WebSocketServer({ server: backend.server });
  const upgrades: IncomingMessage['headers'][] = [];
  wss.on('connection', (ws, req) => {
    upgrades.push(req.headers);
    ws.on('message', (data) => ws.send(`${name}:${String(data)}`));
  });
  cleanups.add(
    () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  return Object.assign(backend, { upgrades });
}

async function open(port: number, host = 'ws.test'): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers: { host } });
  cleanups.add(async () => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return ws;
}

function echo(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no echo for ${text}`)), 2_000);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(String(data));
    });
    ws.send(text);
  });
}

function snapshot(
  routers: Record<string, HttpRouter>,
  urls: Record<string, string>,
  grace?: string,
): SnapshotBody {
  const services = Object.fromEntries(Object.entries(urls).map(([name, url]) => [name, service(url)]));
  const b = body(routers, services);
  return grace === undefined ? b : { ...b, routeRemovalGrace: grace };
}

describe('WebSocket pass-through', () => {
  it('relays the handshake with forwarded headers and echoes both ways', async () => {
    const a = await echoBackend('A');
    const port = await applied(
      planeFor(cleanups, { nodeName: 'node-7' }),
      snapshot({ ws: { rule: 'Host(`ws.test`)', service: 'a' } }, { a: a.url }),
    );
    const ws = await open(port);
    assert.equal(await echo(ws, 'hello'), 'A:hello');
    assert.equal(await echo(ws, 'x'.repeat(100_000)), `A:${'x'.repeat(100_000)}`);
    const seen = a.upgrades[0]!;
    assert.equal(seen['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen['x-forwarded-server'], 'node-7');
    assert.equal(seen['x-real-ip'], '127.0.0.1');
    assert.equal(seen.host, 'ws.test');
    assert.equal(seen.upgrade, 'websocket');
  });

  it('keeps one WebSocket open and echoing across 20 config changes', async () => {
    const a = await echoBackend('A');
    const other = await echoBackend('B');
    const p = planeFor(cleanups);
    const port = await applied(p, snapshot({ ws: { rule: 'Host(`ws.test`)', service: 'a' } }, { a: a.url }));
    const ws = await open(port);
    let closed = false;
    ws.once('close', () => {
      closed = true;
    });
    for (let i = 0; i < 20; i++) {
      // Every change touches something: other routers, services, priorities; `ws` itself stays.
      const routers: Record<string, HttpRouter> = {
        ws: { rule: 'Host(`ws.test`)', service: i % 2 === 0 ? 'a' : 'b', priority: i + 1 },
        [`extra${i}`]: { rule: `Host(\`extra${i}.test\`)`, service: 'b' },
      };
      assert.equal(await applied(p, snapshot(routers, { a: a.url, b: other.url })), port);
      assert.equal(await echo(ws, `m${i}`), `A:m${i}`, `after change ${i + 1}`);
    }
    assert.equal(closed, false);
    // New connections follow the latest table (service b since the last change had i = 19).
    const fresh = await open(port);
    assert.equal(await echo(fresh, 'new'), 'B:new');
  });

  it('keeps a WebSocket open past readTimeout and idleTimeout, which bound requests, not tunnels', async () => {
    const a = await echoBackend('A');
    const b = snapshot({ ws: { rule: 'Host(`ws.test`)', service: 'a' } }, { a: a.url });
    const port = await applied(planeFor(cleanups), {
      ...b,
      entryPoints: {
        web: {
          address: ':80',
          transport: { respondingTimeouts: { readTimeout: '200ms', idleTimeout: '200ms' } },
        },
      },
    });
    const ws = await open(port);
    await sleep(1_200);
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(await echo(ws, 'late'), 'A:late');
  });

  it('closes a removed route’s WebSocket after routeRemovalGrace, not before', async () => {
    const a = await echoBackend('A');
    const p = planeFor(cleanups);
    const port = await applied(
      p,
      snapshot({ ws: { rule: 'Host(`ws.test`)', service: 'a' } }, { a: a.url }, '300ms'),
    );
    const ws = await open(port);
    const closedAt = new Promise<number>((resolve) => ws.once('close', () => resolve(Date.now())));
    const removedAt = Date.now();
    await applied(
      p,
      snapshot({ other: { rule: 'Host(`other.test`)', service: 'a' } }, { a: a.url }, '300ms'),
    );
    // Still usable during the grace.
    assert.equal(await echo(ws, 'still'), 'A:still');
    const elapsed = (await closedAt) - removedAt;
    assert.ok(elapsed >= 250 && elapsed < 3_000, `closed after ${elapsed} ms`);
  });

  it('closes the WebSockets of a removed entry point once its drain time is over', async () => {
    const a = await echoBackend('A');
    const p = planeFor(cleanups, {
      entryPointOverrides: { web: '127.0.0.1:0', live: '127.0.0.1:0' },
      retireDrainMs: 200,
    });
    const routers = { ws: { rule: 'Host(`ws.test`)', service: 'a' } };
    const both = body(routers, { a: service(a.url) }, { web: ':80', live: ':81' });
    await applied(p, both);
    const ws = await open(portOf(p, 'live'));
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    await applied(p, body(routers, { a: service(a.url) }));
    await closed;
  });

  it('keeps a WebSocket whose route came back within the grace', async () => {
    const a = await echoBackend('A');
    const p = planeFor(cleanups);
    const withWs = snapshot({ ws: { rule: 'Host(`ws.test`)', service: 'a' } }, { a: a.url }, '200ms');
    const port = await applied(p, withWs);
    const ws = await open(port);
    await applied(p, snapshot({ other: { rule: 'Host(`o.test`)', service: 'a' } }, { a: a.url }, '200ms'));
    await applied(p, withWs);
    await sleep(400);
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(await echo(ws, 'back'), 'A:back');
  });

  it('cuts a removed route’s streaming response after the grace', async () => {
    const streamer = await backendFor(cleanups, 'S', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const timer = setInterval(() => res.write('data: tick\n\n'), 20);
      res.on('close', () => clearInterval(timer));
    });
    const p = planeFor(cleanups);
    const port = await applied(
      p,
      snapshot({ events: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: streamer.url }, '200ms'),
    );
    let ended = false;
    let bytes = 0;
    const req = request({ host: '127.0.0.1', port, path: '/events', agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('close', () => {
        ended = true;
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end();
    cleanups.add(async () => void req.destroy());
    await until(() => bytes > 0, 'the stream to start');
    await applied(
      p,
      snapshot({ other: { rule: 'Host(`o.test`)', service: 's' } }, { s: streamer.url }, '200ms'),
    );
    await sleep(100);
    assert.equal(ended, false, 'the stream was cut before the grace');
    await until(() => ended, 'the stream to be cut', 2_000);
  });

  it('answers 502 on the raw socket when the server is unreachable, 404 without a route', async () => {
    const dead = await closedPort();
    const port = await applied(
      planeFor(cleanups),
      snapshot({ ws: { rule: 'Host(`ws.test`)', service: 'd' } }, { d: `http://127.0.0.1:${dead}` }),
    );
    const handshake = (host: string): string =>
      `GET /chat HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    const failed = await sendRaw(port, handshake('ws.test'));
    assert.equal(statusOf(failed.text), 502);
    assert.equal(failed.closed, true);
    const missing = await sendRaw(port, handshake('nowhere.test'));
    assert.equal(statusOf(missing.text), 404);
  });

  it('relays a declined upgrade and closes the connection', async () => {
    const refusing = await backendFor(cleanups, 'R');
    refusing.server.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\nWWW-Authenticate: Basic\r\n\r\nnope');
    });
    const port = await applied(
      planeFor(cleanups),
      snapshot({ ws: { rule: 'PathPrefix(`/`)', service: 'r' } }, { r: refusing.url }),
    );
    const reply = await sendRaw(
      port,
      'GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.equal(statusOf(reply.text), 401);
    assert.match(reply.text, /www-authenticate: Basic/i);
    assert.match(reply.text, /nope$/);
    assert.equal(reply.closed, true);
  });
});
