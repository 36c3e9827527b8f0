// A loadBalancer service: pick an available server (sticky cookie first), forward, feed passive health.
import type { Balancer } from '../balancer/balancer.js';
import type { StickySessions } from '../balancer/sticky-cookie.js';
import type { ServerHealth } from '../health/server-health.js';
import type { Handler, RequestContext } from '../http/context.js';
import type { Forward, ForwardOutcome, ForwardTarget } from '../http/forward-types.js';
import { respondText } from '../http/respond-text.js';
import type { ServerTarget } from '../runtime/types.js';
import { addSetCookie } from './set-cookie.js';

export interface LoadBalancerOptions {
  service: string;
  servers: readonly ServerTarget[];
  balancer: Balancer<ServerTarget>;
  sticky?: StickySessions<ServerTarget> | undefined;
  passHostHeader: boolean;
  serversTransport?: string | undefined;
  forward: Forward;
  health: ServerHealth;
}

export function loadBalancerHandler(opts: LoadBalancerOptions): Handler {
  const { service, balancer, sticky, forward, health } = opts;
  const available = (server: ServerTarget): boolean => health.isAvailable(service, server);
  // One ForwardTarget per server, built here so a request allocates none.
  const targets = new Map<ServerTarget, ForwardTarget>();
  for (const server of opts.servers) {
    const target: ForwardTarget = { server, passHostHeader: opts.passHostHeader };
    if (opts.serversTransport !== undefined) target.serversTransport = opts.serversTransport;
    targets.set(server, target);
  }
  const targetOf = (server: ServerTarget): ForwardTarget =>
    targets.get(server) ?? { server, passHostHeader: opts.passHostHeader };

  return async (ctx) => {
    ctx.log.service = service;
    // What answers before a sticky Set-Cookie wraps it: a redispatch pins the client anew.
    const respond = ctx.respond;
    let server: ServerTarget | undefined;
    if (sticky === undefined) {
      server = balancer.next(available, ctx.clientIp);
    } else {
      const pinned = sticky.find(ctx.req.headers.cookie);
      // Weight 0 drains a server: its sessions move too.
      if (pinned !== undefined && pinned.weight > 0 && available(pinned)) {
        server = pinned;
        balancer.acquire?.(pinned);
      } else {
        // No cookie, or its server is gone or down: balance, then pin the client to the new pick.
        server = balancer.next(available, ctx.clientIp);
        if (server !== undefined) addSetCookie(ctx, sticky.setCookie(server));
      }
    }
    if (server === undefined) {
      ctx.log.error = 'no_server';
      await respondText(ctx, 503, 'Service Unavailable\n');
      return;
    }
    // Servers whose connection failed before the request left (allocated only then).
    let tried: ServerTarget[] | undefined;
    for (;;) {
      ctx.log.server = server.origin;
      let outcome: ForwardOutcome | undefined;
      try {
        outcome = await forward(ctx, targetOf(server), (tried?.length ?? 0) < MAX_REDISPATCHES);
      } finally {
        balancer.release?.(server);
        // A client that went away says nothing about the server.
        if (outcome?.kind !== 'error' || outcome.reason !== 'aborted') {
          health.record(service, server, outcome?.kind === 'response' && outcome.status < 500);
        }
      }
      if (outcome.kind !== 'refused') return;
      // Nothing reached the server, so any other may take the request (HAProxy's redispatch).
      const failed: ServerTarget[] = tried ?? [];
      tried = failed;
      failed.push(server);
      const next = balancer.next((s) => available(s) && !failed.includes(s), ctx.clientIp);
      if (next === undefined) {
        await answerUnreachable(ctx, outcome.reason);
        return;
      }
      ctx.log.redispatches = failed.length;
      server = next;
      if (sticky !== undefined) {
        ctx.respond = respond;
        addSetCookie(ctx, sticky.setCookie(server));
      }
    }
  };
}

/** Tries after the first: HAProxy's `retries 3` counts three attempts in all. */
const MAX_REDISPATCHES = 2;

/** What the forwarder answers for a failed connection when it may not hand the request back. */
function answerUnreachable(ctx: RequestContext, reason: 'connect' | 'timeout'): Promise<void> {
  const timeout = reason === 'timeout';
  ctx.log.error = timeout ? 'upstream_timeout' : 'upstream_error';
  return respondText(
    ctx,
    timeout ? 504 : 502,
    timeout ? 'Gateway Timeout\n' : 'Bad Gateway\n',
    ctx.req.complete ? {} : { connection: 'close' },
  );
}
