// inFlightReq: at most `amount` requests at once per source; 429 beyond. A slot is always given back.
import type { HttpMiddleware } from '@berth/config';
import type { MiddlewareFactory, RequestContext } from '../context.js';
import { MiddlewareConfigError } from '../context.js';
import { respondText } from '../respond-text.js';
import { sourceKey } from './source-key.js';

type InFlightConfig = NonNullable<HttpMiddleware['inFlightReq']>;

/** Live counts per source; a source with nothing in flight is dropped, so memory follows load. */
export class InFlightCounter {
  readonly #counts = new Map<string, number>();
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get sources(): number {
    return this.#counts.size;
  }

  count(key: string): number {
    return this.#counts.get(key) ?? 0;
  }

  /** A release function when a slot was free, else `null`. The release runs at most once. */
  acquire(key: string): (() => void) | null {
    const current = this.#counts.get(key) ?? 0;
    if (current >= this.#limit) return null;
    this.#counts.set(key, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#counts.get(key) ?? 1) - 1;
      if (left <= 0) this.#counts.delete(key);
      else this.#counts.set(key, left);
    };
  }
}

export function createInFlightReq(
  config: InFlightConfig,
  name: string,
): { middleware: ReturnType<MiddlewareFactory<'inFlightReq'>>; counter: InFlightCounter } {
  const amount = config.amount;
  if (!Number.isInteger(amount) || amount <= 0)
    throw new MiddlewareConfigError(`middleware ${name}: inFlightReq.amount must be a whole number > 0`);
  const key = sourceKey(config.sourceCriterion, name);
  const counter = new InFlightCounter(amount);
  const middleware = (next: (ctx: RequestContext) => Promise<void>) => async (ctx: RequestContext) => {
    const release = counter.acquire(key(ctx));
    if (!release) {
      ctx.log.error = 'too_many_in_flight';
      await respondText(ctx, 429, 'Too Many Requests\n');
      return;
    }
    // Whichever comes first: the handler finishing, the response closing, the client leaving.
    ctx.res.once('close', release);
    ctx.signal.addEventListener('abort', release, { once: true });
    try {
      await next(ctx);
    } finally {
      release();
      ctx.res.off('close', release);
      ctx.signal.removeEventListener('abort', release);
    }
  };
  return { middleware, counter };
}

export const inFlightReq: MiddlewareFactory<'inFlightReq'> = (config, build) =>
  createInFlightReq(config, build.name).middleware;
