// The real middleware registry inside a DataPlane: what a snapshot's middlewares do to real requests and backends.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { HttpMiddleware } from '@berth/config';
import { call } from './support/client.js';
import { applied, backendFor, Cleanups, planeFor, until } from './support/plane.js';
import { body, service } from './support/snapshot.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

function withMiddlewares(url: string, middlewares: Record<string, HttpMiddleware>, use: string[]) {
  const b = body(
    { app: { rule: 'Host(`app.test`)', service: 'app', middlewares: use } },
    { app: service(url) },
  );
  b.http.middlewares = middlewares;
  return b;
}

function post(port: number, payload: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/upload',
        headers: { host: 'app.test' },
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    // Chunked: the size is only known by reading it.
    req.write(payload.subarray(0, 10));
    req.end(payload.subarray(10));
  });
}

describe('middlewares in the data plane', () => {
  it('buffers a request body within the limit, replays it upstream, and refuses a larger one with 413', async () => {
    const seen: string[] = [];
    const backend = await backendFor(cleanups, 'a', (req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        text += c;
      });
      req.on('end', () => {
        seen.push(`${req.headers['content-length']}:${text}`);
        res.end('ok');
      });
    });
    const plane = planeFor(cleanups);
    const port = await applied(
      plane,
      withMiddlewares(backend.url, { cap: { buffering: { maxRequestBodyBytes: 64 } } }, ['cap']),
    );
    const small = await post(port, Buffer.from('x'.repeat(40)));
    assert.equal(small.status, 200);
    assert.deepEqual(seen, [`40:${'x'.repeat(40)}`], 'replayed with a Content-Length');
    const big = await post(port, Buffer.from('y'.repeat(100)));
    assert.equal(big.status, 413);
    assert.equal(seen.length, 1, 'the refused body never reached the backend');
  });

  it('compresses through the stream path and leaves uncompressed routes on the direct path', async () => {
    const text = 'berth '.repeat(2000);
    const backend = await backendFor(cleanups, 'a', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(text);
    });
    const plane = planeFor(cleanups);
    const b = withMiddlewares(backend.url, { gz: { compress: {} } }, ['gz']);
    b.http.routers['plain'] = { rule: 'Host(`plain.test`)', service: 'app' };
    const port = await applied(plane, b);
    const zipped = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/',
          headers: { host: 'app.test', 'accept-encoding': 'gzip' },
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              encoding: res.headers['content-encoding'] as string | undefined,
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(zipped.encoding, 'gzip');
    assert.equal(gunzipSync(zipped.body).toString(), text);
    const plain = await call(port, { host: 'plain.test', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, text);
  });

  it('streams a large body byte-exact through a response middleware, with backpressure from a slow client', async () => {
    const payload = randomBytes(8 * 1024 * 1024);
    const big = await backendFor(cleanups, 'big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length });
      res.end(payload);
    });
    const plane = planeFor(cleanups);
    const port = await applied(
      plane,
      withMiddlewares(big.url, { h: { headers: { customResponseHeaders: { 'x-mw': 'yes' } } } }, ['h']),
    );
    const { digest, length, header } = await new Promise<{ digest: string; length: number; header: unknown }>(
      (resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/', headers: { host: 'app.test' }, agent: false },
          (res) => {
            const hash = createHash('sha256');
            let length = 0;
            res.on('data', (chunk: Buffer) => {
              hash.update(chunk);
              length += chunk.length;
              // A slow reader: the proxy must pause the server rather than buffer 8 MiB.
              res.pause();
              setTimeout(() => res.resume(), 1);
            });
            res.on('end', () => resolve({ digest: hash.digest('hex'), length, header: res.headers['x-mw'] }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    assert.equal(header, 'yes');
    assert.equal(length, payload.length);
    assert.equal(digest, createHash('sha256').update(payload).digest('hex'));
  });

  it('on a response middleware route, a client leaving mid-body cancels the upstream response, and a server reset cuts the client', async () => {
    let upstreamClosedEarly = false;
    const slow = await backendFor(cleanups, 'slow', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000000' });
      res.write('x'.repeat(1000));
      res.on('close', () => {
        if (!res.writableFinished) upstreamClosedEarly = true;
      });
      if (req.url === '/reset') setTimeout(() => res.socket?.destroy(), 20);
    });
    const plane = planeFor(cleanups);
    const port = await applied(
      plane,
      withMiddlewares(slow.url, { h: { headers: { customResponseHeaders: { 'x-mw': 'yes' } } } }, ['h']),
    );
    // The client reads the first bytes, then goes away.
    await new Promise<void>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/', headers: { host: 'app.test' }, agent: false },
        (res) => {
          assert.equal(res.headers['x-mw'], 'yes');
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('close', () => resolve());
      req.on('error', reject);
      req.end();
    });
    await until(() => upstreamClosedEarly, 'the upstream response to be cancelled');

    // The server dies after the head: the client must not see a complete response.
    const outcome = await new Promise<string>((resolve) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/reset', headers: { host: 'app.test' }, agent: false },
        (res) => {
          let length = 0;
          res.on('data', (chunk: Buffer) => {
            length += chunk.length;
          });
          res.on('end', () => resolve(`complete ${length}`));
          res.on('aborted', () => resolve('aborted'));
          res.on('error', () => resolve('aborted'));
        },
      );
      req.on('error', () => resolve('aborted'));
      req.end();
    });
    assert.equal(outcome, 'aborted');
  });

  it('answers 502 on the direct path when the server refuses, and retries through the stream path', async () => {
    const plane = planeFor(cleanups);
    const b = withMiddlewares(
      'http://127.0.0.1:1',
      { again: { retry: { attempts: 3, initialInterval: '1ms' } } },
      ['again'],
    );
    b.http.routers['direct'] = { rule: 'Host(`direct.test`)', service: 'app' };
    const port = await applied(plane, b);
    assert.equal((await call(port, { host: 'direct.test' })).status, 502);
    assert.equal((await call(port, { host: 'app.test' })).status, 502);
  });
});
