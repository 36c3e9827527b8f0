// Node identities: the controller's CA certifies each node's own key; the certificate names the node id.
import { X509Certificate } from 'node:crypto';

/** A node certificate carries its node id as this URI in its subjectAltName. */
export const NODE_ID_URI_PREFIX = 'urn:berth:node:';

/** Node ids the controller issues: lower-case UUIDs. */
export const NODE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** OID of the clientAuth extended key usage: a node certificate has it, the controller's does not. */
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Where a node opens its WebSocket, with its node certificate. */
export const NODE_CHANNEL_PATH = '/v1/connect';

/** Where a node enrolls (POST, with the join secret as bearer) and what it sends and gets back. */
export const NODE_ENROLL_PATH = '/v1/enroll';

export interface EnrollRequest {
  /** Display name of the node (its `--name`). */
  name: string;
  /** PKCS#10 certificate request for the node's own key (PEM). */
  csr: string;
}

export interface EnrollResponse {
  nodeId: string;
  /** The node certificate (PEM), issued by the controller's CA. */
  certificate: string;
}

/** Largest enrollment request body accepted. */
export const MAX_ENROLL_BYTES = 16 * 1024;

/**
 * The node id a certificate is for, or null when it is not a node certificate (no node URI, or no
 * clientAuth usage). Says nothing about who issued it: the TLS handshake checks that.
 */
export function nodeIdOfCertificate(cert: X509Certificate | string): string | null {
  let x: X509Certificate;
  try {
    x = typeof cert === 'string' ? new X509Certificate(cert) : cert;
  } catch {
    return null;
  }
  if (!(x.keyUsage ?? []).includes(CLIENT_AUTH)) return null;
  const ids = (x.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith(`URI:${NODE_ID_URI_PREFIX}`))
    .map((s) => s.slice(`URI:${NODE_ID_URI_PREFIX}`.length));
  const [id] = ids;
  return ids.length === 1 && id !== undefined && NODE_ID_PATTERN.test(id) ? id : null;
}
