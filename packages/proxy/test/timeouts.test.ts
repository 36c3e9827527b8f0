// Entry point timeouts and limits, and servers transports (timeouts, connection limits, TLS), over loopback.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import type { EntryPoint, ServersTransport } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { entryPointSettings } from '../src/http/entry-point-settings.js';
import { transportSettings } from '../src/http/servers-transport.js';
import { call } from './support/client.js';
import { applied, backendFor, Cleanups, planeFor, until } from './support/plane.js';
import { sendRaw, statusOf } from './support/raw.js';
import { body, service } from './support/snapshot.js';
import { makeTestCa } from './support/tls-pki.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

function withEntryPoint(b: SnapshotBody, ep: Omit<EntryPoint, 'address'>): SnapshotBody {
  return { ...b, entryPoints: { web: { address: ':80', ...ep } } };
}

function withTransports(b: SnapshotBody, transports: Record<string, ServersTransport>): SnapshotBody {
  return { ...b, http: { ...b.http, serversTransports: transports } };
}

describe('entry point settings', () => {
  it('default to readTimeout 60s, no writeTimeout, idleTimeout 180s, 64 KiB of head, grace 10s', () => {
    const s = entryPointSettings(undefined);
    assert.deepEqual(
      [s.readTimeoutMs, s.writeTimeoutMs, s.idleTimeoutMs, s.maxHeaderBytes, s.graceTimeoutMs],
      [60_000, 0, 180_000, 65_536, 10_000],
    );
    assert.deepEqual(s.forwarded, { insecure: false, trustedIPs: null });
  });

  it('read durations, limits and trusted IPs from the snapshot', () => {
    const s = entryPointSettings({
      address: ':80',
      transport: {
        respondingTimeouts: { readTimeout: '5s', writeTimeout: '1m', idleTimeout: '250ms' },
        lifeCycle: { graceTimeOut: '2s' },
      },
      http: { maxHeaderBytes: 4096 },
      forwardedHeaders: { trustedIPs: ['10.0.0.0/8'] },
    });
    assert.deepEqual(
      [s.readTimeoutMs, s.writeTimeoutMs, s.idleTimeoutMs, s.maxHeaderBytes, s.graceTimeoutMs],
      [5_000, 60_000, 250, 4096, 2_000],
    );
    assert.equal(s.forwarded.trustedIPs?.contains('10.1.1.1'), true);
  });
});

describe('servers transport settings', () => {
  it('map Traefik timeouts and limits onto undici pool options', () => {
    const t = transportSettings({
      maxConnsPerHost: 4,
      forwardingTimeouts: { dialTimeout: '2s', responseHeaderTimeout: '3s', idleConnTimeout: '4s' },
      serverName: 'api.internal',
      insecureSkipVerify: true,
    });
    assert.equal(t.pool.connections, 4);
    assert.equal(t.pool.headersTimeout, 3_000);
    assert.equal(t.pool.keepAliveTimeout, 4_000);
    assert.deepEqual(t.pool.connect, {
      timeout: 2_000,
      servername: 'api.internal',
      rejectUnauthorized: false,
      allowH2: true,
    });
  });

  it('offer HTTP/2 to https servers unless disableHTTP2, as Traefik does', () => {
    assert.equal(transportSettings(undefined).pool.allowH2, true);
    const h1 = transportSettings({ disableHTTP2: true });
    assert.equal(h1.pool.allowH2, false);
    assert.equal((h1.pool.connect as { allowH2?: boolean }).allowH2, false);
    assert.notEqual(h1.key, transportSettings(undefined).key);
  });

  it('give equal settings equal keys and different settings different keys', () => {
    assert.equal(
      transportSettings({ maxConnsPerHost: 2 }).key,
      transportSettings({ maxConnsPerHost: 2 }).key,
    );
    assert.notEqual(transportSettings({ maxConnsPerHost: 2 }).key, transportSettings(undefined).key);
  });
});

