// Request smuggling probes over a raw socket: each gets 400 (or 431) and never reaches the server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { framingError } from '../src/http/strict-request.js';
import type { Backend } from './support/backend.js';
import { call } from './support/client.js';
import { applied, backendFor, Cleanups, planeFor } from './support/plane.js';
import { sendRaw, statusOf } from './support/raw.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

const H = 'Host: a.test\r\n';

/** Each probe, on its own connection; bodies are written in the same packet as the head. */
const PROBES: [string, string, number][] = [
  ['CL.TE', `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`, 400],
  [
    'TE.CL',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`,
    400,
  ],
  ['TE.TE xchunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, 400],
  ['TE.TE space before colon', `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, 400],
  [
    'TE.TE chunked, identity',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
    400,
  ],
  ['TE gzip, chunked', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, 400],
  [
    'TE twice',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    400,
  ],
  ['TE on HTTP/1.0', `POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
  [
    'duplicate Content-Length',
    `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
    400,
  ],
  [
    'conflicting Content-Length',
    `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
    400,
  ],
  ['Content-Length list 5, 5', `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`, 400],
  ['Content-Length +5', `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`, 400],
  [
    'bad chunk size',
    `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    400,
  ],
  ['CR inside a header value', `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, 400],
  ['NUL inside a header value', `GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`, 400],
  ['obs-fold', `GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`, 400],
  ['space in the target', `GET /a b HTTP/1.1\r\n${H}\r\n`, 400],
  ['bare LF line endings', 'GET / HTTP/1.1\nHost: a.test\n\n', 400],
  ['two Host headers', `GET / HTTP/1.1\r\n${H}Host: b.test\r\n\r\n`, 400],
  ['no Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['an over-long header', `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`, 431],
];

describe('strict HTTP parsing at the entry point', () => {
  let backend: Backend;
  let port: number;

  before(async () => {
    backend = await backendFor(cleanups, 'A');
    port = await applied(
      planeFor(cleanups),
      body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(backend.url) }),
    );
    // A warm pool: undici may then write to the server at once, the case the checks must beat.
    assert.equal((await call(port, { host: 'a.test' })).status, 200);
  });

  for (const [name, probe, status] of PROBES) {
    it(`answers ${status} to ${name}, closes the connection, and the server sees nothing`, async () => {
      const before = backend.seen.length;
      const reply = await sendRaw(port, probe);
      assert.equal(statusOf(reply.text), status, JSON.stringify(reply.text.slice(0, 200)));
      assert.equal(reply.closed, true, 'the connection was left open');
      // Only one response: nothing smuggled behind the probe was answered.
      assert.equal(reply.text.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, reply.text);
      assert.equal(backend.seen.length, before, `${name} reached the server`);
    });
  }

  it('still serves well-formed requests, chunked (any case) and with a length', async () => {
    const reply = await sendRaw(
      port,
      `POST / HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    );
    assert.equal(statusOf(reply.text), 200);
    assert.equal((await call(port, { method: 'POST', body: 'hello', host: 'a.test' })).body, 'A');
  });
});

describe('garbage on the wire', () => {
  it('never takes the entry point down: 200 mangled requests, then a good one is served', async () => {
    const backend = await backendFor(cleanups, 'A');
    const port = await applied(
      planeFor(cleanups),
      body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(backend.url) }),
    );
    const rand = prng(7);
    const bases = [
      `POST /p?q=1 HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
      `POST /p HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
      `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
    ].map((text) => Buffer.from(text));
    const probes: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const mangled = Buffer.from(bases[i % bases.length]!);
      // Flip, drop or duplicate a few bytes anywhere in the request.
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) mangled[Math.floor(rand() * mangled.length)] = Math.floor(rand() * 256);
      probes.push(mangled.subarray(0, Math.max(1, mangled.length - Math.floor(rand() * 3))));
    }
    for (let i = 0; i < probes.length; i += 20) {
      await Promise.all(probes.slice(i, i + 20).map((p) => sendRaw(port, p, 300)));
    }
    assert.equal((await call(port, { host: 'a.test' })).body, 'A');
  });
});

/** mulberry32: a tiny seeded PRNG so a failing case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('framingError', () => {
  const base = { rawHeaders: ['Host', 'a'], httpVersionMajor: 1, httpVersionMinor: 1 };
  it('accepts chunked in any case and no Transfer-Encoding at all', () => {
    assert.equal(framingError({ ...base, headers: { 'transfer-encoding': 'chunked' } }), null);
    assert.equal(framingError({ ...base, headers: { 'transfer-encoding': 'CHUNKED' } }), null);
    assert.equal(framingError({ ...base, headers: {} }), null);
  });
  it('refuses other codings, Transfer-Encoding on HTTP/1.0 and a second Host', () => {
    assert.match(
      framingError({ ...base, headers: { 'transfer-encoding': 'gzip, chunked' } }) ?? '',
      /chunked/,
    );
    assert.match(
      framingError({ ...base, httpVersionMinor: 0, headers: { 'transfer-encoding': 'chunked' } }) ?? '',
      /HTTP\/1\.0/,
    );
    assert.match(
      framingError({ ...base, rawHeaders: ['Host', 'a', 'host', 'b'], headers: {} }) ?? '',
      /host/,
    );
  });
});
