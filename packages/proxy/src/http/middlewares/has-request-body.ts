// Whether a request carries a body, judged from its head alone (the body itself is never touched).
import type { RequestContext } from '../context.js';

/** A body is announced by Transfer-Encoding or a Content-Length above 0, or was already read by buffering. */
export function hasRequestBody(ctx: RequestContext): boolean {
  if (ctx.requestBody) return true;
  const headers = ctx.req.headers;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length.trim() !== '0';
}
