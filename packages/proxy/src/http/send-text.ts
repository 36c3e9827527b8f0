// Writes the proxy's own short plain-text answers (404, 502, 503...).
import type { ServerResponse } from 'node:http';

export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  opts: { close?: boolean } = {},
): void {
  if (res.headersSent) {
    // Too late for a status line: cutting the connection is the only honest signal left.
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  // A failed attempt to relay upstream headers may have left some set; none belong on this answer.
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    ...(opts.close ? { connection: 'close' } : {}),
  });
  res.end(body);
}
