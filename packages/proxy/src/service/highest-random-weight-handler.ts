// A highestRandomWeight service: rendezvous hashing of the client IP over child services, each client on one child.
import { pickHighestRandomWeight } from '../balancer/highest-random-weight.js';
import type { Handler } from '../http/context.js';
import { respondText } from '../http/respond-text.js';
import type { ServiceRuntime } from '../runtime/types.js';

export interface HrwChild {
  name: string;
  weight: number;
  service: ServiceRuntime;
}

export interface HighestRandomWeightOptions {
  service: string;
  children: readonly HrwChild[];
}

const childAvailable = (child: HrwChild): boolean => child.service.available();

/**
 * Traefik hashes the peer address; Berth hashes `ctx.clientIp`, which is the peer unless a
 * trusted proxy (PROXY protocol, trusted X-Forwarded-For) says otherwise: behind a CDN every
 * client would otherwise land on one child. A child without available servers sits out, and its
 * clients alone move.
 */
export function highestRandomWeightHandler(opts: HighestRandomWeightOptions): Handler {
  const { service, children } = opts;
  return async (ctx) => {
    ctx.log.service = service;
    const child = pickHighestRandomWeight(
      children,
      ctx.clientIp,
      (c) => c.name,
      (c) => c.weight,
      childAvailable,
    );
    if (child === undefined) {
      ctx.log.error = 'no_server';
      await respondText(ctx, 503, 'Service Unavailable\n');
      return;
    }
    await child.service.handler(ctx);
  };
}
