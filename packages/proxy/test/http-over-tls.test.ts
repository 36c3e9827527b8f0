// HTTP/1.1 and HTTP/2 over the TLS terminator: same routing, middlewares and forwarder as plain HTTP; TLS routers for TLS requests only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants as h2, connect as h2connect } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { EntryPoint, HttpRouter, ResolvedCertificate } from '@berth/config';
import { CIPHER_PROFILES } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { type ClientOptions, WebSocket, WebSocketServer } from 'ws';
import { ALWAYS_AVAILABLE } from '../src/health/server-health.js';
import { entryPointSettings } from '../src/http/entry-point-settings.js';
import { createForwarder } from '../src/http/forwarder.js';
import { HttpEntryPoint } from '../src/http/http-entry-point.js';
import { middlewareFactories } from '../src/http/middlewares/index.js';
import { PoolCache } from '../src/http/pool-cache.js';
import { TransportTable } from '../src/http/servers-transport.js';
import { buildRuntime } from '../src/runtime/build-runtime.js';
import { TlsState } from '../src/tls/tls-state.js';
import { EdgeTlsTerminator } from '../src/tls/tls-terminator.js';
import { type Backend, closedPort } from './support/backend.js';
import { call } from './support/client.js';
import { waitFor } from './support/log-capture.js';
import { backendFor, Cleanups, silent } from './support/plane.js';
import { service, body as snapshotBody } from './support/snapshot.js';
import { startTestFront } from './support/tls-front.js';
import { makeTestCa, type TestCa } from './support/tls-pki.js';

const run = promisify(execFile);
const cleanups = new Cleanups();
after(() => cleanups.run());

/** The backend answers with what it saw, as JSON. */
function echo(req: IncomingMessage, res: ServerResponse): void {
  let received = 0;
  req.on('data', (c: Buffer) => {
    received += c.length;
  });
  req.on('end', () => {
    const text = JSON.stringify({
      url: req.url,
      headers: req.headers,
      rawNames: req.rawHeaders.filter((_, i) => i % 2 === 0),
      received,
    });
    res.writeHead(200, {
      'content-type': 'application/json',
      'keep-alive': 'timeout=5',
      connection: 'keep-alive',
    });
    res.end(text);
  });
}

interface Edge {
  tlsPort: number;
  plainPort: number;
  entry: HttpEntryPoint;
}

/** One entry point `websecure`, served plain on one port and through the terminator on another. */
async function edge(
  b: SnapshotBody,
  cert: ResolvedCertificate,
  fallback: ResolvedCertificate,
): Promise<Edge> {
  b.tls = {
    certificates: [cert],
    defaultCertificate: fallback,
    options: {
      default: CIPHER_PROFILES.strict,
      strict: CIPHER_PROFILES.strict,
      compatible: CIPHER_PROFILES.compatible,
    },
    sessionTicketKeys: [Buffer.alloc(48, 1).toString('base64')],
  };
  const pools = new PoolCache({ graceMs: 100 });
  cleanups.add(async () => pools.destroy());
  const transports = { transports: new TransportTable(b.http.serversTransports, b.http.services) };
  const forward = createForwarder({ pools, transports, logger: silent });
  const built = buildRuntime(b, {
    forward,
    health: ALWAYS_AVAILABLE,
    middlewares: middlewareFactories,
    logger: silent,
  });
  if (!built.ok) assert.fail(built.error);
  const entry = new HttpEntryPoint({
    name: 'websecure',
    runtimes: { current: built.runtime },
    forward,
    transports,
    logger: silent,
    nodeName: 'edge-1',
    settings: entryPointSettings(b.entryPoints['websecure']),
  });
  await new Promise<void>((resolve) => entry.server.listen(0, '127.0.0.1', resolve));
  const terminator = new EdgeTlsTerminator({
    entryPoint: 'websecure',
    logger: silent,
    state: TlsState.fromBody(b, silent),
  });
  const front = await startTestFront({ terminator, handoff: entry });
  cleanups.add(async () => {
    entry.closeHttp2(true);
    await front.close();
    entry.server.closeAllConnections();
    await new Promise<void>((resolve) => entry.server.close(() => resolve()));
  });
  return { tlsPort: front.port, plainPort: (entry.server.address() as AddressInfo).port, entry };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function h1s(
  port: number,
  path: string,
  servername = 'app.test',
): Promise<Answer & { alpn: string | false }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        servername,
        headers: { host: servername },
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            alpn: (res.socket as unknown as { alpnProtocol: string | false }).alpnProtocol,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function h2get(
  port: number,
  path: string,
  opts: { method?: string; body?: string; authority?: string; headers?: Record<string, string> } = {},
): Promise<Answer & { rstCode?: number }> {
  return new Promise((resolve, reject) => {
    const authority = opts.authority ?? 'app.test';
    const session = h2connect(`https://127.0.0.1:${port}`, {
      servername: authority,
      rejectUnauthorized: false,
    });
    session.on('error', reject);
    const stream = session.request({
      ':path': path,
      ':method': opts.method ?? 'GET',
      ':authority': `${authority}:${port}`,
      ...opts.headers,
    });
    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    let text = '';
    stream.on('response', (h) => {
      status = Number(h[':status']);
      headers = h as typeof headers;
    });
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (text += c));
    stream.on('error', () => {});
    stream.on('close', () => {
      session.close();
      resolve({ status, headers, text, ...(stream.rstCode ? { rstCode: stream.rstCode } : {}) });
    });
    if (opts.body !== undefined) stream.end(opts.body);
    else stream.end();
  });
}

