import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hashBody, type Snapshot, type SnapshotBody, verifySnapshotSignature } from '@berth/protocol';
import { ensureControllerPki } from '../src/pki/controller-pki.js';

describe('the controller PKI', () => {
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'berth-pki-'));
    dirs.push(d);
    return d;
  };

  it('creates a CA and a server certificate it issued, with private keys 0600', async () => {
    const dir = await tmp();
    const pki = await ensureControllerPki(dir, ['ctl.internal', '10.0.0.5']);
    assert.equal(pki.createdCa, true);
    const ca = new X509Certificate(pki.caCertPem);
    const leaf = new X509Certificate(pki.certPem);
    assert.equal(ca.ca, true);
    assert.ok(leaf.checkIssued(ca));
    assert.ok(leaf.verify(ca.publicKey));
    assert.match(leaf.subjectAltName ?? '', /DNS:ctl\.internal/);
    assert.match(leaf.subjectAltName ?? '', /IP Address:10\.0\.0\.5/);
    assert.match(leaf.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(leaf.checkHost('ctl.internal'), 'ctl.internal');
    for (const f of ['ca-key.pem', 'controller-key.pem']) {
      assert.equal((await stat(join(dir, 'pki', f))).mode & 0o777, 0o600, f);
    }
    assert.equal(pki.caFingerprint, ca.fingerprint256.replaceAll(':', '').toLowerCase());
  });

  it('reuses the CA and certificate after a restart, and reissues only for new names', async () => {
    const dir = await tmp();
    const first = await ensureControllerPki(dir, ['a.internal']);
    const again = await ensureControllerPki(dir, ['a.internal']);
    assert.equal(again.createdCa, false);
    assert.equal(again.issuedServerCert, false);
    assert.equal(again.caFingerprint, first.caFingerprint);
    assert.equal(again.certPem, first.certPem);
    const moved = await ensureControllerPki(dir, ['b.internal']);
    assert.equal(moved.caFingerprint, first.caFingerprint, 'tokens stay valid');
    assert.equal(moved.issuedServerCert, true);
    assert.match(new X509Certificate(moved.certPem).subjectAltName ?? '', /b\.internal/);
  });

  it('creates an Ed25519 snapshot signing key once (0600), certified by its CA, and reuses it', async () => {
    const dir = await tmp();
    const first = await ensureControllerPki(dir, ['a.internal']);
    assert.equal(first.createdSigningKey, true);
    assert.equal((await stat(join(dir, 'pki', 'snapshot-signing-key.pem'))).mode & 0o777, 0o600);
    const again = await ensureControllerPki(dir, ['a.internal']);
    assert.equal(again.createdSigningKey, false);
    const body: SnapshotBody = { schema: 1, entryPoints: {}, http: { routers: {}, services: {} } };
    const snapshot: Snapshot = { epoch: 'e', version: 1, hash: hashBody(body), createdAt: '', body };
    const a = first.snapshotSigner.sign(snapshot);
    const b = again.snapshotSigner.sign(snapshot);
    assert.equal(a.signature?.publicKey, b.signature?.publicKey, 'same key after a restart');
    assert.equal(a.signature?.value, b.signature?.value, 'Ed25519 is deterministic');
    assert.deepEqual(verifySnapshotSignature(b, again.caCertPem), { ok: true });
    assert.equal(snapshot.signature, undefined, 'the stored snapshot is not modified');
  });
});
