// Redirect answers of redirectScheme and redirectRegex, with Traefik's status codes.
import { STATUS_CODES } from 'node:http';
import type { RequestContext } from '../context.js';
import { respondText } from '../respond-text.js';

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
    return respondText(ctx, 500);
  }
  ctx.log.error = 'redirect';
  const status = redirectStatus(ctx.view.method, permanent);
  return respondText(ctx, status, STATUS_CODES[status] ?? '', { location });
}
