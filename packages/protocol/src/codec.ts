// Frames on the wire: small messages as JSON text, snapshots as one gzip'd binary frame built once per version.
import { gunzipSync, gzipSync } from 'node:zlib';
import { ProtocolErrorCodes } from './errors.js';
import type { DeltaMessage, Message, SnapshotMessage } from './messages.js';
import type { Snapshot } from './snapshot.js';

/** Snapshots larger than this (uncompressed) are refused, so a bad peer cannot exhaust memory. */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

/**
 * Largest node → controller message. The biggest legitimate one is `stats` (about 90 bytes per
 * server and per router × service × status class): 1 MiB holds over 10,000 such rows.
 */
export const MAX_NODE_MESSAGE_BYTES = 1024 * 1024;

/** Longest string of each kind a node may send; longer is a malformed frame. */
export const NODE_FIELD_LIMITS = {
  /** nodeId, name, epoch, hash, code, statusClass. */
  id: 256,
  /** entryPoint, address, router, service, url. */
  name: 2048,
  /** error messages (nack, listener errors). */
  text: 8192,
  /** entries of listeners. */
  listeners: 1024,
  /** a certificate request (PEM). */
  pem: 8192,
  /** entries of capabilities in a hello. */
  capabilities: 64,
} as const;

/** Longest path of a delta op: bodies are a few levels deep, a deeper path is garbage. */
export const MAX_DELTA_PATH = 64;

export type DecodeResult = { ok: true; message: Message } | { ok: false; code: string; error: string };

export function encodeMessage(message: Exclude<Message, SnapshotMessage | DeltaMessage>): string {
  return JSON.stringify(message);
}

/** The bytes of a snapshot frame. Build once per version and send the same Buffer to every node. */
export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const message: SnapshotMessage = { type: 'snapshot', snapshot };
  return gzipSync(JSON.stringify(message), { level: 6 });
}

/**
 * The bytes of a delta frame, gzip'd like a snapshot's. Build once per (base, version) and send
 * the same Buffer to every node on that base.
 */
