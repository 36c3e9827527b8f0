// Picks the router that serves a request on an entry point.
import type { RequestView } from '@berth/config';
import type { RouterEntry, Runtime } from './types.js';

/** The highest-priority matching router of `entryPoint` for a plain or TLS request, or `undefined` (a 404). */
export function routeRequest(
  runtime: Runtime,
  entryPoint: string,
  req: RequestView,
  tls = false,
): RouterEntry | undefined {
  const table = runtime.routers.get(entryPoint);
  return tls ? table?.findTls(req) : table?.find(req);
}
