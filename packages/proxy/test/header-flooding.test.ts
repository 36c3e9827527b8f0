// Header flooding: http.maxHeaderCount answers 431 on the fast path and on node:http, and what a server receives always starts with Host and the forwarded headers.
import assert from 'node:assert/strict';
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import type { EntryPoint } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { DEFAULT_MAX_HEADER_COUNT, entryPointSettings } from '../src/http/entry-point-settings.js';
import { headerCount } from '../src/http/strict-request.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { statusOf } from './support/raw.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

/** `count` header lines in all: Host first, then `extra`, then `hN: x` fillers. */
function head(method: string, count: number, extra: string[] = [], bodyText = ''): string {
  let text = `${method} /flood HTTP/1.1\r\nHost: a.test\r\n`;
  for (const line of extra) text += `${line}\r\n`;
  const fillers = count - 1 - extra.length - (bodyText === '' ? 0 : 1);
  for (let i = 0; i < fillers; i++) text += `h${i}: x\r\n`;
  if (bodyText !== '') text += `Content-Length: ${bodyText.length}\r\n`;
  return `${text}\r\n${bodyText}`;
}

/** Sends `bytes` on a keep-alive connection and reads one response (Content-Length framed), or until close. */
function exchange(port: number, bytes: string): Promise<{ status: number; text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes, 'latin1'));
    let text = '';
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: statusOf(text), text, closed });
    };
    const timer = setTimeout(() => reject(new Error(`no complete answer: ${JSON.stringify(text)}`)), 5_000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end));
      if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) done(false);
    });
    socket.on('close', () => done(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
    });
  });
}

/** A GET to `fast` takes the fast path; `slow` has a middleware, which node:http serves. */
function snapshot(url: string, http: EntryPoint['http'] = {}): SnapshotBody {
  const b = body(
    {
      fast: { rule: 'Host(`a.test`) && PathPrefix(`/flood`)', service: 'app' },
      slow: { rule: 'Host(`a.test`) && PathPrefix(`/slow`)', service: 'app', middlewares: ['mark'] },
    },
    { app: service(url) },
  );
  b.http.middlewares = { mark: { headers: { customResponseHeaders: { 'x-mark': 'yes' } } } };
  (b.entryPoints['web'] as EntryPoint).http = http;
  return b;
}

/** A server that records each request head byte for byte and answers 200. */
async function rawServer(): Promise<{ url: string; heads: string[] }> {
  const state = { url: '', heads: [] as string[] };
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        state.heads.push(buffered.slice(0, end + 4));
        buffered = buffered.slice(end + 4);
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok', 'latin1');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.add(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return state;
}

/** Header names of a recorded head, lower-case, without the request line. */
function names(recorded: string): string[] {
  return recorded
    .split('\r\n')
    .slice(1)
    .filter((line) => line !== '')
    .map((line) => line.slice(0, line.indexOf(':')).toLowerCase());
}

const FORWARDED_ORDER = [
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-real-ip',
];

describe('http.maxHeaderCount', () => {
  it('is 100 unless the entry point sets it', () => {
    assert.equal(DEFAULT_MAX_HEADER_COUNT, 100);
    assert.equal(entryPointSettings({ address: ':80' }).maxHeaderCount, 100);
    assert.equal(entryPointSettings({ address: ':80', http: { maxHeaderCount: 20 } }).maxHeaderCount, 20);
  });

  it('counts HTTP/2 cookie crumbs as one line', () => {
    const raw = ['cookie', 'a=1', 'accept', '*/*', 'Cookie', 'b=2', 'cookie', 'c=3'];
    assert.equal(headerCount(raw, true), 2);
    assert.equal(headerCount(raw, false), 4);
  });

  it('answers 1,000 headers with 431 on the fast path and on node:http, and forwards none of them', async () => {
    let seen = 0;
    const backend = await backendFor(cleanups, 'app', (req, res) => {
      seen++;
      req.resume();
      res.end('ok');
    });
    const p = planeFor(cleanups, { nodeName: 'node-1' });
    const port = await applied(p, snapshot(backend.url));
    const get = await exchange(port, head('GET', 1_000));
    assert.equal(get.status, 431, get.text);
    assert.match(get.text, /Request Header Fields Too Large/);
    assert.match(get.text, /\r\nconnection: close\r\n/i, 'the connection closes');
    const post = await exchange(port, head('POST', 1_000, [], 'hello'));
    assert.equal(post.status, 431, post.text);
    const middleware = await exchange(port, head('GET', 1_000).replace('/flood', '/slow'));
    assert.equal(middleware.status, 431, middleware.text);
    assert.equal(seen, 0, 'no request reached the server');
    assert.equal(p.fastPathRequests(), 0);
  });

  it('lets 100 header lines through and answers 101 with 431 by default, on both paths', async () => {
    const backend = await backendFor(cleanups, 'app');
    const p = planeFor(cleanups);
    const port = await applied(p, snapshot(backend.url));
    const fast = await exchange(port, head('GET', 100));
    assert.equal(fast.status, 200, fast.text);
    assert.equal(p.fastPathRequests(), 1, 'served by the fast path');
    assert.equal(backend.seen.at(-1)?.rawHeaders.length, 2 * (100 + 5), 'all 100, plus the forwarded ones');
    assert.equal((await exchange(port, head('GET', 101))).status, 431);
    const post = await exchange(port, head('POST', 100, [], 'hi'));
    assert.equal(post.status, 200, post.text);
    assert.equal(backend.seen.at(-1)?.method, 'POST');
    assert.equal((await exchange(port, head('POST', 101, [], 'hi'))).status, 431);
    assert.equal((await exchange(port, head('GET', 101).replace('/flood', '/slow'))).status, 431);
    assert.equal(backend.seen.length, 2);
  });

  it('honours a configured limit', async () => {
    const backend = await backendFor(cleanups, 'app');
    backend.server.maxHeadersCount = 0;
    const p = planeFor(cleanups);
    const port = await applied(p, snapshot(backend.url, { maxHeaderCount: 10 }));
    assert.equal((await exchange(port, head('GET', 10))).status, 200);
    assert.equal((await exchange(port, head('GET', 11))).status, 431);
    assert.equal((await exchange(port, head('POST', 10, [], 'x'))).status, 200);
    assert.equal((await exchange(port, head('POST', 11, [], 'x'))).status, 431);
    const upgrade = await exchange(
      port,
      head('GET', 11, ['Connection: Upgrade', 'Upgrade: websocket']).replace('/flood', '/slow'),
    );
    assert.equal(upgrade.status, 431, upgrade.text);
    assert.equal(backend.seen.length, 2);
    // Raised above what node:http keeps by default (about 1,000): nothing is dropped silently.
    await applied(p, snapshot(backend.url, { maxHeaderCount: 1_500 }));
    const many = await exchange(port, head('POST', 1_500, [], 'x'));
    assert.equal(many.status, 200, many.text);
    // The forwarded headers, and undici's `connection: keep-alive`.
    assert.equal(backend.seen.at(-1)?.rawHeaders.length, 2 * (1_500 + 5 + 1));
  });
});

