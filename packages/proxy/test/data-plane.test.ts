// The data plane over real loopback sockets: routing, balancing, errors, headers, streaming, swaps.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpService } from '@berth/config';
import { pino } from 'pino';
import { DataPlane, LISTEN_FAILED } from '../src/data-plane.js';
import type { Backend, Handler } from './support/backend.js';
import { closedPort, startBackend } from './support/backend.js';
import { call } from './support/client.js';
import { body, service } from './support/snapshot.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void>)[] = [];

after(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function backend(name: string, handler?: Handler): Promise<Backend> {
  const b = await startBackend(name, handler);
  cleanups.push(() => b.close());
  return b;
}

function plane(): DataPlane {
  const p = new DataPlane({
    logger,
    entryPointOverrides: { web: '127.0.0.1:0' },
    closeDrainMs: 100,
    retireDrainMs: 1_000,
  });
  cleanups.push(() => p.close());
  return p;
}

function portOf(p: DataPlane, entryPoint = 'web'): number {
  const address = p.listeners().find((l) => l.entryPoint === entryPoint)?.address;
  assert.ok(address, `no listener for ${entryPoint}`);
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

async function applied(p: DataPlane, b: ReturnType<typeof body>): Promise<number> {
  const result = await p.apply(b);
  if (!result.ok) assert.fail(`${result.code}: ${result.error}`);
  return portOf(p);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (condition()) return;
    await sleep(5);
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('routes by Host to two backends and reports the real bound address', async () => {
  const a = await backend('A');
  const b = await backend('B');
  const p = plane();
  const result = await p.apply(
    body(
      { ra: { rule: 'Host(`a.test`)', service: 'sa' }, rb: { rule: 'Host(`b.test`)', service: 'sb' } },
      { sa: service(a.url), sb: service(b.url) },
    ),
  );
  assert.ok(result.ok);
  assert.equal(result.listeners.length, 1);
  assert.match(result.listeners[0]!.address, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(portOf(p), 0);
  assert.deepEqual(result.listeners, p.listeners());

  const port = portOf(p);
  assert.equal((await call(port, { host: 'a.test' })).body, 'A');
  assert.equal((await call(port, { host: 'B.TEST:8080' })).body, 'B');
  assert.equal(a.seen.length, 1);
  assert.equal(b.seen.length, 1);
});

test('round robin alternates between the servers of one service', async () => {
  const a = await backend('A');
  const b = await backend('B');
  const port = await applied(
    plane(),
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url, b.url) }),
  );
  const bodies: string[] = [];
  for (let i = 0; i < 6; i++) bodies.push((await call(port)).body);
  assert.deepEqual(bodies, ['A', 'B', 'A', 'B', 'A', 'B']);
  assert.equal(a.seen.length, 3);
  assert.equal(b.seen.length, 3);
});

test('404 when no router matches, 503 when the service has no usable server', async () => {
  const a = await backend('A');
  const zero: HttpService = { loadBalancer: { servers: [{ url: a.url, weight: 0 }] } };
  const port = await applied(
    plane(),
    body(
      {
        empty: { rule: 'Host(`empty.test`)', service: 'empty' },
        zero: { rule: 'Host(`zero.test`)', service: 'zero' },
      },
      { empty: service(), zero },
    ),
  );
  const missing = await call(port, { host: 'nothing.test' });
  assert.equal(missing.status, 404);
  assert.equal(missing.body, '404 page not found\n');
  assert.equal((await call(port, { host: 'empty.test' })).status, 503);
  assert.equal((await call(port, { host: 'zero.test' })).status, 503);
  assert.equal(a.seen.length, 0);
});

test('502 when the server refuses the connection, for GET and for POST with a body', async () => {
  const dead = await closedPort();
  const port = await applied(
    plane(),
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(`http://127.0.0.1:${dead}`) }),
  );
  const get = await call(port);
  assert.equal(get.status, 502);
  assert.equal(get.body, 'Bad Gateway\n');
  const post = await call(port, { method: 'POST', body: 'x'.repeat(100_000) });
  assert.equal(post.status, 502);
});

