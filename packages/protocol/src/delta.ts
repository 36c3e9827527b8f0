// Snapshot deltas: the ops that turn one snapshot body into the next, small when little changed.
import type { DeltaMessage } from './messages.js';
import type { Snapshot, SnapshotBody } from './snapshot.js';

/**
 * One change to a body. `path` names the member from the root (`['http','routers','web']`);
 * objects are recursed into by key, everything else (strings, numbers, arrays) is replaced whole.
 */
export type DeltaOp = { op: 'set'; path: string[]; value: unknown } | { op: 'delete'; path: string[] };

/** A delta that does not fit the body it is applied to (a missing member, an empty path). */
export class DeltaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeltaError';
  }
}

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An own member only: names such as `constructor` must not reach into the prototype. */
const ownMember = (o: JsonObject, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

/** Keys whose value is not undefined (canonical JSON drops undefined members), sorted. */
function definedKeys(o: JsonObject): string[] {
  const keys: string[] = [];
  for (const k of Object.keys(o)) if (o[k] !== undefined) keys.push(k);
  return keys.sort();
}

/** Equal as canonical JSON: key order does not matter, undefined members are absent. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    // canonicalJson writes an undefined array element as null.
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i] ?? null, b[i] ?? null)) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    // No sorting: every defined member of a is in b and equal, and b has no more defined members.
    let count = 0;
    for (const k in a) {
      if (!Object.hasOwn(a, k) || a[k] === undefined) continue;
      count++;
      const other = ownMember(b, k);
      if (other === undefined || !jsonEqual(a[k], other)) return false;
    }
    for (const k in b) if (Object.hasOwn(b, k) && b[k] !== undefined) count--;
    return count === 0;
  }
  return false;
}

function diffInto(a: unknown, b: unknown, path: string[], out: DeltaOp[]): void {
  if (a === b) return;
  if (isObject(a) && isObject(b)) {
    // Sorted keys: the same two bodies always give the same ops.
    for (const k of definedKeys(a))
      if (ownMember(b, k) === undefined) out.push({ op: 'delete', path: [...path, k] });
    for (const k of definedKeys(b)) {
      const was = ownMember(a, k);
      if (was === undefined) out.push({ op: 'set', path: [...path, k], value: b[k] });
      else diffInto(was, b[k], [...path, k], out);
    }
    return;
  }
  if (!jsonEqual(a, b)) out.push({ op: 'set', path, value: b });
}

/**
 * The ops that turn `base` into `next` (canonically: `hashBody(applyDelta(base, ops))` is
 * `hashBody(next)`). Deterministic; members shared by reference are skipped without a look, so
 * diffing bodies that share structure costs what changed.
 */
export function diffSnapshot(base: SnapshotBody, next: SnapshotBody): DeltaOp[] {
  const out: DeltaOp[] = [];
  diffInto(base, next, [], out);
  return out;
}

/** Defines an own data property: a key such as `__proto__` is a name here, never the prototype. */
function put(o: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * A shallow copy. A collection of 10,000 members copies in about half the time member by member
 * than by spreading (V8's spread of a dictionary-mode object is slow); small objects spread.
 */
function copyOf(o: JsonObject): JsonObject {
  const keys = Object.keys(o);
  if (keys.length < 64) return { ...o };
  const out: JsonObject = {};
  for (const k of keys) {
    if (k === '__proto__') put(out, k, o[k]);
    else out[k] = o[k];
  }
  return out;
}

/** What an object applyDelta copied was copied from, and which of its members it set or deleted. */
export interface DeltaOrigin {
  from: object;
  changed: ReadonlySet<string>;
}

/** Weakly held: a body's copy must not keep every earlier version of its collections alive. */
const origins = new WeakMap<object, { from: WeakRef<object>; changed: Set<string> }>();

/**
 * The object `copy` was copied from by applyDelta and the members set or deleted in the copy
 * (every other member is the very same value); undefined for any other object. Lets canonicalJson
 * re-serialise a 10,000-member collection from its base's text, changing only those members.
 */
export function deltaOrigin(copy: object): DeltaOrigin | undefined {
  const origin = origins.get(copy);
  const from = origin?.from.deref();
  return origin === undefined || from === undefined ? undefined : { from, changed: origin.changed };
}

/**
 * `base` with `ops` applied. `base` is not modified: objects on the paths of the ops are copied,
 * everything else is shared with it (treat both as immutable). Throws DeltaError when an op does
 * not fit `base`; whether the result is the intended body is for the caller to check (its hash).
 */
export function applyDelta(base: SnapshotBody, ops: readonly DeltaOp[]): SnapshotBody {
  const root: JsonObject = { ...(base as unknown as JsonObject) };
  const copied = new WeakSet<object>([root]);
  for (const op of ops) {
    const path = op.path;
    if (path.length === 0) throw new DeltaError('a delta op has an empty path');
    let parent = root;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i] as string;
      const child = ownMember(parent, key);
      if (!isObject(child)) throw new DeltaError(`no object at ${path.slice(0, i + 1).join('.')}`);
      let own = child;
      if (!copied.has(child)) {
        own = copyOf(child);
        copied.add(own);
        origins.set(own, { from: new WeakRef(child), changed: new Set() });
        put(parent, key, own);
        origins.get(parent)?.changed.add(key);
      }
      parent = own;
    }
    const last = path[path.length - 1] as string;
    origins.get(parent)?.changed.add(last);
    if (op.op === 'set') {
      put(parent, last, op.value);
    } else {
      if (ownMember(parent, last) === undefined)
        throw new DeltaError(`nothing to delete at ${path.join('.')}`);
      delete parent[last];
    }
  }
  return root as unknown as SnapshotBody;
}

/**
 * The delta message from `base` to the signed snapshot `next` (same epoch). `ops` may be given
 * when already computed.
 */
export function deltaBetween(base: Snapshot, next: Snapshot, ops?: DeltaOp[]): DeltaMessage {
  if (next.signature === undefined) throw new DeltaError('a delta carries the signature of its snapshot');
  return {
    type: 'delta',
    epoch: next.epoch,
    baseVersion: base.version,
    baseHash: base.hash,
    version: next.version,
    hash: next.hash,
    createdAt: next.createdAt,
    signature: next.signature,
    ops: ops ?? diffSnapshot(base.body, next.body),
  };
}

/**
 * The full snapshot a delta describes, built on `base`. Throws DeltaError when the delta is for
 * another base or its ops do not fit; the caller still checks the hash and the signature
 * (verifySnapshot, verifySnapshotSignature), exactly as for a full snapshot.
 */
export function snapshotFromDelta(base: Snapshot, delta: DeltaMessage): Snapshot {
  if (base.epoch !== delta.epoch || base.version !== delta.baseVersion || base.hash !== delta.baseHash)
    throw new DeltaError(
      `the delta is for version ${delta.baseVersion} of epoch ${delta.epoch}; this node serves ${base.version} of ${base.epoch}`,
    );
  return {
    epoch: delta.epoch,
    version: delta.version,
    hash: delta.hash,
    createdAt: delta.createdAt,
    body: applyDelta(base.body, delta.ops),
    signature: delta.signature,
  };
}
