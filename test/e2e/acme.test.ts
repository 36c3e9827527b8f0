// ACME end to end (issue 14, done when 1, 4, 5, 6 and 8): pebble, a controller child process as the
// only ACME client, two proxy nodes answering HTTP-01, curl verifying the chain against pebble's root.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { berthBin } from '@berth/cli';
import {
  acmeCert,
  type CertView,
  curlVerified,
  type Setup,
  servedFingerprint,
  setUp,
  tearDown,
} from '../helpers/acme-cluster.js';
import { eventually } from '../helpers/cluster.js';
import { pebbleSkip } from '../helpers/pebble.js';

const exec = promisify(execFile);
const skip = await pebbleSkip();

describe('ACME HTTP-01 through two proxy nodes (pebble)', { skip }, () => {
  let s: Setup | undefined;
  before(async () => {
    s = await setUp({ resolverExtra: '      renewBefore: 10%' });
  });
  after(() => tearDown(s));

  it('obtains one certificate whose two names pebble validated through different nodes; both nodes serve it', async () => {
    const { cluster, nodes, rootFile } = s as Setup;
    const cert = await acmeCert(cluster, (c) => c.status === 'enabled');
    assert.deepEqual([...cert.names].sort(), ['app.example.test', 'www.example.test']);
    assert.equal(cert.acme?.state, 'valid');
    assert.equal(cert.acme?.orders, 1);
    for (const node of nodes) {
      for (const host of ['app.example.test', 'www.example.test']) {
        // The node applies the snapshot with the certificate moments after the API shows it.
        const answer = await eventually(
          async () => {
            const r = await curlVerified(node.address, node.securePort, host, rootFile).catch(() => null);
            return r?.status === 200 ? r : null;
          },
          15_000,
          () => cluster.logs(),
        );
        assert.equal(answer.verify, 0, `chain verified against pebble's root on node ${node.name}`);
        assert.equal(answer.body, 'backend=acme-app path=/\n');
      }
      assert.equal(
        (await servedFingerprint(node.address, node.securePort, 'app.example.test')).replaceAll(':', ''),
        cert.fingerprint.toUpperCase(),
      );
    }
    // `berth certs` shows it with its resolver and next renewal.
    const { stdout } = await exec(process.execPath, [
      berthBin,
      'certs',
      '--api',
      cluster.controller?.api ?? '',
    ]);
    const row = stdout.split('\n').find((l) => l.includes('app.example.test'));
    assert.match(row ?? '', /enabled .* acme \(le\) +renews \d{4}-\d\d-\d\d \d\d:\d\d/, stdout);
    // Prometheus text on the controller's API: expiry and schedule per certificate.
    const metrics = await (await fetch(new URL('/metrics', cluster.controller?.api))).text();
    const expiry =
      /^berth_acme_certificate_not_after_seconds\{resolver="le",domains="([^"]+)"\} (\d+)$/m.exec(metrics);
    assert.deepEqual(expiry?.[1]?.split(',').sort(), ['app.example.test', 'www.example.test']);
    assert.ok(Number(expiry?.[2]) * 1000 > Date.now());
    assert.match(metrics, /^berth_acme_certificate_failures\{resolver="le",[^}]*\} 0$/m);
    // The answers were withdrawn after the order: the snapshot no longer carries them.
    const snapshot = await cluster.api<{ body: { acme?: unknown } }>('/api/v1/snapshot/body');
    assert.equal(snapshot.body.acme, undefined);
  });

  it('a challenge that cannot succeed fails that certificate alone, with BERTH_ACME_CHALLENGE_FAILED naming the name', async () => {
    const { cluster, pebble, backend } = s as Setup;
    // Nothing listens on 127.0.0.3: pebble's HTTP-01 request is refused.
    await pebble.addA('nowhere.example.test', '127.0.0.3');
    await cluster.writeDynamic(
      'nowhere.yaml',
      [
        'http:',
        '  routers:',
        '    nowhere:',
        '      rule: Host(`nowhere.example.test`)',
        '      entryPoints: [websecure]',
        '      service: nowhere',
        '      tls: { certResolver: le }',
        '  services:',
        '    nowhere:',
        `      loadBalancer: { servers: [{ url: "${backend.url}" }] }`,
        '',
      ].join('\n'),
    );
    const failed = await acmeCert(
      cluster,
      (c) =>
        c.names.includes('nowhere.example.test') && c.acme?.lastError?.code === 'BERTH_ACME_CHALLENGE_FAILED',
    );
    assert.equal(failed.status, 'pending');
    assert.match(failed.acme?.lastError?.message ?? '', /nowhere\.example\.test/);
    const errors =
      await cluster.api<{ code: string; path: string; source?: { origin: string; line?: number } }[]>(
        '/api/v1/errors',
      );
    const routerError = errors.find((e) => e.path === 'http.routers.nowhere@file.tls.certResolver');
    assert.equal(routerError?.code, 'BERTH_ACME_CHALLENGE_FAILED');
    assert.match(routerError?.source?.origin ?? '', /nowhere\.yaml$/);
    // The other certificate is untouched.
    const app = await acmeCert(cluster, (c) => c.names.includes('app.example.test'));
    assert.equal(app.status, 'enabled');
    assert.equal(app.acme?.lastError, null);
    await rm(join(cluster.dynamicDir, 'nowhere.yaml'));
  });

  it('a restarted controller orders nothing and the nodes keep serving the stored certificate', async () => {
    const { cluster, nodes, rootFile } = s as Setup;
    const before = await acmeCert(cluster, (c) => c.status === 'enabled');
    const nodesPort = cluster.controller?.nodesPort;
    await cluster.killController('SIGTERM');
    await cluster.startController({
      ...(nodesPort === undefined ? {} : { nodesPort }),
      staticYaml: await readFile(cluster.staticFile, 'utf8'),
    });
    const after = await acmeCert(cluster, (c) => c.status === 'enabled');
    assert.equal(after.fingerprint, before.fingerprint);
    assert.equal(after.acme?.orders, 0, 'no order after a restart with a valid stored certificate');
    for (const node of nodes) {
      const r = await curlVerified(node.address, node.securePort, 'app.example.test', rootFile);
      assert.equal(r.status, 200);
    }
  });
});

