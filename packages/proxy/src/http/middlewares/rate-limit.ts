// rateLimit: a token bucket per source, `average` requests per `period` with bursts of `burst`; 429 beyond.

import type { HttpMiddleware } from '@berth/config';
import { parseDuration } from '@berth/config';
import type { MiddlewareBuildContext, MiddlewareFactory } from '../context.js';
import { MiddlewareConfigError } from '../context.js';
import { respondText } from '../respond-text.js';
import { sourceKey } from './source-key.js';
import { TokenBuckets } from './token-bucket.js';

type RateLimitConfig = NonNullable<HttpMiddleware['rateLimit']>;

export interface RateLimitOptions {
  /** Milliseconds; injected by tests. */
  now?: () => number;
  /** Most sources remembered at once (default 65,536). */
  maxSources?: number;
}

const DEFAULT_MAX_SOURCES = 65_536;

/**
 * Requests over the limit are refused at once with 429 and a Retry-After; unlike Traefik, none
 * is held back for a short delay to smooth the rate, so a proxy never parks requests in memory.
 */
export function createRateLimit(
  config: RateLimitConfig,
  build: MiddlewareBuildContext,
  opts: RateLimitOptions = {},
): ReturnType<MiddlewareFactory<'rateLimit'>> {
  const average = config.average ?? 0;
  if (!Number.isFinite(average) || average < 0)
    throw new MiddlewareConfigError(`middleware ${build.name}: rateLimit.average must be a number ≥ 0`);
  // Traefik: no average means no limit.
  if (average === 0) return (next) => next;
  const periodMs = config.period === undefined ? 1000 : parseDuration(config.period);
  if (periodMs === null)
    throw new MiddlewareConfigError(
      `middleware ${build.name}: rateLimit.period is not a duration: ${config.period}`,
    );
  const burst = Math.max(1, Math.floor(config.burst ?? 1));
  const key = sourceKey(config.sourceCriterion, build.name);
  const now = opts.now ?? (() => performance.now());
  const buckets = new TokenBuckets({
    // Traefik reads a zero period as one second.
    ratePerMs: average / (periodMs === 0 ? 1000 : periodMs),
    burst,
    maxSources: opts.maxSources ?? DEFAULT_MAX_SOURCES,
  });
  return (next) => (ctx) => {
    const taken = buckets.take(key(ctx), now());
    if (taken.ok) return next(ctx);
    ctx.log.error = 'rate_limited';
    return respondText(ctx, 429, 'Too Many Requests\n', {
      'retry-after': String(Math.max(1, Math.ceil(taken.waitMs / 1000))),
    });
  };
}

export const rateLimit: MiddlewareFactory<'rateLimit'> = (config, build) => createRateLimit(config, build);
