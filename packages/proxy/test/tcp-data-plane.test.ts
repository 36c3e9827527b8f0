// The TCP data plane on loopback: updates that keep connections, removals with grace, health, TLS to servers, middlewares, idle timeout, 1 GiB passthrough.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { TcpConfig } from '@berth/config';
import { probeTcp } from '../src/tcp/tcp-health.js';
import { closedPort } from './support/backend.js';
import { readUntil, startEdge, startTcpBackend, startTlsBackend } from './support/edge.js';
import { captureLog, waitFor } from './support/log-capture.js';
import { makePki, type TestPki } from './support/pki.js';

let proxyPki: TestPki;
let backendPki: TestPki;
const dirs: string[] = [];
before(async () => {
  const a = await mkdtemp(join(tmpdir(), 'berth-tcp-a-'));
  const b = await mkdtemp(join(tmpdir(), 'berth-tcp-b-'));
  dirs.push(a, b);
  proxyPki = await makePki(a);
  backendPki = await makePki(b);
});
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dial(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}

function ended(socket: Socket): Promise<void> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve();
  socket.resume();
  return new Promise((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
}

function routed(name: string, port: number, extra: Partial<TcpConfig> = {}): TcpConfig {
  return {
    routers: { [name]: { rule: 'HostSNI(`*`)', service: 'svc' } },
    services: { svc: { loadBalancer: { servers: [{ address: `127.0.0.1:${port}` }] } } },
    ...extra,
  };
}

async function echoes(socket: Socket, text: string): Promise<void> {
  socket.write(`${text}\n`);
  const got = await readUntil(socket, (b) => b.includes(`${text}\n`));
  assert.ok(got.toString().endsWith(`${text}\n`));
}

describe('TCP data plane: updates', () => {
  it('keeps a long-lived connection whose router survives an update, and cuts a removed router after the grace', async () => {
    const echo = await startTcpBackend();
    const edge = await startEdge({ tcp: routed('keep', echo.port), pem: proxyPki });
    try {
      const long = await dial(edge.port);
      await echoes(long, 'one');
      // Same router, changed service settings: the connection goes on.
      edge.update(
        routed('keep', echo.port, { serversTransports: { default: { dialTimeout: '3s' } } }),
        false,
        100,
      );
      await new Promise((r) => setTimeout(r, 250));
      await echoes(long, 'two');
      assert.equal(edge.plane.connectionCount('ep', 'keep'), 1);
      assert.deepEqual(edge.plane.openConnections(), [{ entryPoint: 'ep', router: 'keep', open: 1 }]);

      // The router is renamed (removed): its connection is cut after the 100 ms grace.
      edge.update(routed('renamed', echo.port), false, 100);
      await echoes(long, 'three'); // still inside the grace
      await ended(long);
      assert.equal(edge.plane.connectionCount('ep', 'keep'), 0);
      const fresh = await dial(edge.port);
      await echoes(fresh, 'four');
      fresh.destroy();
    } finally {
      await edge.close();
      echo.close();
    }
  });

  it('closes clients when every server is down by health check, and serves again on recovery', async () => {
    const echo = await startTcpBackend();
    const dead = await closedPort();
    const tcp = (port: number): TcpConfig => ({
      routers: { r: { rule: 'HostSNI(`*`)', service: 'svc' } },
      services: {
        svc: {
          loadBalancer: {
            servers: [{ address: `127.0.0.1:${port}` }],
            healthCheck: { interval: '100ms', timeout: '500ms' },
          },
        },
      },
    });
    const edge = await startEdge({ tcp: tcp(dead), pem: proxyPki });
    try {
      await waitFor(() => !edge.plane.health.isUp(`svc|127.0.0.1:${dead}`), 'server marked down');
      const refused = await dial(edge.port);
      await ended(refused);
      edge.update(tcp(echo.port));
      const ok = await dial(edge.port);
      await echoes(ok, 'up');
      ok.destroy();
    } finally {
      await edge.close();
      echo.close();
    }
  });
});

describe('TCP health probe', () => {
  it('connects, sends, and expects a reply within the timeout', async () => {
    const redis = await startTcpBackend((socket) => {
      socket.on('data', (c: Buffer) => {
        if (c.toString() === 'PING\r\n') socket.write('+PONG\r\n');
      });
    });
    const mute = await startTcpBackend((socket) => socket.on('data', () => {}));
    const dead = await closedPort();
    try {
      const base = { host: '127.0.0.1', timeoutMs: 300 };
      assert.equal(await probeTcp({ ...base, port: redis.port, send: undefined, expect: undefined }), true);
      assert.equal(await probeTcp({ ...base, port: redis.port, send: 'PING\r\n', expect: '+PONG' }), true);
      assert.equal(await probeTcp({ ...base, port: mute.port, send: 'PING\r\n', expect: '+PONG' }), false);
      assert.equal(await probeTcp({ ...base, port: dead, send: undefined, expect: undefined }), false);
    } finally {
      redis.close();
      mute.close();
    }
  });
});

describe('TCP data plane: servers', () => {
  it('dials TLS servers with the transport rootCAs, serverName and client certificate', async () => {
    let clientCn = '';
    const backend = createTlsServer(
      {
        cert: backendPki.certPem,
        key: backendPki.keyPem,
        ca: proxyPki.caPem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (s: TLSSocket) => {
        clientCn = String(s.getPeerCertificate().subject?.CN ?? '');
        s.pipe(s);
      },
    );
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const port = (backend.address() as { port: number }).port;
    const tcp: TcpConfig = {
      routers: { r: { rule: 'HostSNI(`*`)', service: 'svc' } },
      services: {
        svc: {
          loadBalancer: { servers: [{ address: `127.0.0.1:${port}`, tls: true }], serversTransport: 'mtls' },
        },
      },
      serversTransports: {
        mtls: {
          tls: {
            rootCAs: [backendPki.caPem],
            certificates: [{ certFile: proxyPki.certPem, keyFile: proxyPki.keyPem }],
          },
        },
      },
    };
    const edge = await startEdge({ tcp, pem: proxyPki });
    try {
      const client = await dial(edge.port);
      await echoes(client, 'secret');
      assert.equal(clientCn, '127.0.0.1');
      client.destroy();

      // The wrong CA: the dial fails and only this client is closed.
      tcp.serversTransports!.mtls!.tls!.rootCAs = [proxyPki.caPem];
      edge.update(tcp);
      const refused = await dial(edge.port);
      await ended(refused);
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('warns once, loudly, about insecureSkipVerify', async () => {
    const backend = await startTlsBackend(backendPki);
    const log = captureLog('info');
    const tcp: TcpConfig = {
      routers: { r: { rule: 'HostSNI(`*`)', service: 'svc' } },
      services: {
        svc: {
          loadBalancer: {
            servers: [{ address: `127.0.0.1:${backend.port}`, tls: true }],
            serversTransport: 'lax',
          },
        },
      },
      serversTransports: { lax: { tls: { insecureSkipVerify: true } } },
    };
    const edge = await startEdge({ tcp, pem: proxyPki, logger: log.logger });
    try {
      for (let i = 0; i < 2; i++) {
        const c = await dial(edge.port);
        assert.equal((await readUntil(c, (b) => b.includes('\n'))).toString(), 'sni=\n');
        c.destroy();
      }
      assert.equal(log.lines.filter((l) => /insecureSkipVerify/.test(String(l.msg))).length, 1);
      assert.equal(log.lines.find((l) => /insecureSkipVerify/.test(String(l.msg)))?.level, 40);
    } finally {
      await edge.close();
      backend.close();
    }
  });

  it('applies ipAllowList and inFlightConn middlewares', async () => {
    const echo = await startTcpBackend();
    const tcp: TcpConfig = {
      routers: { r: { rule: 'HostSNI(`*`)', service: 'svc', middlewares: ['local', 'one'] } },
      services: { svc: { loadBalancer: { servers: [{ address: `127.0.0.1:${echo.port}` }] } } },
      middlewares: {
        local: { ipAllowList: { sourceRange: ['127.0.0.1/32'] } },
        one: { inFlightConn: { amount: 1 } },
      },
    };
    const edge = await startEdge({ tcp, pem: proxyPki });
    try {
      const first = await dial(edge.port);
      await echoes(first, 'a');
      const second = await dial(edge.port);
      await ended(second);
      first.destroy();
      await waitFor(() => edge.plane.connectionCount('ep', 'r') === 0, 'first connection gone');
      const third = await dial(edge.port);
      await echoes(third, 'b');
      third.destroy();

      edge.update({
        ...tcp,
        middlewares: { ...tcp.middlewares, local: { ipAllowList: { sourceRange: ['10.0.0.0/8'] } } },
      });
      const denied = await dial(edge.port);
      await ended(denied);
    } finally {
      await edge.close();
      echo.close();
    }
  });

  it('closes a connection idle for longer than idleTimeout', async () => {
    const echo = await startTcpBackend();
    const edge = await startEdge({
      tcp: routed('r', echo.port, { serversTransports: { default: { idleTimeout: '300ms' } } }),
      pem: proxyPki,
    });
    try {
      const c = await dial(edge.port);
      await echoes(c, 'x');
      const started = Date.now();
      await ended(c);
      assert.ok(Date.now() - started >= 250);
    } finally {
      await edge.close();
      echo.close();
    }
  });
});

describe('TCP data plane: volume', () => {
  it('carries 1 GiB through SNI passthrough byte for byte', { timeout: 180_000 }, async () => {
    const total = 1024 * 1024 * 1024;
    // The TLS backend hashes what it decrypts and answers with the digest when the client ends.
    const backend = createTlsServer(
      { cert: backendPki.certPem, key: backendPki.keyPem, allowHalfOpen: true },
      (s) => {
        const hash = createHash('sha256');
        let n = 0;
        s.on('data', (c: Buffer) => {
          hash.update(c);
          n += c.length;
        });
        s.on('end', () => s.end(`${n} ${hash.digest('hex')}`));
      },
    );
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const port = (backend.address() as { port: number }).port;
    const edge = await startEdge({
      tcp: {
        routers: { big: { rule: 'HostSNI(`big.test`)', service: 'svc', tls: { passthrough: true } } },
        services: {
          svc: { loadBalancer: { servers: [{ address: `127.0.0.1:${port}` }], terminationDelay: -1 } },
        },
      },
      pem: proxyPki,
    });
    try {
      const client = tlsConnect({
        port: edge.port,
        host: '127.0.0.1',
        servername: 'big.test',
        ca: backendPki.caPem,
        checkServerIdentity: () => undefined,
      });
      await once(client, 'secureConnect');
      const sent = createHash('sha256');
      // A deterministic stream: 1 MiB blocks, each stamped with its index.
      const block = Buffer.alloc(1024 * 1024);
      for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
      let written = 0;
      let index = 0;
      const write = () => {
        while (written < total) {
          const chunk = Buffer.from(block);
          chunk.writeUInt32BE(index++, 0);
          sent.update(chunk);
          written += chunk.length;
          if (!client.write(chunk)) {
            client.once('drain', write);
            return;
          }
        }
        client.end();
      };
      write();
      const answer = (await readUntil(client, () => false, 170_000)).toString();
      assert.equal(answer, `${total} ${sent.digest('hex')}`);
    } finally {
      await edge.close();
      backend.close();
    }
  });
});
