// Snapshot signatures: the controller's Ed25519 key signs epoch+version+hash; its CA certifies that key.
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign,
  verify,
  X509Certificate,
} from 'node:crypto';
import type { Snapshot, SnapshotSignature } from './snapshot.js';

const SNAPSHOT_CONTEXT = 'berth-snapshot-signature-v1';
const KEY_CONTEXT = 'berth-snapshot-signing-key-v1';

/** The bytes an Ed25519 signature covers: one snapshot, named by epoch, version and body hash. */
export function snapshotSigningInput(epoch: string, version: number, hash: string): Buffer {
  // NUL separators: none of the fields can contain one, so no two triples give the same bytes.
  return Buffer.from(`${SNAPSHOT_CONTEXT}\0${epoch}\0${version}\0${hash}`, 'utf8');
}

/** The bytes the CA signs to certify a signing key: its SPKI DER after a context label. */
export function signingKeyStatement(publicKeyDer: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${KEY_CONTEXT}\0`, 'utf8'), publicKeyDer]);
}

/** The CA's certification of an Ed25519 public key (computed once at controller start). */
export function certifySigningKey(signingKeyPem: string, caKeyPem: string): string {
  const publicDer = createPublicKey(createPrivateKey(signingKeyPem)).export({ type: 'spki', format: 'der' });
  return sign('sha256', signingKeyStatement(publicDer), createPrivateKey(caKeyPem)).toString('base64');
}

export interface SnapshotSigner {
  /** A copy of `snapshot` carrying a signature; the body is shared, not copied. */
  sign(snapshot: Snapshot): Snapshot;
}

export function createSnapshotSigner(signingKeyPem: string, keyCertificate: string): SnapshotSigner {
  const key = createPrivateKey(signingKeyPem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the snapshot signing key must be Ed25519');
  const publicKey = createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    sign(snapshot) {
      const input = snapshotSigningInput(snapshot.epoch, snapshot.version, snapshot.hash);
      const value = sign(null, input, key).toString('base64');
      const signature: SnapshotSignature = { alg: 'ed25519', publicKey, keyCertificate, value };
      return { ...snapshot, signature };
    },
  };
}

export type SignatureCheck = { ok: true } | { ok: false; error: string };

/**
 * True when `snapshot` was signed by a key the CA `caCertPem` certified. The caller must have
 * checked the CA itself against the join token's pin. Does not check the body hash (verifySnapshot does).
 */
export function verifySnapshotSignature(snapshot: Snapshot, caCertPem: string): SignatureCheck {
  const s = snapshot.signature;
  if (s === undefined || s === null) return { ok: false, error: 'the snapshot is not signed' };
  if (
    typeof s !== 'object' ||
    s.alg !== 'ed25519' ||
    typeof s.publicKey !== 'string' ||
    typeof s.keyCertificate !== 'string' ||
    typeof s.value !== 'string'
  ) {
    return { ok: false, error: 'the snapshot signature is malformed' };
  }
  let signingKey: KeyObject;
  let caKey: KeyObject;
  const publicDer = Buffer.from(s.publicKey, 'base64');
  try {
    signingKey = createPublicKey({ key: publicDer, format: 'der', type: 'spki' });
    caKey = new X509Certificate(caCertPem).publicKey;
  } catch (err) {
    return { ok: false, error: `cannot read the signing key or the CA: ${(err as Error).message}` };
  }
  if (signingKey.asymmetricKeyType !== 'ed25519')
    return { ok: false, error: 'the signing key is not Ed25519' };
  const certified = safeVerify('sha256', signingKeyStatement(publicDer), caKey, s.keyCertificate);
  if (!certified) return { ok: false, error: "the signing key is not certified by the controller's CA" };
  const input = snapshotSigningInput(snapshot.epoch, snapshot.version, snapshot.hash);
  if (!safeVerify(null, input, signingKey, s.value)) {
    return { ok: false, error: 'the signature does not match the snapshot' };
  }
  return { ok: true };
}

function safeVerify(alg: string | null, data: Buffer, key: KeyObject, sigB64: string): boolean {
  try {
    return verify(alg, data, key, Buffer.from(sigB64, 'base64'));
  } catch {
    return false;
  }
}
