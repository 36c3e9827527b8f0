// The snapshot envelope: one immutable, versioned, hashed document a node applies whole or not at all.
import { createHash } from 'node:crypto';
import type {
  AccessLogSettings,
  Duration,
  EntryPoint,
  HttpConfig,
  ResolvedTls,
  TcpConfig,
} from '@berth/config';

/** Bumped when a node needs new code to understand a body. A node NACKs a schema it does not know. */
export const SNAPSHOT_SCHEMA = 1;

/** Everything a node needs to serve traffic. */
export interface SnapshotBody {
  schema: number;
  entryPoints: Record<string, EntryPoint>;
  http: HttpConfig;
  /** TCP routers and services (SNI passthrough, plain TCP), as validated; PEM instead of file paths. */
  tcp?: TcpConfig;
  /**
   * Certificates (with private keys: the body is secret, cached 0600, never logged or served by
   * the API), TLS options and session ticket keys. Absent: no TLS entry point can terminate.
   */
  tls?: ResolvedTls;
  accessLog?: AccessLogSettings;
  /** When a route is removed, its open WebSockets and streams close after this. */
  routeRemovalGrace?: Duration;
}

export interface Snapshot {
  /** Changes when a controller's store is reset; versions never compare across epochs. */
  epoch: string;
  version: number;
  /** sha256 (hex) of the canonical JSON of `body`. */
  hash: string;
  /** ISO 8601. */
  createdAt: string;
  body: SnapshotBody;
  /**
   * Added by the controller when it sends the snapshot (see snapshot-signature.ts); the node
   * refuses a snapshot without a valid one, from the wire and from its cache.
   */
  signature?: SnapshotSignature;
}

/** Proof that the controller issued a snapshot: an Ed25519 signature by a key its CA certified. */
export interface SnapshotSignature {
  alg: 'ed25519';
  /** The controller's signing public key, SPKI DER, base64. */
  publicKey: string;
  /** The CA key's signature (ECDSA, SHA-256, DER, base64) over the signing key statement. */
  keyCertificate: string;
  /** Ed25519 signature (base64) over `snapshotSigningInput(epoch, version, hash)`. */
  value: string;
}

/**
 * JSON with object keys sorted at every level, so equal bodies hash equally whatever the
 * order providers produced them in. `undefined` members are dropped, as JSON.stringify does.
 * `memo` holds the canonical JSON of objects that cannot change any more (the caller fills
 * it, e.g. per element of a frozen body): those are looked up, not serialised again.
 */
export function canonicalJson(value: unknown, memo?: WeakMap<object, string>): string {
  if (value === null || typeof value !== 'object') {
    const out = JSON.stringify(value);
    return out === undefined ? 'null' : out;
  }
  const known = memo?.get(value);
  if (known !== undefined) return known;
  let out: string;
  // Plain loops and string appends: this runs over every element of a 10,000-route body.
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const v: unknown = value[i];
      out += v === undefined ? 'null' : canonicalJson(v, memo);
    }
    out += ']';
  } else {
    const record = value as Record<string, unknown>;
    // The default sort compares UTF-16 code units, as `<` does.
    const keys = Object.keys(record).sort();
    out = '{';
    let first = true;
    for (const key of keys) {
      const v = record[key];
      if (v === undefined) continue;
      if (!first) out += ',';
      first = false;
      out += `${JSON.stringify(key)}:${canonicalJson(v, memo)}`;
    }
    out += '}';
  }
  return out;
}

export function hashBody(body: SnapshotBody, memo?: WeakMap<object, string>): string {
  return createHash('sha256').update(canonicalJson(body, memo)).digest('hex');
}

/** True when the envelope's hash is the hash of its body. */
export function verifySnapshot(snapshot: Snapshot): boolean {
  return hashBody(snapshot.body) === snapshot.hash;
}
