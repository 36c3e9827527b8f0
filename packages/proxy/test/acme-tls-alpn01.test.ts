// ACME TLS-ALPN-01 answers carried by a snapshot: every TLS entry point answers the CA's `acme-tls/1` handshake itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { ResolvedCertificate } from '@berth/config';
import { CIPHER_PROFILES } from '@berth/config';
import type { AcmeTlsAlpn01Answer, SnapshotBody } from '@berth/protocol';
import { applyDelta, diffSnapshot } from '@berth/protocol';
import { buildRuntime, rebuildRuntime } from '../src/runtime/build-runtime.js';
import { ACME_TLS_ALPN_UNUSABLE } from '../src/tls/acme-tls-alpn.js';
import { serverSettings } from '../src/tls/server-options.js';
import { startTlsBackend } from './support/edge.js';
import { captureLog } from './support/log-capture.js';
import { backendFor, Cleanups, planeFor, portOf, silent } from './support/plane.js';
import { sClient } from './support/s-client.js';
import { body, service } from './support/snapshot.js';
import { makeTestCa, type TestCa } from './support/tls-pki.js';

const cleanups = new Cleanups();
after(() => cleanups.run());

const DOMAIN = 'a.example.test';
const OVERRIDES = { websecure: '127.0.0.1:0', passthrough: '127.0.0.1:0' };

let ca: TestCa;
let routeCert: ResolvedCertificate;
let fallback: ResolvedCertificate;
let backendCert: ResolvedCertificate;
let challenge: AcmeTlsAlpn01Answer;
let other: AcmeTlsAlpn01Answer;

/**
 * A self-signed RFC 8737 challenge certificate for `domain`: its SAN, and the critical
 * acmeIdentifier extension holding SHA-256(keyAuthorization) as a DER OCTET STRING.
 */
function challengeCertificate(domain: string, keyAuthorization: string): AcmeTlsAlpn01Answer {
  const digest = createHash('sha256').update(keyAuthorization).digest('hex');
  const der = `04:20:${digest.match(/../g)?.join(':')}`;
  const base = `challenge-${domain}`;
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-keyout', `${base}.key`, '-out', `${base}.pem`, '-days', '1', '-subj', `/CN=${domain}`],
      ...['-addext', `subjectAltName=DNS:${domain}`, '-addext', `1.3.6.1.5.5.7.1.31=critical,DER:${der}`],
    ],
    { cwd: ca.dir, stdio: 'pipe' },
  );
  return {
    domain,
    certPem: readFileSync(join(ca.dir, `${base}.pem`), 'utf8'),
    keyPem: readFileSync(join(ca.dir, `${base}.key`), 'utf8'),
  };
}

function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** The fingerprint of the certificate s_client printed, or undefined when it saw none. */
function presented(output: string): string | undefined {
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(output)?.[0];
  return pem === undefined ? undefined : fingerprint(pem);
}

/** What `openssl s_client -servername NAME -alpn ALPN` negotiated: ALPN and the server certificate. */
async function handshake(
  port: number,
  alpn: string,
  name = DOMAIN,
): Promise<{ alpn: string | undefined; cert: string | undefined }> {
  // -no_ign_eof: quit after the handshake, as a keep-alive HTTP server or an echo never closes.
  const r = await sClient(port, ['-servername', name, '-alpn', alpn, '-no_ign_eof']);
  return { alpn: r.ok ? r.alpn : undefined, cert: r.ok ? presented(r.output) : undefined };
}

/** Applies `b` (which has no `web` entry point, so `applied` does not fit). */
async function applyOk(plane: ReturnType<typeof planeFor>, b: SnapshotBody): Promise<void> {
  const result = await plane.apply(b);
  if (!result.ok) assert.fail(`${result.code}: ${result.error}`);
}

/**
 * `websecure`: an HTTPS router for DOMAIN, terminated here. `passthrough`: a TCP router passing
 * DOMAIN's TLS through to `backendPort`. `answers`: the body's acme.tlsAlpn01.
 */
function snapshot(appUrl: string, backendPort: number, answers?: AcmeTlsAlpn01Answer[]): SnapshotBody {
  const b = body(
    { app: { rule: `Host(\`${DOMAIN}\`)`, service: 'app', entryPoints: ['websecure'], tls: {} } },
    { app: service(appUrl) },
    { websecure: ':443', passthrough: ':8443' },
  );
  b.tls = {
    certificates: [routeCert],
    defaultCertificate: fallback,
    options: { default: CIPHER_PROFILES.strict },
    sessionTicketKeys: [Buffer.alloc(48, 7).toString('base64')],
  };
  b.tcp = {
    routers: {
      pass: {
        rule: `HostSNI(\`${DOMAIN}\`)`,
        service: 'tls',
        entryPoints: ['passthrough'],
        tls: { passthrough: true },
      },
    },
    services: { tls: { loadBalancer: { servers: [{ address: `127.0.0.1:${backendPort}` }] } } },
  };
  return answers === undefined ? b : { ...b, acme: { tlsAlpn01: answers } };
}

