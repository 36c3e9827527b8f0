// serversTransport minVersion, maxVersion and cipherSuites against real TLS backends on loopback.
import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { ServersTransport } from '@berth/config';
import { HealthRegistry } from '../src/health/health-registry.js';
import { transportSettings } from '../src/http/servers-transport.js';
import { call } from './support/client.js';
import { healthBody } from './support/health-body.js';
import { captureLog, waitFor } from './support/log-capture.js';
import { applied, Cleanups, planeFor } from './support/plane.js';
import { body } from './support/snapshot.js';
import { makeTestCa } from './support/tls-pki.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

describe('serversTransport TLS settings', () => {
  it('map Go version and suite names to Node, keeping the TLS 1.3 suites', () => {
    const t = transportSettings({
      minVersion: 'VersionTLS12',
      maxVersion: 'VersionTLS13',
      cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'TLS_AES_128_GCM_SHA256'],
    });
    assert.equal(t.tls.minVersion, 'TLSv1.2');
    assert.equal(t.tls.maxVersion, 'TLSv1.3');
    assert.equal(
      t.tls.ciphers,
      'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES256-GCM-SHA384',
    );
    assert.notEqual(t.key, transportSettings({}).key, 'pools are not shared with other TLS settings');
    assert.equal(transportSettings({}).tls.ciphers, undefined);
  });

  it('refuses a TLS 1.2-only server with minVersion VersionTLS13, reaches it otherwise, with the chosen suite', async () => {
    const ca = makeTestCa();
    cleanups.add(async () => ca.close());
    const leaf = ca.leaf(['backend.internal']);
    const server = createHttpsServer(
      { key: leaf.keyPem, cert: leaf.certPem, maxVersion: 'TLSv1.2' },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        req.resume();
        res.end(`${socket.getProtocol()} ${socket.getCipher().standardName}`);
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
    const base = { serverName: 'backend.internal', rootCAs: [ca.caPem] };
    const transports: Record<string, ServersTransport> = {
      tls13: { ...base, minVersion: 'VersionTLS13' },
      tls12: {
        ...base,
        maxVersion: 'VersionTLS12',
        cipherSuites: ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
      },
    };
    const b = body(
      {
        r13: { rule: 'Host(`13.test`)', service: 's13' },
        r12: { rule: 'Host(`12.test`)', service: 's12' },
      },
      {
        s13: { loadBalancer: { servers: [{ url }], serversTransport: 'tls13' } },
        s12: { loadBalancer: { servers: [{ url }], serversTransport: 'tls12' } },
      },
    );
    const port = await applied(planeFor(cleanups), {
      ...b,
      http: { ...b.http, serversTransports: transports },
    });
    assert.equal((await call(port, { host: '13.test' })).status, 502, 'TLS 1.3 required, the server has 1.2');
    const ok = await call(port, { host: '12.test' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384');

    // Health probes connect as requests do: the TLS 1.3-only transport finds the server down.
    const { logger } = captureLog();
    const registry = new HealthRegistry({ logger });
    cleanups.add(() => registry.close());
    const hc = { interval: '50ms', timeout: '500ms' };
    registry.update(
      healthBody(
        {
          s13: { servers: [url], healthCheck: hc, serversTransport: 'tls13' },
          s12: { servers: [url], healthCheck: hc, serversTransport: 'tls12' },
        },
        transports,
      ),
    );
    const server0 = { url: new URL(url), origin: new URL(url).origin, weight: 1 };
    await waitFor(() => !registry.isAvailable('s13', server0), 'the TLS 1.3 probe to fail');
    assert.equal(registry.isAvailable('s12', server0), true);
  });
});