test('502 when the server resets the connection before answering', async () => {
  const rude = await backend('rude', (req) => req.socket.destroy());
  const port = await applied(
    plane(),
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(rude.url) }),
  );
  assert.equal((await call(port)).status, 502);
});

test('a 103 Early Hints answer is not taken for the response; the final one follows whole', async () => {
  const hints = await backend('hints', (_req, res) => {
    res.writeEarlyHints({ link: '</a.css>; rel=preload' }, () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' });
      res.end('hello');
    });
  });
  const port = await applied(
    plane(),
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(hints.url) }),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 3; i++) {
      const reply = await call(port, { agent });
      assert.equal(reply.status, 200);
      assert.equal(reply.body, 'hello');
      assert.equal(reply.headers['content-length'], '5');
    }
    // HEAD: the server's Content-Length comes back, with no body, and the connection stays usable.
    const head = await call(port, { agent, method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '5');
    assert.equal(head.body, '');
    assert.equal((await call(port, { agent })).body, 'hello');
  } finally {
    agent.destroy();
  }
});

test('X-Forwarded-* reach the server; Host is kept unless passHostHeader is false', async () => {
  const a = await backend('A');
  const b = await backend('B');
  const port = await applied(
    plane(),
    body(
      { ra: { rule: 'Host(`a.test`)', service: 'sa' }, rb: { rule: 'Host(`b.test`)', service: 'sb' } },
      { sa: service(a.url), sb: { loadBalancer: { servers: [{ url: b.url }], passHostHeader: false } } },
    ),
  );
  await call(port, { host: 'a.test:8080', path: '/p?q=1', headers: { 'x-forwarded-for': '203.0.113.7' } });
  const seen = a.seen[0]!;
  assert.equal(seen.url, '/p?q=1');
  assert.equal(seen.headers.host, 'a.test:8080');
  // The client is no trusted proxy: what it claimed is overwritten.
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers['x-forwarded-host'], 'a.test:8080');

  await call(port, { host: 'b.test', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil' } });
  // A request without a body must not grow one (undici would send chunked for an empty stream).
  assert.equal(seen.headers['transfer-encoding'], undefined);
  assert.equal(seen.headers['content-length'], undefined);

  const other = b.seen[0]!;
  assert.equal(other.headers.host, `127.0.0.1:${b.port}`);
  assert.equal(other.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(other.headers['x-forwarded-proto'], 'http');
  assert.equal(other.headers['x-forwarded-host'], 'b.test');
});

test('hop-by-hop headers are removed both ways; several Set-Cookie survive', async () => {
  const a = await backend('A', (req, res) => {
    req.resume();
    res.setHeader('Connection', 'keep-alive, X-Resp-Hop');
    res.setHeader('X-Resp-Hop', 'secret');
    res.setHeader('Keep-Alive', 'timeout=99');
    res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.setHeader('X-End-To-End', 'kept');
    res.end('ok');
  });
  const port = await applied(
    plane(),
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }),
  );
  const reply = await call(port, {
    method: 'POST',
    body: 'payload',
    headers: {
      connection: 'keep-alive, X-Req-Hop',
      'x-req-hop': 'secret',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      // `te: trailers` alone goes on, as in Go (forwarded-headers.test.ts).
      te: 'gzip',
      trailer: 'X-Checksum',
      upgrade: 'h2c',
      'x-end-to-end': 'kept',
    },
  });
  const seen = a.seen[0]!.headers;
  for (const name of ['x-req-hop', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']) {
    assert.equal(seen[name], undefined, `${name} reached the server`);
  }
  assert.notEqual(seen.connection, 'keep-alive, X-Req-Hop');
  assert.equal(seen['x-end-to-end'], 'kept');
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'ok');
  assert.equal(reply.headers['x-resp-hop'], undefined);
  assert.notEqual(reply.headers['keep-alive'], 'timeout=99');
  assert.deepEqual(reply.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
  assert.equal(reply.headers['x-end-to-end'], 'kept');
});

const MIB = 1024 * 1024;
const SIZE = 20 * MIB;

/** 20 MiB of random bytes, made chunk by chunk on demand, hashed as they are produced. */
function randomSource(size: number, onChunk: (chunk: Buffer) => void): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(64 * 1024, left));
      left -= chunk.length;
      onChunk(chunk);
      this.push(chunk);
    },
  });
}

