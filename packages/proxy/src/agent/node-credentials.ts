// The node's own identity: the key it generated and the certificate the controller's CA issued for
// it, in `<data-dir>/node-identity.json` (0600). The join token is needed only to get the first one.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { nodeIdOfCertificate, readTextIfExists, writeFileAtomic } from '@berth/protocol';

const FILE = 'node-identity.json';

export interface NodeCredentials {
  nodeId: string;
  keyPem: string;
  certPem: string;
  /** Epoch ms of the certificate's validity window. */
  notBefore: number;
  notAfter: number;
}

/** The certificate's facts, or why it cannot be this node's identity under `caPem`. */
export function credentialsFrom(
  nodeId: string,
  keyPem: string,
  certPem: string,
  caPem: string,
): { ok: true; creds: NodeCredentials } | { ok: false; problem: string } {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return { ok: false, problem: 'the node certificate does not parse' };
  }
  if (nodeIdOfCertificate(cert) !== nodeId)
    return { ok: false, problem: 'the certificate is not for this node id' };
  const ca = new X509Certificate(caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    return { ok: false, problem: "the certificate is not issued by the controller's CA" };
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyPem)))
      return { ok: false, problem: 'the key does not match the certificate' };
  } catch {
    return { ok: false, problem: 'the node key does not parse' };
  }
  const notAfter = Date.parse(cert.validTo);
  if (notAfter <= Date.now()) return { ok: false, problem: 'the node certificate has expired' };
  return { ok: true, creds: { nodeId, keyPem, certPem, notBefore: Date.parse(cert.validFrom), notAfter } };
}

/** The id in the identity file, unchecked: for log lines before the CA is known. */
export async function peekNodeId(dataDir: string): Promise<string> {
  try {
    const parsed = JSON.parse((await readTextIfExists(join(dataDir, FILE))) ?? '{}') as { nodeId?: unknown };
    return typeof parsed.nodeId === 'string' ? parsed.nodeId.slice(0, 64) : '';
  } catch {
    return '';
  }
}

/**
 * The stored identity if it is valid under `caPem` (the CA the token pins); null when there is none.
 * An invalid one is set aside (`node-identity.json.rejected`) with the reason, and the node enrolls again.
 */
export async function loadCredentials(
  dataDir: string,
  caPem: string,
): Promise<{ creds: NodeCredentials | null; problem?: string }> {
  const path = join(dataDir, FILE);
  const text = await readTextIfExists(path);
  if (text === null) return { creds: null };
  let problem: string;
  try {
    const stored = JSON.parse(text) as { nodeId?: unknown; keyPem?: unknown; certPem?: unknown };
    if (
      typeof stored.nodeId === 'string' &&
      typeof stored.keyPem === 'string' &&
      typeof stored.certPem === 'string'
    ) {
      const checked = credentialsFrom(stored.nodeId, stored.keyPem, stored.certPem, caPem);
      if (checked.ok) return { creds: checked.creds };
      problem = checked.problem;
    } else {
      problem = 'the identity file lacks nodeId, keyPem or certPem';
    }
  } catch {
    problem = 'the identity file is not JSON';
  }
  await discardCredentials(dataDir);
  return { creds: null, problem };
}

export async function saveCredentials(dataDir: string, creds: NodeCredentials): Promise<void> {
  const { nodeId, keyPem, certPem } = creds;
  await writeFileAtomic(
    join(dataDir, FILE),
    `${JSON.stringify({ nodeId, keyPem, certPem }, null, 2)}\n`,
    0o600,
  );
}

/** Sets the identity aside (kept for inspection, never read again). */
export async function discardCredentials(dataDir: string): Promise<void> {
  await rename(join(dataDir, FILE), join(dataDir, `${FILE}.rejected`)).catch(() => {});
}
