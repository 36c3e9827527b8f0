// retry: runs the rest of the pipeline again when the upstream failed before anything reached the client.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { HttpMiddleware } from '@berth/config';
import { parseDuration } from '@berth/config';
import type { Handler, MiddlewareFactory, RequestContext, ResponseBody } from '../context.js';
import { MiddlewareConfigError } from '../context.js';
import { hasRequestBody } from './has-request-body.js';
import { retryDelay } from './retry-backoff.js';

type RetryConfig = NonNullable<HttpMiddleware['retry']>;

export interface RetryOptions {
  /** Resolves after `ms`, or early when `signal` aborts; injected by tests. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** How the forwarder answers a failure it caused itself: `log.error` set, then 502 or 504. */
function isProxyFailure(ctx: RequestContext, status: number): boolean {
  return ctx.log.error !== undefined && (status === 502 || status === 504);
}

function discard(body: ResponseBody): void {
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) (body as Readable).destroy();
}

export function createRetry(
  config: RetryConfig,
  name: string,
  opts: RetryOptions = {},
): ReturnType<MiddlewareFactory<'retry'>> {
  const attempts = config.attempts;
  if (!Number.isInteger(attempts) || attempts <= 0)
    throw new MiddlewareConfigError(`middleware ${name}: retry.attempts must be a whole number > 0`);
  const initialMs = config.initialInterval === undefined ? 100 : parseDuration(config.initialInterval);
  if (initialMs === null)
    throw new MiddlewareConfigError(
      `middleware ${name}: retry.initialInterval is not a duration: ${config.initialInterval}`,
    );
  const sleep = opts.sleep ?? abortableSleep;
  const random = opts.random ?? Math.random;

  return (next: Handler) => async (ctx: RequestContext) => {
    // A body may already be on its way upstream and cannot be sent again: only bodyless requests retry.
    if (attempts === 1 || hasRequestBody(ctx)) {
      ctx.log.attempts = 1;
      await next(ctx);
      return;
    }
    // Inner middlewares rewrite these on their way in; each attempt must start from the same request.
    const outerRespond = ctx.respond;
    const target = ctx.target;
    const view = { ...ctx.view };
    const upstreamHeaders = { ...ctx.upstreamHeaders };

    for (let attempt = 1; ; attempt++) {
      ctx.log.attempts = attempt;
      delete ctx.log.error;
      ctx.target = target;
      ctx.view = { ...view };
      ctx.upstreamHeaders = { ...upstreamHeaders };
      let swallowed = false;
      const last = attempt >= attempts;
      ctx.respond = (status: number, headers: OutgoingHttpHeaders, body: ResponseBody) => {
        if (!last && !swallowed && !ctx.signal.aborted && isProxyFailure(ctx, status)) {
          swallowed = true;
          discard(body);
          return Promise.resolve();
        }
        return outerRespond(status, headers, body);
      };
      await next(ctx);
      if (!swallowed || ctx.res.headersSent || ctx.signal.aborted) break;
      await sleep(retryDelay(initialMs, attempts, attempt, random()), ctx.signal);
      if (ctx.signal.aborted) break;
    }
    ctx.respond = outerRespond;
  };
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export const retry: MiddlewareFactory<'retry'> = (config, build) => createRetry(config, build.name);