interface Stand {
  plane: ReturnType<typeof planeFor>;
  websecure: number;
  passthrough: number;
  appUrl: string;
  backendPort: number;
  /** Connections the passthrough backend accepted. */
  backendConnections: () => number;
  /** Requests the HTTP backend saw. */
  appRequests: () => number;
}

async function stand(answers?: AcmeTlsAlpn01Answer[], logger = silent): Promise<Stand> {
  const app = await backendFor(cleanups, 'app');
  const backend = await startTlsBackend(backendCert);
  cleanups.add(async () => backend.close());
  let connections = 0;
  backend.server.on('connection', () => connections++);
  const plane = planeFor(cleanups, { entryPointOverrides: OVERRIDES, logger });
  await applyOk(plane, snapshot(app.url, backend.port, answers));
  return {
    plane,
    websecure: portOf(plane, 'websecure'),
    passthrough: portOf(plane, 'passthrough'),
    appUrl: app.url,
    backendPort: backend.port,
    backendConnections: () => connections,
    appRequests: () => app.seen.length,
  };
}

before(() => {
  ca = makeTestCa();
  routeCert = ca.leaf([DOMAIN]);
  fallback = ca.leaf(['berth-default']);
  backendCert = ca.leaf([DOMAIN]);
  challenge = challengeCertificate(DOMAIN, 'token-a.thumbprint');
  other = challengeCertificate('c.example.test', 'token-c.thumbprint');
});
after(() => ca.close());

describe('ACME TLS-ALPN-01 answers from the snapshot', () => {
  it('answers acme-tls/1 with the challenge certificate on a terminating entry point; other clients get the route certificate', async () => {
    // An upper-case domain is the same name (the SNI is compared lower-case).
    const s = await stand([{ ...challenge, domain: DOMAIN.toUpperCase() }]);
    const acme = await handshake(s.websecure, 'acme-tls/1');
    assert.equal(acme.alpn, 'acme-tls/1');
    assert.equal(acme.cert, fingerprint(challenge.certPem));

    const normal = await handshake(s.websecure, 'h2,http/1.1');
    assert.equal(normal.alpn, 'h2');
    assert.equal(normal.cert, fingerprint(routeCert.certPem));

    // acme-tls/1 for a name without an answer: what any client for it gets, without acme-tls/1.
    const unknown = await handshake(s.websecure, 'acme-tls/1', 'b.example.test');
    assert.notEqual(unknown.alpn, 'acme-tls/1');
    assert.notEqual(unknown.cert, fingerprint(challenge.certPem));
    assert.equal(s.appRequests(), 0, 'no request reached the HTTP backend');
  });

  it('closes the connection right after the handshake, sending nothing', async () => {
    const s = await stand([challenge]);
    const client = tlsConnect({
      port: s.websecure,
      host: '127.0.0.1',
      servername: DOMAIN,
      ALPNProtocols: ['acme-tls/1'],
      rejectUnauthorized: false,
    });
    let received = 0;
    client.on('data', (c: Buffer) => (received += c.length));
    await once(client, 'secureConnect');
    assert.equal(client.alpnProtocol, 'acme-tls/1');
    const closed = once(client, 'close');
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('the node kept the connection open')), 2_000).unref(),
    );
    await Promise.race([closed, timeout]);
    assert.equal(received, 0);
  });

  it('answers on a TLS passthrough entry point before the TCP router, whose backend never sees it', async () => {
    const s = await stand([challenge]);
    const acme = await handshake(s.passthrough, 'acme-tls/1');
    assert.equal(acme.alpn, 'acme-tls/1');
    assert.equal(acme.cert, fingerprint(challenge.certPem));
    assert.equal(s.backendConnections(), 0, 'the passthrough backend saw no connection');

    const normal = await handshake(s.passthrough, 'h2,http/1.1');
    assert.equal(normal.cert, fingerprint(backendCert.certPem), 'passed through to the backend');
    assert.equal(s.backendConnections(), 1);
  });

  it('stops negotiating acme-tls/1 once a snapshot drops the answer', async () => {
    const s = await stand([challenge]);
    assert.equal((await handshake(s.websecure, 'acme-tls/1')).alpn, 'acme-tls/1');
    await applyOk(s.plane, snapshot(s.appUrl, s.backendPort));
    for (const port of [s.websecure, s.passthrough]) {
      const acme = await handshake(port, 'acme-tls/1');
      assert.notEqual(acme.alpn, 'acme-tls/1');
      assert.notEqual(acme.cert, fingerprint(challenge.certPem));
    }
    assert.equal((await handshake(s.websecure, 'h2,http/1.1')).cert, fingerprint(routeCert.certPem));
  });

  it('adds and removes answers through deltas, and keeps them across a delta that touches only routes', async () => {
    const s = await stand();
    const base = snapshot(s.appUrl, s.backendPort);
    // The live body must be the one the deltas start from.
    await applyOk(s.plane, base);
    const step = async (from: SnapshotBody, to: SnapshotBody): Promise<SnapshotBody> => {
      const ops = diffSnapshot(from, to);
      const next = applyDelta(from, ops);
      const result = await s.plane.apply(next, undefined, { base: from, ops });
      assert.ok(result.ok);
      return next;
    };
    const withAnswer = await step(base, snapshot(s.appUrl, s.backendPort, [challenge]));
    assert.equal((await handshake(s.websecure, 'acme-tls/1')).alpn, 'acme-tls/1');
    assert.equal((await handshake(s.passthrough, 'acme-tls/1')).alpn, 'acme-tls/1');

    // A new route only: rebuilt partially, the answer stays.
    const routed = structuredClone(withAnswer);
    routed.http.routers['more'] = { rule: 'Host(`m.example.test`)', service: 'app', tls: {} };
    const moreRoutes = await step(withAnswer, routed);
    assert.equal((await handshake(s.websecure, 'acme-tls/1')).cert, fingerprint(challenge.certPem));

    const { acme: _, ...without } = moreRoutes;
    await step(moreRoutes, without);
    assert.notEqual((await handshake(s.websecure, 'acme-tls/1')).alpn, 'acme-tls/1');
    assert.notEqual((await handshake(s.passthrough, 'acme-tls/1')).alpn, 'acme-tls/1');
  });

  it('skips an answer whose certificate or key is unusable, logs it, and answers the others', async () => {
    const log = captureLog('warn');
    const broken = { ...challenge, keyPem: other.keyPem };
    const s = await stand([broken, other], log.logger);
    assert.notEqual((await handshake(s.websecure, 'acme-tls/1')).alpn, 'acme-tls/1');
    const answered = await handshake(s.websecure, 'acme-tls/1', 'c.example.test');
    assert.equal(answered.alpn, 'acme-tls/1');
    assert.equal(answered.cert, fingerprint(other.certPem));
    const line = log.lines.find((l) => l['code'] === ACME_TLS_ALPN_UNUSABLE);
    assert.equal(line?.['domain'], DOMAIN);
    assert.doesNotMatch(JSON.stringify(log.lines), /PRIVATE KEY/);
  });
});