describe('timeouts against real sockets', () => {
  it('answers 504 when a server is slower than responseHeaderTimeout', async () => {
    const slow = await backendFor(cleanups, 'slow', (req, res) => {
      req.resume();
      // Far later than the timeout, so a loaded machine cannot blur the two.
      setTimeout(() => res.end('late'), 10_000).unref();
    });
    const b = body(
      { r: { rule: 'PathPrefix(`/`)', service: 's' } },
      { s: { loadBalancer: { servers: [{ url: slow.url }], serversTransport: 'quick' } } },
    );
    const port = await applied(
      planeFor(cleanups),
      withTransports(b, { quick: { forwardingTimeouts: { responseHeaderTimeout: '200ms' } } }),
    );
    const started = Date.now();
    const reply = await call(port);
    assert.equal(reply.status, 504);
    assert.equal(reply.body, 'Gateway Timeout\n');
    assert.ok(Date.now() - started < 8_000, 'the 504 came only when the server answered');
  });

  it('answers 504 when connecting takes longer than dialTimeout (a TLS handshake that never ends)', async () => {
    // Accepts TCP and then says nothing: the TLS handshake, part of undici's connect, stalls.
    const sockets = new Set<Socket>();
    const mute = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    cleanups.add(
      () =>
        new Promise((resolve) => {
          for (const socket of sockets) socket.destroy();
          mute.close(() => resolve());
        }),
    );
    const url = `https://127.0.0.1:${(mute.address() as AddressInfo).port}`;
    const b = body(
      { r: { rule: 'PathPrefix(`/`)', service: 's' } },
      { s: { loadBalancer: { servers: [{ url }], serversTransport: 'dial' } } },
    );
    const port = await applied(
      planeFor(cleanups),
      withTransports(b, { dial: { serverName: 'x.test', forwardingTimeouts: { dialTimeout: '200ms' } } }),
    );
    const reply = await call(port);
    assert.equal(reply.status, 504);
  });

  it('disconnects a client slower than readTimeout while serving a concurrent one', async () => {
    const a = await backendFor(cleanups, 'A');
    const b = body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) });
    const port = await applied(
      planeFor(cleanups),
      withEntryPoint(b, { transport: { respondingTimeouts: { readTimeout: '300ms' } } }),
    );
    // Half a request head, then nothing.
    const slow = sendRaw(port, 'GET / HTTP/1.1\r\nHost: a.test\r\nX-Slow: ', 4_000);
    const fast = await call(port);
    assert.equal(fast.status, 200);
    assert.equal(fast.body, 'A');
    const reply = await slow;
    assert.equal(reply.closed, true, 'the slow client was never disconnected');
    assert.ok(reply.text === '' || statusOf(reply.text) === 408, reply.text);
    assert.equal(a.seen.length, 1);
  });

  it('closes a keep-alive connection idle for longer than idleTimeout', async () => {
    const a = await backendFor(cleanups, 'A');
    const b = body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) });
    const port = await applied(
      planeFor(cleanups),
      withEntryPoint(b, { transport: { respondingTimeouts: { idleTimeout: '200ms' } } }),
    );
    const started = Date.now();
    const reply = await sendRaw(port, 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n', 3_000);
    assert.equal(statusOf(reply.text), 200);
    assert.equal(reply.closed, true);
    assert.ok(Date.now() - started < 2_000);
  });

  it('applies changed options without closing open keep-alive connections', async () => {
    const a = await backendFor(cleanups, 'A');
    const p = planeFor(cleanups);
    const b = body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(a.url) });
    const port = await applied(p, b);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.add(async () => agent.destroy());
    const first = await call(port, { agent, headers: { 'x-pad': 'p'.repeat(8_000) } });
    assert.equal(first.status, 200);

    const again = await applied(
      p,
      withEntryPoint(b, {
        http: { maxHeaderBytes: 4_096 },
        transport: { respondingTimeouts: { idleTimeout: '90s', readTimeout: '30s' } },
      }),
    );
    assert.equal(again, port);
    const second = await call(port, { agent });
    assert.equal(second.status, 200);
    assert.equal(second.localPort, first.localPort, 'the keep-alive connection was dropped');
    // The new head limit applies to new connections.
    const big = await sendRaw(port, `GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${'p'.repeat(8_000)}\r\n\r\n`);
    assert.equal(statusOf(big.text), 431);
  });

  it('cuts a response that takes longer than writeTimeout', async () => {
    const dribble = await backendFor(cleanups, 'dribble', (req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const b = body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(dribble.url) });
    const port = await applied(
      planeFor(cleanups),
      withEntryPoint(b, { transport: { respondingTimeouts: { writeTimeout: '300ms' } } }),
    );
    const reply = await sendRaw(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 3_000);
    assert.equal(statusOf(reply.text), 200);
    assert.equal(reply.closed, true, 'the endless response was not cut');
  });
});

describe('draining', () => {
  it('lets a request in flight finish within graceTimeOut when the data plane closes', async () => {
    const slow = await backendFor(cleanups, 'slow', (req, res) => {
      req.resume();
      setTimeout(() => res.end('done'), 300);
    });
    const p = planeFor(cleanups, { closeDrainMs: undefined });
    const b = body({ r: { rule: 'PathPrefix(`/`)', service: 's' } }, { s: service(slow.url) });
    const port = await applied(p, withEntryPoint(b, { transport: { lifeCycle: { graceTimeOut: '3s' } } }));
    const inFlight = call(port);
    await until(() => slow.seen.length === 1, 'the request to reach the server');
    const started = Date.now();
    await p.close();
    const reply = await inFlight;
    assert.equal(reply.body, 'done');
    assert.ok(Date.now() - started < 2_500, 'close waited for the whole grace');
  });
});

