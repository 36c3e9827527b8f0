// buffering: reads the whole request body (413 beyond the limit) before forwarding; caps the response (500 beyond).
import type { OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { HttpMiddleware } from '@berth/config';
import type { Handler, MiddlewareFactory, RequestContext, ResponseBody } from '../context.js';
import { MiddlewareConfigError } from '../context.js';
import { readLimited } from './read-limited.js';
import { replyText } from './reply-text.js';
import { contentLength, setHeader } from './response-headers.js';

type BufferingConfig = NonNullable<HttpMiddleware['buffering']>;

/**
 * Bodies are held in memory only, never spilled to disk: a limit of 0 (Traefik's "unlimited")
 * therefore leaves that direction streaming untouched, and with a limit set memory per request
 * is bounded by that limit. `memRequestBodyBytes` / `memResponseBodyBytes` are accepted and
 * checked but have no further effect.
 *
 * A response over `maxResponseBodyBytes` becomes a 500 Internal Server Error, as Traefik
 * documents (the upstream body is discarded); so a capped response is held until complete.
 */
export const buffering: MiddlewareFactory<'buffering'> = (config, build) => {
  const maxRequest = limit(config, 'maxRequestBodyBytes', build.name);
  const maxResponse = limit(config, 'maxResponseBodyBytes', build.name);
  limit(config, 'memRequestBodyBytes', build.name);
  limit(config, 'memResponseBodyBytes', build.name);
  return (next: Handler) => async (ctx: RequestContext) => {
    if (maxResponse > 0) {
      const inner = ctx.respond;
      ctx.respond = (status, headers, body) => respondCapped(ctx, maxResponse, inner, status, headers, body);
    }
    if (maxRequest > 0 && hasRequestBody(ctx)) {
      const ready = await bufferRequest(ctx, maxRequest);
      if (!ready) return;
    }
    await next(ctx);
  };
};

function limit(config: BufferingConfig, key: keyof BufferingConfig, name: string): number {
  const value = config[key] ?? 0;
  if (!Number.isInteger(value) || value < 0)
    throw new MiddlewareConfigError(`middleware ${name}: buffering.${key} must be a whole number ≥ 0`);
  return value;
}

function hasRequestBody(ctx: RequestContext): boolean {
  if (ctx.requestBody) return true;
  const headers = ctx.req.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length.trim() !== '0';
}

/** True when the body is now in memory and `ctx.requestBody` replays it; false when answered or gone. */
async function bufferRequest(ctx: RequestContext, max: number): Promise<boolean> {
  const declared = Number(ctx.req.headers['content-length'] ?? Number.NaN);
  if (declared > max) {
    await tooLarge(ctx);
    return false;
  }
  const read = await readLimited(ctx.requestBody ?? ctx.req, max, ctx.signal);
  if (read.kind === 'too-large') {
    await tooLarge(ctx);
    return false;
  }
  if (read.kind !== 'complete') return false;
  // Upstream gets a plain Content-Length body even when the client sent it chunked.
  ctx.upstreamHeaders['content-length'] = String(read.size);
  ctx.upstreamHeaders['transfer-encoding'] = undefined;
  ctx.requestBody = Readable.from(read.chunks, { objectMode: false });
  return true;
}

function tooLarge(ctx: RequestContext): Promise<void> {
  ctx.log.error = 'request_too_large';
  // The rest of the upload stays unread on the socket: the connection cannot be reused.
  return replyText(ctx, 413, 'Request Entity Too Large', { connection: 'close' });
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
