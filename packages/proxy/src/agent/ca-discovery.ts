// Obtains the controller's CA certificate and accepts it only if it matches the fingerprint pinned by the join token.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { connect, type DetailedPeerCertificate, type PeerCertificate } from 'node:tls';
import {
  certificateFingerprint,
  controllerServerName,
  ProtocolError,
  ProtocolErrorCodes,
  readTextIfExists,
  writeFileAtomic,
} from '@berth/protocol';

const CA_FILE = 'controller-ca.pem';

function toPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`;
}

/**
 * Reads the certificate chain the controller presents and returns the CA whose sha256 equals the
 * pin. This is kubeadm's discovery: the handshake here sends no application data and trusts
 * nothing it was not told by the token; the real connection then verifies the controller
 * against this CA with full chain and name checks.
 */
async function fetchPinnedCa(url: URL, fingerprint: string, timeoutMs: number): Promise<string> {
  const chain = await new Promise<DetailedPeerCertificate>((resolve, reject) => {
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 443),
      servername: controllerServerName(url),
      // Discovery only: the chain is accepted below only if it contains the pinned CA.
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate(true);
      socket.destroy();
      resolve(cert);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`timed out reading the controller certificate from ${url.host}`));
    });
    socket.once('error', reject);
  });
  const seen = new Set<PeerCertificate>();
  let cert: DetailedPeerCertificate | undefined = chain;
  const leafDer = chain.raw;
  while (cert?.raw && !seen.has(cert)) {
    seen.add(cert);
    const pem = toPem(cert.raw);
    if (certificateFingerprint(pem) === fingerprint) {
      // The leaf must really be issued by the pinned CA, not just travel with it.
      if (leafDer && !new X509Certificate(leafDer).checkIssued(new X509Certificate(pem))) break;
      return pem;
    }
    cert = cert.issuerCertificate;
  }
  throw new ProtocolError(
    ProtocolErrorCodes.CaMismatch,
    `the controller at ${url.host} does not present the CA pinned by the join token`,
  );
}

/**
 * The CA stored in the data dir, only if it is the one the join token pins (the token comes from
 * the command line or the environment, not the data dir), else null. What the cache is verified against.
 */
export async function pinnedCaOnDisk(dataDir: string, fingerprint: string): Promise<string | null> {
  const cached = await readTextIfExists(join(dataDir, CA_FILE));
  if (!cached) return null;
  try {
    return certificateFingerprint(cached) === fingerprint ? cached : null;
  } catch {
    return null;
  }
}

/** The pinned CA, from the node's data dir when it matches the token, else by discovery (then stored). */
export async function pinnedCa(
  dataDir: string,
  url: URL,
  fingerprint: string,
  timeoutMs = 5000,
): Promise<string> {
  const path = join(dataDir, CA_FILE);
  const cached = await pinnedCaOnDisk(dataDir, fingerprint);
  if (cached) return cached;
  const pem = await fetchPinnedCa(url, fingerprint, timeoutMs);
  await writeFileAtomic(path, pem, 0o644);
  return pem;
}