test('a 20 MiB upload streams byte-exact, with backpressure from a slow server', async () => {
  let startReading: () => void = () => {};
  const reading = new Promise<void>((resolve) => {
    startReading = resolve;
  });
  const a = await backend('A', (req, res) => {
    // Hold off reading: the client must stall instead of the proxy buffering the upload.
    void reading.then(() => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        bytes += chunk.length;
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
    });
  });
  const port = await applied(
    plane(),
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }),
  );

  const sent = createHash('sha256');
  let produced = 0;
  const source = randomSource(SIZE, (chunk) => {
    sent.update(chunk);
    produced += chunk.length;
  });
  const reply = new Promise<string>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: '/upload',
        headers: { 'content-length': String(SIZE) },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => {
          text += s;
        });
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    pipeline(source, req).catch(reject);
  });
  await until(() => a.seen.length === 1, 'the upload to reach the server');
  // Socket buffers absorb some megabytes; what matters is that the client then stalls.
  await sleep(300);
  const early = produced;
  await sleep(300);
  assert.equal(produced, early, 'the client kept sending while the server was not reading');
  assert.ok(produced < SIZE, `the whole upload was taken while the server was not reading`);
  startReading();

  const received = JSON.parse(await reply) as { bytes: number; sha256: string };
  assert.equal(received.bytes, SIZE);
  assert.equal(received.sha256, sent.digest('hex'));
});

test('a 20 MiB download streams byte-exact, with backpressure from a slow client', async () => {
  let written = 0;
  let done = false;
  const expected = createHash('sha256');
  const a = await backend('A', (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE });
    const source = randomSource(SIZE, (chunk) => {
      expected.update(chunk);
    });
    source.on('data', (chunk: Buffer) => {
      written += chunk.length;
      if (!res.write(chunk)) {
        source.pause();
        res.once('drain', () => source.resume());
      }
    });
    source.on('end', () => {
      done = true;
      res.end();
    });
  });
  const port = await applied(
    plane(),
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }),
  );

  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/download', agent: false }, resolve).on('error', reject).end();
  });
  assert.equal(res.headers['content-length'], String(SIZE));
  // The client does not read for a while: once socket buffers are full the server must stall.
  await sleep(300);
  const early = written;
  await sleep(300);
  assert.equal(written, early, 'the server kept writing while the client was not reading');
  assert.equal(done, false, 'the server wrote everything while the client was not reading');

  const got = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res) {
    got.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  assert.equal(bytes, SIZE);
  assert.equal(got.digest('hex'), expected.digest('hex'));
});

test('a chunked upload of unknown length arrives whole', async () => {
  const echo = await backend('echo', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () =>
      res.end(
        JSON.stringify({
          te: req.headers['transfer-encoding'],
          cl: req.headers['content-length'],
          body: Buffer.concat(chunks).toString(),
        }),
      ),
    );
  });
  const port = await applied(
    plane(),
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(echo.url) }),
  );
  const reply = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        text += s;
      });
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.write('one,');
    setTimeout(() => req.end('two'), 20);
  });
  const seen = JSON.parse(reply) as { te?: string; cl?: string; body: string };
  assert.equal(seen.body, 'one,two');
  // Usually chunked; undici sends a length instead when the whole body is already buffered.
  assert.ok(seen.te === 'chunked' || seen.cl === '7', `framing ${JSON.stringify(seen)}`);
});

