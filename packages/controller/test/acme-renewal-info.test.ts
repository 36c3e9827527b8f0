// ACME Renewal Information (RFC 9773): certID, the renewalInfo answer, polling bounds, the plan's
// use of a suggested window, and the fetch against a small HTTPS stand-in for a CA that offers ARI
// (Debian's pebble 2.4 does not).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { AcmeError, AcmeErrorCodes } from '../src/acme/acme-errors.js';
import { AcmeResolver } from '../src/acme/acme-resolver.js';
import type { StoredCertificate } from '../src/acme/acme-storage.js';
import {
  ariCertId,
  DEFAULT_RENEWAL_INFO_POLL_MS,
  parseRenewalInfo,
  renewalInfoPollDelay,
} from '../src/acme/renewal-info.js';
import { renewalPlan } from '../src/acme/renewal-plan.js';
import { resolverSettings } from './support/acme-settings.js';
import { makeHttpsCertificate } from './support/pebble.js';

const exec = promisify(execFile);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** RFC 9773 §4.1's example: AKI 69:88:5B:…:C8:D4, serial 0x87654321 (high bit set: a leading 00). */
async function rfcExampleCertificate(dir: string): Promise<string> {
  const at = (name: string) => join(dir, name);
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=ari test CA',
    '-addext',
    'subjectKeyIdentifier=69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ]);
  await exec('openssl', [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    at('leaf.key'),
    '-out',
    at('leaf.csr'),
    '-subj',
    '/CN=ari.example.test',
  ]);
  await writeFile(at('leaf.ext'), 'authorityKeyIdentifier=keyid\nsubjectAltName=DNS:ari.example.test\n');
  await exec('openssl', [
    'x509',
    '-req',
    '-in',
    at('leaf.csr'),
    '-CA',
    at('ca.pem'),
    '-CAkey',
    at('ca.key'),
    '-set_serial',
    '0x87654321',
    '-out',
    at('leaf.pem'),
    '-days',
    '2',
    '-extfile',
    at('leaf.ext'),
  ]);
  return readFile(at('leaf.pem'), 'utf8');
}

/** A self-signed certificate without key identifiers (OpenSSL 3 adds them unless told not to). */
async function noAkiCertificate(dir: string): Promise<string> {
  await exec('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'noaki.key'),
    '-out',
    join(dir, 'noaki.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=no aki',
    '-addext',
    'authorityKeyIdentifier=none',
    '-addext',
    'subjectKeyIdentifier=none',
  ]);
  return readFile(join(dir, 'noaki.pem'), 'utf8');
}

