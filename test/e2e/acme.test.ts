// ACME end to end: a real pebble (and challtestsrv's DNS), a controller child process as the only
// ACME client, two proxy nodes on different loopback addresses answering the challenges, and curl
// verifying the served chain against pebble's root.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { Cluster, eventually } from '../helpers/cluster.js';
import { type Backend, startBackend } from '../helpers/http.js';
import { freePort, type Pebble, pebbleSkip, startPebble } from '../helpers/pebble.js';

const exec = promisify(execFile);
const skip = await pebbleSkip();

/** What `/api/v1/certs` says of an ACME certificate. */
interface CertView {
  names: string[];
  origin: string;
  status: string;
  fingerprint: string;
  errors: { code: string; message: string }[];
  acme?: {
    state: string;
    orders: number;
    failures: number;
    nextReason: string | null;
    nextAttemptAt: string | null;
    lastError: { code: string; message: string } | null;
  };
}

/** `curl` over HTTPS to `host` on `address:port`, verifying the chain against `caFile` only. */
async function curlVerified(address: string, port: number, host: string, caFile: string) {
  const { stdout } = await exec(
    'curl',
    [
      '-sS',
      '--max-time',
      '10',
      '--cacert',
      caFile,
      '--resolve',
      `${host}:${port}:${address}`,
      '-w',
      '\n%{http_code} %{ssl_verify_result}',
      `https://${host}:${port}/`,
    ],
    { timeout: 15_000 },
  );
  const cut = stdout.lastIndexOf('\n');
  const [status, verify] = stdout.slice(cut + 1).split(' ');
  return { body: stdout.slice(0, cut), status: Number(status), verify: Number(verify) };
}

/** sha256 fingerprint (as X509Certificate prints it) of the leaf a node presents for `servername`. */
function servedFingerprint(address: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: address, port, servername, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert === undefined) reject(new Error('no peer certificate'));
      else resolve(cert.fingerprint256);
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('handshake timed out')));
    socket.on('error', reject);
  });
}

interface Setup {
  cluster: Cluster;
  backend: Backend;
  pebble: Pebble;
  rootFile: string;
  /** Each node's address and websecure port. */
  nodes: { name: string; address: string; securePort: number }[];
}

/**
 * pebble, a backend, a controller with resolver `le` (HTTP-01 on `web`) and nodes `a` on
 * 127.0.0.1 and `b` on 127.0.0.2, both with `web` on the port pebble validates HTTP-01 on.
 */
async function setUp(
  resolverExtra: string,
  env: Record<string, string> = {},
  pebbleEnv: Record<string, string> = {},
): Promise<Setup> {
  const pebble = await startPebble({ env: pebbleEnv });
  const cluster = await Cluster.create();
  const backend = await startBackend('acme-app');
  const httpsCa = join(cluster.dir, 'pebble-https-ca.pem');
  const rootFile = join(cluster.dir, 'pebble-root.pem');
  await writeFile(httpsCa, pebble.httpsCaPem);
  await writeFile(rootFile, pebble.rootPem);
  await cluster.writeDynamic(
    'app.yaml',
    [
      'http:',
      '  routers:',
      '    app:',
      '      rule: Host(`app.example.test`) || Host(`www.example.test`)',
      '      entryPoints: [websecure]',
      '      service: app',
      '      tls:',
      '        certResolver: le',
      '  services:',
      '    app:',
      '      loadBalancer:',
      `        servers: [{ url: "${backend.url}" }]`,
      '',
    ].join('\n'),
  );
  const staticYaml = [
    'entryPoints:',
    '  web:',
    `    address: "127.0.0.1:${pebble.httpPort}"`,
    '  websecure:',
    '    address: "127.0.0.1:0"',
    'providers:',
    '  file:',
    '    directory: ./dynamic',
    'certificatesResolvers:',
    '  le:',
    '    acme:',
    '      email: ops@example.test',
    `      caServer: ${pebble.directoryUrl}`,
    `      caCertificates: [${httpsCa}]`,
    '      httpChallenge:',
    '        entryPoint: web',
    resolverExtra,
    '',
  ].join('\n');
  const previous = process.env['BERTH_ACME_TIMING'];
  if (env['BERTH_ACME_TIMING'] !== undefined) process.env['BERTH_ACME_TIMING'] = env['BERTH_ACME_TIMING'];
  try {
    await cluster.startController({ staticYaml });
  } finally {
    if (previous === undefined) delete process.env['BERTH_ACME_TIMING'];
    else process.env['BERTH_ACME_TIMING'] = previous;
  }
  const nodes: Setup['nodes'] = [];
  for (const [name, address] of [
    ['a', '127.0.0.1'],
    ['b', '127.0.0.2'],
  ] as const) {
    const securePort = await freePort();
    await cluster.startNode(name, {
      extraArgs: [
        '--entrypoint',
        `web=${address}:${pebble.httpPort}`,
        '--entrypoint',
        `websecure=${address}:${securePort}`,
      ],
    });
    nodes.push({ name, address, securePort });
  }
  // Each name validated through a different node: whichever node the CA reaches must answer.
  await pebble.addA('app.example.test', '127.0.0.1');
  await pebble.addA('www.example.test', '127.0.0.2');
  return { cluster, backend, pebble, rootFile, nodes };
}

async function tearDown(s: Setup | undefined): Promise<void> {
  await s?.cluster.close();
  await s?.backend.close();
  await s?.pebble.close();
}

async function acmeCert(cluster: Cluster, ready: (c: CertView) => boolean, timeoutMs = 60_000) {
  return eventually(
    async () => {
      const certs = await cluster.api<CertView[]>('/api/v1/certs');
      return certs.find((c) => c.origin === 'acme' && ready(c)) ?? null;
    },
    timeoutMs,
    async () =>
      `certs: ${JSON.stringify(await cluster.api('/api/v1/certs').catch((e: Error) => e.message), null, 1)}\n${cluster.logs()}`,
  );
}

describe('ACME HTTP-01 through two proxy nodes (pebble)', { skip }, () => {
  let s: Setup | undefined;
  before(async () => {
    s = await setUp('      renewBefore: 10%');
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
    s = await setUp(
      '',
      { BERTH_ACME_TIMING: JSON.stringify({ minRetryMs: 1000 }) },
      { PEBBLE_WFE_NONCEREJECT: '100' },
    );
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
    s = await setUp('      renewBefore: 100%', {
      BERTH_ACME_TIMING: JSON.stringify({ minRenewalGapMs: 3000, maxJitterMs: 0, minRetryMs: 1000 }),
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
