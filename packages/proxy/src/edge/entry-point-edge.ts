// What an entry point's front door needs from a snapshot body (pure): HTTP presence, timeouts, PROXY protocol trust.
import type { EntryPoint } from '@berth/config';
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

/**
 * The settings of entry point `name`'s front door for a snapshot. `clientHelloTimeout` is read
 * from `transport.respondingTimeouts` when present (not in the model yet; default 10 s).
 */
export function frontDoorSettings(
  name: string,
  entryPoint: EntryPoint,
  body: Pick<SnapshotBody, 'http' | 'entryPoints'>,
  tcp: TcpRouterTable | undefined,
): FrontDoorSettings {
  const timeouts = entryPoint.transport?.respondingTimeouts as { clientHelloTimeout?: string } | undefined;
  return {
    entryPoint: name,
    hasHttp: entryPointHasHttp(body, name),
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
): boolean {
  if (entryPoint.proxyProtocol !== undefined) return true;
  if (tcp !== undefined && (tcp.tlsRoutes.length > 0 || tcp.plainRoutes.length > 0)) return true;
  if (entryPoint.http?.tls !== undefined) return true;
  const routers = body.http?.routers ?? {};
  for (const key of Object.keys(routers)) {
    const router = routers[key];
    if (router !== undefined && router.tls !== undefined && boundTo(router, name)) return true;
  }
  return false;
}
