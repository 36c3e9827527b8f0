// rateLimit: a token bucket per source, `average` requests per `period` with bursts of `burst`; 429 beyond. Buckets live in the worker, or in Redis for the whole fleet (`redis`).

import type { HttpMiddleware, RateLimitRedis } from '@berth/config';
import { parseDuration } from '@berth/config';
import type { Logger } from 'pino';
import { parseEndpoint, type RedisClient, type RedisClientOptions } from '../../redis/redis-client.js';
import { sharedRedisClient } from '../../redis/redis-clients.js';
import type { MiddlewareBuildContext, MiddlewareFactory, RequestContext } from '../context.js';
import { MiddlewareConfigError } from '../context.js';
import { respondText } from '../respond-text.js';
import { RedisTokenBuckets } from './redis-token-bucket.js';
import { sourceKey } from './source-key.js';
import { type Take, TokenBuckets } from './token-bucket.js';

type RateLimitConfig = NonNullable<HttpMiddleware['rateLimit']>;

export interface RateLimitOptions {
  /** Milliseconds; injected by tests. */
  now?: () => number;
  /** Most sources remembered at once (default 65,536). */
  maxSources?: number;
  /** The Redis client of `redis` (tests); by default one shared per connection setting. */
  redisClient?: (opts: RedisClientOptions) => RedisClient;
}

/** Logged (at most once per `REDIS_LOG_EVERY_MS` per Redis): a Redis-backed rateLimit could not ask Redis. */
export const RATELIMIT_REDIS = 'BERTH_PROXY_RATELIMIT_REDIS';
const REDIS_LOG_EVERY_MS = 10_000;

/**
 * Berth's defaults are short where Traefik's are 5 s to dial and 3 s to read and write: a
 * request waits for its rate check, and a Redis that is down must cost it at most about half a
 * second (then nothing while the client backs off). A zero or negative value (no deadline in
 * Traefik) takes the default: a request never waits on Redis without a bound.
 */
export const REDIS_DEFAULTS = { dialTimeoutMs: 250, readTimeoutMs: 200, writeTimeoutMs: 100 } as const;
/** Connections per worker when neither `maxActiveConns` nor `poolSize` says. */
const REDIS_DEFAULT_CONNECTIONS = 64;

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
  // Traefik reads a zero period as one second.
  const ratePerMs = average / (periodMs === 0 ? 1000 : periodMs);
  if (config.redis) {
    const clientOpts = redisClientOptions(config.redis, build.name);
    const client = (opts.redisClient ?? sharedRedisClient)(clientOpts);
    const buckets = new RedisTokenBuckets(client, { ratePerSecond: ratePerMs * 1000, burst });
    return sharedLimit(buckets, key, config.redis.failOpen === true, build, client);
  }
  const now = opts.now ?? (() => performance.now());
  const buckets = new TokenBuckets({
    ratePerMs,
    burst,
    maxSources: opts.maxSources ?? DEFAULT_MAX_SOURCES,
  });
  return (next) => (ctx) => {
    const taken = buckets.take(key(ctx), now());
    if (taken.ok) return next(ctx);
    return refuse(ctx, taken);
  };
}

function refuse(ctx: RequestContext, taken: Take & { ok: false }): Promise<void> {
  ctx.log.error = 'rate_limited';
  return respondText(ctx, 429, 'Too Many Requests\n', {
    'retry-after': String(Math.max(1, Math.ceil(taken.waitMs / 1000))),
  });
}

/**
 * The bucket lives in Redis under Traefik's key, `rate:<middleware>:<source>`. When Redis cannot
 * be asked within the deadlines, Traefik answers 500 ("Could not insert/update bucket"), and so
 * does Berth unless `failOpen` lets the request through unlimited.
 */