describe('HTTP over TLS', () => {
  let ca: TestCa;
  let cert: ResolvedCertificate;
  let fallback: ResolvedCertificate;
  let e: Edge;
  const slowClosed: string[] = [];
  let shadow: Backend;

  before(async () => {
    ca = makeTestCa();
    cert = ca.leaf(['app.test', 'cut.test', 'compat.test']);
    fallback = ca.leaf(['berth-default']);
    const app = await backendFor(cleanups, 'app', echo);
    const plain = await backendFor(cleanups, 'plain', echo);
    const cut = await backendFor(cleanups, 'cut', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.destroy(), 50);
    });
    const trailing = await backendFor(cleanups, 'trailing', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end();
    });
    const slow = await backendFor(cleanups, 'slow', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first');
      res.on('close', () => slowClosed.push(req.url ?? ''));
    });
    const chat = await backendFor(cleanups, 'chat');
    const wss = new WebSocketServer({ server: chat.server });
    wss.on('connection', (ws, req) =>
      ws.on('message', (data) => ws.send(`${req.headers['x-forwarded-proto']}:${String(data)}`)),
    );
    cleanups.add(
      () =>
        new Promise((resolve) => {
          for (const client of wss.clients) client.terminate();
          wss.close(() => resolve());
        }),
    );
    shadow = await backendFor(cleanups, 'shadow', echo);
    const routers: Record<string, HttpRouter> = {
      compat: { rule: 'Host(`compat.test`)', service: 'app', tls: { options: 'compatible' } },
      mirror: { rule: 'Host(`app.test`) && Path(`/mirror`)', service: 'mirrored', tls: {} },
      chat: { rule: 'Host(`app.test`) && Path(`/chat`)', service: 'chat', tls: {} },
      trailing: { rule: 'Host(`app.test`) && Path(`/trailers`)', service: 'trailing', tls: {} },
      slow: { rule: 'Host(`app.test`) && Path(`/slow`)', service: 'slow', tls: {} },
      dead: { rule: 'Host(`app.test`) && Path(`/dead`)', service: 'dead', tls: {} },
      secure: { rule: 'Host(`app.test`)', service: 'app', tls: {}, middlewares: ['mark', 'toHttps'] },
      plain: { rule: 'Host(`app.test`)', service: 'plain', middlewares: ['mark'] },
      cut: { rule: 'Host(`cut.test`)', service: 'cut', tls: {} },
    };
    const b = snapshotBody(
      routers,
      {
        app: service(app.url),
        plain: service(plain.url),
        cut: service(cut.url),
        trailing: service(trailing.url),
        chat: service(chat.url),
        shadow: service(shadow.url),
        mirrored: { mirroring: { service: 'app', mirrors: [{ name: 'shadow', percent: 100 }] } },
        slow: service(slow.url),
        dead: service(`http://127.0.0.1:${await closedPort()}`),
      },
      { websecure: ':443' },
    );
    b.http.middlewares = {
      mark: { headers: { customResponseHeaders: { 'x-mark': 'yes' } } },
      toHttps: { redirectScheme: { scheme: 'https', permanent: true } },
    };
    e = await edge(b, cert, fallback);
  });
  after(() => ca.close());

  it('serves HTTP/1.1 over TLS through the TLS router, its middlewares and X-Forwarded-Proto https', async () => {
    const res = await h1s(e.tlsPort, '/a?b=1');
    assert.equal(res.status, 200);
    // No ALPN offered: HTTP/1.1.
    assert.equal(res.alpn, false);
    assert.equal(res.headers['x-mark'], 'yes');
    const seen = JSON.parse(res.text) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/a?b=1');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-port'], '443');
    assert.equal(seen.headers.host, 'app.test');
  });

  it('sends plain requests to the plain router only', async () => {
    const res = await call(e.plainPort, { path: '/a', host: 'app.test' });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    // The TLS-only router (cut.test) is not reachable in plain HTTP.
    assert.equal((await call(e.plainPort, { host: 'cut.test' })).status, 404);
  });

  it('serves HTTP/2 with :authority as the host, the same routing and middlewares, no connection headers', async () => {
    const res = await h2get(e.tlsPort, '/h2?x=y');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-mark'], 'yes');
    assert.equal(res.headers.connection, undefined);
    assert.equal(res.headers['keep-alive'], undefined);
    const seen = JSON.parse(res.text) as { url: string; headers: Record<string, string>; rawNames: string[] };
    assert.equal(seen.url, '/h2?x=y');
    assert.equal(seen.headers.host, `app.test:${e.tlsPort}`);
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-host'], `app.test:${e.tlsPort}`);
    assert.ok(!seen.rawNames.some((n) => n.startsWith(':')), `no pseudo-header upstream: ${seen.rawNames}`);
  });

  it('answers its own 404 over HTTP/2 without connection-specific headers, and forwards request bodies', async () => {
    const missing = await h2get(e.tlsPort, '/', { authority: 'nobody.test' });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.connection, undefined);
    // No content-length, as HTTP/2 allows: the body still goes upstream (chunked).
    const posted = await h2get(e.tlsPort, '/upload', { method: 'POST', body: 'x'.repeat(100_000) });
    assert.equal(posted.status, 200);
    const seen = JSON.parse(posted.text) as { received: number; headers: Record<string, string> };
    assert.equal(seen.received, 100_000);
    assert.equal(seen.headers['content-length'], undefined);
  });

  it('resets the HTTP/2 stream when the upstream cuts a response short', async () => {
    const res = await h2get(e.tlsPort, '/', { authority: 'cut.test' });
    assert.equal(res.status, 200);
    assert.equal(res.rstCode, h2.NGHTTP2_INTERNAL_ERROR);
    // The session and the node are fine: the next request on a new stream works.
    assert.equal((await h2get(e.tlsPort, '/again')).status, 200);
  });

  it('passes the upstream trailers on to an HTTP/2 client', async () => {
    const session = h2connect(`https://127.0.0.1:${e.tlsPort}`, {
      servername: 'app.test',
      rejectUnauthorized: false,
    });
    cleanups.add(async () => session.close());
    const stream = session.request({ ':path': '/trailers', ':authority': 'app.test' });
    const trailers = new Promise<Record<string, unknown>>((resolve) =>
      stream.on('trailers', (t) => resolve(t)),
    );
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (text += c));
    stream.end();
    assert.equal((await trailers)['x-checksum'], 'abc123');
    await new Promise((resolve) => stream.on('close', resolve));
    assert.equal(text, 'body');
    session.close();
  });

  it('aborts the upstream request when the HTTP/2 client resets its stream', async () => {
    const session = h2connect(`https://127.0.0.1:${e.tlsPort}`, {
      servername: 'app.test',
      rejectUnauthorized: false,
    });
    cleanups.add(async () => session.close());
    const stream = session.request({ ':path': '/slow', ':authority': 'app.test' });
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('data', resolve));
    stream.close(h2.NGHTTP2_CANCEL);
    await waitFor(() => slowClosed.includes('/slow'), 'the upstream request to be aborted');
    // The session stays usable for other streams.
    const next = session.request({ ':path': '/after-reset', ':authority': 'app.test' });
    const status = await new Promise<number>((resolve) =>
      next.on('response', (h) => resolve(Number(h[':status']))),
    );
    next.resume();
    next.end();
    assert.equal(status, 200);
    session.close();
  });

  it('answers 502 over HTTP/2 while the upload is still running, without a connection header', async () => {
    const session = h2connect(`https://127.0.0.1:${e.tlsPort}`, {
      servername: 'app.test',
      rejectUnauthorized: false,
    });
    cleanups.add(async () => session.close());
    const stream = session.request({
      ':path': '/dead',
      ':method': 'POST',
      ':authority': 'app.test',
      'content-length': '100000',
    });
    stream.on('error', () => {});
    stream.write('x'.repeat(1000));
    const headers = await new Promise<Record<string, unknown>>((resolve) => stream.on('response', resolve));
    assert.equal(headers[':status'], 502);
    assert.equal(headers['connection'], undefined);
    stream.close();
    session.close();
  });

  it('takes the client address from the front door, for plain sockets with bytes put back too', async () => {
    const front = createServer((socket) => {
      socket.once('data', (first: Buffer) => {
        socket.pause();
        socket.unshift(first);
        e.entry.serve(socket, {
          clientIp: '203.0.113.9',
          clientPort: 1234,
          localIp: '127.0.0.1',
          localPort: 80,
          viaProxyProtocol: true,
        });
      });
    });
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    cleanups.add(() => new Promise((resolve) => front.close(() => resolve())));
    const res = await call((front.address() as AddressInfo).port, { path: '/via', host: 'app.test' });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.9');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
  });

  it('closes HTTP/2 sessions gracefully when draining', async () => {
    const session = h2connect(`https://127.0.0.1:${e.tlsPort}`, {
      servername: 'app.test',
      rejectUnauthorized: false,
    });
    const goaway = new Promise((resolve) => session.once('goaway', resolve));
    const first = session.request({ ':path': '/one', ':authority': 'app.test' });
    first.resume();
    await new Promise((resolve) => first.on('response', resolve));
    assert.ok(e.entry.http2Sessions >= 1);
    e.entry.closeHttp2();
    await goaway;
    await new Promise((resolve) => session.once('close', resolve));
  });

  it('resets an HTTP/2 stream whose request is not complete within readTimeout, and keeps the session', async () => {
    const before = e.entry.settings;
    e.entry.configure({ ...before, readTimeoutMs: 300 });
    try {
      const session = h2connect(`https://127.0.0.1:${e.tlsPort}`, {
        servername: 'app.test',
        rejectUnauthorized: false,
      });
      const slow = session.request({ ':path': '/slow', ':method': 'POST', ':authority': 'app.test' });
      slow.write('a bit of the body, and then nothing');
      slow.on('response', () => {});
      slow.resume();
      const code = await new Promise<number>((resolve) =>
        slow.on('close', () => resolve(slow.rstCode ?? -1)),
      );
      assert.ok(code !== 0, `the stream was reset (code ${code})`);
      const next = session.request({ ':path': '/after', ':authority': 'app.test' });
      const status = await new Promise<number>((resolve) =>
        next.on('response', (h) => resolve(Number(h[':status']))),
      );
      next.resume();
      assert.equal(status, 200, 'the session still serves');
      session.close();
    } finally {
      e.entry.configure(before);
    }
  });

  it('limits the streams of one HTTP/2 connection (250 by default, as Traefik)', async () => {
    const session = h2connect(`https://127.0.0.1:${e.tlsPort}`, {
      servername: 'app.test',
      rejectUnauthorized: false,
    });
    await new Promise((resolve) => session.once('remoteSettings', resolve));
    assert.equal(session.remoteSettings.maxConcurrentStreams, 250);
    session.close();
  });

  it('mirrors an HTTP/2 request, body without content-length included', async () => {
    const res = await h2get(e.tlsPort, '/mirror', { method: 'POST', body: 'y'.repeat(5000) });
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.text) as { received: number }).received, 5000);
    await waitFor(() => shadow.seen.some((r) => r.url === '/mirror'), 'the mirror to get the request');
    const copy = shadow.seen.find((r) => r.url === '/mirror');
    assert.ok(!copy?.rawHeaders.some((n, i) => i % 2 === 0 && n.startsWith(':')));
  });

  it('answers 421 when the Host has other TLS options than the SNI the connection was opened for', async () => {
    assert.equal((await h1s(e.tlsPort, '/', 'compat.test')).status, 200);
    const fronted = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: e.tlsPort,
          servername: 'app.test',
          headers: { host: 'compat.test' },
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(fronted, 421);
    // Over HTTP/2 alike (:authority against the SNI).
    const session = h2connect(`https://127.0.0.1:${e.tlsPort}`, {
      servername: 'app.test',
      rejectUnauthorized: false,
    });
    cleanups.add(async () => session.close());
    const stream = session.request({ ':path': '/', ':authority': 'compat.test' });
    const status = await new Promise<number>((resolve) =>
      stream.on('response', (h) => resolve(Number(h[':status']))),
    );
    stream.resume();
    assert.equal(status, 421);
    session.close();
  });

  it('tunnels a WebSocket over TLS (HTTP/1.1 upgrade)', async () => {
    // ws hands its options on to tls.connect, servername included.
    const options = { headers: { host: 'app.test' }, servername: 'app.test', rejectUnauthorized: false };
    const ws = new WebSocket(`wss://127.0.0.1:${e.tlsPort}/chat`, options as ClientOptions);
    cleanups.add(async () => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const answer = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('hello');
    assert.equal(await answer, 'https:hello');
    ws.close();
  });

  it('serves curl --http2 with the same answer as HTTP/1.1', async () => {
    const resolve = `app.test:${e.tlsPort}:127.0.0.1`;
    const url = `https://app.test:${e.tlsPort}/curl`;
    const out = await run('curl', ['-sS', '-k', '--http2', '--resolve', resolve, '-D', '-', url]);
    assert.match(out.stdout, /^HTTP\/2 200/);
    assert.match(out.stdout, /x-mark: yes/i);
    assert.match(out.stdout, /"x-forwarded-proto":"https"/);
    const h1 = await run('curl', ['-sS', '-k', '--http1.1', '--resolve', resolve, '-D', '-', url]);
    assert.match(h1.stdout, /^HTTP\/1.1 200/);
    assert.match(h1.stdout, /x-mark: yes/i);
  });
});