export function encodeDelta(delta: DeltaMessage): Buffer {
  return gzipSync(JSON.stringify(delta), { level: 6 });
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const LISTENER_STATES = new Set(['bound', 'retrying']);
const isListeners = (v: unknown): boolean =>
  Array.isArray(v) &&
  v.every(
    (l) =>
      isObject(l) &&
      isStr(l['entryPoint']) &&
      isStr(l['address']) &&
      (l['state'] === undefined || LISTENER_STATES.has(l['state'] as string)) &&
      (l['protocol'] === undefined || l['protocol'] === 'udp') &&
      (l['error'] === undefined ||
        (isObject(l['error']) && isStr(l['error']['code']) && isStr(l['error']['message']))),
  );

const SERVER_STATUSES = new Set(['up', 'down', 'ejected']);
const STATUS_CLASSES = new Set(['1xx', '2xx', '3xx', '4xx', '5xx']);

const isServerReports = (v: unknown): boolean =>
  Array.isArray(v) &&
  v.every(
    (s) =>
      isObject(s) &&
      isStr(s['service']) &&
      isStr(s['url']) &&
      SERVER_STATUSES.has(s['status'] as string) &&
      isInt(s['since']),
  );

const isRequestCounts = (v: unknown): boolean =>
  Array.isArray(v) &&
  v.every(
    (r) =>
      isObject(r) &&
      isStr(r['router']) &&
      isStr(r['service']) &&
      STATUS_CLASSES.has(r['statusClass'] as string) &&
      isInt(r['count']),
  );

const isSignature = (v: unknown): boolean =>
  isObject(v) && isStr(v['alg']) && isStr(v['publicKey']) && isStr(v['keyCertificate']) && isStr(v['value']);

const isDeltaOps = (v: unknown): boolean =>
  Array.isArray(v) &&
  v.every(
    (op) =>
      isObject(op) &&
      Array.isArray(op['path']) &&
      op['path'].length > 0 &&
      op['path'].length <= MAX_DELTA_PATH &&
      op['path'].every(isStr) &&
      (op['op'] === 'delete' || (op['op'] === 'set' && op['value'] !== undefined)),
  );

const isCapabilities = (v: unknown): boolean =>
  v === undefined || (Array.isArray(v) && v.length <= NODE_FIELD_LIMITS.capabilities && v.every(isStr));

function isSnapshot(v: unknown): v is Snapshot {
  return (
    isObject(v) &&
    isStr(v['epoch']) &&
    isInt(v['version']) &&
    isStr(v['hash']) &&
    isStr(v['createdAt']) &&
    isObject(v['body'])
  );
}

/** Structural check of a decoded value; semantic checks (hash, schema) are the receiver's. */
function checkShape(v: unknown): v is Message {
  if (!isObject(v)) return false;
  switch (v['type']) {
    case 'hello':
      return (
        isInt(v['protocol']) &&
        isStr(v['nodeId']) &&
        isStr(v['name']) &&
        isInt(v['appliedVersion']) &&
        isStrOrNull(v['appliedEpoch']) &&
        isStrOrNull(v['appliedHash']) &&
        isListeners(v['listeners']) &&
        isCapabilities(v['capabilities'])
      );
    case 'ack':
      return isStr(v['epoch']) && isInt(v['version']) && isStr(v['hash']) && isListeners(v['listeners']);
    case 'nack':
      return isStr(v['epoch']) && isInt(v['version']) && isStr(v['code']) && isStr(v['error']);
    case 'heartbeat':
      return isInt(v['seq']) && isInt(v['at']);
    case 'listeners':
      return isListeners(v['listeners']);
    case 'stats':
      return (
        isInt(v['at']) &&
        isServerReports(v['servers']) &&
        isRequestCounts(v['requests']) &&
        isInt(v['openConnections'])
      );
    case 'snapshot':
      return isSnapshot(v['snapshot']);
    case 'delta':
      return (
        isStr(v['epoch']) &&
        isInt(v['baseVersion']) &&
        isStr(v['baseHash']) &&
        isInt(v['version']) &&
        isStr(v['hash']) &&
        isStr(v['createdAt']) &&
        isSignature(v['signature']) &&
        isDeltaOps(v['ops'])
      );
    case 'resync':
      return isStr(v['epoch']) && isInt(v['version']) && isStr(v['code']) && isStr(v['reason']);
    case 'renew':
      return isStr(v['csr']);
    case 'leave':
      return true;
    case 'certificate':
      return isStr(v['certificate']);
    default:
      return false;
  }
}

const ID_FIELDS = new Set(['nodeId', 'name', 'epoch', 'hash', 'code', 'statusClass', 'status', 'type']);
const TEXT_FIELDS = new Set(['error', 'message']);
const PEM_FIELDS = new Set(['csr']);

/**
 * The first string field of a node message longer than its limit, or array over its limit, as a
 * message; null when every field fits. Walks the (already shape-checked) value.
 */
function fieldTooLong(v: unknown, key = ''): string | null {
  if (typeof v === 'string') {
    const max = ID_FIELDS.has(key)
      ? NODE_FIELD_LIMITS.id
      : TEXT_FIELDS.has(key)
        ? NODE_FIELD_LIMITS.text
        : PEM_FIELDS.has(key)
          ? NODE_FIELD_LIMITS.pem
          : NODE_FIELD_LIMITS.name;
    return v.length > max ? `field '${key}' is ${v.length} characters long (at most ${max})` : null;
  }
  if (Array.isArray(v)) {
    if (key === 'listeners' && v.length > NODE_FIELD_LIMITS.listeners)
      return `field 'listeners' has ${v.length} entries (at most ${NODE_FIELD_LIMITS.listeners})`;
    for (const item of v) {
      const err = fieldTooLong(item, key);
      if (err) return err;
    }
    return null;
  }
  if (isObject(v)) {
    for (const [k, item] of Object.entries(v)) {
      const err = fieldTooLong(item, k);
      if (err) return err;
    }
  }
  return null;
}

/**
 * Decodes one frame a node sent: text only (binary frames are the controller's), every string
 * field within `NODE_FIELD_LIMITS`. Never throws.
 */
export function decodeNodeFrame(data: Buffer | string, isBinary: boolean): DecodeResult {
  if (isBinary) return { ok: false, code: ProtocolErrorCodes.BadFrame, error: 'nodes send text frames only' };
  const decoded = decodeFrame(data, false);
  if (!decoded.ok) return decoded;
  if (
    decoded.message.type === 'snapshot' ||
    decoded.message.type === 'delta' ||
    decoded.message.type === 'certificate'
  )
    return {
      ok: false,
      code: ProtocolErrorCodes.BadFrame,
      error: `nodes do not send '${decoded.message.type}'`,
    };
  const tooLong = fieldTooLong(decoded.message);
  if (tooLong)
    return {
      ok: false,
      code: ProtocolErrorCodes.BadFrame,
      error: `malformed '${decoded.message.type}' message: ${tooLong}`,
    };
  return decoded;
}

/** Decodes one WebSocket frame. Never throws: garbage gives `{ok:false}`. */
export function decodeFrame(data: Buffer | string, isBinary: boolean): DecodeResult {
  let text: string;
  try {
    if (isBinary) {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      text = gunzipSync(buf, { maxOutputLength: MAX_SNAPSHOT_BYTES }).toString('utf8');
    } else {
      text = typeof data === 'string' ? data : data.toString('utf8');
    }
  } catch (err) {
    return {
      ok: false,
      code: ProtocolErrorCodes.BadFrame,
      error: `cannot decompress frame: ${(err as Error).message}`,
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: ProtocolErrorCodes.BadFrame, error: 'frame is not JSON' };
  }
  if (!checkShape(value)) {
    const type = isObject(value) && isStr(value['type']) ? value['type'] : 'unknown';
    return { ok: false, code: ProtocolErrorCodes.BadFrame, error: `malformed '${type}' message` };
  }
  return { ok: true, message: value };
}
