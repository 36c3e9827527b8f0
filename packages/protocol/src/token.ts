// Join tokens: the controller URL, the fingerprint of the controller's CA and a secret, in one copyable string.
import { randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { ProtocolError, ProtocolErrorCodes } from './errors.js';

const PREFIX = 'berth1';

export interface JoinToken {
  /** `wss://host:port` the node dials. */
  url: string;
  /** sha256 of the CA certificate's DER, lower-case hex. */
  caFingerprint: string;
  secret: string;
}

export function formatToken(token: JoinToken): string {
  return [PREFIX, Buffer.from(token.url).toString('base64url'), token.caFingerprint, token.secret].join('.');
}

/** Parses a token; throws ProtocolError(BERTH_TOKEN_MALFORMED) naming what is wrong (never echoing the secret). */
export function parseToken(text: string): JoinToken {
  const parts = text.trim().split('.');
  const fail = (why: string): never => {
    throw new ProtocolError(ProtocolErrorCodes.TokenMalformed, `join token is malformed: ${why}`);
  };
  if (parts.length !== 4) fail(`expected 4 '.'-separated parts, found ${parts.length}`);
  const [prefix, url64, fp, secret] = parts as [string, string, string, string];
  if (prefix !== PREFIX) fail(`unknown prefix '${prefix.slice(0, 12)}' (expected '${PREFIX}')`);
  const url = Buffer.from(url64, 'base64url').toString('utf8');
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    fail('the controller URL is not a URL');
  }
  if (parsed?.protocol !== 'wss:') fail(`the controller URL must be wss://, got '${url}'`);
  if (!/^[0-9a-f]{64}$/.test(fp)) fail('the CA fingerprint must be 64 hex characters');
  if (!/^[A-Za-z0-9_-]{32,}$/.test(secret)) fail('the secret is too short or has invalid characters');
  return { url, caFingerprint: fp, secret };
}

/**
 * The TLS server name for the controller URL of a token: its host name, or '' (no SNI) for an IP
 * address, which RFC 6066 forbids as SNI; the certificate is still checked against the address.
 */
export function controllerServerName(url: URL): string {
  return /^[\d.]+$|:/.test(url.hostname) ? '' : url.hostname;
}

/** A new random join secret (256 bits, base64url). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** sha256 of a PEM certificate's DER, lower-case hex: what a token pins. */
export function certificateFingerprint(pem: string | Buffer): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** Constant-time comparison of two secrets. */
export function secretsEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
