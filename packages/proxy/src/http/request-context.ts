// The RequestContext an entry point builds for each request, with the default response writer.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { RequestView } from '@berth/config';
import type { RequestContext, RequestLog, Respond, ResponseBody } from './context.js';
import { endSoon } from './end-batch.js';
import type { RouteConnections } from './route-connections.js';
import { trailersOf } from './upstream-trailers.js';

/** What the entry point shares with every request it serves. */
export interface EntryPointScope {
  readonly name: string;
  /** X-Forwarded-Server. */
  readonly nodeName: string;
  readonly connections: RouteConnections;
}

const kContext = Symbol('berth.context');
type TaggedResponse = ServerResponse & { [kContext]?: HttpRequestContext };

/** An Upgrade request's raw connection, for the forwarder to tunnel once the server agrees. */
export interface UpgradeSocket {
  socket: Duplex;
  /** Bytes the client sent after the request head. */
  head: Buffer;
}

/** One listener shared by every response instead of a closure per request. */
function onResponseClose(this: TaggedResponse): void {
  const ctx = this[kContext];
  if (ctx !== undefined && !this.writableFinished) ctx.clientGone();
}

export class HttpRequestContext implements RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  view: RequestView;
  target: string;
  clientIp: string;
  scheme: 'http' | 'https' = 'http';
  /** The request came over TLS (whatever X-Forwarded-Proto says): only TLS routers may answer it. */
  tls = false;
  readonly startedAt: bigint;
  readonly log: RequestLog;
  respond: Respond;
  /** The innermost writer; while `respond` is still this one, no middleware rewrites the response. */
  readonly defaultRespond: Respond;
  upstreamHeaders: Record<string, string | undefined> = {};
  /** A replacement request body (buffering middleware); absent: the client's own stream. */
  requestBody?: Readable;
  /** The connection's peer, before any forwarded-header handling. */
  readonly peerIp: string;
  /** The peer is a trusted proxy: its X-Forwarded-* are kept. */
  readonly trusted: boolean;
  readonly scope: EntryPointScope;
  /** Set once routed, so streamed responses are tracked under it. */
  router: string | undefined;
  /** Set for an Upgrade request: `res` then writes on the raw socket, for answers other than a tunnel. */
  upgrade: UpgradeSocket | undefined;
  /**
   * Told once if the client goes before the response is complete: the forwarder's exchange, so a
   * request costs one `close` listener on `res`, not two.
   */
  goneListener: { clientGone(): void } | undefined;
  #abort: AbortController | undefined;
  #gone = false;

  constructor(
    scope: EntryPointScope,
    req: IncomingMessage,
    res: ServerResponse,
    view: RequestView,
    target: string,
    peerIp: string,
    trusted: boolean,
  ) {
    this.scope = scope;
    this.req = req;
    this.res = res;
    this.view = view;
    this.target = target;
    this.clientIp = view.clientIp;
    this.peerIp = peerIp;
    this.trusted = trusted;
    this.startedAt = process.hrtime.bigint();
    this.log = { entryPoint: scope.name };
    this.router = undefined;
    this.upgrade = undefined;
    this.goneListener = undefined;
    // Bound once: middlewares call a saved `respond` without a receiver.
    this.defaultRespond = (status, headers, body) => writeResponse(this, status, headers, body);
    this.respond = this.defaultRespond;
    (res as TaggedResponse)[kContext] = this;
    // `on`, not `once`: a response closes once, and `once` wraps every listener in a new closure.
    res.on('close', onResponseClose);
  }

  /** Created on first use: most requests never need one before the forwarder asks. */
  get signal(): AbortSignal {
    if (this.#abort === undefined) {
      this.#abort = new AbortController();
      if (this.#gone) this.#abort.abort();
    }
    return this.#abort.signal;
  }

  /** The client closed the connection before the response was complete. */
  clientGone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#abort?.abort();
    this.goneListener?.clientGone();
  }

  /** The client went away before the response was complete. */
  get gone(): boolean {
    return this.#gone;
  }
}

/** Plain-text headers of the proxy's own answers; never mutated (the writer copies them onto the response). */
export const TEXT_HEADERS: OutgoingHttpHeaders = Object.freeze({
  'content-type': 'text/plain; charset=utf-8',
  'x-content-type-options': 'nosniff',
});
export const TEXT_HEADERS_CLOSE: OutgoingHttpHeaders = Object.freeze({
  ...TEXT_HEADERS,
  connection: 'close',
});

/**
 * The innermost Respond: writes to `ctx.res`. A stream body is pumped with backpressure and
 * counted; a response whose head is already out cannot take another status, so the socket is cut.
 */
export function writeResponse(
  ctx: HttpRequestContext,
  status: number,
  headers: OutgoingHttpHeaders,
  body: ResponseBody,
): Promise<void> {
  const res = ctx.res;
  if (res.headersSent || res.destroyed) {
    if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) body.destroy();
    if (res.headersSent) res.destroy();
    return Promise.resolve();
  }
  ctx.log.status = status;
  if (body === null || typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      // setHeader rather than writeHead: Node then computes Content-Length from the body.
      res.statusCode = status;
      for (const name in headers) {
        const value = headers[name];
        if (value !== undefined) res.setHeader(name, value);
      }
      ctx.log.bytesOut = body === null ? 0 : Buffer.byteLength(body);
      if (body === null) res.end();
      else res.end(body);
    } catch {
      invalidResponse(ctx);
    }
    return Promise.resolve();
  }
  try {
    res.writeHead(status, headers);
  } catch {
    // Node refuses a header it considers invalid (an upstream's, usually).
    body.destroy();
    invalidResponse(ctx);
    return Promise.resolve();
  }
  return pump(ctx, body);
}

export function invalidResponse(ctx: HttpRequestContext): void {
  const res = ctx.res;
  ctx.log.error = 'invalid_response';
  ctx.log.status = 502;
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  const text = 'Bad Gateway\n';
  res.writeHead(502, { ...TEXT_HEADERS_CLOSE, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function noop(): void {}

/** Copies `body` to the response, pausing it while the client's socket is full. */
function pump(ctx: HttpRequestContext, body: Readable): Promise<void> {
  const res = ctx.res;
  const router = ctx.router;
  const connections = ctx.scope.connections;
  if (router !== undefined) connections.add(router, res);
  ctx.log.bytesOut = 0;
  return new Promise<void>((resolve) => {
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      body.off('data', onData);
      res.off('drain', onDrain);
      if (router !== undefined) connections.delete(router, res);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      ctx.log.bytesOut = (ctx.log.bytesOut ?? 0) + chunk.length;
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = (): void => {
      body.resume();
    };
    body.on('data', onData);
    res.on('drain', onDrain);
    // Ended with the loop turn's other complete responses (end-batch.ts).
    body.once('end', () =>
      endSoon({
        finish: () => {
          if (res.destroyed) return;
          // HTTP/2 carries the server's trailers (gRPC status); HTTP/1.1 clients get none.
          const trailers = trailersOf(body);
          if (trailers !== undefined && ctx.req.httpVersionMajor === 2) res.addTrailers(trailers);
          res.end();
        },
      }),
    );
    body.on('error', noop);
    body.once('close', () => {
      // A truncated body must not look complete: cut the connection.
      if (body.readableEnded) return;
      res.destroy();
      finish();
    });
    res.once('finish', finish);
    res.once('close', () => {
      if (!body.readableEnded) body.destroy();
      finish();
    });
  });
}
