// compress: negotiation, size and type rules, streaming with flushes; checked with curl and zlib.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { HttpMiddleware } from '@berth/config';
import { MiddlewareConfigError } from '../src/http/context.js';
import { negotiateEncoding, parseAcceptEncoding } from '../src/http/middlewares/accept-encoding.js';
import { compress } from '../src/http/middlewares/compress.js';
import { SUPPORTED_ENCODINGS } from '../src/http/middlewares/compress-encoders.js';
import { compressibleType } from '../src/http/middlewares/content-type-filter.js';
import type { Backend } from './support/backend.js';
import { startBackend } from './support/backend.js';
import type { Harness } from './support/mw-b-harness.js';
import { buildContext, serve, standInForward } from './support/mw-b-harness.js';

const run = promisify(execFile);
const TEXT = Buffer.from('<p>Berth compresses text that repeats. </p>\n'.repeat(100));
const LARGE = Buffer.from(
  Array.from({ length: 8 * 16_384 }, (_, i) =>
    `{"n":${i},"v":"${(i * 2654435761) % 1000003}"}`.padEnd(64, ' '),
  ).join(''),
);
let endlessClosed = false;
const cleanups: (() => Promise<void>)[] = [];
let releaseStream: (() => void) | undefined;
after(async () => {
  releaseStream?.();
  await Promise.all(cleanups.map((c) => c()));
});

function send(res: ServerResponse, type: string, body: Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, ...extra });
  res.end(body);
}