test('a client abort cancels the upstream request', async () => {
  let upstreamClosed = false;
  const a = await backend('A', (_req, res) => {
    res.writeHead(200);
    res.write('partial');
    res.on('close', () => {
      upstreamClosed = true;
    });
  });
  const port = await applied(
    plane(),
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }),
  );
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, agent: false }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => {});
    req.on('close', () => resolve());
    req.end();
    setTimeout(() => reject(new Error('no response')), 2_000).unref();
  });
  await until(() => upstreamClosed, 'the upstream request to be cancelled');
  assert.equal(a.seen.length, 1);
});

test('a new body swaps routes; a request in flight finishes on the table it started with', async () => {
  const held: ServerResponse[] = [];
  const old = await backend('old', (req, res) => {
    req.resume();
    held.push(res);
  });
  const fresh = await backend('new');
  const p = plane();
  const port = await applied(
    p,
    body({ r: { rule: 'Host(`s.test`)', service: 'old' } }, { old: service(old.url) }),
  );

  const inFlight = call(port, { host: 's.test' });
  await until(() => held.length === 1, 'the slow request to reach the old server');

  const swapped = await applied(
    p,
    body({ r: { rule: 'Host(`s.test`)', service: 'new' } }, { new: service(fresh.url) }),
  );
  assert.equal(swapped, port);
  assert.equal((await call(port, { host: 's.test' })).body, 'new');

  held[0]!.end('old');
  const reply = await inFlight;
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'old');
});

test('a bind that cannot succeed returns BERTH_PROXY_LISTEN and leaves the previous routes serving', async () => {
  const a = await backend('A');
  const b = await backend('B');
  const p = plane();
  const port = await applied(
    p,
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }),
  );
  const before = p.listeners();

  const result = await p.apply(
    body(
      { r: { rule: 'PathPrefix(`/`)', service: 's' } },
      { s: service(b.url) },
      // `api` binds fine and must be closed again when `admin` fails.
      { web: ':80', api: '127.0.0.1:0', admin: 'no-such-host.invalid:8080' },
    ),
  );
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.code, LISTEN_FAILED);
  assert.match(
    !result.ok ? result.error : '',
    /^entry point "admin": cannot listen on no-such-host\.invalid:8080: /,
  );
  assert.deepEqual(p.listeners(), before);
  assert.equal((await call(port)).body, 'A');
  assert.equal(b.seen.length, 0);
});

test('an address in use does not refuse the snapshot: the other entry points serve and it binds once released', async () => {
  const squatter = createNetServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  let squatterOpen = true;
  cleanups.push(async () => {
    if (squatterOpen) await new Promise<void>((resolve) => squatter.close(() => resolve()));
  });
  const taken = (squatter.address() as AddressInfo).port;
  const a = await backend('A');
  const changes: ReturnType<DataPlane['listeners']>[] = [];
  const p = new DataPlane({
    logger,
    entryPointOverrides: { web: '127.0.0.1:0' },
    closeDrainMs: 100,
    bindRetryMs: { initial: 20, max: 100 },
    onListenersChange: () => changes.push(p.listeners()),
  });
  cleanups.push(() => p.close());

  const result = await p.apply(
    body(
      { r: { rule: 'PathPrefix(`/`)', service: 's' } },
      { s: service(a.url) },
      { web: ':80', admin: `127.0.0.1:${taken}` },
    ),
  );
  if (!result.ok) assert.fail(result.error);
  const admin = result.listeners.find((l) => l.entryPoint === 'admin');
  assert.deepEqual(admin, {
    entryPoint: 'admin',
    address: `127.0.0.1:${taken}`,
    state: 'retrying',
    error: {
      code: LISTEN_FAILED,
      message: `entry point "admin": cannot listen on 127.0.0.1:${taken}: address already in use (EADDRINUSE)`,
    },
  });
  assert.equal(result.listeners.find((l) => l.entryPoint === 'web')?.state, 'bound');
  assert.equal((await call(portOf(p))).body, 'A', 'the entry point that bound serves');
  // Several retries while the port stays taken: still retrying, nothing reported yet.
  await sleep(150);
  assert.equal(p.listeners().find((l) => l.entryPoint === 'admin')?.state, 'retrying');
  assert.equal(changes.length, 0);

  await new Promise<void>((resolve) => squatter.close(() => resolve()));
  squatterOpen = false;
  await until(() => changes.length > 0, 'the retried bind');
  assert.deepEqual(
    changes[0]!.find((l) => l.entryPoint === 'admin'),
    { entryPoint: 'admin', address: `127.0.0.1:${taken}`, state: 'bound' },
  );
  assert.equal((await call(taken)).body, 'A', 'the retried entry point serves the snapshot');
});

