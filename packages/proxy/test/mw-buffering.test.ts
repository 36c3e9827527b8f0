// buffering: whole request bodies read before forwarding (413 beyond the limit), capped responses (500 beyond).
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError } from '../src/http/context.js';
import { buffering } from '../src/http/middlewares/buffering.js';
import type { Backend } from './support/backend.js';
import { startBackend } from './support/backend.js';
import { call } from './support/client.js';
import type { Harness } from './support/mw-b-harness.js';
import { buildContext, serve, standInForward } from './support/mw-b-harness.js';

const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((c) => c())));

const received: { headers: IncomingMessage['headers']; body: string }[] = [];

/** Echoes what it was sent; `/big/N` and `/big-chunked/N` answer N bytes. */
function upstream(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    const big = /^\/big(-chunked)?\/(\d+)$/.exec(req.url ?? '');
    if (big) {
      const n = Number(big[2]);
      res.writeHead(200, big[1] ? { 'content-type': 'text/plain' } : { 'content-length': n });
      for (let i = 0; i < n; i += 1000) res.write('x'.repeat(Math.min(1000, n - i)));
      res.end();
      return;
    }
    received.push({ headers: req.headers, body });
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

let backend: Backend;
before(async () => {
  backend = await startBackend('buffered', upstream);
  cleanups.push(() => backend.close());
});

async function proxy(config: NonNullable<HttpMiddleware['buffering']>): Promise<Harness> {
  const h = await serve(buffering(config, buildContext('buf')), standInForward(backend.url));
  cleanups.push(() => h.close());
  return h;
}

/** Sends a raw request and reads until the server closes or `ms` pass; returns the text received. */
function raw(port: number, chunks: string[], ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => socket.destroy(), ms);
    socket.on('data', (d) => {
      text += d.toString();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('connect', () => {
      for (const c of chunks) socket.write(c);
    });
  });
}

describe('buffering middleware', () => {
  it('reads a chunked upload whole and sends it upstream with a Content-Length', async () => {
    const h = await proxy({ maxRequestBodyBytes: 1000 });
    const before = received.length;
    const text = await raw(h.port, [
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n',
      '5\r\nhello\r\n',
      '6\r\n world\r\n0\r\n\r\n',
    ]);
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /hello world$/);
    const seen = received[before];
    assert.equal(seen?.body, 'hello world');
    assert.equal(seen?.headers['content-length'], '11');
    assert.equal(seen?.headers['transfer-encoding'], undefined);
  });

  it('replays an upload larger than memRequestBodyBytes from disk, byte for byte', async () => {
    const h = await proxy({ maxRequestBodyBytes: 100_000, memRequestBodyBytes: 16 });
    const before = received.length;
    const body = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const reply = await call(h.port, {
      method: 'POST',
      path: '/echo',
      body,
      headers: { 'transfer-encoding': 'chunked' },
    });
    assert.equal(reply.status, 200);
    assert.equal(received[before]?.body, body);
    assert.equal(received[before]?.headers['content-length'], '5000');
  });

  it('answers 413 to a declared Content-Length over the limit, and nothing reaches the backend', async () => {
    const h = await proxy({ maxRequestBodyBytes: 10 });
    const before = received.length;
    const reply = await call(h.port, { method: 'POST', path: '/echo', body: 'x'.repeat(11) });
    assert.equal(reply.status, 413);
    assert.equal(reply.body, 'Request Entity Too Large\n');
    assert.equal(reply.headers.connection, 'close');
    assert.equal(received.length, before);
    assert.equal(h.contexts.at(-1)?.log.error, 'request_too_large');
  });

  it('answers 413 when a chunked upload grows past the limit, before anything reaches the backend', async () => {
    const h = await proxy({ maxRequestBodyBytes: 10 });
    const before = received.length;
    const text = await raw(h.port, [
      'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
      '8\r\n12345678\r\n',
      '8\r\n12345678\r\n',
    ]);
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.equal(received.length, before);
  });

  it('passes a body exactly at the limit, and bodyless requests untouched', async () => {
    const h = await proxy({ maxRequestBodyBytes: 10 });
    const ok = await call(h.port, { method: 'POST', path: '/echo', body: '0123456789' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, '0123456789');
    const get = await call(h.port, { path: '/echo' });
    assert.equal(get.status, 200);
    assert.equal(h.contexts.at(-1)?.requestBody, undefined);
  });

  it('answers 500 when the response declares more than maxResponseBodyBytes, as Traefik documents', async () => {
    const h = await proxy({ maxResponseBodyBytes: 5000 });
    const reply = await call(h.port, { path: '/big/5001' });
    assert.equal(reply.status, 500);
    assert.equal(reply.body, 'Internal Server Error\n');
    assert.equal(h.contexts.at(-1)?.log.error, 'response_too_large');
  });

  it('answers 500 when a response of unknown length grows past the limit', async () => {
    const h = await proxy({ maxResponseBodyBytes: 5000 });
    const reply = await call(h.port, { path: '/big-chunked/20000' });
    assert.equal(reply.status, 500);
  });

  it('delivers a response within the limit whole, with its length', async () => {
    const h = await proxy({ maxResponseBodyBytes: 5000 });
    const reply = await call(h.port, { path: '/big-chunked/5000' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-length'], '5000');
    assert.equal(reply.body, 'x'.repeat(5000));
  });

  it('refuses negative or fractional limits', () => {
    assert.throws(() => buffering({ maxRequestBodyBytes: -1 }, buildContext()), MiddlewareConfigError);
    assert.throws(() => buffering({ memResponseBodyBytes: 1.5 }, buildContext()), MiddlewareConfigError);
  });
});
