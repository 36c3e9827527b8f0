// gRPC through a real proxy node: HTTP/2 clients to `h2c://` servers (trailers relayed), and the grpcWeb middleware.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import {
  type ClientHttp2Session,
  createServer as createH2cServer,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  connect as h2connect,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ResolvedCertificate } from '@berth/config';
import { CIPHER_PROFILES } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { applied, Cleanups, planeFor } from './support/plane.js';
import { body as snapshotBody } from './support/snapshot.js';
import { makeTestCa, type TestCa } from './support/tls-pki.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

/** One gRPC message: compressed flag 0, big-endian length, the (protobuf) bytes. */
function frame(payload: Buffer, flag = 0): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** protobuf `message { string text = 1; }`, encoded by hand (short strings only). */
function textMessage(text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

interface Seen {
  headers: IncomingHttpHeaders[];
}

/**
 * A unary gRPC server over h2c: `/echo.Echo/Say` answers the request message back with
 * grpc-status 0 in trailers; `/echo.Echo/Fail` answers NOT_FOUND (5) in trailers after no message.
 */
async function grpcServer(seen: Seen, tls?: ResolvedCertificate): Promise<{ url: string }> {
  const server: Http2Server | Http2SecureServer =
    tls === undefined ? createH2cServer() : createSecureServer({ cert: tls.certPem, key: tls.keyPem });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    seen.headers.push(headers);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const message = Buffer.concat(chunks);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers(
          headers[':path'] === '/echo.Echo/Fail'
            ? { 'grpc-status': '5', 'grpc-message': 'no such thing' }
            : { 'grpc-status': '0' },
        ),
      );
      if (headers[':path'] === '/echo.Echo/Fail') stream.end();
      else stream.end(message);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.add(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  );
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  return {
    url: `${tls === undefined ? 'h2c' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
}

function snapshot(url: string, cert: ResolvedCertificate, middlewares?: SnapshotBody['http']): SnapshotBody {
  const b = snapshotBody(
    {
      grpc: { rule: 'Host(`app.test`)', service: 'echo', tls: {} },
      // A middleware on the response: the forwarder's stream path, not the direct one.
      grpcmw: { rule: 'Host(`mw.test`)', service: 'echo', middlewares: ['hdr'], tls: {} },
      web: { rule: 'Host(`web.test`)', service: 'echo', middlewares: ['gw'] },
      webtls: { rule: 'Host(`web.test`)', service: 'echo', middlewares: ['gw'], tls: {} },
    },
    { echo: { loadBalancer: { servers: [{ url }] } } },
  );
  b.entryPoints['web'] = { address: ':443' };
  b.http = {
    ...b.http,
    middlewares: {
      gw: { grpcWeb: { allowOrigins: ['https://ui.test'] } },
      hdr: { headers: { customResponseHeaders: { 'x-seen': 'berth' } } },
    },
    ...middlewares,
  };
  b.tls = {
    certificates: [cert],
    defaultCertificate: cert,
    options: { default: CIPHER_PROFILES.strict },
    sessionTicketKeys: [Buffer.alloc(48, 7).toString('base64')],
  };
  return b;
}

interface GrpcAnswer {
  headers: IncomingHttpHeaders;
  body: Buffer;
  trailers: IncomingHttpHeaders;
}

function grpcCall(session: ClientHttp2Session, path: string, message: Buffer): Promise<GrpcAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers, body: Buffer.concat(chunks), trailers }));
    stream.on('error', reject);
    stream.end(frame(message));
  });
}

describe('gRPC to h2c servers', () => {
  let ca: TestCa;
  let cert: ResolvedCertificate;
  const seen: Seen = { headers: [] };
  let port = 0;
  let session: ClientHttp2Session;
  before(async () => {
    ca = makeTestCa();
    cert = ca.leaf(['app.test', 'web.test', 'mw.test']);
    const server = await grpcServer(seen);
    const p = planeFor(cleanups);
    port = await applied(p, snapshot(server.url, cert));
    session = h2connect(`https://127.0.0.1:${port}`, { servername: 'app.test', rejectUnauthorized: false });
    session.on('error', () => {});
  });
  after(() => {
    session?.destroy();
    ca?.close();
  });

  it('proxies a unary call over HTTP/2 with the trailers', async () => {
    const answer = await grpcCall(session, '/echo.Echo/Say', textMessage('hello'));
    assert.equal(answer.headers[':status'], 200);
    assert.equal(answer.headers['content-type'], 'application/grpc');
    assert.deepEqual(answer.body, frame(textMessage('hello')));
    assert.equal(answer.trailers['grpc-status'], '0');
    const last = seen.headers.at(-1)!;
    assert.equal(last['te'], 'trailers');
    assert.equal(last['content-type'], 'application/grpc');
  });

  it('answers concurrent calls each with its own message', async () => {
    // undici does not multiplex a POST with a streamed body beside others: each call in flight
    // takes a connection of the pool (kept warm for the next ones).
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => grpcCall(session, '/echo.Echo/Say', textMessage(`call ${i}`))),
    );
    answers.forEach((a, i) => {
      assert.deepEqual(a.body, frame(textMessage(`call ${i}`)));
      assert.equal(a.trailers['grpc-status'], '0');
    });
  });

  it('relays the trailers when a middleware handles the response too', async () => {
    const mw = h2connect(`https://127.0.0.1:${port}`, { servername: 'mw.test', rejectUnauthorized: false });
    mw.on('error', () => {});
    try {
      for (const [path, status] of [
        ['/echo.Echo/Say', '0'],
        ['/echo.Echo/Fail', '5'],
      ] as const) {
        const answer = await grpcCall(mw, path, textMessage('through headers'));
        assert.equal(answer.headers['x-seen'], 'berth');
        assert.equal(answer.trailers['grpc-status'], status);
      }
    } finally {
      mw.destroy();
    }
  });

  it('relays an error status and message', async () => {
    const answer = await grpcCall(session, '/echo.Echo/Fail', textMessage('x'));
    assert.equal(answer.headers[':status'], 200);
    assert.equal(answer.body.length, 0);
    assert.equal(answer.trailers['grpc-status'], '5');
    assert.equal(answer.trailers['grpc-message'], 'no such thing');
  });
});