describe('ACME problems reported, never fatal (pebble)', { skip }, () => {
  let s: Setup | undefined;
  before(async () => {
    // Every nonce rejected: no request to the CA ever succeeds.
    s = await setUp({ acmeTiming: { minRetryMs: 1000 }, pebbleEnv: { PEBBLE_WFE_NONCEREJECT: '100' } });
  });
  after(() => tearDown(s));

  it('nonces always rejected: BERTH_ACME_BAD_NONCE per router, the controller and nodes keep serving', async () => {
    const { cluster, nodes } = s as Setup;
    const cert = await acmeCert(cluster, (c) => c.acme?.lastError?.code === 'BERTH_ACME_BAD_NONCE');
    assert.equal(cert.status, 'pending');
    assert.match(cert.acme?.lastError?.message ?? '', /kept rejecting nonces/);
    const errors = await cluster.api<{ code: string; path: string }[]>('/api/v1/errors');
    assert.ok(
      errors.some(
        (e) => e.code === 'BERTH_ACME_BAD_NONCE' && e.path === 'http.routers.app@file.tls.certResolver',
      ),
    );
    const status = await cluster.api<{ version: number }>('/api/v1/status');
    assert.ok(status.version > 0, 'the controller answers');
    // Meanwhile the router serves over the default certificate.
    for (const node of nodes) {
      const r = await exec('curl', [
        '-sk',
        '--max-time',
        '5',
        '--resolve',
        `app.example.test:${node.securePort}:${node.address}`,
        `https://app.example.test:${node.securePort}/`,
      ]);
      assert.equal(r.stdout, 'backend=acme-app path=/\n');
    }
  });
});

