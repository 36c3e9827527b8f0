// The controller's own CA and server certificate for the node channel: created on first start, reused after.
import {
  createPrivateKey,
  generateKeyPairSync,
  X509Certificate as NodeX509,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  certificateFingerprint,
  certifySigningKey,
  createSnapshotSigner,
  NODE_ID_URI_PREFIX,
  readTextIfExists,
  type SnapshotSigner,
  writeFileAtomic,
} from '@berth/protocol';
import type * as x509 from '@peculiar/x509';
import { loadX509 } from './x509.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;
/** Renew the server certificate this long before it expires, at the next start. */
const RENEW_BEFORE = 30 * DAY;

export interface ControllerPki {
  caCertPem: string;
  certPem: string;
  keyPem: string;
  /** sha256 of the CA certificate, lower-case hex: what join tokens pin. */
  caFingerprint: string;
  /** True when this call created the CA (first start). */
  createdCa: boolean;
  /** True when this call issued a new server certificate. */
  issuedServerCert: boolean;
  /** Signs every snapshot sent to nodes, with the Ed25519 key in `pki/snapshot-signing-key.pem`, certified by the CA. */
  snapshotSigner: SnapshotSigner;
  /** True when this call created the snapshot signing key. */
  createdSigningKey: boolean;
  /** Certifies a node's own key (from its certificate request) for `nodeId`, valid `ttlMs`. */
  issueNodeCertificate(request: NodeCertificateRequest): Promise<IssuedNodeCertificate>;
}

export interface NodeCertificateRequest {
  /** PKCS#10 request (PEM) for the node's key: ECDSA P-256, self-signed. */
  csrPem: string;
  nodeId: string;
  name: string;
  ttlMs: number;
}

export interface IssuedNodeCertificate {
  certPem: string;
  serial: string;
  notAfter: Date;
}

/** A certificate request the controller will not sign; the message says why. */
export class NodeCsrError extends Error {}

/** What every node certificate needs of the CA, parsed and imported once (a burst of enrollments pays it once). */
interface NodeIssuer {
  ca: x509.X509Certificate;
  signingKey: webcrypto.CryptoKey;
  authorityKeyId: x509.AuthorityKeyIdentifierExtension;
}

async function nodeIssuer(caCertPem: string, caKeyPem: string): Promise<NodeIssuer> {
  const x509 = await loadX509();
  const ca = new x509.X509Certificate(caCertPem);
  return {
    ca,
    signingKey: await importKeyPem(caKeyPem),
    authorityKeyId: await x509.AuthorityKeyIdentifierExtension.create(ca),
  };
}

async function issueNodeCert(issuer: NodeIssuer, req: NodeCertificateRequest) {
  const x509 = await loadX509();
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(req.csrPem);
  } catch {
    throw new NodeCsrError('the certificate request is not a PEM PKCS#10 request');
  }
  const alg = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256')
    throw new NodeCsrError('the certificate request must be for an ECDSA P-256 key');
  if (!(await csr.verify().catch(() => false)))
    throw new NodeCsrError('the certificate request is not signed by its own key');
  const { ca, signingKey, authorityKeyId } = issuer;
  const serialNumber = serial();
  const notAfter = new Date(Date.now() + req.ttlMs);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    // The name is the node's to choose and only a label: printable ASCII, bounded.
    subject: [{ CN: [`berth node ${req.name.replace(/[^\x20-\x7e]/g, '?').slice(0, 48)}`] }],
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter,
    signingAlgorithm: ALG,
    publicKey: await csr.publicKey.export(ALG, ['verify']),
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: `${NODE_ID_URI_PREFIX}${req.nodeId}` },
      ]),
      authorityKeyId,
    ],
  });
  return { certPem: `${cert.toString('pem').trimEnd()}\n`, serial: serialNumber, notAfter };
}

async function exportKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

async function importKeyPem(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']) as Promise<webcrypto.CryptoKey>;
}

function serial(): string {
  // Positive 128-bit serial: clear the top bit.
  const b = randomBytes(16);
  b[0] = (b[0] ?? 0) & 0x7f;
  return b.toString('hex');
}

async function createCa(): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Berth controller CA ${randomBytes(4).toString('hex')}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3650 * DAY),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem').trimEnd()}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}

