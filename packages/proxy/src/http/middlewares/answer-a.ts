// Small answers a middleware gives itself (redirects, 401, 403) and case-insensitive header edits.
import type { OutgoingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { RequestContext } from '../context.js';

/** Answers with a short plain-text body, as Go's `http.Error` and Traefik's rejections do. */
export function answerText(
  ctx: RequestContext,
  status: number,
  text: string = STATUS_CODES[status] ?? '',
  headers: OutgoingHttpHeaders = {},
): Promise<void> {
  return ctx.respond(
    status,
    {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-content-type-options': 'nosniff',
      ...headers,
    },
    text,
  );
}

/**
 * Traefik's redirect status: 302/301 (temporary/permanent) for GET, 307/308 for any other method,
 * whose body a 301 or 302 would let clients drop.
 */
export function redirectStatus(method: string, permanent: boolean): number {
  if (method === 'GET') return permanent ? 301 : 302;
  return permanent ? 308 : 307;
}

/** Characters Node refuses in a header value. */
const BAD_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

export function answerRedirect(ctx: RequestContext, location: string, permanent: boolean): Promise<void> {
  if (BAD_HEADER_VALUE.test(location)) {
    ctx.log.error = 'bad_redirect';
    return answerText(ctx, 500);
  }
  ctx.log.error = 'redirect';
  const status = redirectStatus(ctx.view.method, permanent);
  return answerText(ctx, status, STATUS_CODES[status] ?? '', { location });
}

/** The key under which `name` is set in `headers`, whatever its case. */
function findKey(headers: OutgoingHttpHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const key of Object.keys(headers)) if (key.toLowerCase() === lower) return key;
  return undefined;
}

export function getHeader(headers: OutgoingHttpHeaders, name: string): string | undefined {
  const key = findKey(headers, name);
  if (key === undefined) return undefined;
  const value = headers[key];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Sets `name` (replacing any spelling of it), or removes it when `value` is undefined. */
export function setHeader(headers: OutgoingHttpHeaders, name: string, value: string | undefined): void {
  const key = findKey(headers, name);
  if (key !== undefined) delete headers[key];
  if (value !== undefined) headers[name.toLowerCase()] = value;
}