describe('ARI certID and answers', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ari-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('computes RFC 9773’s example certID, keeping the serial’s leading zero byte', async () => {
    assert.equal(ariCertId(await rfcExampleCertificate(dir)), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('refuses a certificate without an authority key identifier', async () => {
    const pem = await noAkiCertificate(dir);
    assert.throws(() => ariCertId(pem), /no authority key identifier/);
  });

  it('reads a suggested window, and refuses one that ends before it starts', () => {
    assert.deepEqual(
      parseRenewalInfo({
        suggestedWindow: { start: '2026-03-01T00:00:00Z', end: '2026-03-03T00:00:00Z' },
        explanationURL: 'https://ca.example/incident',
      }),
      {
        suggestedWindow: { start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 2, 3) },
        explanationUrl: 'https://ca.example/incident',
      },
    );
    assert.equal(
      parseRenewalInfo({ suggestedWindow: { start: '2026-03-03T00:00:00Z', end: '2026-03-01T00:00:00Z' } }),
      null,
    );
    assert.equal(parseRenewalInfo({ suggestedWindow: { start: 'soon' } }), null);
    assert.equal(parseRenewalInfo('nope'), null);
  });

  it('asks again after the CA’s Retry-After, bounded to a minute and a day, 6 h without one', () => {
    assert.equal(renewalInfoPollDelay(null), DEFAULT_RENEWAL_INFO_POLL_MS);
    assert.equal(DEFAULT_RENEWAL_INFO_POLL_MS, 6 * HOUR);
    assert.equal(renewalInfoPollDelay(5000), MINUTE);
    assert.equal(renewalInfoPollDelay(3 * HOUR), 3 * HOUR);
    assert.equal(renewalInfoPollDelay(7 * DAY), DAY);
  });
});

describe('renewalPlan with a suggested window (ARI)', () => {
  const T0 = Date.UTC(2026, 0, 1);
  const third = { renewBefore: { fraction: 1 / 3 } };
  const window = { start: T0 + 50 * DAY, end: T0 + 52 * DAY };
  const cert = { notBefore: T0, notAfter: T0 + 90 * DAY, suggestedWindow: window };

  it('picks a time uniformly in the CA’s window instead of its own', () => {
    assert.deepEqual(
      renewalPlan(cert, T0 + DAY, third, null, () => 0),
      {
        at: window.start,
        reason: 'suggested-window',
        windowStart: window.start,
        expiringSoon: false,
      },
    );
    assert.equal(renewalPlan(cert, T0 + DAY, third, null, () => 0.5).at, T0 + 51 * DAY);
    assert.ok(renewalPlan(cert, T0 + DAY, third, null, () => 0.999).at < window.end);
  });

  it('renews now inside or after the window, and never later than expiry', () => {
    assert.equal(renewalPlan(cert, T0 + 60 * DAY, third, null, () => 0.5).at, T0 + 60 * DAY);
    const beyond = { ...cert, suggestedWindow: { start: T0 + 89 * DAY, end: T0 + 95 * DAY } };
    assert.equal(renewalPlan(beyond, T0, third, null, () => 0.9).at, T0 + 90 * DAY);
  });

  it('still backs off after failures', () => {
    const plan = renewalPlan(cert, T0 + 51 * DAY, third, { count: 3, lastAttemptAt: T0 + 51 * DAY }, () => 0);
    assert.equal(plan.reason, 'backoff');
    assert.equal(plan.at, T0 + 51 * DAY + 4 * MINUTE);
  });
});

describe('AcmeResolver.renewalInfo against a CA offering ARI', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let caFile: string;
  let leafPem: string;
  let offerAri = true;
  const asked: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-ari-ca-'));
    leafPem = await rfcExampleCertificate(dir);
    const https = await makeHttpsCertificate(dir);
    caFile = join(dir, 'https-ca.pem');
    await writeFile(caFile, https.caPem);
    server = createServer(
      { cert: await readFile(https.certPath), key: await readFile(https.keyPath) },
      (req, res) => {
        asked.push(req.url ?? '');
        if (req.url === '/dir') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              newNonce: `${base}/nonce`,
              ...(offerAri ? { renewalInfo: `${base}/draft-ietf-acme-ari-03/renewalInfo` } : {}),
            }),
          );
        } else if (req.url === '/draft-ietf-acme-ari-03/renewalInfo/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE') {
          res.writeHead(200, { 'content-type': 'application/json', 'retry-after': '21600' }).end(
            JSON.stringify({
              suggestedWindow: { start: '2026-03-01T00:00:00Z', end: '2026-03-02T00:00:00Z' },
            }),
          );
        } else res.writeHead(404).end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const stored = (certPem: string): StoredCertificate => ({
    domains: ['ari.example.test'],
    keyType: 'EC256',
    caServer: `${base}/dir`,
    certPem,
    keyPem: '',
    notBefore: 0,
    notAfter: 0,
    issuedAt: '',
  });

  it('fetches the suggested window at renewalInfo/certID, once per directory', async () => {
    offerAri = true;
    asked.length = 0;
    const resolver = new AcmeResolver({
      settings: resolverSettings(`${base}/dir`, caFile),
      dataDir: dir,
      board: { present: async () => {}, cleanup: async () => {} },
    });
    const info = await resolver.renewalInfo(stored(leafPem));
    assert.deepEqual(info, {
      suggestedWindow: { start: Date.UTC(2026, 2, 1), end: Date.UTC(2026, 2, 2) },
      explanationUrl: null,
      pollAfterMs: 6 * HOUR,
    });
    await resolver.renewalInfo(stored(leafPem));
    resolver.close();
    assert.deepEqual(asked, [
      '/dir',
      '/draft-ietf-acme-ari-03/renewalInfo/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
      '/draft-ietf-acme-ari-03/renewalInfo/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
    ]);
  });

  it('answers null when the directory offers no renewalInfo, and a coded error when the CA fails', async () => {
    offerAri = false;
    const without = new AcmeResolver({
      settings: resolverSettings(`${base}/dir`, caFile),
      dataDir: dir,
      board: { present: async () => {}, cleanup: async () => {} },
    });
    assert.equal(await without.renewalInfo(stored(leafPem)), null);
    without.close();
    offerAri = true;
    const failing = new AcmeResolver({
      settings: resolverSettings(`${base}/dir`, caFile),
      dataDir: dir,
      board: { present: async () => {}, cleanup: async () => {} },
    });
    // Another certificate: the stand-in CA knows only the RFC's example, and answers 404.
    const https = await makeHttpsCertificate(await mkdtemp(join(dir, 'other-')));
    const other = await readFile(https.certPath, 'utf8');
    await assert.rejects(failing.renewalInfo(stored(other)), (err: unknown) => {
      assert.ok(err instanceof AcmeError);
      assert.equal(err.code, AcmeErrorCodes.RENEWAL_INFO);
      assert.match(
        err.message,
        /renewal information: renewalInfo https:\/\/127\.0\.0\.1:\d+\/draft-ietf-acme-ari-03\/renewalInfo\/[\w-]+\.[\w-]+: HTTP 404/,
      );
      return true;
    });
    await assert.rejects(failing.renewalInfo(stored(await noAkiCertificate(dir))), {
      code: AcmeErrorCodes.RENEWAL_INFO,
      message: /no authority key identifier/,
    });
    failing.close();
  });
});