describe('what a server behind Berth sees', () => {
  /**
   * What a server that keeps only its first 10 headers sees (as any server has some such cap). Not
   * node:http's `maxHeadersCount`: Node 20 drops the headers past it, Node 22 and later answer 431.
   */
  function firstTen(rawHeaders: string[]): Record<string, string> {
    const kept: Record<string, string> = {};
    for (let i = 0; i < Math.min(rawHeaders.length, 20); i += 2) {
      const name = rawHeaders[i]!.toLowerCase();
      kept[name] ??= rawHeaders[i + 1]!;
    }
    return kept;
  }

  it('always has the client address in X-Forwarded-For and X-Real-Ip, whatever the client sends', async () => {
    const backend = await backendFor(cleanups, 'plain');
    for (const capped of [false, true]) {
      const p = planeFor(cleanups);
      const port = await applied(p, snapshot(backend.url));
      const spoof = ['X-Forwarded-For: 6.6.6.6', 'X-Real-Ip: 6.6.6.6'];
      const attempts = [
        head('GET', 100, spoof),
        head('GET', 100, ['X-Forwarded-For: 6.6.6.6']),
        head('POST', 100, spoof, 'body'),
        head('GET', 100, spoof).replace('/flood', '/slow'),
        // Host last: it moves up, the forwarded headers after it.
        `GET /flood HTTP/1.1\r\n${Array.from({ length: 98 }, (_, i) => `h${i}: x\r\n`).join('')}Host: a.test\r\n\r\n`,
      ];
      for (const attempt of attempts) {
        const res = await exchange(port, attempt);
        assert.equal(res.status, 200, res.text);
        const request = backend.seen.at(-1)!;
        const seen = capped ? firstTen(request.rawHeaders) : request.headers;
        assert.equal(seen['x-forwarded-for'], '127.0.0.1', `capped ${capped}: ${attempt.slice(0, 60)}`);
        assert.equal(seen['x-real-ip'], '127.0.0.1');
        assert.equal(seen['host'], 'a.test');
      }
      assert.ok(p.fastPathRequests() >= 2, 'the fast path served some of them');
    }
  });

  it('receives Host, then the forwarded headers, then the client’s, on the fast path and through undici', async () => {
    const server = await rawServer();
    const p = planeFor(cleanups, { nodeName: 'node-1' });
    const port = await applied(p, snapshot(server.url));
    const client = ['Accept: */*', 'X-Forwarded-For: 6.6.6.6', 'X-A: 1'];
    const requests = [
      // Plain head, Host first (fast path, bytes as received).
      `GET /flood HTTP/1.1\r\nHost: a.test\r\nAccept: */*\r\nX-A: 1\r\n\r\n`,
      // Host late and a stripped X-Forwarded-For (fast path, rewritten).
      `GET /flood HTTP/1.1\r\n${client.join('\r\n')}\r\nHost: a.test\r\n\r\n`,
      // A router with a middleware: node:http and undici.
      `GET /slow HTTP/1.1\r\n${client.join('\r\n')}\r\nHost: a.test\r\n\r\n`,
      `POST /flood HTTP/1.1\r\nAccept: */*\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi`,
    ];
    for (const request of requests) assert.equal((await exchange(port, request)).status, 200);
    assert.equal(p.fastPathRequests(), 2);
    assert.equal(server.heads.length, 4);
    for (const recorded of server.heads) {
      // undici adds its own `connection: keep-alive` after Host.
      const got = names(recorded).filter((n) => n !== 'connection');
      assert.deepEqual(got.slice(0, FORWARDED_ORDER.length), FORWARDED_ORDER, recorded);
      assert.ok(got.includes('accept'), recorded);
      assert.equal(recorded.match(/x-forwarded-for/gi)?.length, 1, recorded);
      assert.match(recorded, /\r\nx-forwarded-for: 127\.0\.0\.1\r\n/);
    }
  });
});
