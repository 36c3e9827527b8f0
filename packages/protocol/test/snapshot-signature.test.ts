import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  certifySigningKey,
  createSnapshotSigner,
  hashBody,
  type Snapshot,
  type SnapshotBody,
  verifySnapshotSignature,
} from '../src/index.js';

const run = promisify(execFile);

async function makeCa(dir: string, name: string): Promise<{ certPem: string; keyPem: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  return { certPem: await readFile(cert, 'utf8'), keyPem: await readFile(key, 'utf8') };
}

const ed25519Pem = () =>
  generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

function snapshot(
  version: number,
  body: SnapshotBody = { schema: 1, entryPoints: {}, http: { routers: {}, services: {} } },
): Snapshot {
  return { epoch: 'e1', version, hash: hashBody(body), createdAt: new Date(0).toISOString(), body };
}

describe('snapshot signatures', () => {
  let dir: string;
  let ca: { certPem: string; keyPem: string };
  let otherCa: { certPem: string; keyPem: string };
  const signingKey = ed25519Pem();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-sig-'));
    ca = await makeCa(dir, 'ca');
    otherCa = await makeCa(dir, 'other');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts a snapshot signed by a key the pinned CA certified', () => {
    const signer = createSnapshotSigner(signingKey, certifySigningKey(signingKey, ca.keyPem));
    const signed = signer.sign(snapshot(3));
    assert.equal(signed.signature?.alg, 'ed25519');
    assert.deepEqual(verifySnapshotSignature(signed, ca.certPem), { ok: true });
  });

  it('refuses an unsigned snapshot, as an older node cache has', () => {
    const check = verifySnapshotSignature(snapshot(3), ca.certPem);
    assert.deepEqual(check, { ok: false, error: 'the snapshot is not signed' });
  });

  it('binds epoch, version and body hash', () => {
    const signer = createSnapshotSigner(signingKey, certifySigningKey(signingKey, ca.keyPem));
    const signed = signer.sign(snapshot(3));
    const other: SnapshotBody = { schema: 2, entryPoints: {}, http: { routers: {}, services: {} } };
    for (const forged of [
      { ...signed, version: 4 },
      { ...signed, epoch: 'e2' },
      { ...signed, hash: hashBody(other), body: other },
    ]) {
      const check = verifySnapshotSignature(forged, ca.certPem);
      assert.equal(check.ok, false);
      assert.match(check.ok ? '' : check.error, /does not match the snapshot/);
    }
  });

  it('refuses a key the pinned CA did not certify, even with a valid signature by that key', () => {
    const attackerKey = ed25519Pem();
    // Self-certified by another CA: the signature verifies, the key certificate does not.
    const forged = createSnapshotSigner(attackerKey, certifySigningKey(attackerKey, otherCa.keyPem)).sign(
      snapshot(99),
    );
    const check = verifySnapshotSignature(forged, ca.certPem);
    assert.equal(check.ok, false);
    assert.match(check.ok ? '' : check.error, /not certified by the controller's CA/);
    // The genuine key certificate pasted next to the attacker's key does not help either.
    const genuine = createSnapshotSigner(signingKey, certifySigningKey(signingKey, ca.keyPem)).sign(
      snapshot(1),
    );
    const spliced = {
      ...forged,
      signature: { ...forged.signature!, keyCertificate: genuine.signature!.keyCertificate },
    };
    assert.equal(verifySnapshotSignature(spliced, ca.certPem).ok, false);
  });

  it('refuses malformed signatures without throwing', () => {
    const s = snapshot(1);
    for (const signature of [
      { alg: 'rsa', publicKey: 'x', keyCertificate: 'x', value: 'x' },
      { alg: 'ed25519', publicKey: 'not base64 der', keyCertificate: 'x', value: 'x' },
      { alg: 'ed25519', publicKey: 7, keyCertificate: 'x', value: 'x' },
    ]) {
      const check = verifySnapshotSignature({ ...s, signature } as unknown as Snapshot, ca.certPem);
      assert.equal(check.ok, false);
    }
  });
});
