// The short plain-text answers middlewares give themselves (429, 413, 500), through ctx.respond.
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../context.js';

export function replyText(
  ctx: RequestContext,
  status: number,
  text: string,
  extra: OutgoingHttpHeaders = {},
): Promise<void> {
  const body = `${text}\n`;
  return ctx.respond(
    status,
    {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-content-type-options': 'nosniff',
      ...extra,
    },
    body,
  );
}
