// One token bucket per source kept in Redis, shared by every worker of every node: Traefik v3's script, byte for byte, run atomically by Redis.

import { createHash } from 'node:crypto';
import type { RedisClient } from '../../redis/redis-client.js';
import { RedisReplyError } from '../../redis/resp.js';
import type { Take } from './token-bucket.js';

/**
 * Traefik v3's `AllowTokenBucketRaw` (pkg/middlewares/ratelimiter/lua.go), unchanged: the same
 * SHA, the same `rate:<middleware>:<source>` hash with `last` and `tokens`, so Berth nodes and
 * Traefik instances pointed at one Redis share one bucket. Time is the caller's clock in
 * microseconds (nodes' clocks must agree, as Traefik's must); a clock behind the last update
 * does not drain the bucket.
 */
export const TOKEN_BUCKET_SCRIPT = `
local key = KEYS[1]
local limit, burst, ttl, t, max_delay = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
    tonumber(ARGV[5])

local bucket = {
    limit = limit,
    burst = burst,
    tokens = 0,
    last = 0
}

local rl_source = redis.call('hgetall', key)

if table.maxn(rl_source) == 4 then
    -- Get bucket state from redis
    bucket.last = tonumber(rl_source[2])
    bucket.tokens = tonumber(rl_source[4])
end

local last = bucket.last
if t < last then
    last = t
end

local elapsed = t - last
local delta = bucket.limit * elapsed
local tokens = bucket.tokens + delta
tokens = math.min(tokens, bucket.burst)
tokens = tokens - 1

local wait_duration = 0
if tokens < 0 then
    wait_duration = (tokens * -1) / bucket.limit
    if wait_duration > max_delay then
        tokens = tokens + 1
        tokens = math.min(tokens, burst)
    end
end

redis.call('hset', key, 'last', t, 'tokens', tokens)
redis.call('expire', key, ttl)

return {tostring(true), tostring(wait_duration), tostring(tokens)}`;

const SCRIPT_SHA = createHash('sha1').update(TOKEN_BUCKET_SCRIPT).digest('hex');

/** Traefik's key prefix. */
const KEY_PREFIX = 'rate:';

export interface RedisBucketOptions {
  /** Requests per second. */
  ratePerSecond: number;
  burst: number;
}

/**
 * Traefik's bucket arguments. A new key starts empty and fills at `rate` for the time since 0,
 * i.e. full. `max_delay` is 0: Berth never holds a request back, so a request the bucket cannot
 * serve now is refused and its token given back, the same bucket as the in-memory one. The TTL
 * is Traefik's: 2 s for rates of 1/s and above, 1 + 1/rate s below.
 */
export class RedisTokenBuckets {
  readonly #client: RedisClient;
  readonly #ratePerMicro: string;
  readonly #burst: number;
  readonly #ttl: number;

  constructor(client: RedisClient, opts: RedisBucketOptions) {
    this.#client = client;
    // Decimal notation: Lua's tonumber reads it exactly as Go's FormatFloat(…, 'f', -1) text.
    this.#ratePerMicro = decimal(opts.ratePerSecond / 1e6);
    this.#burst = opts.burst;
    this.#ttl = opts.ratePerSecond >= 1 ? 2 : 1 + Math.floor(1 / opts.ratePerSecond);
  }

  /** Rejects when Redis cannot be asked; `waitMs` of a refusal is Traefik's `wait_duration`. */
  async take(key: string, nowMicros: number = Date.now() * 1000): Promise<Take> {
    const keys = [`${KEY_PREFIX}${key}`];
    const args = [this.#ratePerMicro, this.#burst, this.#ttl, Math.floor(nowMicros), 0];
    let reply: unknown;
    try {
      reply = await this.#client.call(['EVALSHA', SCRIPT_SHA, 1, ...keys, ...args]);
    } catch (err) {
      // First use on this Redis (or after SCRIPT FLUSH / a restart): EVAL loads the script too.
      if (!(err instanceof RedisReplyError && err.kind === 'NOSCRIPT')) throw err;
      reply = await this.#client.call(['EVAL', TOKEN_BUCKET_SCRIPT, 1, ...keys, ...args]);
    }
    return readReply(reply);
  }
}

/** `{"true", wait_duration (µs), tokens}`: refused when there is a wait (max_delay is 0). */
export function readReply(reply: unknown): Take {
  if (!Array.isArray(reply) || typeof reply[1] !== 'string')
    throw new Error(`unexpected rate limit script reply: ${JSON.stringify(reply)}`);
  const waitMicros = Number.parseFloat(reply[1]);
  if (!Number.isFinite(waitMicros)) throw new Error(`unexpected wait in script reply: ${reply[1]}`);
  return waitMicros > 0 ? { ok: false, waitMs: waitMicros / 1000 } : { ok: true };
}

function decimal(n: number): string {
  const s = String(n);
  if (!/e/i.test(s)) return s;
  return n.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}