describe('an entry point with http.tls', () => {
  it('serves its routers without tls on TLS connections', async () => {
    const ca = makeTestCa();
    cleanups.add(async () => ca.close());
    const app = await backendFor(cleanups, 'app', echo);
    const b = snapshotBody(
      { any: { rule: 'Host(`app.test`)', service: 'app' } },
      { app: service(app.url) },
      { websecure: ':443' },
    );
    (b.entryPoints['websecure'] as EntryPoint).http = { tls: {} };
    const edgeTls = await edge(b, ca.leaf(['app.test']), ca.leaf(['berth-default']));
    assert.equal((await h1s(edgeTls.tlsPort, '/')).status, 200);
    assert.equal((await h2get(edgeTls.tlsPort, '/')).status, 200);
    assert.equal((await call(edgeTls.plainPort, { host: 'app.test' })).status, 404);
  });
});

describe('HTTP/2 header count', () => {
  /** `count` header fields besides the pseudo-headers (`:authority` counts as Host). */
  function fields(count: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (let i = 0; i < count - 1; i++) out[`h${i}`] = 'x';
    return out;
  }

  it('answers 431 on the stream for more than http.maxHeaderCount fields, and forwards none of them', async () => {
    const ca = makeTestCa();
    cleanups.add(async () => ca.close());
    let seen = 0;
    const app = await backendFor(cleanups, 'app', (req, res) => {
      seen++;
      echo(req, res);
    });
    const b = snapshotBody(
      { any: { rule: 'Host(`app.test`)', service: 'app', tls: {} } },
      { app: service(app.url) },
      {
        websecure: ':443',
      },
    );
    const edgeTls = await edge(b, ca.leaf(['app.test']), ca.leaf(['berth-default']));
    const flood = await h2get(edgeTls.tlsPort, '/', { headers: fields(1_000) });
    assert.equal(flood.rstCode, undefined, 'an answer, not ENHANCE_YOUR_CALM');
    assert.equal(flood.status, 431);
    assert.equal(flood.text, 'Request Header Fields Too Large\n');
    assert.equal((await h2get(edgeTls.tlsPort, '/', { headers: fields(101) })).status, 431);
    assert.equal(seen, 0);
    const ok = await h2get(edgeTls.tlsPort, '/', {
      headers: { ...fields(99), 'x-forwarded-for': '6.6.6.6' },
    });
    assert.equal(ok.status, 200);
    const upstream = JSON.parse(ok.text) as { headers: Record<string, string>; rawNames: string[] };
    assert.equal(upstream.headers['x-forwarded-for'], '127.0.0.1');
    // HTTP/2 to HTTP/1.1: Host, then the forwarded headers (undici adds its `connection`), then the client's.
    assert.deepEqual(upstream.rawNames.filter((n) => n !== 'connection').slice(0, 7), [
      'host',
      'x-forwarded-for',
      'x-forwarded-proto',
      'x-forwarded-host',
      'x-forwarded-port',
      'x-forwarded-server',
      'x-real-ip',
    ]);
  });

  it('honours a configured limit', async () => {
    const ca = makeTestCa();
    cleanups.add(async () => ca.close());
    const app = await backendFor(cleanups, 'app', echo);
    const b = snapshotBody(
      { any: { rule: 'Host(`app.test`)', service: 'app', tls: {} } },
      { app: service(app.url) },
      {
        websecure: ':443',
      },
    );
    (b.entryPoints['websecure'] as EntryPoint).http = { maxHeaderCount: 300 };
    const edgeTls = await edge(b, ca.leaf(['app.test']), ca.leaf(['berth-default']));
    assert.equal((await h2get(edgeTls.tlsPort, '/', { headers: fields(300) })).status, 200);
    assert.equal((await h2get(edgeTls.tlsPort, '/', { headers: fields(301) })).status, 431);
  });
});
