// Error codes of the controller ⇄ node protocol, one catalogue.

export const ProtocolErrorCodes = {
  /** A frame that is not a well-formed message. */
  BadFrame: 'BERTH_PROTOCOL_BAD_FRAME',
  /** A snapshot whose hash is not the hash of its body. */
  HashMismatch: 'BERTH_PROTOCOL_HASH_MISMATCH',
  /** A delta for another base than the snapshot the node serves, or whose ops do not fit it: the node resyncs. */
  DeltaBase: 'BERTH_PROTOCOL_DELTA_BASE',
  /** A snapshot without a valid signature by a key the pinned CA certified (forged, or from an older controller). */
  SnapshotSignature: 'BERTH_SNAPSHOT_SIGNATURE',
  /** A join token that cannot be parsed. */
  TokenMalformed: 'BERTH_TOKEN_MALFORMED',
  /** A join token whose secret the controller does not accept. */
  TokenRejected: 'BERTH_TOKEN_REJECTED',
  /** The controller's certificate is not signed by the CA the token pins. */
  CaMismatch: 'BERTH_TOKEN_CA_MISMATCH',
  /** The peer speaks another protocol version; the controller closes with `CLOSE_PROTOCOL_VERSION`. */
  VersionMismatch: 'BERTH_PROTOCOL_VERSION',
  /** A well-formed message out of order: a second hello, or anything before the hello. */
  Violation: 'BERTH_PROTOCOL_VIOLATION',
  /** A connection to the node channel without a node certificate (nodes enroll first, with the join token). */
  NodeCertRequired: 'BERTH_NODE_CERT_REQUIRED',
  /** A node certificate the controller does not accept: not issued by its CA, not a node certificate. */
  NodeCertRejected: 'BERTH_NODE_CERT_REJECTED',
  /** A node certificate past its validity: the node enrolls again with its join token. */
  NodeCertExpired: 'BERTH_NODE_CERT_EXPIRED',
  /** The node was removed (`berth nodes rm`): its certificate is refused from then on. */
  NodeRevoked: 'BERTH_NODE_REVOKED',
  /** Too many enrollments from one address within a minute; the node retries later. */
  EnrollRate: 'BERTH_NODE_ENROLL_RATE',
  /** An enrollment or renewal request that cannot be honoured (bad CSR, bad name). */
  EnrollInvalid: 'BERTH_NODE_ENROLL_INVALID',
} as const;

export type ProtocolErrorCode = (typeof ProtocolErrorCodes)[keyof typeof ProtocolErrorCodes];

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}
