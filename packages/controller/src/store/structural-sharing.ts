// Successive snapshots share the elements that did not change, so twenty versions of 10,000 routes cost one body in memory, not twenty.
import { canonicalJson, type SnapshotBody } from '@berth/protocol';

/** Everything reachable from `value` made read-only; frozen parts are not walked again. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const member of Object.values(value)) deepFreeze(member);
  return value;
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
  same: (before: unknown, element: unknown) => boolean = (before, element) =>
    elementJson(before, memo) === elementJson(element, memo),
): SnapshotBody {
  const share = <T>(next: Record<string, T>, prev: Record<string, T> | undefined): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const [name, element] of Object.entries(next)) {
      deepFreeze(element);
      const before = prev !== undefined && Object.hasOwn(prev, name) ? prev[name] : undefined;
      const kept =
        before !== undefined &&
        typeof element === 'object' &&
        element !== null &&
        before !== element &&
        same(before, element)
          ? before
          : element;
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
