// Streams one client request to an upstream server through the shared pools, and the response back.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { ServerTarget } from '../runtime/types.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './forwarded-headers.js';
import type { PoolCache } from './pool-cache.js';
import { sendText } from './send-text.js';

export interface ForwardOptions {
  server: ServerTarget;
  /** Origin-form target (`/path?query`) as the client sent it. */
  target: string;
  passHostHeader: boolean;
  clientIp: string;
  pools: PoolCache;
  logger: Logger;
}

/**
 * Never buffers: the request body streams into undici and the response body is piped to the
 * client, both with backpressure. Resolves when the exchange is over, never rejects.
 */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  opts: ForwardOptions,
): Promise<void> {
  const abort = new AbortController();
  // The client going away (before the response is done) cancels the upstream request.
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);

  let upstream: Dispatcher.ResponseData;
  try {
    const host = req.headers.host;
    upstream = await opts.pools.get(opts.server.origin).request({
      path: opts.target,
      method: req.method ?? 'GET',
      headers: upstreamRequestHeaders(req.rawHeaders, {
        clientIp: opts.clientIp,
        proto: 'http',
        host,
        upstreamHost: opts.passHostHeader ? host : undefined,
      }),
      body: requestBody(req),
      signal: abort.signal,
    });
  } catch (err) {
    if (abort.signal.aborted) return;
    const status = failureStatus(err);
    opts.logger.debug({ err, origin: opts.server.origin }, 'upstream request failed');
    // The body may be partly unread; closing is cheaper than draining an upload nobody wants.
    sendText(res, status, status === 504 ? 'Gateway Timeout' : 'Bad Gateway', { close: !req.complete });
    return;
  }

  if (res.destroyed) {
    upstream.body.destroy();
    return;
  }
  const headers = downstreamResponseHeaders(upstream.headers);
  // An upload still running when the answer starts (an early 413, say) leaves unread bytes on the socket.
  if (!req.complete) headers['connection'] = 'close';
  try {
    if (upstream.statusText) res.writeHead(upstream.statusCode, upstream.statusText, headers);
    else res.writeHead(upstream.statusCode, headers);
  } catch (err) {
    // Node refuses a header or reason phrase it considers invalid.
    upstream.body.destroy();
    opts.logger.debug({ err, origin: opts.server.origin }, 'upstream response rejected');
    sendText(res, 502, 'Bad Gateway', { close: true });
    return;
  }
  try {
    await pipeline(upstream.body, res);
  } catch (err) {
    // Either side broke mid-body; pipeline has destroyed both, so the client sees a truncated response.
    if (!abort.signal.aborted)
      opts.logger.debug({ err, origin: opts.server.origin }, 'response stream failed');
  }
}

/**
 * `null` when the request has no body: handing undici an empty stream would make it send
 * `transfer-encoding: chunked` on a GET. Otherwise a PassThrough rather than `req` itself,
 * because undici destroys the body on failure and destroying `req` would kill the client
 * socket before a 502 could be written.
 */
function requestBody(req: IncomingMessage): PassThrough | null {
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || length === '0')) return null;
  const body = new PassThrough();
  req.pipe(body);
  return body;
}

function failureStatus(err: unknown): number {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  return code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' ? 504 : 502;
}
