// The service layer's own short answers (503 when no server may take the request).
import type { RequestContext } from '../http/context.js';

export function respondText(ctx: RequestContext, status: number, text: string): Promise<void> {
  const body = `${text}\n`;
  return ctx.respond(
    status,
    {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'x-content-type-options': 'nosniff',
    },
    body,
  );
}