describe('ACME renewal (pebble)', { skip }, () => {
  let s: Setup | undefined;
  before(async () => {
    // A renewal window as long as the lifetime: renewed every 3 s (the scheduler's minimum gap).
    s = await setUp({
      resolverExtra: '      renewBefore: 100%',
      acmeTiming: { minRenewalGapMs: 3000, maxJitterMs: 0, minRetryMs: 1000 },
    });
  });
  after(() => tearDown(s));

  it('replaces the certificate on every node with no failed handshake in a client loop meanwhile', async () => {
    const { cluster, nodes } = s as Setup;
    const first = await acmeCert(cluster, (c) => c.status === 'enabled');
    // The loop counts certificates from the first ACME one on: wait until both nodes serve it.
    const defaultFp = (await cluster.api<(CertView & { isDefault: boolean })[]>('/api/v1/certs'))
      .find((c) => c.isDefault)
      ?.fingerprint.toUpperCase();
    for (const node of nodes)
      await eventually(
        async () =>
          (await servedFingerprint(node.address, node.securePort, 'app.example.test')).replaceAll(':', '') !==
          defaultFp,
        15_000,
        () => cluster.logs(),
      );
    const seen = new Map<string, Set<string>>(nodes.map((n) => [n.name, new Set<string>()]));
    const failures: string[] = [];
    let handshakes = 0;
    let stop = false;
    const loop = (async () => {
      const deadline = Date.now() + 90_000;
      while (!stop && Date.now() < deadline) {
        for (const node of nodes) {
          try {
            const fp = await servedFingerprint(node.address, node.securePort, 'app.example.test');
            seen.get(node.name)?.add(fp);
            handshakes++;
          } catch (err) {
            failures.push(`${node.name}: ${(err as Error).message}`);
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      // Two renewals after the first certificate, each on both nodes.
      await eventually(
        async () => [...seen.values()].every((fps) => fps.size >= 3),
        60_000,
        async () =>
          `fingerprints seen: ${JSON.stringify([...seen].map(([n, f]) => [n, [...f]]))}\ncerts: ${JSON.stringify(await cluster.api('/api/v1/certs'))}`,
      );
    } finally {
      stop = true;
      await loop;
    }
    assert.deepEqual(failures, [], `failed handshakes among ${handshakes}`);
    const now = await acmeCert(cluster, (c) => c.status === 'enabled');
    assert.notEqual(now.fingerprint, first.fingerprint);
    assert.ok((now.acme?.orders ?? 0) >= 3);
    // Never the default certificate in between: always an ACME one.
    for (const fps of seen.values()) for (const fp of fps) assert.notEqual(fp.replaceAll(':', ''), defaultFp);
  });

  it('with pebble stopped: backoff in the API and /api/v1/errors, the old certificate still served; renewed once pebble is back', async () => {
    const { cluster, nodes, pebble, rootFile } = s as Setup;
    await pebble.stopCa();
    const failing = await acmeCert(
      cluster,
      (c) => (c.acme?.failures ?? 0) >= 2 && c.acme?.lastError?.code === 'BERTH_ACME_CA_UNREACHABLE',
    );
    assert.equal(failing.status, 'enabled', 'the certificate in service stays');
    assert.equal(failing.acme?.state, 'failed');
    assert.match(failing.acme?.nextReason ?? '', /^(backoff|retry-after)$/);
    assert.ok(
      Date.parse(failing.acme?.nextAttemptAt ?? '') > Date.now() - 1000,
      'a next attempt is scheduled',
    );
    const errors = await cluster.api<{ code: string; path: string; severity?: string }[]>('/api/v1/errors');
    const routerError = errors.find((e) => e.code === 'BERTH_ACME_CA_UNREACHABLE');
    assert.equal(routerError?.path, 'http.routers.app@file.tls.certResolver');
    assert.equal(routerError?.severity, 'warning');
    const served = failing.fingerprint.toUpperCase();
    for (const node of nodes)
      assert.equal(
        (await servedFingerprint(node.address, node.securePort, 'app.example.test')).replaceAll(':', ''),
        served,
      );
    // Retries back off (1 s, 2 s, 4 s...), never a tight loop.
    const later = await acmeCert(cluster, (c) => (c.acme?.failures ?? 0) >= 3);
    assert.ok((later.acme?.failures ?? 0) <= 6, `failures after a few seconds: ${later.acme?.failures}`);

    await pebble.startCa();
    await writeFile(rootFile, pebble.rootPem);
    const renewed = await acmeCert(
      cluster,
      (c) => c.status === 'enabled' && c.fingerprint !== failing.fingerprint && c.acme?.failures === 0,
    );
    assert.equal(renewed.acme?.lastError, null);
    for (const node of nodes) {
      const r = await eventually(
        async () => {
          const answer = await curlVerified(
            node.address,
            node.securePort,
            'app.example.test',
            rootFile,
          ).catch(() => null);
          return answer?.status === 200 ? answer : null;
        },
        20_000,
        () => cluster.logs(),
      );
      assert.equal(r.verify, 0, `node ${node.name} serves a certificate from the restarted pebble`);
    }
  });
});