async function issueServerCert(
  caCertPem: string,
  caKeyPem: string,
  names: string[],
): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const ca = new x509.X509Certificate(caCertPem);
  const caKey = await importKeyPem(caKeyPem);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=berth-controller',
    issuer: ca.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 397 * DAY),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) => (isIP(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return { certPem: `${cert.toString('pem').trimEnd()}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}

/** One spelling per name: IPv6 addresses compressed, DNS names lower-cased. */
const canonicalName = (n: string) => (isIP(n) === 6 ? new URL(`http://[${n}]`).hostname : n.toLowerCase());

function coversNames(certPem: string, names: string[]): boolean {
  const cert = new NodeX509(certPem);
  const san = cert.subjectAltName ?? '';
  const entries = new Set(
    san.split(',').map((s) => canonicalName(s.trim().replace(/^(DNS|IP Address):/, ''))),
  );
  return names.every((n) => entries.has(canonicalName(n)));
}

/**
 * Loads the CA and server certificate from `dataDir/pki`, creating what is missing. The server
 * certificate is reissued (same CA, so tokens stay valid) when it does not cover `names` or nears expiry.
 */
export async function ensureControllerPki(dataDir: string, names: string[]): Promise<ControllerPki> {
  const dir = join(dataDir, 'pki');
  const caCertPath = join(dir, 'ca.pem');
  const caKeyPath = join(dir, 'ca-key.pem');
  const certPath = join(dir, 'controller.pem');
  const keyPath = join(dir, 'controller-key.pem');

  let caCertPem = await readTextIfExists(caCertPath);
  let caKeyPem = await readTextIfExists(caKeyPath);
  let createdCa = false;
  if (!caCertPem || !caKeyPem) {
    const ca = await createCa();
    caCertPem = ca.certPem;
    caKeyPem = ca.keyPem;
    await writeFileAtomic(caKeyPath, caKeyPem, 0o600);
    await writeFileAtomic(caCertPath, caCertPem, 0o644);
    createdCa = true;
  }

  let certPem = await readTextIfExists(certPath);
  let keyPem = await readTextIfExists(keyPath);
  let issuedServerCert = false;
  const wanted = [...new Set(['localhost', '127.0.0.1', '::1', ...names])];
  const stale =
    !certPem ||
    !keyPem ||
    createdCa ||
    !coversNames(certPem, wanted) ||
    new Date(new NodeX509(certPem).validTo).getTime() - Date.now() < RENEW_BEFORE ||
    !new NodeX509(certPem).checkIssued(new NodeX509(caCertPem));
  if (stale) {
    const issued = await issueServerCert(caCertPem, caKeyPem, wanted);
    certPem = issued.certPem;
    keyPem = issued.keyPem;
    await writeFileAtomic(keyPath, keyPem, 0o600);
    await writeFileAtomic(certPath, certPem, 0o644);
    issuedServerCert = true;
  }
  const signingKeyPath = join(dir, 'snapshot-signing-key.pem');
  let signingKeyPem = await readTextIfExists(signingKeyPath);
  let createdSigningKey = false;
  if (!signingKeyPem || createPrivateKey(signingKeyPem).asymmetricKeyType !== 'ed25519') {
    signingKeyPem = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    await writeFileAtomic(signingKeyPath, signingKeyPem, 0o600);
    createdSigningKey = true;
  }
  // Certified again at every start: the statement is cheap and always matches the current CA.
  const snapshotSigner = createSnapshotSigner(signingKeyPem, certifySigningKey(signingKeyPem, caKeyPem));
  // Made on the first enrollment, then shared.
  let issuer: Promise<NodeIssuer> | null = null;
  const caKey = caKeyPem;
  const caCert = caCertPem;
  return {
    issueNodeCertificate: async (request) => {
      issuer ??= nodeIssuer(caCert, caKey);
      return issueNodeCert(await issuer, request);
    },
    snapshotSigner,
    createdSigningKey,
    caCertPem,
    certPem: certPem as string,
    keyPem: keyPem as string,
    caFingerprint: certificateFingerprint(caCertPem),
    createdCa,
    issuedServerCert,
  };
}