test('a retrying entry point removed by the next snapshot stops retrying and never binds', async () => {
  const squatter = createNetServer();
  await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
  const taken = (squatter.address() as AddressInfo).port;
  const a = await backend('A');
  let changes = 0;
  const p = new DataPlane({
    logger,
    entryPointOverrides: { web: '127.0.0.1:0' },
    closeDrainMs: 100,
    bindRetryMs: { initial: 20, max: 20 },
    onListenersChange: () => changes++,
  });
  cleanups.push(() => p.close());
  const routes = { r: { rule: 'PathPrefix(`/`)', service: 's' } };
  const first = await p.apply(
    body(routes, { s: service(a.url) }, { web: ':80', admin: `127.0.0.1:${taken}` }),
  );
  assert.ok(first.ok);
  const second = await p.apply(body(routes, { s: service(a.url) }, { web: ':80' }));
  if (!second.ok) assert.fail(second.error);
  assert.deepEqual(
    second.listeners.map((l) => l.entryPoint),
    ['web'],
  );
  await new Promise<void>((resolve) => squatter.close(() => resolve()));
  await sleep(100);
  assert.equal(changes, 0);
  await assert.rejects(call(taken), /ECONNREFUSED/);
});

test('a keep-alive connection survives an apply that keeps its entry point', async () => {
  const a = await backend('A');
  const b = await backend('B');
  const p = plane();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(async () => agent.destroy());
  const port = await applied(
    p,
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }),
  );

  const first = await call(port, { agent });
  assert.equal(first.body, 'A');
  const again = await applied(
    p,
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(b.url) }),
  );
  assert.equal(again, port);
  const second = await call(port, { agent });
  assert.equal(second.body, 'B');
  assert.equal(second.localPort, first.localPort, 'the second request used a new connection');
});

test('entry points come and go with the snapshot; the same body twice is harmless', async () => {
  const a = await backend('A');
  const p = plane();
  const withAdmin = body(
    { r: { rule: 'PathPrefix(`/`)', service: 's' } },
    { s: service(a.url) },
    { web: ':80', admin: '127.0.0.1:0' },
  );
  await applied(p, withAdmin);
  const listeners = p.listeners();
  assert.deepEqual(
    listeners.map((l) => l.entryPoint),
    ['admin', 'web'],
  );
  await applied(p, withAdmin);
  assert.deepEqual(p.listeners(), listeners);
  const admin = portOf(p, 'admin');
  assert.equal((await call(admin)).body, 'A');

  await applied(p, body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }));
  assert.deepEqual(
    p.listeners().map((l) => l.entryPoint),
    ['web'],
  );
  await assert.rejects(call(admin), { code: 'ECONNREFUSED' });
});

test('an invalid body is refused without touching what is served', async () => {
  const a = await backend('A');
  const p = plane();
  const port = await applied(
    p,
    body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) }),
  );
  const result = await p.apply(body({ r: { rule: 'PathPrefix(`/`)', service: 'missing' } }, {}));
  assert.equal(result.ok, false);
  assert.equal(result.ok ? '' : result.code, 'BERTH_PROXY_SNAPSHOT_INVALID');
  assert.equal((await call(port)).body, 'A');
});