describe('servers transports against real sockets', () => {
  it('holds a server to maxConnsPerHost connections, queueing the rest', async () => {
    const held: (() => void)[] = [];
    const a = await backendFor(cleanups, 'A', (req, res) => {
      req.resume();
      held.push(() => res.end('A'));
    });
    const b = body(
      { r: { rule: 'PathPrefix(`/`)', service: 's' } },
      { s: { loadBalancer: { servers: [{ url: a.url }], serversTransport: 'one' } } },
    );
    const port = await applied(planeFor(cleanups), withTransports(b, { one: { maxConnsPerHost: 1 } }));
    const replies = [call(port), call(port), call(port)];
    await until(() => held.length === 1, 'the first request');
    await sleep(100);
    assert.equal(a.seen.length, 1, 'a second connection was opened');
    for (let i = 0; i < 3; i++) {
      await until(() => held.length > i, `request ${i + 1}`);
      held[i]!();
    }
    assert.deepEqual(
      (await Promise.all(replies)).map((r) => r.body),
      ['A', 'A', 'A'],
    );
  });

  it('does not share connections between services with different transports', async () => {
    const ports = new Set<number>();
    const a = await backendFor(cleanups, 'A', (req, res) => {
      ports.add(req.socket.remotePort ?? 0);
      req.resume();
      res.end('A');
    });
    const b = body(
      {
        one: { rule: 'Host(`one.test`)', service: 'one' },
        two: { rule: 'Host(`two.test`)', service: 'two' },
      },
      {
        one: { loadBalancer: { servers: [{ url: a.url }] } },
        two: { loadBalancer: { servers: [{ url: a.url }], serversTransport: 'other' } },
      },
    );
    const port = await applied(planeFor(cleanups), withTransports(b, { other: { maxConnsPerHost: 5 } }));
    for (let i = 0; i < 3; i++) {
      assert.equal((await call(port, { host: 'one.test' })).status, 200);
      assert.equal((await call(port, { host: 'two.test' })).status, 200);
    }
    assert.equal(ports.size, 2);
  });

  it('reaches an https server signed by a private CA through rootCAs and serverName', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-ca-'));
    cleanups.add(async () => rmSync(dir, { recursive: true, force: true }));
    const pki = privatePki(dir, 'backend.internal');
    const tls = createHttpsServer({ key: pki.key, cert: pki.cert }, (req, res) => {
      req.resume();
      res.end(`tls ${req.headers.host}`);
    });
    await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
    cleanups.add(
      () =>
        new Promise((resolve) => {
          tls.close(() => resolve());
          tls.closeAllConnections();
        }),
    );
    const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    const b = body(
      {
        trusted: { rule: 'Host(`trusted.test`)', service: 'trusted' },
        plain: { rule: 'Host(`plain.test`)', service: 'plain' },
        skip: { rule: 'Host(`skip.test`)', service: 'skip' },
      },
      {
        trusted: { loadBalancer: { servers: [{ url }], serversTransport: 'ca' } },
        plain: { loadBalancer: { servers: [{ url }] } },
        skip: { loadBalancer: { servers: [{ url }], serversTransport: 'skip' } },
      },
    );
    const port = await applied(
      planeFor(cleanups),
      withTransports(b, {
        ca: { serverName: 'backend.internal', rootCAs: [pki.ca] },
        skip: { insecureSkipVerify: true },
      }),
    );
    const ok = await call(port, { host: 'trusted.test' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'tls trusted.test');
    assert.equal((await call(port, { host: 'plain.test' })).status, 502, 'an unknown CA was accepted');
    assert.equal((await call(port, { host: 'skip.test' })).status, 200);
  });
});

describe('mTLS to servers', () => {
  it("presents the transport's client certificate to an https server that requires one", async () => {
    const ca = makeTestCa();
    cleanups.add(async () => ca.close());
    const leaf = ca.leaf(['backend.internal']);
    const client = ca.client('berth-node');
    const server = createHttpsServer(
      { key: leaf.keyPem, cert: leaf.certPem, ca: [ca.caPem], requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        req.resume();
        res.end(`client ${peer.subject?.CN}`);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.add(
      () =>
        new Promise((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const b = body(
      {
        mtls: { rule: 'Host(`mtls.test`)', service: 'mtls' },
        anon: { rule: 'Host(`anon.test`)', service: 'anon' },
      },
      {
        mtls: { loadBalancer: { servers: [{ url }], serversTransport: 'mtls' } },
        anon: { loadBalancer: { servers: [{ url }], serversTransport: 'anon' } },
      },
    );
    const tls = { serverName: 'backend.internal', rootCAs: [ca.caPem] };
    const port = await applied(
      planeFor(cleanups),
      withTransports(b, {
        mtls: { ...tls, certificates: [{ certFile: client.certPem, keyFile: client.keyPem }] },
        anon: tls,
      }),
    );
    const ok = await call(port, { host: 'mtls.test' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'client berth-node');
    assert.equal((await call(port, { host: 'anon.test' })).status, 502, 'no client certificate, no entry');
  });
});

/** A CA and a server certificate for `name`, made with the openssl command. */
function privatePki(dir: string, name: string): { ca: string; cert: string; key: string } {
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test CA');
  run('req', ...ec, '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', `/CN=${name}`);
  const ext = join(dir, 'ext.cnf');
  execFileSync('sh', ['-c', `printf 'subjectAltName=DNS:${name}\\n' > '${ext}'`]);
  run(
    'x509',
    '-req',
    '-in',
    'srv.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'srv.pem',
    '-days',
    '2',
    '-extfile',
    ext,
  );
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  return { ca: read('ca.pem'), cert: read('srv.pem'), key: read('srv.key') };
}
