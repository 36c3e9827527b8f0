// Checks a certificate and its key as given (PEM text) before they travel to nodes: parseable, matching, valid now.
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { ErrorCodes } from '../compiler/error-codes.js';

export interface CheckedCertificate {
  ok: true;
  /** The chain as given, normalised to end with one newline. */
  certPem: string;
  keyPem: string;
  /** DNS names from the SANs, lower-case; the CN when there are no DNS SANs. */
  names: string[];
  /** ISO 8601. */
  notAfter: string;
  notBefore: string;
  /** sha256 of the leaf (DER), lower-case hex. */
  fingerprint: string;
  /** The leaf's OCSP responder from its Authority Information Access, when it names one. */
  ocspUrl?: string;
}

export interface CertificateProblem {
  ok: false;
  code: string;
  /** The end of a sentence that starts with the certificate's description. */
  message: string;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates of a chain, leaf first. */
export function splitPemChain(pem: string): string[] {
  return [...pem.matchAll(CERT_BLOCK)].map((m) => `${m[0]}\n`);
}

/**
 * Whether `certPem` (leaf first, then its chain) and `keyPem` make a usable server certificate at
 * `now`. Pure apart from the clock passed in; never throws.
 */
export function checkCertificate(
  certPem: string,
  keyPem: string,
  now: Date,
): CheckedCertificate | CertificateProblem {
  const blocks = splitPemChain(certPem);
  if (blocks.length === 0) {
    return {
      ok: false,
      code: ErrorCodes.TLS_CERT_INVALID,
      message: 'holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)',
    };
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(blocks[0]!);
    for (const block of blocks.slice(1)) new X509Certificate(block);
  } catch (err) {
    return {
      ok: false,
      code: ErrorCodes.TLS_CERT_INVALID,
      message: `has a certificate that does not parse: ${(err as Error).message}`,
    };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    return {
      ok: false,
      code: ErrorCodes.TLS_CERT_INVALID,
      // The key's text never goes into a message: only what went wrong.
      message: `has a private key that does not parse: ${(err as Error).message}`,
    };
  }
  if (!leaf.checkPrivateKey(key)) {
    return {
      ok: false,
      code: ErrorCodes.TLS_KEY_MISMATCH,
      message: `has a private key that does not belong to its certificate (${leaf.subject.replace(/\n/g, ', ')})`,
    };
  }
  const notAfter = new Date(leaf.validTo);
  const notBefore = new Date(leaf.validFrom);
  if (notAfter.getTime() < now.getTime()) {
    return {
      ok: false,
      code: ErrorCodes.TLS_CERT_EXPIRED,
      message: `expired on ${notAfter.toISOString()}`,
    };
  }
  if (notBefore.getTime() > now.getTime()) {
    return {
      ok: false,
      code: ErrorCodes.TLS_CERT_NOT_YET_VALID,
      message: `is not valid before ${notBefore.toISOString()}`,
    };
  }
  const ocspUrl = ocspResponderOf(leaf);
  return {
    ok: true,
    certPem: blocks.join(''),
    keyPem: keyPem.endsWith('\n') ? keyPem : `${keyPem}\n`,
    names: certificateNames(leaf),
    notAfter: notAfter.toISOString(),
    notBefore: notBefore.toISOString(),
    fingerprint: createHash('sha256').update(leaf.raw).digest('hex'),
    ...(ocspUrl === undefined ? {} : { ocspUrl }),
  };
}

/** DNS SANs lower-cased, in order and without repeats; the subject's CN when there are none. */
export function certificateNames(cert: X509Certificate): string[] {
  const dns = splitGeneralNames(cert.subjectAltName)
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  if (dns.length > 0) return [...new Set(dns)];
  const cn = cert.subject
    .split('\n')
    .find((line) => line.startsWith('CN='))
    ?.slice(3)
    .toLowerCase();
  return cn === undefined || cn === '' ? [] : [cn];
}

/** The first http(s) OCSP URI in the Authority Information Access extension. */
export function ocspResponderOf(cert: X509Certificate): string | undefined {
  for (const line of (cert.infoAccess ?? '').split('\n')) {
    const match = /^OCSP - URI:(\S+)$/.exec(line.trim());
    if (match?.[1] !== undefined && /^https?:\/\//i.test(match[1])) return match[1];
  }
  return undefined;
}

/** Node joins general names with ", "; a name holding a comma is quoted (JSON) by Node. */
function splitGeneralNames(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  const out: string[] = [];
  const re = /(\w[\w ]*?):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (const m of text.matchAll(re)) {
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    out.push(`${m[1]}:${value}`);
  }
  return out;
}
