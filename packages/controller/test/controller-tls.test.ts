// A real controller (sockets, data dir, API over HTTP) with TLS and TCP configuration: what it publishes, what it shows, what it never shows.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DynamicConfig } from '@berth/config';
import { pino } from 'pino';
import type { CertificateStatus, TcpRouterStatus, TcpServiceStatus } from '../src/compiler/compile-result.js';
import { type ControllerHandle, startController } from '../src/controller.js';
import type { ProviderPart } from '../src/provider/provider-part.js';
import { readOcspResponse } from '../src/tls/ocsp.js';
import { createOcspPki, freePort, OcspResponder } from './support/openssl-ocsp.js';
import { StaticProvider } from './support/static-provider.js';
import { makeCert, type TestCert } from './support/test-certs.js';

const DAY = 24 * 3600 * 1000;

describe('controller with TLS and TCP', () => {
  let dir: string;
  let good: TestCert;
  let expired: TestCert;
  let clientCa: TestCert;
  const logLines: string[] = [];

  function parts(): ProviderPart[] {
    const config: DynamicConfig = {
      http: {
        routers: {
          secure: { rule: 'Host(`www.example.test`)', service: 'web', tls: { options: 'mtls' } },
          plain: { rule: 'Host(`plain.test`)', service: 'web', entryPoints: ['web'] },
        },
        services: { web: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } } },
      },
      tcp: {
        routers: {
          ssh: { rule: 'HostSNI(`*`)', service: 'ssh', entryPoints: ['ssh'] },
          pass: { rule: 'HostSNI(`db.test`)', service: 'ghost', tls: { passthrough: true } },
        },
        services: { ssh: { loadBalancer: { servers: [{ address: '127.0.0.1:22' }] } } },
      },
      tls: {
        certificates: [
          { certFile: good.certPem, keyFile: good.keyPem },
          { certFile: expired.certPem, keyFile: expired.keyPem },
        ],
        options: {
          mtls: { clientAuth: { caFiles: [clientCa.certPem], clientAuthType: 'VerifyClientCertIfGiven' } },
        },
      },
    };
    return [{ sourceKey: join(dir, 'dynamic.yml'), config, errors: [] }];
  }

  async function start(given: ProviderPart[] = parts()): Promise<ControllerHandle> {
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
    return startController({
      dataDir: join(dir, 'data'),
      listen: '127.0.0.1:0',
      api: '127.0.0.1:0',
      entryPoints: { web: { address: ':80' }, websecure: { address: ':443' }, ssh: { address: ':2222' } },
      logger,
      providers: [new StaticProvider(given)],
    });
  }

  async function get<T>(controller: ControllerHandle, path: string): Promise<{ text: string; json: T }> {
    const res = await fetch(`${controller.apiUrl}${path}`);
    assert.equal(res.status, 200, path);
    const text = await res.text();
    return { text, json: JSON.parse(text) as T };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ctl-tls-'));
    good = await makeCert({ dns: ['www.example.test'] });
    expired = await makeCert({
      dns: ['old.test'],
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    clientCa = await makeCert({ cn: 'Client CA', ca: true });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('publishes certificates, options and ticket keys to nodes, shows them without keys, and keeps them across a restart', async () => {
    const controller = await start();
    let firstKeys: string[];
    let defaultCertPem: string;
    try {
      const body = controller.store.current!.body;
      const tls = body.tls!;
      // Nodes get everything they need to terminate TLS.
      assert.deepEqual(
        tls.certificates.map((c) => c.names),
        [['www.example.test']],
      );
      assert.match(tls.certificates[0]!.keyPem, /PRIVATE KEY/);
      assert.equal(tls.defaultCertificate.origin, 'default');
      assert.deepEqual(tls.options['mtls@file']?.clientAuth?.caFiles, [clientCa.certPem]);
      assert.equal(tls.sessionTicketKeys.length, 1);
      assert.deepEqual(Object.keys(body.tcp!.routers), ['ssh@file']);
      firstKeys = tls.sessionTicketKeys;
      defaultCertPem = tls.defaultCertificate.certPem;

      const certs = await get<CertificateStatus[]>(controller, '/api/v1/certs');
      assert.deepEqual(
        certs.json.map((c) => [
          c.names.join(','),
          c.origin,
          c.isDefault,
          c.status,
          c.errors.map((e) => e.code),
        ]),
        [
          ['www.example.test', 'file', false, 'enabled', []],
          ['', 'file', false, 'disabled', ['BERTH_TLS_CERT_EXPIRED']],
          ['berth default cert', 'default', true, 'enabled', []],
        ],
      );
      assert.equal(certs.json[0]?.source?.origin, join(dir, 'dynamic.yml'));

      const routers = await get<TcpRouterStatus[]>(controller, '/api/v1/tcp/routers');
      assert.deepEqual(
        routers.json.map((r) => [r.name, r.status, r.tls, r.errors.map((e) => e.code)]),
        [
          ['pass@file', 'disabled', 'passthrough', ['BERTH_CONFIG_SERVICE_MISSING']],
          ['ssh@file', 'enabled', 'none', []],
        ],
      );
      const services = await get<TcpServiceStatus[]>(controller, '/api/v1/tcp/services');
      assert.deepEqual(services.json[0]?.usedBy, ['ssh@file']);
      const errors = await get<Array<{ code: string; path: string }>>(controller, '/api/v1/errors');
      assert.deepEqual(
        errors.json.map((e) => [e.code, e.path]),
        [
          ['BERTH_CONFIG_SERVICE_MISSING', 'tcp.routers.pass@file.service'],
          ['BERTH_TLS_CERT_EXPIRED', 'tls.certificates.1'],
        ],
      );

      // No endpoint and no log line carries a private key or a ticket key.
      const stored = JSON.parse(
        await readFile(join(dir, 'data', 'tls', 'session-ticket-keys.json'), 'utf8'),
      ) as {
        keys: string[];
      };
      assert.deepEqual(stored.keys, firstKeys);
      const everything: string[] = [];
      for (const path of [
        '/api/v1/status',
        '/api/v1/snapshot',
        '/api/v1/snapshot/body',
        '/api/v1/routers',
        '/api/v1/services',
        '/api/v1/middlewares',
        '/api/v1/errors',
        '/api/v1/certs',
        '/api/v1/tcp/routers',
        '/api/v1/tcp/services',
        '/api/v1/nodes',
      ]) {
        everything.push((await get<unknown>(controller, path)).text);
      }
      const snapshotBody = await get<{
        body: { tls: { certificates: Array<{ certPem: string; keyPem: string }> } };
      }>(controller, '/api/v1/snapshot/body');
      assert.equal(snapshotBody.json.body.tls.certificates[0]?.keyPem, '[redacted]');
      assert.equal(snapshotBody.json.body.tls.certificates[0]?.certPem, good.certPem);
      everything.push(...logLines);
      const all = everything.join('\n');
      assert.ok(logLines.length > 0);
      assert.doesNotMatch(all, /PRIVATE KEY/);
      for (const key of firstKeys) assert.equal(all.includes(key), false, 'a ticket key leaked');
    } finally {
      await controller.close();
    }

    const restarted = await start();
    try {
      const tls = restarted.store.current!.body.tls!;
      assert.deepEqual(tls.sessionTicketKeys, firstKeys);
      assert.equal(tls.defaultCertificate.certPem, defaultCertPem);
    } finally {
      await restarted.close();
    }
  });

  it('staples the OCSP response of a certificate that names a responder, and shows its status', async () => {
    const ocspDir = join(dir, 'ocsp');
    await mkdir(ocspDir);
    const port = await freePort();
    const pki = await createOcspPki(ocspDir, port);
    const responder = new OcspResponder(ocspDir, port);
    await responder.start();
    const controller = await start([
      {
        sourceKey: join(dir, 'ocsp.yml'),
        errors: [],
        config: {
          http: {
            routers: { r: { rule: 'Host(`ocsp.test`)', service: 's', tls: {} } },
            services: { s: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } } },
          },
          tls: { certificates: [{ certFile: pki.chainPem, keyFile: pki.leafKeyPem }] },
        },
      },
    ]);
    try {
      const stapled = () => controller.store.current?.body.tls?.certificates[0]?.ocspResponse;
      for (let i = 0; i < 200 && stapled() === undefined; i++) await new Promise((r) => setTimeout(r, 50));
      const response = stapled();
      assert.ok(response, 'the controller published an OCSP response');
      assert.equal(
        readOcspResponse(Buffer.from(response, 'base64'), pki.leafPem, pki.caPem, new Date()).status,
        'good',
      );
      const certs = await get<CertificateStatus[]>(controller, '/api/v1/certs');
      const ocspCert = certs.json.find((c) => c.names.includes('ocsp.test'));
      assert.equal(ocspCert?.ocsp?.status, 'good');
      assert.ok(
        ocspCert?.ocsp?.nextUpdate !== undefined && Date.parse(ocspCert.ocsp.nextUpdate) > Date.now(),
      );
    } finally {
      await controller.close();
      await responder.stop();
    }
  });
});
