// The snapshot envelope: one immutable, versioned, hashed document a node applies whole or not at all.
import { createHash } from 'node:crypto';
import type {
  AccessLogSettings,
  Duration,
  EntryPoint,
  HttpConfig,
  ResolvedTls,
  TcpConfig,
  UdpConfig,
} from '@berth/config';
import { deltaOrigin } from './delta.js';

/** Bumped when a node needs new code to understand a body. A node NACKs a schema it does not know. */
export const SNAPSHOT_SCHEMA = 1;

/** Everything a node needs to serve traffic. */
export interface SnapshotBody {
  schema: number;
  entryPoints: Record<string, EntryPoint>;
  http: HttpConfig;
  /** TCP routers and services (SNI passthrough, plain TCP), as validated; PEM instead of file paths. */
  tcp?: TcpConfig;
  /** UDP routers (entry points explicit) and services; each `/udp` entry point serves one router. */
  udp?: UdpConfig;
  /**
   * Certificates (with private keys: the body is secret, cached 0600, never logged or served by
   * the API), TLS options and session ticket keys. Absent: no TLS entry point can terminate.
   */
  tls?: ResolvedTls;
  accessLog?: AccessLogSettings;
  /** When a route is removed, its open WebSockets and streams close after this. */
  routeRemovalGrace?: Duration;
  /** ACME challenge answers every node serves while the controller's orders run. */
  acme?: AcmeChallenges;
}

/** What the controller's ACME orders need every node to answer, whichever node the CA reaches. */
export interface AcmeChallenges {
  /** HTTP-01: `keyAuthorization` as text at `/.well-known/acme-challenge/TOKEN` on `entryPoint`. */
  http01?: AcmeHttp01Answer[];
  /**
   * TLS-ALPN-01 (RFC 8737): every TLS entry point (terminating or passthrough) answers a
   * ClientHello for `domain` that offers `acme-tls/1` with this self-signed certificate carrying
   * the acmeIdentifier extension, negotiates `acme-tls/1` and closes; no router sees it.
   */
  tlsAlpn01?: AcmeTlsAlpn01Answer[];
}

export interface AcmeTlsAlpn01Answer {
  /** Lower-case DNS name (the SNI the CA sends). */
  domain: string;
  certPem: string;
  keyPem: string;
}

export interface AcmeHttp01Answer {
  entryPoint: string;
  token: string;
  keyAuthorization: string;
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
 * Canonical JSON texts of a body's collections and their members (depth 2 and 3: `http.routers`,
 * `http.routers.web`), by object identity. applyDelta shares every subtree a delta leaves
 * untouched with its base, so hashing the result with the cache the base was hashed with
 * serialises only what the delta changed; the hash is still computed over the full body's bytes.
 * Sound because bodies are never mutated once hashed (a delta copies what it changes).
 */
export type CanonicalCache = WeakMap<object, string>;

/** Depths whose objects a CanonicalCache keeps: collections and their members. */
const CACHED_FROM = 2;
const CACHED_TO = 3;

/**
 * JSON with object keys sorted at every level, so equal bodies hash equally whatever the
 * order providers produced them in. `undefined` members are dropped, as JSON.stringify does.
 * `cache`: see CanonicalCache; the text is the same with or without it. A cache the caller
 * filled itself (the controller's store: the text of each frozen element) is read the same way.
 */
export function canonicalJson(value: unknown, cache?: CanonicalCache): string {
  return cache === undefined ? canonical(value) : cachedCanonical(value, cache, 0);
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const out = JSON.stringify(value);
    return out === undefined ? 'null' : out;
  }
  let out: string;
  // Plain loops and string appends: this runs over every element of a 10,000-route body.
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const v: unknown = value[i];
      out += v === undefined ? 'null' : canonical(v);
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
      out += `${JSON.stringify(key)}:${canonical(v)}`;
    }
    out += '}';
  }
  return out;
}

/**
 * A collection's (depth 2) members in canonical order, in blocks of about BLOCK: sorted keys, their
 * `"key":text` parts, and each block's joined text once asked for. A collection applyDelta copied
 * from one of these is serialised from it: only the members the delta set or deleted are
 * serialised again, only their blocks are joined again, the others are shared (see deltaOrigin).
 * No sort, and no pass over 10,000 members.
 */
interface Block {
  keys: string[];
  parts: string[];
  text?: string | undefined;
}

const BLOCK = 128;

const sortedMembers = new WeakMap<object, readonly Block[]>();

