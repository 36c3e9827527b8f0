// The raw-socket HTTP/1.1 fast path (http/fast/) over real loopback sockets: raw clients and raw servers, so framing is seen byte by byte.
import assert from 'node:assert/strict';
import type { AddressInfo, Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpService } from '@berth/config';
import { pino } from 'pino';
import { DataPlane } from '../src/data-plane.js';
import { headerObject } from '../src/http/fast/fast-connection.js';
import { startBackend } from './support/backend.js';
import { body, service } from './support/snapshot.js';

const logger = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function plane(snapshot: ReturnType<typeof body>): Promise<{ p: DataPlane; port: number }> {
  const p = new DataPlane({ logger, entryPointOverrides: { web: '127.0.0.1:0' }, closeDrainMs: 50 });
  cleanups.push(() => p.close());
  const result = await p.apply(snapshot);
  if (!result.ok) assert.fail(`${result.code}: ${result.error}`);
  const address = result.listeners[0]!.address;
  return { p, port: Number(address.slice(address.lastIndexOf(':') + 1)) };
}

/** A server that answers each request head with `answer(head, n)` (raw bytes), counting connections. */
interface RawServer {
  url: string;
  connections: number;
  heads: string[];
  sockets: Set<Socket>;
}

async function rawServer(
  answer: (head: string, n: number, socket: Socket) => string | undefined,
): Promise<RawServer> {
  const state: RawServer = { url: '', connections: 0, heads: [], sockets: new Set() };
  const server: Server = createServer((socket) => {
    state.connections++;
    state.sockets.add(socket);
    socket.on('close', () => state.sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        state.heads.push(head);
        const out = answer(head, state.heads.length, socket);
        if (out !== undefined) socket.write(out, 'latin1');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of state.sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return state;
}

/** A raw client connection that collects everything the proxy sends. */
class RawClient {
  readonly socket: Socket;
  received = '';
  closed = false;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (chunk) => {
      this.received += chunk.toString('latin1');
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => {});
    cleanups.push(() => {
      this.socket.destroy();
    });
  }

  send(text: string): void {
    this.socket.write(text, 'latin1');
  }

  async waitFor(predicate: (received: string) => boolean, what: string): Promise<string> {
    for (let i = 0; i < 400; i++) {
      if (predicate(this.received)) return this.received;
      await sleep(5);
    }
    assert.fail(`timed out waiting for ${what}; got ${JSON.stringify(this.received)}`);
  }
}

function get(path: string, host = 'a.test', extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`;
}

/** Complete responses in `text` (Content-Length or chunked framing), parsed naively for assertions. */
function responses(text: string): { status: number; headers: Record<string, string>; body: string }[] {
  const out: { status: number; headers: Record<string, string>; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = rest.slice(0, end).split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    rest = rest.slice(end + 4);
    let bodyText = '';
    if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      if (rest.length < n) break;
      bodyText = rest.slice(0, n);
      rest = rest.slice(n);
    } else if (headers['transfer-encoding'] === 'chunked') {
      let complete = false;
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        if (lineEnd < 0) break;
        const size = Number.parseInt(rest.slice(0, lineEnd), 16);
        if (size === 0) {
          if (rest.indexOf('\r\n\r\n') !== lineEnd) break;
          rest = rest.slice(lineEnd + 4);
          complete = true;
          break;
        }
        if (rest.length < lineEnd + 2 + size + 2) break;
        bodyText += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        rest = rest.slice(lineEnd + 2 + size + 2);
      }
      if (!complete) break;
    }
    out.push({ status, headers, body: bodyText });
  }
  return out;
}

function oneRoute(url: string, extra: Partial<HttpService['loadBalancer']> = {}): ReturnType<typeof body> {
  const s = service(url);
  return body(
    { r: { rule: 'Host(`a.test`)', service: 's' } },
    { s: { loadBalancer: { ...s.loadBalancer!, ...extra } } },
  );
}

const ok = (text: string) =>
  `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`;

describe('fast path', () => {
  test('serves keep-alive GETs over one pooled server connection, headers rewritten as node:http would', async () => {
    const server = await rawServer(
      (_head, n) =>
        `HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=30\r\nX-Hop: drop\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: ${String(n).length}\r\n\r\n${n}`,
    );
    const { p, port } = await plane(oneRoute(server.url));
    const client = new RawClient(port);
    for (let i = 1; i <= 5; i++) {
      client.send(
        get(
          `/x?i=${i}`,
          'a.test',
          'Connection: keep-alive, X-Client-Hop\r\nX-Client-Hop: 1\r\nX-Forwarded-For: 6.6.6.6\r\n',
        ),
      );
      await client.waitFor((r) => responses(r).length === i, `response ${i}`);
    }
    const all = responses(client.received);
    assert.deepEqual(
      all.map((r) => [r.status, r.body]),
      [1, 2, 3, 4, 5].map((n) => [200, String(n)]),
    );
    const first = all[0]!;
    assert.equal(first.headers['x-hop'], undefined, 'headers the Connection header names are dropped');
    assert.equal(first.headers['keep-alive'], undefined);
    assert.equal(first.headers['connection'], undefined);
    assert.ok(first.headers['date'], 'a Date header is added when the server sent none');
    assert.equal((client.received.match(/Set-Cookie: /g) ?? []).length, 5 * 2, 'repeated Set-Cookie kept');
    assert.equal(server.connections, 1, 'one server connection for five requests');
    const head = server.heads[0]!;
    assert.match(head, /^GET \/x\?i=1 HTTP\/1\.1\r\n/);
    assert.match(head, /\r\nhost: a\.test\r\n/i);
    assert.match(head, /\r\nx-forwarded-for: 127\.0\.0\.1\r\n/i, 'an untrusted X-Forwarded-For is replaced');
    assert.match(head, /\r\nx-forwarded-proto: http\r\n/i);
    assert.match(head, /\r\nx-real-ip: 127\.0\.0\.1\r\n/i);
    assert.doesNotMatch(head, /x-client-hop/i);
    assert.doesNotMatch(head, /\r\nconnection:/i);
    assert.equal(p.fastPathRequests(), 5);
  });

  test('a head with nothing to rewrite goes upstream as received, forwarded headers after Host; others are rewritten', async () => {
    const server = await rawServer(() => ok('x'));
    const snapshot = body(
      {
        r: { rule: 'Host(`a.test`) || Host(`b.test`)', service: 's' },
        own: { rule: 'Host(`own.test`)', service: 'own' },
      },
      {
        s: service(server.url),
        own: { loadBalancer: { servers: [{ url: server.url }], passHostHeader: false } },
      },
    );
    const { p, port } = await plane(snapshot);
    const client = new RawClient(port);
    const heads = [
      'GET /p?q=1 HTTP/1.1\r\nHost: a.test:8080\r\nAccept: */*\r\nX-Custom:  v \r\n\r\n',
      'GET /p HTTP/1.1\r\nhost: b.test\r\n\r\n',
      'GET /own HTTP/1.1\r\nHost: own.test\r\nX-Forwarded-Proto: https\r\n\r\n',
      'GET /late HTTP/1.1\r\nAccept: */*\r\nX-Custom: v\r\nHOST: a.test\r\nX-Last: 1\r\n\r\n',
    ];
    for (const [i, head] of heads.entries()) {
      client.send(head);
      await client.waitFor((r) => responses(r).length === i + 1, `response ${i + 1}`);
    }
    assert.equal(
      server.heads[0],
      'GET /p?q=1 HTTP/1.1\r\nHost: a.test:8080\r\n' +
        'x-forwarded-for: 127.0.0.1\r\nx-forwarded-proto: http\r\nx-forwarded-host: a.test:8080\r\n' +
        'x-forwarded-port: 8080\r\nx-real-ip: 127.0.0.1\r\nAccept: */*\r\nX-Custom:  v \r\n\r\n',
    );
    assert.equal(
      server.heads[1],
      'GET /p HTTP/1.1\r\nhost: b.test\r\nx-forwarded-for: 127.0.0.1\r\nx-forwarded-proto: http\r\n' +
        'x-forwarded-host: b.test\r\nx-forwarded-port: 80\r\nx-real-ip: 127.0.0.1\r\n\r\n',
      'a new Host on the same connection gets its own forwarded headers',
    );
    const own = server.heads[2]!;
    assert.match(
      own,
      new RegExp(
        `^GET /own HTTP/1.1\r\nhost: ${server.url.slice(7).replace('.', '\\.')}\r\nx-forwarded-for: `,
      ),
      'passHostHeader: false; Host, then the forwarded headers',
    );
    assert.doesNotMatch(own, /Host: own\.test/);
    assert.match(own, /\r\nx-forwarded-proto: http\r\n/, 'an untrusted X-Forwarded-Proto is replaced');
    assert.doesNotMatch(own, /https/);
    assert.equal(
      server.heads[3],
      'GET /late HTTP/1.1\r\nHOST: a.test\r\nx-forwarded-for: 127.0.0.1\r\nx-forwarded-proto: http\r\n' +
        'x-forwarded-host: a.test\r\nx-forwarded-port: 80\r\nx-real-ip: 127.0.0.1\r\n' +
        'Accept: */*\r\nX-Custom: v\r\nX-Last: 1\r\n\r\n',
      'a Host sent late moves up to the request line',
    );
    assert.equal(p.fastPathRequests(), 4);
  });

  test('a stripped X-Forwarded-For leaves Host first, then the forwarded headers, then the client’s', async () => {
    const server = await rawServer(() => ok('x'));
    const { p, port } = await plane(oneRoute(server.url));
    const client = new RawClient(port);
    client.send(
      'GET /s HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\nAccept: */*\r\nHost: a.test\r\nX-Real-Ip: 6.6.6.6\r\nX-A: 1\r\n\r\n',
    );
    await client.waitFor((r) => responses(r).length === 1, 'response');
    assert.equal(
      server.heads[0],
      'GET /s HTTP/1.1\r\nhost: a.test\r\nx-forwarded-for: 127.0.0.1\r\nx-forwarded-proto: http\r\n' +
        'x-forwarded-host: a.test\r\nx-forwarded-port: 80\r\nx-real-ip: 127.0.0.1\r\nAccept: */*\r\nX-A: 1\r\n\r\n',
    );
    assert.equal(p.fastPathRequests(), 1);
  });

  test('pipelined requests in one write are answered in order', async () => {
    const server = await rawServer((head) => ok(head.split(' ')[1]!));
    const { p, port } = await plane(oneRoute(server.url));
    const client = new RawClient(port);
    client.send(get('/1') + get('/2') + get('/3'));
    await client.waitFor((r) => responses(r).length === 3, 'three responses');
    assert.deepEqual(
      responses(client.received).map((r) => r.body),
      ['/1', '/2', '/3'],
    );
    assert.equal(p.fastPathRequests(), 3);
  });

  test('a request it does not serve hands the connection to node:http with every byte (POST, then GET)', async () => {
    const b = await startBackend('B', (req, res) => {
      let text = '';
      req.setEncoding('latin1');
      req.on('data', (c: string) => {
        text += c;
      });
      req.on('end', () => {
        const out = `${req.method} ${req.url} ${text}`;
        res.writeHead(200, { 'content-length': Buffer.byteLength(out) });
        res.end(out);
      });
    });
    cleanups.push(() => b.close());
    const { p, port } = await plane(oneRoute(b.url));
    const client = new RawClient(port);
    client.send(get('/first'));
    await client.waitFor((r) => responses(r).length === 1, 'first');
    // The body arrives in the same write as the head and the next request: nothing may be lost.
    client.send(`POST /post HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nhello${get('/after')}`);
    await client.waitFor((r) => responses(r).length === 3, 'three responses');
    assert.deepEqual(
      responses(client.received).map((r) => r.body),
      ['GET /first ', 'POST /post hello', 'GET /after '],
    );
    assert.equal(p.fastPathRequests(), 1, 'only the first request took the fast path');
    // Pipelined behind a fast request: the POST waits for the GET's answer, then goes to node:http.
    const piped = new RawClient(port);
    piped.send(
      `${get('/one')}POST /two HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\nabc${get('/three').slice(0, 9)}`,
    );
    await sleep(50);
    piped.send(get('/three').slice(9));
    await piped.waitFor((r) => responses(r).length === 3, 'three pipelined responses');
    assert.deepEqual(
      responses(piped.received).map((r) => r.body),
      ['GET /one ', 'POST /two abc', 'GET /three '],
    );
    assert.equal(p.fastPathRequests(), 2);
  });

  test('chunked and close-delimited server bodies reach the client chunked; HEAD, 204 and 304 have none', async () => {
    const server = await rawServer((head, _n, socket) => {
      const path = head.split(' ')[1];
      if (path === '/chunked')
        return 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\nX-Trailer: t\r\n\r\n';
      if (path === '/close') {
        socket.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end', 'latin1');
        return undefined;
      }
      if (path === '/204') return 'HTTP/1.1 204 No Content\r\n\r\n';
      if (path === '/304') return 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n';
      return 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n';
    });
    const { p, port } = await plane(oneRoute(server.url));
    const client = new RawClient(port);
    for (const path of ['/chunked', '/close', '/204', '/304']) {
      const before = responses(client.received).length;
      client.send(get(path));
      await client.waitFor((r) => responses(r).length === before + 1, path);
    }
    const all = responses(client.received);
    assert.deepEqual(
      all.map((r) => [r.status, r.body, r.headers['transfer-encoding'] ?? '']),
      [
        [200, 'abcdefg', 'chunked'],
        [200, 'until the end', 'chunked'],
        [204, '', ''],
        [304, '', ''],
      ],
    );
    assert.doesNotMatch(client.received, /X-Trailer/, 'HTTP/1.1 clients get no trailers');
    // HEAD: the head only, then the next response follows at once on the same connection.
    const head = new RawClient(port);
    head.send(`HEAD /head HTTP/1.1\r\nHost: a.test\r\n\r\n${get('/chunked')}`);
    await head.waitFor((r) => r.endsWith('0\r\n\r\n'), 'HEAD answer, then the next');
    const [headAnswer, next] = head.received.split(/\r\n\r\n(?=HTTP)/);
    assert.match(headAnswer!, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(headAnswer!, /Content-Length: 10/);
    assert.doesNotMatch(headAnswer!, /transfer-encoding/i);
    assert.deepEqual(
      responses(next!).map((r) => r.body),
      ['abcdefg'],
    );
    assert.equal(p.fastPathRequests(), 6);
  });

  test('a 103 answer is skipped and the final one relayed', async () => {
    const server = await rawServer(() => `HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n${ok('final')}`);
    const { port } = await plane(oneRoute(server.url));
    const client = new RawClient(port);
    client.send(get('/'));
    await client.waitFor((r) => responses(r).length === 1, 'response');
    assert.equal(responses(client.received)[0]!.body, 'final');
    assert.doesNotMatch(client.received, /103/);
  });

  test('a kept-alive server connection closed by the server is retried once on a new one, not answered 502', async () => {
    const server = await rawServer((_head, _n, socket) => {
      // Answers, then closes the connection without saying so, as a server's idle timeout does.
      socket.write(ok('fine'), 'latin1');
      setTimeout(() => socket.destroy(), 20);
      return undefined;
    });
    const { port } = await plane(oneRoute(server.url));
    const client = new RawClient(port);
    client.send(get('/1'));
    await client.waitFor((r) => responses(r).length === 1, 'first');
    await sleep(100);
    client.send(get('/2'));
    await client.waitFor((r) => responses(r).length === 2, 'second');
    assert.deepEqual(
      responses(client.received).map((r) => [r.status, r.body]),
      [
        [200, 'fine'],
        [200, 'fine'],
      ],
    );
    assert.equal(server.connections, 2);
  });

  test('errors: refused → 502, invalid response → 502, response header timeout → 504, cut body → connection cut', async () => {
    const silent = await rawServer(() => undefined);
    const garbage = await rawServer(
      () => 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx',
    );
    const cut = await rawServer((_h, _n, socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this', 'latin1');
      return undefined;
    });
    const snapshot = body(
      {
        refused: { rule: 'Host(`refused.test`)', service: 'refused' },
        garbage: { rule: 'Host(`garbage.test`)', service: 'garbage' },
        slow: { rule: 'Host(`slow.test`)', service: 'slow' },
        cut: { rule: 'Host(`cut.test`)', service: 'cut' },
      },
      {
        refused: service('http://127.0.0.1:1'),
        garbage: service(garbage.url),
        slow: { loadBalancer: { servers: [{ url: silent.url }], serversTransport: 'quick' } },
        cut: service(cut.url),
      },
    );
    snapshot.http.serversTransports = { quick: { forwardingTimeouts: { responseHeaderTimeout: '150ms' } } };
    const { p, port } = await plane(snapshot);
    const client = new RawClient(port);
    for (const [host, status] of [
      ['refused.test', 502],
      ['garbage.test', 502],
      ['slow.test', 504],
    ] as const) {
      const before = responses(client.received).length;
      client.send(get('/', host));
      await client.waitFor((r) => responses(r).length === before + 1, host);
      assert.equal(responses(client.received).at(-1)!.status, status, host);
    }
    assert.equal(client.closed, false, 'the client connection survives answered failures');
    client.send(get('/', 'cut.test'));
    await client.waitFor(() => client.closed, 'the cut response closes the client connection');
    assert.match(client.received, /only this$/);
    assert.equal(p.fastPathRequests(), 4);
  });

  test('a client leaving mid-response closes the server connection, and a later request opens a new one', async () => {
    const server = await rawServer((head, _n, socket) => {
      if (head.startsWith('GET /slow')) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial', 'latin1');
        return undefined;
      }
      return ok('quick');
    });
    const { port } = await plane(oneRoute(server.url));
    const leaving = new RawClient(port);
    leaving.send(get('/slow'));
    await leaving.waitFor((r) => r.includes('partial'), 'partial body');
    leaving.socket.destroy();
    await sleep(50);
    assert.equal(server.sockets.size, 0, 'the server connection is closed, not reused mid-response');
    const next = new RawClient(port);
    next.send(get('/quick'));
    await next.waitFor((r) => responses(r).length === 1, 'quick');
    assert.equal(responses(next.received)[0]!.body, 'quick');
  });

  test('bytes a server sends after its response keep its connection out of the pool', async () => {
    const server = await rawServer(() => `${ok('one')}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra`);
    const { port } = await plane(oneRoute(server.url));
    const client = new RawClient(port);
    client.send(get('/1'));
    await client.waitFor((r) => responses(r).length === 1, 'first');
    client.send(get('/2'));
    await client.waitFor((r) => responses(r).length === 2, 'second');
    assert.deepEqual(
      responses(client.received).map((r) => r.body),
      ['one', 'one'],
      'the extra response is never given to the second request',
    );
    assert.equal(server.connections, 2);
  });

  test('more than 32 header lines, and Header rules, match as node:http would', async () => {
    const server = await rawServer((head) =>
      ok(String(head.split('\r\n').filter((l) => l.startsWith('X-N')).length)),
    );
    const snapshot = body(
      { r: { rule: 'Host(`a.test`) && Header(`X-Pick`, `yes`)', service: 's' } },
      { s: service(server.url) },
    );
    const { p, port } = await plane(snapshot);
    const client = new RawClient(port);
    let many = '';
    for (let i = 0; i < 40; i++) many += `X-N${i}: ${i}\r\n`;
    client.send(get('/', 'a.test', `${many}X-Pick: yes\r\n`));
    await client.waitFor((r) => responses(r).length === 1, 'response');
    assert.equal(responses(client.received)[0]!.body, '40');
    client.send(get('/', 'a.test', 'X-Pick: no\r\n'));
    await client.waitFor((r) => responses(r).length === 2, '404');
    assert.equal(responses(client.received)[1]!.status, 404, 'no route: node:http answers 404');
    assert.equal(p.fastPathRequests(), 1);
  });

  test('headerObject joins repeated headers as node:http does', () => {
    const headers = headerObject([
      'Host',
      'a',
      'host',
      'b',
      'Cookie',
      'x=1',
      'cookie',
      'y=2',
      'Set-Cookie',
      's',
      'Accept',
      'a',
      'accept',
      'b',
      '__proto__',
      'p',
    ]);
    assert.equal(headers['host'], 'a');
    assert.equal(headers['cookie'], 'x=1; y=2');
    assert.deepEqual(headers['set-cookie'], ['s']);
    assert.equal(headers['accept'], 'a, b');
    assert.equal(Object.getOwnPropertyDescriptor(headers, '__proto__')?.value, 'p');
  });

  test('draining closes idle fast connections and lets one in flight finish', async () => {
    const server = await rawServer((head, _n, socket) => {
      if (head.startsWith('GET /slow')) {
        setTimeout(() => socket.write(ok('late'), 'latin1'), 150);
        return undefined;
      }
      return ok('x');
    });
    const p = new DataPlane({ logger, entryPointOverrides: { web: '127.0.0.1:0' }, closeDrainMs: 2_000 });
    const result = await p.apply(oneRoute(server.url));
    assert.ok(result.ok);
    const address = result.listeners[0]!.address;
    const port = Number(address.slice(address.lastIndexOf(':') + 1));
    const idle = new RawClient(port);
    idle.send(get('/'));
    await idle.waitFor((r) => responses(r).length === 1, 'idle first');
    const busy = new RawClient(port);
    busy.send(get('/slow'));
    await sleep(30);
    const closing = p.close();
    await idle.waitFor(() => idle.closed, 'idle connection closed');
    await busy.waitFor((r) => responses(r).length === 1, 'busy answered');
    await closing;
    assert.equal(responses(busy.received)[0]!.body, 'late');
    assert.ok(busy.closed);
  });
});
