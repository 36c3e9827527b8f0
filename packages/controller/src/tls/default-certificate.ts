// The self-signed certificate served when no certificate matches and none is configured: generated once, kept in the data dir.
import { createPrivateKey, X509Certificate as NodeX509, randomBytes, webcrypto } from 'node:crypto';
import { join } from 'node:path';
import { readTextIfExists, writeFileAtomic } from '@berth/protocol';
import { loadX509 } from '../pki/x509.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;
/** As Traefik's `TRAEFIK DEFAULT CERT`, so clients and monitoring recognise what they got. */
export const DEFAULT_CERT_CN = 'BERTH DEFAULT CERT';
const RENEW_BEFORE = 30 * DAY;

export interface DefaultCertificate {
  certPem: string;
  keyPem: string;
  /** True when this call generated it. */
  created: boolean;
}

/** Loads `dataDir/tls/default-cert.pem` and its key, generating both (cert 0644, key 0600) when missing, unusable or near expiry. */
export async function ensureDefaultCertificate(
  dataDir: string,
  now = new Date(),
): Promise<DefaultCertificate> {
  const certPath = join(dataDir, 'tls', 'default-cert.pem');
  const keyPath = join(dataDir, 'tls', 'default-key.pem');
  const certPem = await readTextIfExists(certPath);
  const keyPem = await readTextIfExists(keyPath);
  if (certPem && keyPem && usable(certPem, keyPem, now)) return { certPem, keyPem, created: false };

  // Only generating needs @peculiar/x509: a start with the certificate on disk does not load it.
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${DEFAULT_CERT_CN}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 365 * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const newKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
  const newCert = `${cert.toString('pem').trimEnd()}\n`;
  await writeFileAtomic(keyPath, newKey, 0o600);
  await writeFileAtomic(certPath, newCert, 0o644);
  return { certPem: newCert, keyPem: newKey, created: true };
}

function usable(certPem: string, keyPem: string, now: Date): boolean {
  try {
    const cert = new NodeX509(certPem);
    return (
      cert.checkPrivateKey(createPrivateKey(keyPem)) &&
      new Date(cert.validTo).getTime() - now.getTime() > RENEW_BEFORE
    );
  } catch {
    return false;
  }
}