interface WebAnswer {
  status: number;
  headers: import('node:http').IncomingHttpHeaders;
  body: Buffer;
}

/** An HTTP/1.1 request on the plain side of the entry point. */
function http1(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  payload?: Buffer | string,
): Promise<WebAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers: { host: 'web.test', ...headers }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function trailerFrameOf(text: string): Buffer {
  return frame(Buffer.from(text, 'latin1'), 0x80);
}

describe('grpcWeb to h2c servers', () => {
  let ca: TestCa;
  let cert: ResolvedCertificate;
  const seen: Seen = { headers: [] };
  let port = 0;
  before(async () => {
    ca = makeTestCa();
    cert = ca.leaf(['app.test', 'web.test', 'mw.test']);
    const server = await grpcServer(seen);
    const p = planeFor(cleanups);
    port = await applied(p, snapshot(server.url, cert));
  });
  after(() => ca?.close());

  const web = { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', origin: 'https://ui.test' };

  it('translates a binary unary call from an HTTP/1.1 client, trailers in the body', async () => {
    const answer = await http1(port, 'POST', '/echo.Echo/Say', web, frame(textMessage('hello')));
    assert.equal(answer.status, 200);
    // The server answers `application/grpc`; its gRPC-Web spelling, as the wrapper writes it.
    assert.equal(answer.headers['content-type'], 'application/grpc-web');
    assert.equal(answer.headers['access-control-allow-origin'], 'https://ui.test');
    assert.equal(answer.headers['access-control-allow-credentials'], 'true');
    const exposed = String(answer.headers['access-control-expose-headers']).split(', ');
    assert.deepEqual(exposed.slice(-2), ['grpc-status', 'grpc-message']);
    assert.ok(exposed.includes('Content-Type'));
    assert.equal(answer.headers['vary'], 'Origin');
    assert.deepEqual(
      answer.body,
      Buffer.concat([frame(textMessage('hello')), trailerFrameOf('grpc-status: 0\r\n')]),
    );
    const sent = seen.headers.at(-1)!;
    assert.equal(sent['content-type'], 'application/grpc+proto');
    assert.equal(sent['te'], 'trailers');
    // Never the client's length; undici may count a body that is already all read.
    assert.ok([undefined, String(frame(textMessage('hello')).length)].includes(sent['content-length']));
  });

  it('carries an error status and message in the trailer frame', async () => {
    const answer = await http1(port, 'POST', '/echo.Echo/Fail', web, frame(textMessage('x')));
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, trailerFrameOf('grpc-message: no such thing\r\ngrpc-status: 5\r\n'));
  });

  it('decodes and encodes grpc-web-text (base64)', async () => {
    const answer = await http1(
      port,
      'POST',
      '/echo.Echo/Say',
      { ...web, 'content-type': 'application/grpc-web-text' },
      frame(textMessage('text mode')).toString('base64'),
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'application/grpc-web-text');
    assert.deepEqual(
      Buffer.from(answer.body.toString('latin1'), 'base64'),
      Buffer.concat([frame(textMessage('text mode')), trailerFrameOf('grpc-status: 0\r\n')]),
    );
    const sent = seen.headers.at(-1)!;
    assert.equal(sent['content-type'], 'application/grpc');
    // The client's length counts base64 characters, not the bytes the server gets.
    assert.ok([undefined, String(frame(textMessage('text mode')).length)].includes(sent['content-length']));
  });

  it('translates a call from an HTTP/2 client too', async () => {
    const session = h2connect(`https://127.0.0.1:${port}`, {
      servername: 'web.test',
      rejectUnauthorized: false,
    });
    session.on('error', () => {});
    try {
      const answer = await new Promise<{ headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/echo.Echo/Say', ...web });
        let headers: IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        stream.on('response', (h) => (headers = h));
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => resolve({ headers, body: Buffer.concat(chunks) }));
        stream.on('error', reject);
        stream.end(frame(textMessage('h2')));
      });
      assert.equal(answer.headers['content-type'], 'application/grpc-web');
      assert.deepEqual(
        answer.body,
        Buffer.concat([frame(textMessage('h2')), trailerFrameOf('grpc-status: 0\r\n')]),
      );
    } finally {
      session.destroy();
    }
  });

  it('answers a CORS preflight for an allowed origin, and grants nothing to another', async () => {
    const ask = {
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-grpc-web,x-user-agent',
    };
    const before = seen.headers.length;
    const ok = await http1(port, 'OPTIONS', '/echo.Echo/Say', { ...ask, origin: 'https://ui.test' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'https://ui.test');
    assert.equal(ok.headers['access-control-allow-methods'], 'POST');
    assert.equal(ok.headers['access-control-allow-headers'], 'Content-Type, X-Grpc-Web, X-User-Agent');
    assert.equal(ok.headers['access-control-allow-credentials'], 'true');
    assert.equal(ok.headers['access-control-max-age'], '600');
    const other = await http1(port, 'OPTIONS', '/echo.Echo/Say', { ...ask, origin: 'https://evil.test' });
    assert.equal(other.status, 200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    // Preflights never reach the server.
    assert.equal(seen.headers.length, before);
  });
});

