// circuitBreaker: answers `responseCode` instead of calling the next handler while the expression holds.
import type { OutgoingHttpHeaders } from 'node:http';
import type { BreakerExpression, HttpMiddleware } from '@berth/config';
import { evaluateBreakerExpression, parseBreakerExpression, parseDuration } from '@berth/config';
import type { Handler, MiddlewareFactory, RequestContext, ResponseBody } from '../context.js';
import { MiddlewareConfigError } from '../context.js';
import { respondText } from '../respond-text.js';
import { RollingMetrics } from './rolling-metrics.js';

type BreakerConfig = NonNullable<HttpMiddleware['circuitBreaker']>;

export type BreakerState = 'standby' | 'tripped' | 'recovering';

export interface BreakerOptions {
  /** Milliseconds; injected by tests. */
  now?: () => number;
  random?: () => number;
}

/**
 * oxy's cbreaker, which Traefik runs. In `standby` every request goes through and is measured;
 * at most every `checkPeriod` (default 100ms), after a response, the expression is evaluated on
 * the rolling window (RollingMetrics, 10s) and, when it holds, the breaker trips: for
 * `fallbackDuration` (default 10s) every request gets `responseCode` (default 503) and the
 * window is cleared. Then `recovering` for `recoveryDuration` (default 10s): a growing share of
 * requests goes through (oxy's ratio controller: the allowed ratio climbs to one half by the
 * end), the rest get the fallback, and the expression is still checked, so a server still
 * failing trips it again; after that, `standby`.
 *
 * State is per middleware instance in one worker: each worker of each node decides on the
 * traffic it sees, as each Traefik instance does. A snapshot leaving the middleware unchanged
 * keeps the instance, state included.
 */
export class Breaker {
  readonly #expression: BreakerExpression;
  readonly #checkMs: number;
  readonly #fallbackMs: number;
  readonly #recoveryMs: number;
  readonly #now: () => number;
  readonly metrics: RollingMetrics;
  #state: BreakerState = 'standby';
  #until = 0;
  #nextCheck = 0;
  #recoveryStart = 0;
  #allowed = 0;
  #denied = 0;

  constructor(
    expression: BreakerExpression,
    timing: { checkMs: number; fallbackMs: number; recoveryMs: number },
    opts: BreakerOptions = {},
  ) {
    this.#expression = expression;
    this.#checkMs = timing.checkMs;
    this.#fallbackMs = timing.fallbackMs;
    this.#recoveryMs = timing.recoveryMs;
    this.#now = opts.now ?? Date.now;
    this.metrics = new RollingMetrics(10, opts.random);
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Whether this request gets the fallback answer instead of going through. */
  blocks(): boolean {
    if (this.#state === 'standby') return false;
    const now = this.#now();
    if (this.#state === 'tripped') {
      if (now < this.#until) return true;
      this.#state = 'recovering';
      this.#until = now + this.#recoveryMs;
      this.#recoveryStart = now;
      this.#allowed = 0;
      this.#denied = 0;
    }
    if (now > this.#until) {
      this.#state = 'standby';
      return false;
    }
    // oxy's ratio controller: let this one through if the allowed share would stay under the target.
    const target = (0.5 * (now - this.#recoveryStart)) / this.#recoveryMs;
    if ((this.#allowed + 1) / (this.#allowed + 1 + this.#denied) < target) {
      this.#allowed++;
      return false;
    }
    this.#denied++;
    return true;
  }

  /** A request that went through got `status` after `latencyMs`; may trip the breaker. */
  record(status: number, latencyMs: number): void {
    const now = this.#now();
    this.metrics.record(now, status, latencyMs);
    if (this.#state === 'tripped' || now < this.#nextCheck) return;
    this.#nextCheck = now + this.#checkMs;
    if (!evaluateBreakerExpression(this.#expression, (metric) => this.metrics.measure(now, metric))) return;
    this.#state = 'tripped';
    this.#until = now + this.#fallbackMs;
    this.metrics.reset();
  }
}

function durationMs(value: string | undefined, fallback: number, field: string, name: string): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  if (ms === null || ms < 0)
    throw new MiddlewareConfigError(
      `middleware ${name}: circuitBreaker.${field} is not a duration: ${value}`,
    );
  // Traefik applies only positive values; 0 keeps the default.
  return ms === 0 ? fallback : ms;
}

export function createCircuitBreaker(
  config: BreakerConfig,
  name: string,
  opts: BreakerOptions = {},
): { middleware: ReturnType<MiddlewareFactory<'circuitBreaker'>>; breaker: Breaker } {
  const parsed = parseBreakerExpression(String(config.expression));
  if (!parsed.ok)
    throw new MiddlewareConfigError(
      `middleware ${name}: circuitBreaker.expression: ${parsed.message} at column ${parsed.column}`,
    );
  const breaker = new Breaker(
    parsed.expression,
    {
      checkMs: durationMs(config.checkPeriod, 100, 'checkPeriod', name),
      fallbackMs: durationMs(config.fallbackDuration, 10_000, 'fallbackDuration', name),
      recoveryMs: durationMs(config.recoveryDuration, 10_000, 'recoveryDuration', name),
    },
    opts,
  );
  const responseCode = config.responseCode || 503;
  const now = opts.now ?? Date.now;
  const middleware = (next: Handler) => async (ctx: RequestContext) => {
    if (breaker.blocks()) {
      ctx.log.error = 'circuit_open';
      await respondText(ctx, responseCode);
      return;
    }
    const started = now();
    const outer = ctx.respond;
    let status: number | undefined;
    ctx.respond = (code: number, headers: OutgoingHttpHeaders, body: ResponseBody) => {
      status ??= code;
      return outer(code, headers, body);
    };
    try {
      await next(ctx);
    } finally {
      ctx.respond = outer;
    }
    // A client that left before any answer tells nothing about the server.
    if (status !== undefined) breaker.record(status, now() - started);
  };
  return { middleware, breaker };
}

export const circuitBreaker: MiddlewareFactory<'circuitBreaker'> = (config, build) =>
  createCircuitBreaker(config, build.name).middleware;
