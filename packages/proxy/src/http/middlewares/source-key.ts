// sourceCriterion → the key rateLimit and inFlightReq count requests by, as Traefik picks it.
import type { SourceCriterion } from '@berth/config';
import { CidrSet } from '@berth/config';
import type { RequestContext } from '../context.js';
import { MiddlewareConfigError } from '../context.js';

export type SourceKey = (ctx: RequestContext) => string;

/**
 * Traefik's precedence: `ipStrategy`, then `requestHeaderName`, then `requestHost`; nothing set
 * means the client address. An IP strategy that finds no address in X-Forwarded-For (a request
 * that did not come through the expected proxies) falls back to the client address rather than
 * Traefik's empty key, so such requests do not all share one bucket.
 */
export function sourceKey(criterion: SourceCriterion | undefined, name: string): SourceKey {
  const strategy = criterion?.ipStrategy;
  if (strategy) {
    const depth = strategy.depth ?? 0;
    if (!Number.isInteger(depth) || depth < 0)
      throw new MiddlewareConfigError(`middleware ${name}: ipStrategy.depth must be a whole number ≥ 0`);
    if (depth > 0) return (ctx) => ipAtDepth(forwardedFor(ctx), depth) ?? ctx.clientIp;
    const excluded = strategy.excludedIPs ?? [];
    if (excluded.length > 0) {
      const { set, invalid } = CidrSet.parse(excluded);
      if (invalid.length > 0)
        throw new MiddlewareConfigError(
          `middleware ${name}: ipStrategy.excludedIPs has invalid entries: ${invalid.join(', ')}`,
        );
      return (ctx) => firstNotExcluded(forwardedFor(ctx), set) ?? ctx.clientIp;
    }
    return (ctx) => ctx.clientIp;
  }
  const header = criterion?.requestHeaderName?.trim().toLowerCase();
  if (header) {
    return (ctx) => {
      const value = ctx.req.headers[header];
      return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
    };
  }
  if (criterion?.requestHost) return (ctx) => ctx.view.host;
  return (ctx) => ctx.clientIp;
}

/** Every X-Forwarded-For entry, left (client) to right (nearest proxy). */
export function forwardedFor(ctx: RequestContext): string[] {
  const raw = ctx.req.headers['x-forwarded-for'];
  if (raw === undefined) return [];
  const joined = Array.isArray(raw) ? raw.join(',') : raw;
  return joined
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The entry `depth` places from the right, as Traefik's DepthStrategy takes it. */
export function ipAtDepth(entries: readonly string[], depth: number): string | undefined {
  return entries.length >= depth ? entries[entries.length - depth] : undefined;
}

/** The right-most entry not in `excluded`, as Traefik's PoolStrategy takes it. */
export function firstNotExcluded(entries: readonly string[], excluded: CidrSet): string | undefined {
  for (let i = entries.length - 1; i >= 0; i--) {
    const ip = entries[i]!;
    if (!excluded.contains(ip)) return ip;
  }
  return undefined;
}
