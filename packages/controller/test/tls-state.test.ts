// Tests for the controller's own TLS state: the generated default certificate and the rotating session ticket keys.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkCertificate } from '../src/tls/certificate-check.js';
import { DEFAULT_CERT_CN, ensureDefaultCertificate } from '../src/tls/default-certificate.js';
import {
  msUntilRotation,
  rotateIfDue,
  TICKET_KEY_BYTES,
  TicketKeyRing,
} from '../src/tls/session-ticket-keys.js';

describe('default certificate', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-defcert-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('is generated once (ECDSA P-256, CN "BERTH DEFAULT CERT", cert 0644, key 0600) and reused after', async () => {
    const first = await ensureDefaultCertificate(dir);
    assert.equal(first.created, true);
    const cert = new X509Certificate(first.certPem);
    assert.equal(cert.subject, `CN=${DEFAULT_CERT_CN}`);
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(checkCertificate(first.certPem, first.keyPem, new Date()).ok, true);
    assert.equal((await stat(join(dir, 'tls', 'default-cert.pem'))).mode & 0o777, 0o644);
    assert.equal((await stat(join(dir, 'tls', 'default-key.pem'))).mode & 0o777, 0o600);

    const second = await ensureDefaultCertificate(dir);
    assert.equal(second.created, false);
    assert.equal(second.certPem, first.certPem);
  });

  it('is regenerated when its files are damaged', async () => {
    await writeFile(join(dir, 'tls', 'default-key.pem'), 'garbage', { mode: 0o600 });
    const again = await ensureDefaultCertificate(dir);
    assert.equal(again.created, true);
    assert.equal(checkCertificate(again.certPem, again.keyPem, new Date()).ok, true);
  });

  it('is renewed 30 days before it expires, and kept until then', async () => {
    const day = 24 * 3600 * 1000;
    const current = await ensureDefaultCertificate(dir);
    const notAfter = new Date(new X509Certificate(current.certPem).validTo).getTime();
    const early = await ensureDefaultCertificate(dir, new Date(notAfter - 31 * day));
    assert.equal(early.created, false);
    const late = await ensureDefaultCertificate(dir, new Date(notAfter - 29 * day));
    assert.equal(late.created, true);
    assert.notEqual(late.certPem, current.certPem);
  });
});

describe('session ticket keys', () => {
  const hour = 3600_000;
  const t0 = new Date('2026-01-01T00:00:00Z');

  it('rotate when due: a new key first, the previous one second, never more than two', () => {
    const first = rotateIfDue(null, t0, 12 * hour);
    assert.equal(first.rotated, true);
    assert.equal(first.state.keys.length, 1);
    assert.equal(Buffer.from(first.state.keys[0]!, 'base64').length, TICKET_KEY_BYTES);

    const early = rotateIfDue(first.state, new Date(t0.getTime() + 11 * hour), 12 * hour);
    assert.equal(early.rotated, false);
    assert.equal(msUntilRotation(first.state, new Date(t0.getTime() + 11 * hour), 12 * hour), hour);

    const due = rotateIfDue(first.state, new Date(t0.getTime() + 12 * hour), 12 * hour);
    assert.equal(due.rotated, true);
    assert.equal(due.state.keys[1], first.state.keys[0]);
    const again = rotateIfDue(due.state, new Date(t0.getTime() + 24 * hour), 12 * hour);
    assert.deepEqual(again.state.keys.slice(1), [due.state.keys[0]]);
    assert.equal(again.state.keys.length, 2);
  });

  it('survive a controller restart, stored 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-tickets-'));
    try {
      const ring = new TicketKeyRing({
        dataDir: dir,
        rotationMs: 12 * hour,
        onRotate: () => {},
        onError: () => {},
      });
      await ring.start();
      const keys = ring.keys();
      ring.close();
      assert.equal(keys.length, 1);
      const file = join(dir, 'tls', 'session-ticket-keys.json');
      assert.equal((await stat(file)).mode & 0o777, 0o600);

      const restarted = new TicketKeyRing({
        dataDir: dir,
        rotationMs: 12 * hour,
        onRotate: () => {},
        onError: () => {},
      });
      await restarted.start();
      assert.deepEqual(restarted.keys(), keys);
      restarted.close();

      // A damaged file is replaced by fresh keys rather than stopping the controller.
      await writeFile(file, '{"keys":["short"]}');
      const recovered = new TicketKeyRing({
        dataDir: dir,
        rotationMs: 12 * hour,
        onRotate: () => {},
        onError: () => {},
      });
      await recovered.start();
      assert.equal(Buffer.from(recovered.keys()[0]!, 'base64').length, TICKET_KEY_BYTES);
      recovered.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rotate on their timer, call back, and persist the new pair', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-tickets-'));
    try {
      let rotations = 0;
      let rotated!: () => void;
      const done = new Promise<void>((resolve) => {
        rotated = resolve;
      });
      const ring = new TicketKeyRing({
        dataDir: dir,
        rotationMs: 150,
        onRotate: () => {
          rotations++;
          rotated();
        },
        onError: (err) => assert.fail(err),
      });
      await ring.start();
      const before = ring.keys();
      // The ring's timer does not hold the process open (unref); this test must wait for it.
      const keepAlive = setTimeout(() => {}, 10_000);
      await done;
      clearTimeout(keepAlive);
      ring.close();
      assert.ok(rotations >= 1);
      const after = ring.keys();
      assert.notEqual(after[0], before[0]);
      assert.equal(after[1], before[0]);
      const stored = JSON.parse(await readFile(join(dir, 'tls', 'session-ticket-keys.json'), 'utf8')) as {
        keys: string[];
      };
      assert.deepEqual(stored.keys, after);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