/** The first index whose key is not below `key` (`<`: UTF-16 code units, as the default sort). */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `object`'s blocks from its delta base's, or undefined when it was not made by a delta from a known one. */
function blocksFromOrigin(
  object: Record<string, unknown>,
  cache: CanonicalCache,
  depth: number,
): Block[] | undefined {
  const origin = deltaOrigin(object);
  const before = origin === undefined ? undefined : sortedMembers.get(origin.from);
  if (origin === undefined || before === undefined) return undefined;
  const blocks = before.slice();
  const own = new Set<Block>();
  for (const key of origin.changed) {
    // The block the key sorts into: the last whose first key is not above it.
    let lo = 0;
    let hi = blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (((blocks[mid] as Block).keys[0] as string) <= key) lo = mid + 1;
      else hi = mid;
    }
    const index = Math.max(0, lo - 1);
    let block = blocks[index];
    if (block === undefined) {
      block = { keys: [], parts: [] };
      blocks.push(block);
      own.add(block);
    } else if (!own.has(block)) {
      block = { keys: block.keys.slice(), parts: block.parts.slice() };
      blocks[index] = block;
      own.add(block);
    }
    const at = lowerBound(block.keys, key);
    const present = block.keys[at] === key;
    const v = Object.hasOwn(object, key) ? object[key] : undefined;
    if (v === undefined) {
      if (present) {
        block.keys.splice(at, 1);
        block.parts.splice(at, 1);
      }
    } else {
      const part = `${JSON.stringify(key)}:${cachedCanonical(v, cache, depth + 1)}`;
      if (present) block.parts[at] = part;
      else {
        block.keys.splice(at, 0, key);
        block.parts.splice(at, 0, part);
      }
    }
    // Empty blocks go; big ones split, so a block stays cheap to copy and join.
    if (block.keys.length === 0) blocks.splice(blocks.indexOf(block), 1);
    else if (block.keys.length > 2 * BLOCK) {
      const half = block.keys.length >>> 1;
      const tail: Block = { keys: block.keys.splice(half), parts: block.parts.splice(half) };
      blocks.splice(blocks.indexOf(block) + 1, 0, tail);
      own.add(tail);
    }
  }
  return blocks;
}

/** Blocks of `object`'s members, serialised afresh. */
function blocksOf(object: Record<string, unknown>, cache: CanonicalCache, depth: number): Block[] {
  const blocks: Block[] = [];
  let block: Block = { keys: [], parts: [] };
  for (const key of Object.keys(object).sort()) {
    const v = object[key];
    if (v === undefined) continue;
    if (block.keys.length === BLOCK) {
      blocks.push(block);
      block = { keys: [], parts: [] };
    }
    block.keys.push(key);
    block.parts.push(`${JSON.stringify(key)}:${cachedCanonical(v, cache, depth + 1)}`);
  }
  if (block.keys.length > 0) blocks.push(block);
  return blocks;
}

/** The blocks of a collection: kept, derived from its delta base's, or made afresh. */
function collectionBlocks(
  object: Record<string, unknown>,
  cache: CanonicalCache,
  depth: number,
): readonly Block[] {
  let blocks: readonly Block[] | undefined = sortedMembers.get(object);
  if (blocks === undefined) {
    blocks = blocksFromOrigin(object, cache, depth) ?? blocksOf(object, cache, depth);
    sortedMembers.set(object, blocks);
  }
  return blocks;
}

function blockText(block: Block): string {
  block.text ??= block.parts.join(',');
  return block.text;
}

function blocksText(blocks: readonly Block[]): string {
  return `{${blocks.map(blockText).join(',')}}`;
}

function cachedCanonical(value: unknown, cache: CanonicalCache, depth: number): string {
  if (value === null || typeof value !== 'object' || depth > CACHED_TO) return canonical(value);
  const cached = depth >= CACHED_FROM ? cache.get(value) : undefined;
  if (cached !== undefined) return cached;
  const next = depth + 1;
  let text: string;
  if (Array.isArray(value)) {
    text = `[${value.map((v) => (v === undefined ? 'null' : cachedCanonical(v, cache, next))).join(',')}]`;
  } else if (depth === CACHED_FROM) {
    text = blocksText(collectionBlocks(value as Record<string, unknown>, cache, depth));
  } else {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const v = object[key];
      if (v !== undefined) parts.push(`${JSON.stringify(key)}:${cachedCanonical(v, cache, next)}`);
    }
    text = `{${parts.join(',')}}`;
  }
  if (depth >= CACHED_FROM) cache.set(value, text);
  return text;
}

/**
 * Writes the canonical JSON of `value` (at `depth` in a body) piece by piece: the very text
 * `cachedCanonical` returns, without assembling the body's megabytes into one string first (a
 * collection goes as its blocks' texts).
 */
function writeCanonical(
  value: unknown,
  cache: CanonicalCache,
  depth: number,
  write: (piece: string) => void,
): void {
  const record = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!record || depth > CACHED_FROM) {
    write(cachedCanonical(value, cache, depth));
    return;
  }
  const object = value as Record<string, unknown>;
  if (depth === CACHED_FROM) {
    const cached = cache.get(object);
    if (cached !== undefined) {
      write(cached);
      return;
    }
    write('{');
    collectionBlocks(object, cache, depth).forEach((block, i) => {
      if (i > 0) write(',');
      write(blockText(block));
    });
    write('}');
    return;
  }
  write('{');
  let first = true;
  for (const key of Object.keys(object).sort()) {
    const v = object[key];
    if (v === undefined) continue;
    write(`${first ? '' : ','}${JSON.stringify(key)}:`);
    first = false;
    writeCanonical(v, cache, depth + 1, write);
  }
  write('}');
}

/** sha256 (hex) of the canonical JSON of `body`; `cache` only saves work (see CanonicalCache). */
export function hashBody(body: SnapshotBody, cache?: CanonicalCache): string {
  const hash = createHash('sha256');
  if (cache === undefined) return hash.update(canonicalJson(body)).digest('hex');
  writeCanonical(body, cache, 0, (piece) => hash.update(piece));
  return hash.digest('hex');
}

/** True when the envelope's hash is the hash of its body. */
export function verifySnapshot(snapshot: Snapshot, cache?: CanonicalCache): boolean {
  return hashBody(snapshot.body, cache) === snapshot.hash;
}
