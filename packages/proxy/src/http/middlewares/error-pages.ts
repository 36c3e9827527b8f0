// errors: a response whose status is in the configured ranges is replaced by a page the error service serves.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { statusMatcher } from '@berth/config';
import type { Handler, MiddlewareFactory, RequestContext, ResponseBody } from '../context.js';
import { MiddlewareConfigError } from '../context.js';

/**
 * As Traefik's customerrors: the next handler's response is caught before anything reaches the
 * client when its status matches; its head and body are dropped. The error service then gets a
 * GET of `query` (`{status}`, `{originalStatus}`, `{url}` replaced; `/` when empty) with the
 * client's Host and headers (or only `errorRequestHeaders`), through its own balancer, and its
 * answer (headers and body) goes to the client with the caught status, rewritten by
 * `statusRewrites`. When the error service fails, its own failure answer (Berth's 502/503 text)
 * goes out, still with that status, as Traefik's code modifier does.
 */
export const errors: MiddlewareFactory<'errors'> = (config, build) => {
  if (!Array.isArray(config.status) || config.status.length === 0)
    throw new MiddlewareConfigError(`middleware ${build.name}: errors.status must list status ranges`);
  const matches = statusMatcher(config.status.join(','));
  const rewrites = Object.entries(config.statusRewrites ?? {}).map(
    ([range, to]) => [statusMatcher(range), to] as const,
  );
  const page = build.service(config.service);
  const query = config.query ?? '';
  const only = config.errorRequestHeaders?.map((h) => h.toLowerCase());

  return (next: Handler) => async (ctx: RequestContext) => {
    const outer = ctx.respond;
    let caught: number | undefined;
    ctx.respond = (status: number, headers: OutgoingHttpHeaders, body: ResponseBody) => {
      if (caught === undefined && status >= 200 && matches(status)) {
        caught = status;
        discard(body);
        return Promise.resolve();
      }
      return outer(status, headers, body);
    };
    try {
      await next(ctx);
    } finally {
      ctx.respond = outer;
    }
    if (caught === undefined || ctx.signal.aborted) return;
    const original = caught;
    const status = rewrites.find(([range]) => range(original))?.[1] ?? original;
    const target = pageTarget(ctx, query, status, original);
    const pageCtx = pageContext(ctx, target, only, (_status, headers, body) => outer(status, headers, body));
    await page(pageCtx);
  };
};

function discard(body: ResponseBody): void {
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) (body as Readable).destroy();
}

/** The error page's path: Traefik puts a `/` in front and replaces the three placeholders. */
export function pageTarget(ctx: RequestContext, query: string, status: number, original: number): string {
  if (query === '') return '/';
  const host = ctx.req.headers.host ?? ctx.view.host;
  // As the middleware sees the request: after the rewrites of the middlewares before it.
  const url = `${ctx.scheme}://${host}${ctx.target}`;
  return `/${query.replace(/^\/+/, '')}`
    .replaceAll('{status}', String(status))
    .replaceAll('{originalStatus}', String(original))
    .replaceAll('{url}', goQueryEscape(url));
}

/** Go's url.QueryEscape: spaces as `+`, everything but unreserved characters percent-encoded. */
function goQueryEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** A GET without body for the error service: the client's Host and (chosen) headers, its address. */
function pageContext(
  ctx: RequestContext,
  target: string,
  only: readonly string[] | undefined,
  respond: RequestContext['respond'],
): RequestContext {
  const src = ctx.req;
  const req = new IncomingMessage(new Socket());
  req.on('error', () => {});
  req.method = 'GET';
  req.url = target;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  const headers: IncomingHttpHeaders = {};
  const raw: string[] = [];
  for (let i = 0; i + 1 < src.rawHeaders.length; i += 2) {
    const name = src.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'transfer-encoding' || lower.startsWith(':')) continue;
    // The Host always goes: Traefik builds the page URL from it.
    if (only !== undefined && lower !== 'host' && !only.includes(lower)) continue;
    raw.push(name, src.rawHeaders[i + 1]!);
    const value = src.headers[lower];
    if (value !== undefined) headers[lower] = value;
  }
  if (headers.host === undefined && ctx.view.host !== '') {
    headers.host = ctx.view.host;
    raw.push('Host', ctx.view.host);
  }
  req.headers = headers;
  req.rawHeaders = raw;
  req.complete = true;
  req.push(null);
  return {
    req,
    res: new ServerResponse(req),
    view: {
      ...ctx.view,
      method: 'GET',
      path: target.split('?')[0] ?? '/',
      query: target.split('?')[1] ?? '',
    },
    target,
    clientIp: ctx.clientIp,
    scheme: ctx.scheme,
    startedAt: process.hrtime.bigint(),
    // The page is this request's answer: the access log sees the error service's server too.
    log: ctx.log,
    respond,
    upstreamHeaders: { 'x-forwarded-for': ctx.clientIp },
    signal: ctx.signal,
  };
}