function sharedLimit(
  buckets: RedisTokenBuckets,
  key: (ctx: RequestContext) => string,
  failOpen: boolean,
  build: MiddlewareBuildContext,
  client: RedisClient,
): ReturnType<MiddlewareFactory<'rateLimit'>> {
  return (next) => async (ctx) => {
    let taken: Take;
    try {
      taken = await buckets.take(`${build.name}:${key(ctx)}`);
      recovered(client, build.logger);
    } catch (err) {
      reportFailure(client, build.logger, build.name, err, failOpen);
      if (failOpen) return next(ctx);
      ctx.log.error = 'ratelimit_unavailable';
      return respondText(ctx, 500, 'Could not insert/update bucket\n');
    }
    if (taken.ok) return next(ctx);
    return refuse(ctx, taken);
  };
}

/** Per Redis client: when a failure was last logged, and how many went unlogged since. */
const failureLog = new WeakMap<RedisClient, { at: number; unlogged: number }>();

function reportFailure(
  client: RedisClient,
  logger: Logger,
  name: string,
  err: unknown,
  failOpen: boolean,
): void {
  const now = Date.now();
  const seen = failureLog.get(client);
  if (seen && now - seen.at < REDIS_LOG_EVERY_MS) {
    seen.unlogged++;
    return;
  }
  logger.warn(
    {
      code: RATELIMIT_REDIS,
      middleware: name,
      err: err instanceof Error ? err.message : String(err),
      ...(seen && seen.unlogged > 0 ? { alsoFailedSinceLastLog: seen.unlogged } : {}),
    },
    failOpen
      ? 'rateLimit: Redis cannot be asked; requests pass unlimited (failOpen)'
      : 'rateLimit: Redis cannot be asked; requests are answered 500',
  );
  failureLog.set(client, { at: now, unlogged: 0 });
}

function recovered(client: RedisClient, logger: Logger): void {
  if (!failureLog.has(client)) return;
  failureLog.delete(client);
  logger.info({ code: RATELIMIT_REDIS }, 'rateLimit: Redis answers again');
}

function redisClientOptions(redis: RateLimitRedis, name: string): RedisClientOptions {
  const endpoints = redis.endpoints && redis.endpoints.length > 0 ? redis.endpoints : ['localhost:6379'];
  for (const e of endpoints)
    if (!parseEndpoint(e))
      throw new MiddlewareConfigError(`middleware ${name}: rateLimit.redis.endpoints: not host:port: ${e}`);
  const ms = (field: 'dialTimeout' | 'readTimeout' | 'writeTimeout', fallback: number): number => {
    const raw = redis[field];
    if (raw === undefined) return fallback;
    const parsed = parseDuration(raw);
    if (parsed === null)
      throw new MiddlewareConfigError(
        `middleware ${name}: rateLimit.redis.${field} is not a duration: ${raw}`,
      );
    return parsed > 0 ? parsed : fallback;
  };
  const tls = redis.tls;
  if (tls && (tls.cert === undefined) !== (tls.key === undefined))
    throw new MiddlewareConfigError(`middleware ${name}: rateLimit.redis.tls.cert and tls.key go together`);
  const positive = (n: number | undefined) => (n !== undefined && n > 0 ? n : undefined);
  return {
    endpoints,
    ...(redis.username ? { username: redis.username } : {}),
    ...(redis.password ? { password: redis.password } : {}),
    ...(redis.db ? { db: redis.db } : {}),
    ...(tls ? { tls } : {}),
    dialTimeoutMs: ms('dialTimeout', REDIS_DEFAULTS.dialTimeoutMs),
    callTimeoutMs:
      ms('readTimeout', REDIS_DEFAULTS.readTimeoutMs) + ms('writeTimeout', REDIS_DEFAULTS.writeTimeoutMs),
    maxConnections:
      positive(redis.maxActiveConns) ?? Math.max(positive(redis.poolSize) ?? 0, REDIS_DEFAULT_CONNECTIONS),
    ...(positive(redis.minIdleConns) ? { minIdle: redis.minIdleConns } : {}),
  };
}

export const rateLimit: MiddlewareFactory<'rateLimit'> = (config, build) => createRateLimit(config, build);
