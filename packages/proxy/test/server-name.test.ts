// TLS to https servers given by IP: no IP in SNI (RFC 6066, Node's DEP0123), the certificate still checked against the address, a configured serverName sent.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { ResolvedCertificate, ServersTransport } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { serverNameOptions } from '../src/tls/server-name.js';
import { call } from './support/client.js';
import { applied, Cleanups, planeFor, until } from './support/plane.js';
import { sendRaw, statusOf } from './support/raw.js';
import { body } from './support/snapshot.js';
import { makeTestCa } from './support/tls-pki.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

// Node warns once per process: watching from the start sees the first IP server name, whoever sets it.
const warnings: Error[] = [];
process.on('warning', (warning) => warnings.push(warning));
const dep0123 = (): Error[] => warnings.filter((w) => (w as { code?: string }).code === 'DEP0123');

interface Seen {
  path: string;
  /** The SNI the client sent; false or undefined without one. */
  sni: string | false | undefined;
}

/** An https server on 127.0.0.1 recording the SNI of every request and upgrade. */
async function httpsServer(cert: ResolvedCertificate): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const sniOf = (req: IncomingMessage): string | false | undefined =>
    (req.socket as TLSSocket & { servername?: string | false }).servername;
  const server: Server = createHttpsServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    seen.push({ path: req.url ?? '', sni: sniOf(req) });
    req.resume();
    res.end('ok');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    seen.push({ path: req.url ?? '', sni: sniOf(req) });
    socket.end('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.add(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function snapshot(
  ipUrl: string,
  wrongUrl: string,
  transports: Record<string, ServersTransport>,
): SnapshotBody {
  const b = body(
    {
      ip: { rule: 'Host(`ip.test`)', service: 'ip' },
      named: { rule: 'Host(`named.test`)', service: 'named' },
      wrong: { rule: 'Host(`wrong.test`)', service: 'wrong' },
      pinned: { rule: 'Host(`pinned.test`)', service: 'pinned' },
    },
    {
      ip: {
        loadBalancer: {
          servers: [{ url: ipUrl }],
          serversTransport: 'ca',
          healthCheck: { path: '/health', interval: '100ms', timeout: '1s' },
        },
      },
      named: { loadBalancer: { servers: [{ url: ipUrl }], serversTransport: 'named' } },
      wrong: { loadBalancer: { servers: [{ url: wrongUrl }], serversTransport: 'ca' } },
      pinned: { loadBalancer: { servers: [{ url: ipUrl }], serversTransport: 'pinned' } },
    },
  );
  b.http.serversTransports = transports;
  return b;
}

describe('TLS server names', () => {
  it('names a DNS name in SNI; an IP is not sent and the certificate must name it', () => {
    assert.deepEqual(serverNameOptions('api.internal'), { servername: 'api.internal' });
    for (const ip of ['127.0.0.1', '::1', '[::1]']) {
      const options = serverNameOptions(ip);
      assert.equal(options.servername, '');
      assert.equal(typeof options.checkServerIdentity, 'function');
    }
  });

  it('reaches https://127.0.0.1 without an IP in SNI and without DEP0123, and sends a configured serverName', async () => {
    const ca = makeTestCa();
    cleanups.add(async () => ca.close());
    const good = await httpsServer(ca.leaf(['backend.test', '127.0.0.1']));
    const wrong = await httpsServer(ca.leaf(['other.test']));
    const p = planeFor(cleanups);
    const port = await applied(
      p,
      snapshot(good.url, wrong.url, {
        ca: { rootCAs: [ca.caPem] },
        named: { rootCAs: [ca.caPem], serverName: 'backend.test' },
        // An IP as serverName: checked against the certificate, never sent.
        pinned: { rootCAs: [ca.caPem], serverName: '127.0.0.1' },
      }),
    );
    const ip = await call(port, { host: 'ip.test', path: '/ip' });
    assert.equal(ip.status, 200, ip.body);
    const named = await call(port, { host: 'named.test', path: '/named' });
    assert.equal(named.status, 200, named.body);
    const pinned = await call(port, { host: 'pinned.test', path: '/pinned' });
    assert.equal(pinned.status, 200, pinned.body);
    assert.deepEqual(dep0123(), []);
    const first = Object.fromEntries(good.seen.map((s) => [s.path, s.sni]));
    assert.ok(!first['/ip'], `no SNI for an IP server: ${first['/ip']}`);
    assert.equal(
      (await call(port, { host: 'wrong.test', path: '/wrong' })).status,
      502,
      'a certificate without the IP is refused',
    );
    // node:https would take the SNI and the name to check from the Host header (ip.test) and fail.
    const upgrade = await sendRaw(
      port,
      'GET /ws HTTP/1.1\r\nHost: ip.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    );
    assert.equal(statusOf(upgrade.text), 101, upgrade.text);
    await until(() => good.seen.some((s) => s.path === '/health'), 'a health check', 3_000);
    const sni = Object.fromEntries(good.seen.map((s) => [s.path, s.sni]));
    assert.ok(!sni['/ip'], `no SNI for an IP server: ${sni['/ip']}`);
    assert.ok(!sni['/ws'], `no SNI for an IP server's upgrade: ${sni['/ws']}`);
    assert.ok(!sni['/health'], `no SNI for an IP server's health check: ${sni['/health']}`);
    assert.ok(!sni['/pinned'], `no SNI for an IP serverName: ${sni['/pinned']}`);
    assert.equal(sni['/named'], 'backend.test');
    assert.deepEqual(dep0123(), []);
  });
});
