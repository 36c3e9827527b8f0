// Picks the router that serves a request on an entry point.
import type { RequestView } from '@berth/config';
import type { RouterEntry, Runtime } from './types.js';

/** The highest-priority matching router of `entryPoint`, or `undefined` (a 404). */
export function routeRequest(
  runtime: Runtime,
  entryPoint: string,
  req: RequestView,
): RouterEntry | undefined {
  return runtime.routers.get(entryPoint)?.find(req);
}
