// Successive snapshots share the elements that did not change, so twenty versions of 10,000 routes cost one body in memory, not twenty.
import { canonicalJson, type SnapshotBody } from '@berth/protocol';

/** Everything reachable from `value` made read-only; frozen parts are not walked again. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
  return value;
}

export interface ShareOptions {
  /** How an element of the previous version is compared with the new one (default: canonical JSON). */
  same?: (before: unknown, element: unknown) => boolean;
  /**
   * Keep a copy of each new element, parsed back from its canonical JSON, instead of the element
   * itself. A compiled element's strings can be slices of the provider's whole source text (a
   * 10,000-route YAML file is 1.5 MiB): one changed router kept in the history would keep its
   * version's file alive, for 20 versions. The copy's strings are its own, and it is no bigger.
   */
  detach?: boolean;
}

/**
 * `body`, frozen, with each router, service, middleware and transport that equals the previous
 * version's element of the same name replaced by that element. `memo` gets the canonical JSON of
 * every element, so each is serialised once in its life and hashing the result with the same memo
 * (see canonicalJson) only joins strings.
 */
export function shareUnchanged(
  body: SnapshotBody,
  previous: SnapshotBody | undefined,
  memo: WeakMap<object, string>,
  options: ShareOptions = {},
): SnapshotBody {
  const same =
    options.same ??
    ((before: unknown, element: unknown) => elementJson(before, memo) === elementJson(element, memo));
  const share = <T>(next: Record<string, T>, prev: Record<string, T> | undefined): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const [name, element] of Object.entries(next)) {
      const before = prev !== undefined && Object.hasOwn(prev, name) ? prev[name] : undefined;
      const isObject = typeof element === 'object' && element !== null;
      let kept: T;
      if (before !== undefined && isObject && (before === element || same(before, element))) kept = before;
      else if (options.detach && isObject) {
        const json = elementJson(element, memo);
        kept = deepFreeze(JSON.parse(json) as T);
        memo.set(kept as object, json);
      } else kept = deepFreeze(element);
      out[name] = kept;
      // Serialised once in its life: the hash of this version and of the next ones look it up.
      elementJson(kept, memo);
    }
    return out;
  };
  const http: SnapshotBody['http'] = {
    ...body.http,
    routers: share(body.http.routers, previous?.http.routers),
    services: share(body.http.services, previous?.http.services),
  };
  if (body.http.middlewares !== undefined)
    http.middlewares = share(body.http.middlewares, previous?.http.middlewares);
  if (body.http.serversTransports !== undefined)
    http.serversTransports = share(body.http.serversTransports, previous?.http.serversTransports);
  const out: SnapshotBody = { ...body, http };
  if (body.tcp !== undefined) {
    out.tcp = {
      ...body.tcp,
      routers: share(body.tcp.routers, previous?.tcp?.routers),
      services: share(body.tcp.services, previous?.tcp?.services),
    };
  }
  return deepFreeze(out);
}

/**
 * Freezes everything in `body` that its canonical JSON memo can hold an entry for (see
 * CanonicalCache): every element of the collections, and the other sections whole. The body and
 * the collections themselves stay as they are: they are the caller's, and their memo entries
 * are dropped after hashing (see sharedCollections).
 */
export function freezeElements(body: SnapshotBody): void {
  const collections = new Set<unknown>(sharedCollections(body));
  for (const [key, section] of Object.entries(body)) {
    if ((key !== 'http' && key !== 'tcp') || typeof section !== 'object' || section === null) {
      deepFreeze(section);
      continue;
    }
    for (const member of Object.values(section)) {
      if (!collections.has(member)) deepFreeze(member);
      else for (const element of Object.values(member as object)) deepFreeze(element);
    }
  }
}

/**
 * The collections `shareUnchanged` made for `body` (routers, services...). Their canonical JSON is
 * only needed to hash this version: the next version's collections are new objects, so a memo
 * entry for them (a whole collection's text, 1 MiB at 10,000 routes) is never read again.
 */
export function sharedCollections(body: SnapshotBody): object[] {
  const { http, tcp } = body;
  return [
    http.routers,
    http.services,
    http.middlewares,
    http.serversTransports,
    tcp?.routers,
    tcp?.services,
  ].filter((c): c is NonNullable<typeof c> => c !== undefined);
}

/** The canonical JSON of one element, from `memo` or computed and remembered there (elements are frozen). */
function elementJson(element: unknown, memo: WeakMap<object, string>): string {
  if (typeof element !== 'object' || element === null) return canonicalJson(element);
  let json = memo.get(element);
  if (json === undefined) {
    json = canonicalJson(element);
    memo.set(element, json);
  }
  return json;
}
