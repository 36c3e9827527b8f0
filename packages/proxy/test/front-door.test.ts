// The front door on real loopback sockets: server-first TCP, SNI passthrough, split ClientHellos, garbage, TLS+HTTP on one port, PROXY protocol.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { TcpConfig } from '@berth/config';
import { encodeProxyV1, encodeProxyV2 } from '../src/tcp/proxy-protocol.js';
import { listenLoopback, readUntil, startEdge, startTcpBackend, startTlsBackend } from './support/edge.js';
import { captureLog, waitFor } from './support/log-capture.js';
import { makePki, type TestPki } from './support/pki.js';

let proxyPki: TestPki;
let backendPki: TestPki;
const dirs: string[] = [];

before(async () => {
  const a = await mkdtemp(join(tmpdir(), 'berth-edge-a-'));
  const b = await mkdtemp(join(tmpdir(), 'berth-edge-b-'));
  dirs.push(a, b);
  proxyPki = await makePki(a);
  backendPki = await makePki(b);
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function catchAll(port: number, extra: Partial<TcpConfig> = {}): TcpConfig {
  return {
    routers: { raw: { rule: 'HostSNI(`*`)', service: 'svc' } },
    services: { svc: { loadBalancer: { servers: [{ address: `127.0.0.1:${port}` }] } } },
    ...extra,
  };
}

function passthrough(port: number, host = 'backend.test'): TcpConfig {
  return {
    routers: { pass: { rule: `HostSNI(\`${host}\`)`, service: 'tls', tls: { passthrough: true } } },
    services: { tls: { loadBalancer: { servers: [{ address: `127.0.0.1:${port}` }] } } },
  };
}

async function dial(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await once(socket, 'connect');
  return socket;
}

/** Resolves when the proxy closed its side (FIN or reset). */
function closedSoon(socket: Socket): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve();
  socket.resume();
  return new Promise((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function tlsClient(port: number, servername: string, socket?: Duplex): Promise<TLSSocket> {
  const client = tlsConnect({
    ...(socket ? { socket } : { port, host: '127.0.0.1' }),
    servername,
    rejectUnauthorized: false,
  });
  return new Promise((resolve, reject) => {
    client.once('secureConnect', () => resolve(client));
    client.once('error', reject);
  });
}

/** A duplex over a TCP socket whose first write goes out one byte per TCP segment. */
function trickle(socket: Socket): Duplex {
  socket.setNoDelay(true);
  let first = true;
  const duplex = new Duplex({
    write(chunk: Buffer, _enc, callback) {
      if (!first) {
        socket.write(chunk, callback);
        return;
      }
      first = false;
      let i = 0;
      const step = () => {
        if (i >= chunk.length) return callback();
        socket.write(chunk.subarray(i, i + 1));
        i++;
        setTimeout(step, 1);
      };
      step();
    },
    read() {},
    final(callback) {
      socket.end(callback);
    },
  });
  socket.on('data', (c: Buffer) => duplex.push(c));
  socket.on('end', () => duplex.push(null));
  socket.on('close', () => duplex.destroy());
  return duplex;
}

describe('front door: plain TCP', () => {
  it('echoes through a HostSNI(`*`) router and lets a server-first backend speak first', async () => {
    const echo = await startTcpBackend();
    const banner = await startTcpBackend((socket) => {
      socket.write('220 banner.test ESMTP\r\n');
      socket.pipe(socket);
    });
    const edge = await startEdge({ tcp: catchAll(echo.port), pem: proxyPki });
    try {
      const a = await dial(edge.port);
      a.write('ping\n');
      assert.equal((await readUntil(a, (b) => b.includes('\n'))).toString(), 'ping\n');
      a.destroy();

      edge.update(catchAll(banner.port));
      const b = await dial(edge.port);
      const started = Date.now();
      assert.equal((await readUntil(b, (x) => x.includes('\r\n'))).toString(), '220 banner.test ESMTP\r\n');
      // Immediate hand-off: no peek wait (generous bound, far below the 1 s server-first wait).
      assert.ok(Date.now() - started < 900);
      b.destroy();
    } finally {
      await edge.close();
      echo.close();
      banner.close();
    }
  });

  it('passes a half-close on and keeps the other way open until the server ends', async () => {
    const backend = await startTcpBackend((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => {
        // The client is done sending; the answer comes afterwards, in two parts.
        socket.write(`got ${Buffer.concat(chunks).toString()};`);
        setTimeout(() => socket.end('bye'), 200);
      });
    });
    const tcp = catchAll(backend.port, { serversTransports: { default: { terminationDelay: '5s' } } });
    const edge = await startEdge({ tcp, pem: proxyPki });
    try {
      const client = await dial(edge.port);
      client.end('hello');
      const all = await readUntil(client, () => false);
      assert.equal(all.toString(), 'got hello;bye');
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('cuts a half-closed connection after terminationDelay', async () => {
    const backend = await startTcpBackend((socket) => {
      socket.on('end', () => socket.write('late? '));
      socket.on('data', () => {});
    });
    const tcp = catchAll(backend.port, { serversTransports: { default: { terminationDelay: '150ms' } } });
    const edge = await startEdge({ tcp, pem: proxyPki });
    try {
      const client = await dial(edge.port);
      client.end('x');
      const all = await readUntil(client, () => false, 5000);
      assert.equal(all.toString(), 'late? ');
      await closedSoon(client);
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('sends a byte-exact PROXY v2 header with the client address to the server', async () => {
    const backend = await startTcpBackend((socket) => socket.on('data', () => {}));
    const tcp = catchAll(backend.port, { serversTransports: { default: { proxyProtocol: { version: 2 } } } });
    tcp.services.svc!.loadBalancer!.serversTransport = 'default';
    const edge = await startEdge({ tcp, pem: proxyPki });
    try {
      const client = await dial(edge.port);
      client.write('payload');
      await waitFor(() => Buffer.concat(backend.received[0] ?? []).length >= 28 + 7, 'header and payload');
      const got = Buffer.concat(backend.received[0]!);
      const expected = encodeProxyV2(
        { ip: '127.0.0.1', port: client.localPort! },
        { ip: '127.0.0.1', port: edge.port },
      );
      assert.deepEqual(got.subarray(0, 28), expected);
      // Hand-checked against haproxy's spec: signature, PROXY/TCP4, 12 bytes, src, dst, sport, dport.
      const sport = client.localPort!.toString(16).padStart(4, '0');
      const dport = edge.port.toString(16).padStart(4, '0');
      assert.equal(
        got.subarray(0, 28).toString('hex'),
        `0d0a0d0a000d0a515549540a2111000c7f0000017f000001${sport}${dport}`,
      );
      assert.equal(got.subarray(28).toString(), 'payload');
      client.destroy();
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('sends a PROXY v1 header when the load balancer asks for version 1', async () => {
    const backend = await startTcpBackend((socket) => socket.on('data', () => {}));
    const tcp = catchAll(backend.port);
    tcp.services.svc!.loadBalancer!.proxyProtocol = { version: 1 };
    const edge = await startEdge({ tcp, pem: proxyPki });
    try {
      const client = await dial(edge.port);
      client.write('x');
      await waitFor(() => Buffer.concat(backend.received[0] ?? []).includes('x'), 'payload');
      assert.equal(
        Buffer.concat(backend.received[0]!).toString(),
        `PROXY TCP4 127.0.0.1 127.0.0.1 ${client.localPort} ${edge.port}\r\nx`,
      );
      client.destroy();
    } finally {
      await edge.close();
      backend.close();
    }
  });
});

describe('front door: TLS', () => {
  it('passes TLS through by SNI: the client sees the backend certificate (node client and openssl s_client)', async () => {
    const backend = await startTlsBackend(backendPki);
    const edge = await startEdge({ tcp: passthrough(backend.port), pem: proxyPki });
    try {
      const client = await tlsClient(edge.port, 'Backend.Test');
      assert.equal(client.getPeerX509Certificate()?.fingerprint256, fingerprint(backendPki.certPem));
      assert.notEqual(fingerprint(backendPki.certPem), fingerprint(proxyPki.certPem));
      // The bytes are untouched: the backend sees the SNI as the client wrote it.
      assert.equal((await readUntil(client, (b) => b.includes('\n'))).toString(), 'sni=Backend.Test\n');
      client.destroy();

      const out = await new Promise<string>((resolve) => {
        const child = execFile(
          'openssl',
          ['s_client', '-connect', `127.0.0.1:${edge.port}`, '-servername', 'backend.test', '-showcerts'],
          { timeout: 10_000 },
          (_err, stdout) => resolve(stdout),
        );
        child.stdin?.end();
      });
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
      assert.ok(pem, out);
      assert.equal(fingerprint(pem), fingerprint(backendPki.certPem));
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('routes a ClientHello sent one byte per TCP segment', async () => {
    const backend = await startTlsBackend(backendPki);
    const edge = await startEdge({ tcp: passthrough(backend.port), pem: proxyPki });
    try {
      const raw = await dial(edge.port);
      const client = await tlsClient(edge.port, 'backend.test', trickle(raw));
      assert.equal(client.getPeerX509Certificate()?.fingerprint256, fingerprint(backendPki.certPem));
      client.write('after\n');
      const got = await readUntil(client, (b) => b.includes('after\n'));
      assert.equal(got.toString(), 'sni=backend.test\nafter\n');
      client.destroy();
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('closes only the connection that sends garbage on a TLS port', async () => {
    const backend = await startTlsBackend(backendPki);
    const log = captureLog('debug');
    const edge = await startEdge({ tcp: passthrough(backend.port), pem: proxyPki, logger: log.logger });
    try {
      const good = await tlsClient(edge.port, 'backend.test');
      await readUntil(good, (b) => b.includes('\n'));
      for (const garbage of [
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0, 0, 1, 0]), // a ServerHello
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]), // empty record
        Buffer.from('\x16\x03\x01\xff\xff'.repeat(4), 'latin1'), // over the size limit
        Buffer.from('GET / HTTP/1.1\r\n\r\n'), // no plain router, no HTTP here
      ]) {
        const bad = await dial(edge.port);
        bad.on('error', () => {});
        bad.write(garbage);
        await closedSoon(bad);
      }
      // A TLS client for an unknown name is closed too.
      await assert.rejects(tlsClient(edge.port, 'other.test'));
      good.write('still here\n');
      assert.match((await readUntil(good, (b) => b.includes('still here\n'))).toString(), /still here/);
      good.destroy();
      assert.ok(log.lines.some((l) => l.reason === 'malformed TLS ClientHello'));
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('keeps ACME TLS-ALPN-01 handshakes for itself, even under a passthrough catch-all', async () => {
    const backend = await startTlsBackend(backendPki);
    const edge = await startEdge({ tcp: passthrough(backend.port, '*'), hasHttp: true, pem: proxyPki });
    try {
      const client = tlsConnect({
        port: edge.port,
        host: '127.0.0.1',
        servername: 'acme.test',
        ALPNProtocols: ['acme-tls/1'],
        rejectUnauthorized: false,
      });
      client.on('error', () => {});
      await once(client, 'secureConnect');
      assert.equal(client.getPeerX509Certificate()?.fingerprint256, fingerprint(proxyPki.certPem));
      assert.deepEqual(edge.tls.purposes, ['http']);
      client.destroy();
      const normal = await tlsClient(edge.port, 'app.test');
      assert.equal(normal.getPeerX509Certificate()?.fingerprint256, fingerprint(backendPki.certPem));
      normal.destroy();
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('terminates TLS for a TCP router without passthrough and forwards the clear bytes', async () => {
    const echo = await startTcpBackend();
    const tcp: TcpConfig = {
      routers: { term: { rule: 'HostSNI(`echo.test`)', service: 'svc', tls: {} } },
      services: { svc: { loadBalancer: { servers: [{ address: `127.0.0.1:${echo.port}` }] } } },
    };
    const edge = await startEdge({ tcp, pem: proxyPki });
    try {
      const client = await tlsClient(edge.port, 'echo.test');
      assert.equal(client.getPeerX509Certificate()?.fingerprint256, fingerprint(proxyPki.certPem));
      client.write('clear\n');
      assert.equal((await readUntil(client, (b) => b.includes('\n'))).toString(), 'clear\n');
      assert.equal(Buffer.concat(echo.received[0]!).toString(), 'clear\n');
      assert.deepEqual(edge.tls.purposes, ['tcp']);
      client.destroy();
    } finally {
      await edge.close();
      echo.close();
    }
  });
});

function get(port: number, path: string, secure: boolean, extra: { headers?: Record<string, string> } = {}) {
  return new Promise<string>((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      { host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false, ...extra },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('front door: HTTP', () => {
  it('serves TLS and plain HTTP on the same port, told apart by the first byte', async () => {
    const edge = await startEdge({ hasHttp: true, pem: proxyPki });
    try {
      assert.match(await get(edge.port, '/plain', false), /^http plain \/plain from 127\.0\.0\.1:\d+$/);
      assert.match(await get(edge.port, '/secure', true), /^http tls \/secure from 127\.0\.0\.1:\d+$/);
      assert.deepEqual(edge.tls.purposes, ['http']);
      assert.equal(edge.http.seen[1]?.facts?.hello?.serverName, '');
    } finally {
      await edge.close();
    }
  });

  it('answers a peeked HTTP request at once and keeps pipelined requests in order (node:http via emit)', async () => {
    const edge = await startEdge({ hasHttp: true, pem: proxyPki });
    try {
      const client = await dial(edge.port);
      client.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
      // Answered before the client sends anything else.
      const first = await readUntil(client, (b) =>
        b.toString().endsWith(`/first from 127.0.0.1:${client.localPort}`),
      );
      assert.match(first.toString(), /\/first/);
      client.write('GET /second HTTP/1.1\r\nHost: x\r\n\r\nGET /third HTTP/1.1\r\nHost: x\r\n\r\n');
      const rest = await readUntil(client, (b) => b.includes('/third'));
      assert.ok(rest.indexOf('/second') < rest.indexOf('/third'));
      client.destroy();
    } finally {
      await edge.close();
    }
  });

  it('sends HTTP request lines to HTTP and other bytes or silence to a plain TCP catch-all', async () => {
    const backend = await startTcpBackend((socket, i) => {
      if (i === 1) socket.write('server first\n');
      socket.pipe(socket);
    });
    const edge = await startEdge({
      tcp: catchAll(backend.port),
      hasHttp: true,
      pem: proxyPki,
      serverFirstWaitMs: 200,
    });
    try {
      assert.match(await get(edge.port, '/x', false), /^http plain \/x/);
      const raw = await dial(edge.port);
      raw.write('GETTING ');
      raw.write('somewhere\n');
      assert.equal((await readUntil(raw, (b) => b.includes('\n'))).toString(), 'GETTING somewhere\n');
      raw.destroy();
      const silent = await dial(edge.port);
      assert.equal((await readUntil(silent, (b) => b.includes('\n'))).toString(), 'server first\n');
      silent.destroy();
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('keeps bytes and the FIN of a client that sends everything and half-closes at once', async () => {
    const backend = await startTcpBackend((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => socket.end(`tcp got ${Buffer.concat(chunks).toString()}`));
    });
    const edge = await startEdge({ tcp: catchAll(backend.port), hasHttp: true, pem: proxyPki });
    try {
      const http = await dial(edge.port);
      http.end('GET /closing HTTP/1.0\r\nHost: x\r\n\r\n');
      assert.match((await readUntil(http, () => false)).toString(), /http plain \/closing/);
      const raw = await dial(edge.port);
      raw.end('hello');
      assert.equal((await readUntil(raw, () => false)).toString(), 'tcp got hello');
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('hands bytes put back with unshift to a tls.Server fed through emit("connection")', async () => {
    // The contract's premise, checked on the TLS server itself (not only on a bare TLSSocket).
    const tlsServer = createTlsServer({ cert: proxyPki.certPem, key: proxyPki.keyPem }, (s) =>
      s.end('tls ok'),
    );
    const front = createServer((socket) => {
      socket.once('data', (first: Buffer) => {
        socket.pause();
        socket.unshift(first);
        tlsServer.emit('connection', socket);
      });
    });
    const port = await listenLoopback(front);
    try {
      const client = await tlsClient(port, 'x.test');
      assert.equal((await readUntil(client, () => false)).toString(), 'tls ok');
    } finally {
      front.close();
      tlsServer.close();
    }
  });
});

describe('front door: PROXY protocol', () => {
  it('uses the addresses of a trusted header and refuses one from an untrusted source', async () => {
    const trusted = await startEdge({
      hasHttp: true,
      pem: proxyPki,
      proxyProtocol: { trustedIPs: ['127.0.0.0/8'] },
    });
    const untrusted = await startEdge({
      hasHttp: true,
      pem: proxyPki,
      proxyProtocol: { trustedIPs: ['10.0.0.0/8'] },
    });
    try {
      const a = await dial(trusted.port);
      a.write(encodeProxyV2({ ip: '203.0.113.7', port: 4242 }, { ip: '198.51.100.1', port: 443 }));
      a.write('GET /pp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match((await readUntil(a, () => false)).toString(), /http plain \/pp from 203\.0\.113\.7:4242$/);
      assert.equal(trusted.http.seen[0]?.facts?.viaProxyProtocol, true);
      assert.equal(trusted.http.seen[0]?.facts?.localPort, 443);

      // v1 split over several writes, then TLS behind it.
      const b = await dial(trusted.port);
      const header = encodeProxyV1({ ip: '2001:db8::9', port: 1 }, { ip: '2001:db8::1', port: 2 });
      b.write(header.subarray(0, 5));
      await new Promise((r) => setTimeout(r, 20));
      b.write(header.subarray(5));
      const tls = await tlsClient(trusted.port, 'x.test', b);
      tls.end('GET /v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      assert.match((await readUntil(tls, () => false)).toString(), /http tls \/v1 from 2001:db8::9:1$/);

      // No header from a trusted source: the TCP peer stands (the header is optional).
      assert.match(await get(trusted.port, '/none', false), /from 127\.0\.0\.1:\d+$/);

      const c = await dial(untrusted.port);
      c.write(encodeProxyV1({ ip: '203.0.113.7', port: 4242 }, { ip: '198.51.100.1', port: 443 }));
      await closedSoon(c);
      assert.equal(untrusted.http.seen.length, 0);
      // A request whose first segment is a lone `P` is not mistaken for a PROXY header.
      const d = await dial(untrusted.port);
      d.write('P');
      await new Promise((r) => setTimeout(r, 30));
      d.end('OST /post HTTP/1.0\r\nHost: x\r\n\r\n');
      assert.match((await readUntil(d, () => false)).toString(), /http plain \/post/);
      assert.match(await get(untrusted.port, '/direct', false), /from 127\.0\.0\.1:\d+$/);
    } finally {
      await trusted.close();
      await untrusted.close();
    }
  });
});
