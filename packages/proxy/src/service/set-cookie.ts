// Adds a Set-Cookie to whatever response passes through a request's respond.
import type { OutgoingHttpHeaders } from 'node:http';
import type { RequestContext } from '../http/context.js';

/** Wraps `ctx.respond` so the response, whoever writes it, carries `cookie` besides its own cookies. */
export function addSetCookie(ctx: RequestContext, cookie: string): void {
  const respond = ctx.respond;
  ctx.respond = (status, headers, body) => respond(status, withCookie(headers, cookie), body);
}

function withCookie(headers: OutgoingHttpHeaders, cookie: string): OutgoingHttpHeaders {
  const existing = headers['set-cookie'];
  const merged =
    existing === undefined
      ? cookie
      : Array.isArray(existing)
        ? [...existing, cookie]
        : [String(existing), cookie];
  return { ...headers, 'set-cookie': merged };
}
