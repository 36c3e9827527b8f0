// buffering: reads the whole request body (413 beyond the limit) before forwarding; caps the response (500 beyond).
import type { OutgoingHttpHeaders } from 'node:http';
import type { HttpMiddleware } from '@berth/config';
import type { Handler, MiddlewareFactory, RequestContext, ResponseBody } from '../context.js';
import { MiddlewareConfigError } from '../context.js';
import { respondText } from '../respond-text.js';
import { hasRequestBody } from './has-request-body.js';
import { readLimited } from './read-limited.js';
import { contentLength, setHeader } from './response-headers.js';
import { type SpooledBody, spoolBody } from './spool-body.js';

type BufferingConfig = NonNullable<HttpMiddleware['buffering']>;

/**
 * A request body is kept in memory up to `memRequestBodyBytes` (default 1 MiB, as Traefik) and
 * spooled to a private temp file beyond, removed when the request is over. A limit of 0
 * (Traefik's "unlimited") leaves that direction streaming untouched: with nothing to enforce,
 * there is no reason to hold a body back. A capped response is held in memory only, bounded by
 * `maxResponseBodyBytes`; `memResponseBodyBytes` is checked but has no further effect.
 *
 * A response over `maxResponseBodyBytes` becomes a 500 Internal Server Error, as Traefik
 * documents (the upstream body is discarded); so a capped response is held until complete.
 */
export const buffering: MiddlewareFactory<'buffering'> = (config, build) => {
  const maxRequest = limit(config, 'maxRequestBodyBytes', build.name);
  const maxResponse = limit(config, 'maxResponseBodyBytes', build.name);
  const memRequest =
    config.memRequestBodyBytes === undefined
      ? DEFAULT_MEM_BYTES
      : limit(config, 'memRequestBodyBytes', build.name);
  limit(config, 'memResponseBodyBytes', build.name);
  return (next: Handler) => async (ctx: RequestContext) => {
    if (maxResponse > 0) {
      const inner = ctx.respond;
      ctx.respond = (status, headers, body) => respondCapped(ctx, maxResponse, inner, status, headers, body);
    }
    if (maxRequest > 0 && hasRequestBody(ctx)) {
      const body = await bufferRequest(ctx, maxRequest, memRequest);
      if (!body) return;
      try {
        await next(ctx);
      } finally {
        await body.dispose();
      }
      return;
    }
    await next(ctx);
  };
};

const DEFAULT_MEM_BYTES = 1024 * 1024;

function limit(config: BufferingConfig, key: keyof BufferingConfig, name: string): number {
  const value = config[key] ?? 0;
  if (!Number.isInteger(value) || value < 0)
    throw new MiddlewareConfigError(`middleware ${name}: buffering.${key} must be a whole number ≥ 0`);
  return value;
}

/** The body, now read whole and replayed by `ctx.requestBody`; `null` when answered or gone. */
async function bufferRequest(ctx: RequestContext, max: number, mem: number): Promise<SpooledBody | null> {
  const declared = Number(ctx.req.headers['content-length'] ?? Number.NaN);
  if (declared > max) {
    await tooLarge(ctx);
    return null;
  }
  const read = await spoolBody(ctx.requestBody ?? ctx.req, { max, mem, signal: ctx.signal });
  if (read.kind === 'too-large') {
    await tooLarge(ctx);
    return null;
  }
  if (read.kind === 'failed' && !ctx.signal.aborted && !ctx.res.destroyed) {
    // The client is still there but the body could not be kept (a temp file error): say so.
    ctx.log.error = 'request_body_failed';
    await respondText(ctx, 500, 'Internal Server Error\n', { connection: 'close' });
    return null;
  }
  if (read.kind !== 'complete') return null;
  // Upstream gets a plain Content-Length body even when the client sent it chunked.
  ctx.upstreamHeaders['content-length'] = String(read.body.size);
  ctx.upstreamHeaders['transfer-encoding'] = undefined;
  ctx.requestBody = read.body.open();
  return read.body;
}

function tooLarge(ctx: RequestContext): Promise<void> {
  ctx.log.error = 'request_too_large';
  // The rest of the upload stays unread on the socket: the connection cannot be reused.
  return respondText(ctx, 413, 'Request Entity Too Large\n', { connection: 'close' });
}

async function respondCapped(
  ctx: RequestContext,
  max: number,
  inner: RequestContext['respond'],
  status: number,
  headers: OutgoingHttpHeaders,
  body: ResponseBody,
): Promise<void> {
  if (body === null || ctx.req.method === 'HEAD' || status < 200 || status === 204 || status === 304)
    return inner(status, headers, body);
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    return size > max ? responseTooLarge(ctx, inner) : inner(status, headers, body);
  }
  const declared = contentLength(headers);
  if (declared !== undefined && declared > max) {
    body.destroy();
    return responseTooLarge(ctx, inner);
  }
  const read = await readLimited(body, max, ctx.signal);
  if (read.kind === 'complete') {
    const out = { ...headers };
    setHeader(out, 'content-length', read.size);
    return inner(status, out, Buffer.concat(read.chunks, read.size));
  }
  body.destroy();
  if (read.kind === 'too-large') return responseTooLarge(ctx, inner);
  if (read.kind === 'failed') {
    // The upstream broke mid-body before anything was sent: a clean 502 is still possible.
    ctx.log.error = 'upstream_error';
    return replyWith(inner, 502, 'Bad Gateway');
  }
}

function responseTooLarge(ctx: RequestContext, inner: RequestContext['respond']): Promise<void> {
  ctx.log.error = 'response_too_large';
  return replyWith(inner, 500, 'Internal Server Error');
}

/** Answers through the respond this middleware wrapped, not through its own capped wrapper. */
function replyWith(respond: RequestContext['respond'], status: number, text: string): Promise<void> {
  const body = `${text}\n`;
  return respond(
    status,
    {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-content-type-options': 'nosniff',
    },
    body,
  );
}