describe('ACME TLS-ALPN-01 answers in the runtime', () => {
  it('builds each context once and takes it over while certificate and key are unchanged', () => {
    const b = snapshot('http://127.0.0.1:1', 1, [challenge]);
    const first = buildRuntime(b, { logger: silent });
    assert.ok(first.ok);
    const context = first.runtime.acmeTlsAlpn01?.get(DOMAIN)?.context;
    assert.ok(context);
    // A change elsewhere (a full build from the memo): the same context.
    const moved = { ...b, entryPoints: { ...b.entryPoints, extra: { address: ':9000' } } };
    const second = buildRuntime(moved, { logger: silent }, first.memo);
    assert.ok(second.ok);
    assert.equal(second.runtime.acmeTlsAlpn01?.get(DOMAIN)?.context, context);
    // A new certificate for the domain: a new context.
    const renewed = buildRuntime(
      { ...b, acme: { tlsAlpn01: [{ ...other, domain: DOMAIN }] } },
      { logger: silent },
      second.memo,
    );
    assert.ok(renewed.ok);
    assert.notEqual(renewed.runtime.acmeTlsAlpn01?.get(DOMAIN)?.context, context);
    assert.equal(buildRuntime(snapshot('http://127.0.0.1:1', 1), { logger: silent }).ok, true);
  });

  it('leaves ops on acme to a full build, and a delta of routes keeps the answers', () => {
    const b = snapshot('http://127.0.0.1:1', 1);
    const built = buildRuntime(b, { logger: silent });
    assert.ok(built.ok);
    const next = snapshot('http://127.0.0.1:1', 1, [challenge]);
    assert.equal(rebuildRuntime(next, diffSnapshot(b, next), built.memo), undefined);

    const full = buildRuntime(next, { logger: silent });
    assert.ok(full.ok);
    const routed = structuredClone(next);
    routed.http.routers['more'] = { rule: 'Host(`m.example.test`)', service: 'app' };
    const delta = rebuildRuntime(routed, diffSnapshot(next, routed), full.memo);
    assert.ok(delta?.ok);
    assert.equal(delta.runtime.acmeTlsAlpn01, full.runtime.acmeTlsAlpn01);
  });

  it('never offers acme-tls/1 to ordinary clients, even when tls.options list it', () => {
    const settings = serverSettings({ alpnProtocols: ['h2', 'http/1.1', 'acme-tls/1'] });
    assert.deepEqual(settings.socket.alpn, ['h2', 'http/1.1']);
  });
});
