// The proxy's own short plain-text answers (404, 429, 503, ...), through ctx.respond so middlewares still apply.
import type { OutgoingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { RequestContext } from './context.js';
import { TEXT_HEADERS } from './request-context.js';

/** Sends `text` exactly as given (default: the status's reason phrase, as Go's `http.Error` does). */
export function respondText(
  ctx: RequestContext,
  status: number,
  text: string = STATUS_CODES[status] ?? '',
  headers: OutgoingHttpHeaders = {},
): Promise<void> {
  return ctx.respond(
    status,
    { ...TEXT_HEADERS, 'content-length': Buffer.byteLength(text), ...headers },
    text,
  );
}
