// What an entry point's front door needs from a snapshot body (pure): HTTP presence, timeouts, PROXY protocol trust.
import type { EntryPoint, HttpRouter } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { durationMs } from '../http/entry-point-settings.js';
import type { TcpRouterTable } from '../tcp/tcp-router-table.js';
import { DEFAULT_CLIENT_HELLO_TIMEOUT_MS, type FrontDoorSettings } from './front-door.js';

/**
 * True when HTTP has something to do on the entry point: an HTTP router bound to it (a router
 * without entryPoints is bound to all of them, as Traefik) or an entry-point redirection.
 */
export function entryPointHasHttp(body: Pick<SnapshotBody, 'http' | 'entryPoints'>, name: string): boolean {
  if (body.entryPoints[name]?.http?.redirections?.entryPoint !== undefined) return true;
  return Object.values(body.http?.routers ?? {}).some((router) => boundTo(router, name));
}

/** A router without entryPoints is bound to all of them, as Traefik. */
function boundTo(router: { entryPoints?: string[] }, name: string): boolean {
  const eps = router.entryPoints;
  return eps === undefined || eps.length === 0 || eps.includes(name);
}

/** The key under which routers bound to every entry point (no entryPoints) are counted. */
const EVERY = '\0every';

/**
 * Per entry point, how many HTTP routers are bound to it and how many of those have `tls`: what
 * the front door asks of the routers, kept up to date router by router (a delta's) instead of
 * scanning 10,000 routers per entry point on each snapshot.
 */
export class RouterPresence {
  readonly #bound = new Map<string, number>();
  readonly #tls = new Map<string, number>();

  static of(routers: Readonly<Record<string, HttpRouter>> | undefined): RouterPresence {
    const presence = new RouterPresence();
    const all = routers ?? {};
    for (const key of Object.keys(all)) presence.#count(all[key], 1);
    return presence;
  }

  /** Router `before` became `after` (undefined: absent). */
  change(before: HttpRouter | undefined, after: HttpRouter | undefined): void {
    if (before === after) return;
    this.#count(before, -1);
    this.#count(after, 1);
  }

  #count(router: HttpRouter | undefined, by: 1 | -1): void {
    if (router === undefined || router === null) return;
    const eps = router.entryPoints;
    const keys = eps === undefined || eps.length === 0 ? [EVERY] : eps.length === 1 ? eps : new Set(eps);
    for (const key of keys) {
      bump(this.#bound, key, by);
      if (router.tls !== undefined) bump(this.#tls, key, by);
    }
  }

  /** Some router is bound to entry point `name`. */
  hasHttp(name: string): boolean {
    return this.#bound.has(name) || this.#bound.has(EVERY);
  }

  /** Some router with `tls` is bound to entry point `name`. */
  hasTls(name: string): boolean {
    return this.#tls.has(name) || this.#tls.has(EVERY);
  }
}

function bump(map: Map<string, number>, key: string, by: 1 | -1): void {
  const n = (map.get(key) ?? 0) + by;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

/**
 * The settings of entry point `name`'s front door for a snapshot. `clientHelloTimeout` is read
 * from `transport.respondingTimeouts` when present (not in the model yet; default 10 s).
 */
export function frontDoorSettings(
  name: string,
  entryPoint: EntryPoint,
  body: Pick<SnapshotBody, 'http' | 'entryPoints'>,
  tcp: TcpRouterTable | undefined,
  presence?: RouterPresence,
): FrontDoorSettings {
  const timeouts = entryPoint.transport?.respondingTimeouts as { clientHelloTimeout?: string } | undefined;
  const hasHttp =
    presence === undefined
      ? entryPointHasHttp(body, name)
      : entryPoint.http?.redirections?.entryPoint !== undefined || presence.hasHttp(name);
  return {
    entryPoint: name,
    hasHttp,
    tcp,
    clientHelloTimeoutMs: durationMs(timeouts?.clientHelloTimeout, DEFAULT_CLIENT_HELLO_TIMEOUT_MS),
    ...(entryPoint.proxyProtocol !== undefined ? { proxyProtocol: entryPoint.proxyProtocol } : {}),
  };
}

/**
 * False when the entry point only serves plain HTTP: no TCP router, no TLS, no PROXY protocol.
 * Its connections then go straight to the HTTP server, without waiting for their first bytes.
 */
export function entryPointNeedsFrontDoor(
  name: string,
  entryPoint: EntryPoint,
  body: Pick<SnapshotBody, 'http' | 'entryPoints'>,
  tcp: TcpRouterTable | undefined,
  presence?: RouterPresence,
): boolean {
  if (entryPoint.proxyProtocol !== undefined) return true;
  if (tcp !== undefined && (tcp.tlsRoutes.length > 0 || tcp.plainRoutes.length > 0)) return true;
  if (entryPoint.http?.tls !== undefined) return true;
  if (presence !== undefined) return presence.hasTls(name);
  const routers = body.http?.routers ?? {};
  for (const key of Object.keys(routers)) {
    const router = routers[key];
    if (router !== undefined && router.tls !== undefined && boundTo(router, name)) return true;
  }
  return false;
}
