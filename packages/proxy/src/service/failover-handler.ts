// A failover service: every request to the main service while it has an available server, else to the fallback.
import type { Handler } from '../http/context.js';
import { respondText } from '../http/respond-text.js';
import type { ServiceRuntime } from '../runtime/types.js';

export interface FailoverOptions {
  service: string;
  main: ServiceRuntime;
  fallback: ServiceRuntime;
}

/**
 * Health is read per request from the children (active checks, passive ejections, nested
 * services), so the switch back happens on the first request after the main service recovers.
 */
export function failoverHandler(opts: FailoverOptions): Handler {
  const { service, main, fallback } = opts;
  return async (ctx) => {
    ctx.log.service = service;
    if (main.available()) return main.handler(ctx);
    if (fallback.available()) return fallback.handler(ctx);
    ctx.log.error = 'no_server';
    await respondText(ctx, 503, 'Service Unavailable\n');
  };
}
