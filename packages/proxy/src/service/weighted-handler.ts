// A weighted service (canary split): smooth weighted round robin across child services.
import { RoundRobin } from '../balancer/round-robin.js';
import type { StickySessions } from '../balancer/sticky-cookie.js';
import type { Handler } from '../http/context.js';
import { respondText } from '../http/respond-text.js';
import type { ServiceRuntime } from '../runtime/types.js';
import { addSetCookie } from './set-cookie.js';

export interface WeightedChild {
  name: string;
  weight: number;
  service: ServiceRuntime;
}

export interface WeightedOptions {
  service: string;
  children: readonly WeightedChild[];
  sticky?: StickySessions<WeightedChild> | undefined;
}

/** A child whose servers are all down sits out, so the split goes to the children that can answer. */
const childAvailable = (child: WeightedChild): boolean => child.service.available();

export function weightedHandler(opts: WeightedOptions): Handler {
  const { service, sticky } = opts;
  const balancer = new RoundRobin(opts.children);
  return async (ctx) => {
    ctx.log.service = service;
    let child: WeightedChild | undefined;
    if (sticky === undefined) {
      child = balancer.next(childAvailable);
    } else {
      const pinned = sticky.find(ctx.req.headers.cookie);
      if (pinned !== undefined && pinned.weight > 0 && childAvailable(pinned)) child = pinned;
      else {
        child = balancer.next(childAvailable);
        if (child !== undefined) addSetCookie(ctx, sticky.setCookie(child));
      }
    }
    if (child === undefined) {
      ctx.log.error = 'no_server';
      await respondText(ctx, 503, 'Service Unavailable\n');
      return;
    }
    await child.service.handler(ctx);
  };
}