/** Each path answers one kind of response the rules must tell apart. */
function upstream(req: IncomingMessage, res: ServerResponse): void {
  req.resume();
  switch (req.url) {
    case '/text':
      send(res, 'text/html; charset=utf-8', TEXT);
      return;
    case '/small':
      send(res, 'text/plain', TEXT.subarray(0, 100));
      return;
    case '/png':
      send(res, 'image/png', TEXT);
      return;
    case '/svg':
      send(res, 'image/svg+xml', TEXT);
      return;
    case '/json':
      send(res, 'application/json', TEXT);
      return;
    case '/etag':
      send(res, 'text/plain', TEXT, { etag: '"v1"' });
      return;
    case '/encoded':
      send(res, 'text/plain', zlib.gzipSync(TEXT), { 'content-encoding': 'gzip' });
      return;
    case '/untyped':
      res.writeHead(200, { 'content-length': TEXT.length });
      res.end(TEXT);
      return;
    case '/sse':
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(TEXT);
      return;
    case '/range':
      res.writeHead(206, {
        'content-type': 'text/plain',
        'content-range': `bytes 0-${TEXT.length - 1}/${TEXT.length * 2}`,
        'content-length': TEXT.length,
      });
      res.end(TEXT);
      return;
    case '/chunked-big':
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < TEXT.length; i += 300) res.write(TEXT.subarray(i, i + 300));
      res.end();
      return;
    case '/chunked-small':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('tiny ');
      res.end('body');
      return;
    case '/large': {
      // 8 MiB in 64 KiB writes, honouring backpressure.
      res.writeHead(200, { 'content-type': 'application/json' });
      let sent = 0;
      const pump = (): void => {
        while (sent < LARGE.length) {
          const chunk = LARGE.subarray(sent, sent + 65_536);
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    case '/endless': {
      // Writes until the proxy stops reading: proves a client leaving tears the upstream down too.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write(TEXT), 5);
      res.on('close', () => {
        clearInterval(timer);
        endlessClosed = true;
      });
      return;
    }
    case '/stream':
      // Half the body now, the rest only when the test has seen the first half arrive.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(TEXT.subarray(0, 2000));
      releaseStream = () => res.end(TEXT.subarray(2000));
      return;
    default:
      res.writeHead(404, { 'content-length': 0 });
      res.end();
  }
}

let backend: Backend;
const proxies = new Map<string, Harness>();
before(async () => {
  backend = await startBackend('compress-upstream', upstream);
  cleanups.push(() => backend.close());
});

async function proxy(config: NonNullable<HttpMiddleware['compress']> = {}): Promise<Harness> {
  const key = JSON.stringify(config);
  const known = proxies.get(key);
  if (known) return known;
  const h = await serve(compress(config, buildContext('gz')), standInForward(backend.url));
  cleanups.push(() => h.close());
  proxies.set(key, h);
  return h;
}

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A client that does not decode, so the bytes on the wire can be checked. */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function decode(raw: Raw): Buffer {
  switch (raw.headers['content-encoding']) {
    case 'gzip':
      return zlib.gunzipSync(raw.body);
    case 'br':
      return zlib.brotliDecompressSync(raw.body);
    case 'zstd': {
      const z = zlib as unknown as { zstdDecompressSync(b: Buffer): Buffer };
      return z.zstdDecompressSync(raw.body);
    }
    default:
      return raw.body;
  }
}

describe('Accept-Encoding negotiation', () => {
  const pref = ['zstd', 'br', 'gzip'];
  it('reads codings with their q-values, x-gzip as gzip', () => {
    assert.deepEqual(
      [...parseAcceptEncoding('gzip;q=0.5, BR, x-gzip;q=0.7, zstd;q=bad')],
      [
        ['gzip', 0.7],
        ['br', 1],
        ['zstd', 0],
      ],
    );
  });

  it('picks the highest q, breaking ties by the preference order', () => {
    assert.equal(negotiateEncoding('gzip;q=0.5, br;q=0.8', pref), 'br');
    assert.equal(negotiateEncoding('gzip, br', pref), 'br');
    assert.equal(negotiateEncoding('gzip, br', ['gzip', 'br']), 'gzip');
    assert.equal(negotiateEncoding('gzip, br;q=0', pref), 'gzip');
    assert.equal(negotiateEncoding('zstd, br, gzip', ['br', 'gzip']), 'br');
  });

  it('compresses for nothing the client did not ask for', () => {
    assert.equal(negotiateEncoding('identity', pref), null);
    assert.equal(negotiateEncoding('', pref), null);
    assert.equal(negotiateEncoding(undefined, pref), null);
    assert.equal(negotiateEncoding('deflate', pref), null);
  });

  it('lets `*` stand for the rest, and a configured default encoding take its place', () => {
    assert.equal(negotiateEncoding('*', pref), 'zstd');
    assert.equal(negotiateEncoding('*, zstd;q=0', pref), 'br');
    assert.equal(negotiateEncoding('*', pref, 'gzip'), 'gzip');
    assert.equal(negotiateEncoding(undefined, pref, 'gzip'), 'gzip');
  });
});

describe('content types', () => {
  it('skips already compressed media by default but compresses SVG and text', () => {
    assert.equal(compressibleType('text/html; charset=utf-8', {}), true);
    assert.equal(compressibleType('image/svg+xml', {}), true);
    assert.equal(compressibleType('image/png', {}), false);
    assert.equal(compressibleType('video/mp4', {}), false);
    assert.equal(compressibleType('application/zip', {}), false);
    assert.equal(compressibleType('application/octet-stream', {}), false);
    assert.equal(compressibleType(undefined, {}), false);
  });

  it('never touches text/event-stream, whatever the lists say', () => {
    assert.equal(compressibleType('text/event-stream', {}), false);
    assert.equal(compressibleType('text/event-stream', { included: ['text/*'] }), false);
  });

  it('follows includedContentTypes or excludedContentTypes when set', () => {
    assert.equal(compressibleType('application/json', { included: ['text/*'] }), false);
    assert.equal(compressibleType('text/css', { included: ['text/*'] }), true);
    assert.equal(compressibleType('application/json', { excluded: ['application/json'] }), false);
    assert.equal(compressibleType('image/png', { excluded: ['application/json'] }), true);
  });
});

describe('compress middleware', () => {
  it('gzips for curl --compressed, which decodes it back to the same bytes', async () => {
    const h = await proxy();
    const { stdout } = await run(
      'curl',
      ['-sS', '--compressed', '-H', 'Accept-Encoding: gzip', '-D', '-', `http://127.0.0.1:${h.port}/text`],
      { encoding: 'buffer', maxBuffer: 1 << 20 },
    );
    const split = stdout.indexOf('\r\n\r\n');
    const head = stdout.subarray(0, split).toString().toLowerCase();
    assert.match(head, /content-encoding: gzip/);
    assert.match(head, /vary: accept-encoding/);
    assert.doesNotMatch(head, /content-length/);
    assert.deepEqual(stdout.subarray(split + 4), TEXT);
  });

  it('uses br when the client prefers it, and curl decodes that too', async () => {
    const h = await proxy();
    const { stdout } = await run(
      'curl',
      [
        '-sS',
        '--compressed',
        '-H',
        'Accept-Encoding: gzip;q=0.5, br',
        '-D',
        '-',
        `http://127.0.0.1:${h.port}/text`,
      ],
      { encoding: 'buffer', maxBuffer: 1 << 20 },
    );
    const split = stdout.indexOf('\r\n\r\n');
    assert.match(stdout.subarray(0, split).toString().toLowerCase(), /content-encoding: br/);
    assert.deepEqual(stdout.subarray(split + 4), TEXT);
  });

  it('uses zstd where Node has it', async (t) => {
    if (!SUPPORTED_ENCODINGS.includes('zstd')) {
      t.skip(`Node ${process.version} has no zstd`);
      return;
    }
    const h = await proxy();
    const raw = await get(h.port, '/text', { 'accept-encoding': 'zstd, br, gzip' });
    assert.equal(raw.headers['content-encoding'], 'zstd');
    assert.deepEqual(decode(raw), TEXT);
    const { stdout } = await run('curl', ['-sS', '--compressed', `http://127.0.0.1:${h.port}/text`], {
      encoding: 'buffer',
      maxBuffer: 1 << 20,
    });
    assert.deepEqual(stdout, TEXT);
  });

  it('follows the configured preference order on a tie', async () => {
    const h = await proxy({ encodings: ['gzip', 'br'] });
    const raw = await get(h.port, '/text', { 'accept-encoding': 'br, gzip' });
    assert.equal(raw.headers['content-encoding'], 'gzip');
    assert.ok(raw.body.length < TEXT.length / 4);
    assert.deepEqual(decode(raw), TEXT);
  });

  it('leaves the response alone for a client without Accept-Encoding, but still varies on it', async () => {
    const h = await proxy();
    const raw = await get(h.port, '/text');
    assert.equal(raw.headers['content-encoding'], undefined);
    assert.equal(raw.headers['content-length'], String(TEXT.length));
    assert.equal(raw.headers.vary, 'Accept-Encoding');
    assert.deepEqual(raw.body, TEXT);
  });

  it('does not compress below minResponseBodyBytes, judged by Content-Length', async () => {
    const h = await proxy();
    const raw = await get(h.port, '/small', { 'accept-encoding': 'gzip' });
    assert.equal(raw.headers['content-encoding'], undefined);
    assert.equal(raw.headers['content-length'], '100');
  });

  it('holds back up to the minimum when the length is unknown, then decides', async () => {
    const h = await proxy();
    const small = await get(h.port, '/chunked-small', { 'accept-encoding': 'gzip' });
    assert.equal(small.headers['content-encoding'], undefined);
    assert.equal(small.headers['content-length'], '9');
    assert.equal(small.body.toString(), 'tiny body');
    const big = await get(h.port, '/chunked-big', { 'accept-encoding': 'gzip' });
    assert.equal(big.headers['content-encoding'], 'gzip');
    assert.deepEqual(decode(big), TEXT);
  });

  it('honours a lower minResponseBodyBytes', async () => {
    const h = await proxy({ minResponseBodyBytes: 10 });
    const raw = await get(h.port, '/small', { 'accept-encoding': 'gzip' });
    assert.equal(raw.headers['content-encoding'], 'gzip');
    assert.deepEqual(decode(raw), TEXT.subarray(0, 100));
  });

  it('skips images but not SVG, and respects included types', async () => {
    const h = await proxy();
    assert.equal(
      (await get(h.port, '/png', { 'accept-encoding': 'gzip' })).headers['content-encoding'],
      undefined,
    );
    const svg = await get(h.port, '/svg', { 'accept-encoding': 'gzip' });
    assert.equal(svg.headers['content-encoding'], 'gzip');
    assert.deepEqual(decode(svg), TEXT);
    const textOnly = await proxy({ includedContentTypes: ['text/*'] });
    assert.equal(
      (await get(textOnly.port, '/json', { 'accept-encoding': 'gzip' })).headers['content-encoding'],
      undefined,
    );
    assert.equal(
      (await get(textOnly.port, '/text', { 'accept-encoding': 'gzip' })).headers['content-encoding'],
      'gzip',
    );
  });

  it('leaves already encoded, untyped, event-stream, partial and HEAD responses as they are', async () => {
    const h = await proxy();
    const encoded = await get(h.port, '/encoded', { 'accept-encoding': 'br' });
    assert.equal(encoded.headers['content-encoding'], 'gzip');
    assert.deepEqual(zlib.gunzipSync(encoded.body), TEXT);
    for (const path of ['/untyped', '/sse', '/range']) {
      const raw = await get(h.port, path, { 'accept-encoding': 'gzip' });
      assert.equal(raw.headers['content-encoding'], undefined, path);
      assert.deepEqual(raw.body, TEXT, path);
    }
    const head = await get(h.port, '/text', { 'accept-encoding': 'gzip' }, 'HEAD');
    assert.equal(head.headers['content-encoding'], undefined);
    assert.equal(head.headers['content-length'], String(TEXT.length));
  });

  it('leaves gRPC calls alone, judged by the request Content-Type as Traefik does', async () => {
    const h = await proxy();
    const raw = await get(h.port, '/text', { 'accept-encoding': 'gzip', 'content-type': 'application/grpc' });
    assert.equal(raw.headers['content-encoding'], undefined);
    assert.deepEqual(raw.body, TEXT);
  });

  it('weakens a strong ETag on a compressed response', async () => {
    const h = await proxy();
    const raw = await get(h.port, '/etag', { 'accept-encoding': 'gzip' });
    assert.equal(raw.headers.etag, 'W/"v1"');
  });

  it('flushes a streaming response, so the client decodes what arrived before the upstream ends', async () => {
    const h = await proxy();
    const decoded: Buffer[] = [];
    let ended = false;
    const done = new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: h.port,
          path: '/stream',
          headers: { 'accept-encoding': 'gzip' },
          agent: false,
        },
        (res) => {
          assert.equal(res.headers['content-encoding'], 'gzip');
          const gunzip = zlib.createGunzip();
          gunzip.on('data', (c: Buffer) => decoded.push(c));
          gunzip.on('end', () => {
            ended = true;
            resolve();
          });
          gunzip.on('error', reject);
          res.pipe(gunzip);
        },
      );
      req.on('error', reject);
      req.end();
    });
    for (let i = 0; i < 400 && Buffer.concat(decoded).length < 2000; i++) await sleep(5);
    assert.equal(ended, false);
    assert.deepEqual(Buffer.concat(decoded), TEXT.subarray(0, 2000));
    releaseStream?.();
    await done;
    assert.deepEqual(Buffer.concat(decoded), TEXT);
  });

  it('streams an 8 MiB body through each encoding intact', async () => {
    const h = await proxy();
    for (const coding of SUPPORTED_ENCODINGS) {
      const raw = await get(h.port, '/large', { 'accept-encoding': coding });
      assert.equal(raw.headers['content-encoding'], coding);
      assert.ok(raw.body.length < LARGE.length / 2, `${coding} compresses`);
      const back = decode(raw);
      assert.equal(
        createHash('sha256').update(back).digest('hex'),
        createHash('sha256').update(LARGE).digest('hex'),
      );
    }
  });

  it('closes the upstream response when the client leaves mid-stream', async () => {
    const h = await proxy();
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: h.port,
          path: '/endless',
          headers: { 'accept-encoding': 'gzip' },
          agent: false,
        },
        (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on('error', () => {});
      req.on('timeout', reject);
      req.end();
    });
    for (let i = 0; i < 400 && !endlessClosed; i++) await sleep(5);
    assert.equal(endlessClosed, true);
  });

  it('refuses unknown encodings and a negative minimum', () => {
    assert.throws(() => compress({ encodings: ['deflate'] }, buildContext()), MiddlewareConfigError);
    assert.throws(() => compress({ minResponseBodyBytes: -1 }, buildContext()), MiddlewareConfigError);
    assert.throws(() => compress({ encodings: [] }, buildContext()), MiddlewareConfigError);
    assert.throws(
      () => compress({ includedContentTypes: ['text/*'], excludedContentTypes: ['image/*'] }, buildContext()),
      MiddlewareConfigError,
    );
  });
});