describe('gRPC to https servers, HTTP/2 negotiated as Traefik does', () => {
  let ca: TestCa;
  const seen: Seen = { headers: [] };
  let port = 0;
  let session: ClientHttp2Session;
  before(async () => {
    ca = makeTestCa();
    const cert = ca.leaf(['app.test', 'web.test', 'mw.test']);
    // The server speaks HTTP/2 only: an HTTP/1.1 request would fail the ALPN handshake.
    const server = await grpcServer(seen, ca.leaf(['127.0.0.1']));
    const b = snapshot(server.url, cert);
    b.http = {
      ...b.http,
      serversTransports: { grpc: { rootCAs: [ca.caPem] } },
      services: { echo: { loadBalancer: { servers: [{ url: server.url }], serversTransport: 'grpc' } } },
    };
    port = await applied(planeFor(cleanups), b);
    session = h2connect(`https://127.0.0.1:${port}`, { servername: 'app.test', rejectUnauthorized: false });
    session.on('error', () => {});
  });
  after(() => {
    session?.destroy();
    ca?.close();
  });

  it('proxies a unary call with its trailers', async () => {
    const answer = await grpcCall(session, '/echo.Echo/Say', textMessage('over tls'));
    assert.deepEqual(answer.body, frame(textMessage('over tls')));
    assert.equal(answer.trailers['grpc-status'], '0');
    assert.equal(seen.headers.at(-1)!['te'], 'trailers');
  });
});
