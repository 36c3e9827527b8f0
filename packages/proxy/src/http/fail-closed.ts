// The answer of a router that fails closed: a middleware it names cannot be built, so it answers
// 503 with the code rather than serve without it or let another router take its requests.
import type { Handler } from './context.js';
import { respondText } from './respond-text.js';

export function failClosedHandler(code: string): Handler {
  // Only the code: the message may name configuration a client has no business reading.
  const text = `503 Service Unavailable: this route is closed by a configuration error (${code})\n`;
  return (ctx) => {
    ctx.log.error = 'fail_closed';
    return respondText(ctx, 503, text);
  };
}
