// Streams one request to an upstream server through the shared pools, and the response back: the Forward contract.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { PassThrough, Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { serverNameFor } from '../tls/server-name.js';
import type { RequestContext } from './context.js';
import { endSoon, type Finishable } from './end-batch.js';
import type { Forward, ForwardOutcome, ForwardTarget } from './forward-types.js';
import {
  downstreamRawHeaders,
  downstreamResponseHeaders,
  upstreamRequestHeaders,
} from './forwarded-headers.js';
import type { PoolCache } from './pool-cache.js';
import type { UpgradeSocket } from './request-context.js';
import { HttpRequestContext, invalidResponse, TEXT_HEADERS, TEXT_HEADERS_CLOSE } from './request-context.js';
import { clientAddress } from './request-view.js';
import type { TlsSettings, TransportSettings, TransportTable } from './servers-transport.js';
import { relayUpgrade } from './upgrade.js';
import { normalizeTrailers, type TrailerCarrier } from './upstream-trailers.js';

/** Where the forwarder reads the live snapshot's transports. */
export interface TransportSource {
  readonly transports: TransportTable;
}

export interface ForwarderOptions {
  pools: PoolCache;
  transports: TransportSource;
  logger: Logger;
}

/** undici reads `servername` per request though its types leave it out. */
type RequestOptions = Dispatcher.RequestOptions & { servername?: string };

const ABORTED: ForwardOutcome = Object.freeze({ kind: 'error', reason: 'aborted', responseStarted: false });
const REFUSED: ForwardOutcome = Object.freeze({ kind: 'refused', reason: 'connect' });
const CONNECT_TIMED_OUT: ForwardOutcome = Object.freeze({ kind: 'refused', reason: 'timeout' });

/**
 * Never buffers: the request body streams into undici and the response body goes to
 * `ctx.respond`, both with backpressure. Resolves when the exchange is over, never rejects.
 */
export function createForwarder(opts: ForwarderOptions): Forward {
  const { pools, transports, logger } = opts;
  /**
   * The usual request (no body, no middleware on the response) returns the dispatch's own
   * promise: an async function resolving with another promise costs two more microtask turns.
   */
  return function forward(
    ctx: RequestContext,
    target: ForwardTarget,
    redispatch = false,
  ): Promise<ForwardOutcome> {
    if (
      ctx instanceof HttpRequestContext &&
      ctx.upgrade === undefined &&
      ctx.requestBody === undefined &&
      ctx.respond === ctx.defaultRespond &&
      !hasBody(ctx.req)
    ) {
      const transport = transports.transports.get(target.serversTransport);
      const origin = target.server.origin;
      ctx.log.server = origin;
      const pool = pools.get(origin, transport, ctx.req);
      return dispatchDirect(ctx, target, transport, false, pool, logger, redispatch);
    }
    return forwardAny(ctx, target, redispatch);
  };

  async function forwardAny(
    ctx: RequestContext,
    target: ForwardTarget,
    redispatch: boolean,
  ): Promise<ForwardOutcome> {
    const req = ctx.req;
    const transport = transports.transports.get(target.serversTransport);
    const origin = target.server.origin;
    ctx.log.server = origin;
    if (ctx instanceof HttpRequestContext && ctx.upgrade !== undefined) {
      return forwardUpgrade(ctx, ctx.upgrade, target, transport);
    }
    const body = ctx.requestBody !== undefined || hasBody(req);
    // A body may be partly read from the client (into undici's stream) when the connect fails.
    const mayRedispatch = redispatch && !body;
    if (ctx.requestBody === undefined && body) {
      // A body that breaks framing (bad chunk size) fails in the same parser pass as the head:
      // yielding once lets that land before anything is sent, so the server never sees the request.
      await undefined;
      if (req.destroyed || ctx.signal.aborted) return aborted(ctx);
    }
    if (ctx instanceof HttpRequestContext) {
      const pool = pools.get(origin, transport, req);
      if (ctx.respond === ctx.defaultRespond)
        return dispatchDirect(ctx, target, transport, body, pool, logger, mayRedispatch);
      return dispatchStream(ctx, target, transport, body, pool, logger, mayRedispatch);
    }
    // Contexts made outside an entry point (tests, stand-ins): undici's request API.
    let upstream: Dispatcher.ResponseData;
    try {
      const options: RequestOptions = {
        path: ctx.target,
        method: req.method ?? 'GET',
        headers: requestHeaders(ctx, target),
        body: ctx.requestBody ?? (body ? requestBody(req) : null),
        signal: ctx.signal,
      };
      // undici would take the TLS server name from the Host header; Traefik uses the server's own.
      if (target.server.url.protocol === 'https:') options.servername = serverNameOf(target, transport.tls);
      upstream = await pools.get(origin, transport, req).request(options);
    } catch (err) {
      if (ctx.signal.aborted) return aborted(ctx);
      if (mayRedispatch) {
        const refused = refusal(err);
        if (refused !== undefined) return refused;
      }
      return answerFailure(ctx, err, logger, origin);
    }
    ctx.log.upstreamHeadersAt = process.hrtime.bigint();
    const status = upstream.statusCode;
    const headers = downstreamResponseHeaders(upstream.headers);
    // An upload still running when the answer starts (an early 413, say) leaves unread bytes on the socket.
    if (!req.complete) headers['connection'] = 'close';
    await ctx.respond(status, headers, upstream.body);
    if (upstream.body.errored && !ctx.signal.aborted) {
      ctx.log.error = 'upstream_reset';
      logger.debug({ err: upstream.body.errored, origin }, 'response stream failed');
      return { kind: 'error', reason: 'reset', responseStarted: true };
    }
    return { kind: 'response', status };
  }
}

/** What undici is asked to send: the request line, rewritten headers, the body stream if any. */
function dispatchOptions(
  ctx: HttpRequestContext,
  target: ForwardTarget,
  transport: TransportSettings,
  hasRequestBody: boolean,
): RequestOptions {
  const { req } = ctx;
  const options: RequestOptions = {
    path: ctx.target,
    method: req.method ?? 'GET',
    headers: requestHeaders(ctx, target),
    body: ctx.requestBody ?? (hasRequestBody ? requestBody(req) : null),
  };
  // undici would take the TLS server name from the Host header; Traefik uses the server's own.
  if (target.server.url.protocol === 'https:') options.servername = serverNameOf(target, transport.tls);
  return options;
}

/**
 * The fast path when no middleware rewrites the response: undici's dispatch API straight into
 * `res`, without a response stream, pipeline or AbortController per request (they were half the
 * CPU of a keep-alive request; docs/bench/http.md). Same semantics as the stream path: 502/504
 * through `ctx.respond` before the head, a cut connection after it, backpressure kept.
 */
function dispatchDirect(
  ctx: HttpRequestContext,
  target: ForwardTarget,
  transport: TransportSettings,
  hasRequestBody: boolean,
  pool: Dispatcher,
  logger: Logger,
  redispatch: boolean,
): Promise<ForwardOutcome> {
  const options = dispatchOptions(ctx, target, transport, hasRequestBody);
  return new Promise<ForwardOutcome>((resolve) => {
    const exchange = new DirectExchange(ctx, target.server.origin, logger, resolve, redispatch);
    // The context's own `close` listener calls this: no second listener per request.
    ctx.goneListener = exchange;
    if (ctx.res.destroyed && !ctx.res.writableFinished) exchange.clientGone();
    pool.dispatch(options, exchange);
  });
}

/** What both exchanges share: the request they serve, undici's abort and resume, and how they end. */
abstract class UpstreamExchange implements Dispatcher.DispatchHandler {
  protected readonly ctx: HttpRequestContext;
  protected readonly origin: string;
  protected readonly logger: Logger;
  protected readonly resolve: (outcome: ForwardOutcome) => void;
  protected abort: ((err?: Error) => void) | undefined = undefined;
  /** undici's resume, after a handler returned false (backpressure). */
  protected resumeUpstream: (() => void) | undefined = undefined;
  protected gone = false;
  protected settled = false;
  /** A connect failure resolves `refused`, unanswered, for the caller to try another server. */
  protected readonly redispatch: boolean;

  constructor(
    ctx: HttpRequestContext,
    origin: string,
    logger: Logger,
    resolve: (outcome: ForwardOutcome) => void,
    redispatch: boolean,
  ) {
    this.ctx = ctx;
    this.origin = origin;
    this.logger = logger;
    this.resolve = resolve;
    this.redispatch = redispatch;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.gone) abort(new Error('client went away'));
  }

  abstract clientGone(): void;
}

/**
 * One exchange of the fast path, as an undici handler. It uses undici's raw-header handler
 * methods (`onConnect`/`onHeaders`/`onData`/`onComplete`/`onError`), which undici calls
 * natively: the `onResponse*` methods go through an adapter that parses every response's
 * headers into an object and allocates a controller, a few percent of a request's CPU.
 * One object per request instead of a closure per callback.
 */
class DirectExchange extends UpstreamExchange implements Finishable {
  #onDrain: (() => void) | undefined = undefined;
  #headSent = false;
  /** The body is complete; `finish` ends the response. */
  #ended = false;
  #last: Buffer | undefined = undefined;
  /** The body's Content-Length, or -1. */
  #length = -1;
  #status = 0;
  /** The upstream's trailers, relayed to HTTP/2 clients when the response ends. */
  #trailers: Record<string, string> | undefined = undefined;

  clientGone(): void {
    if (this.gone || this.settled) return;
    this.gone = true;
    this.abort?.(new Error('client went away'));
    if (this.#headSent) this.#settle(aborted(this.ctx));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    // 1xx informational answers (103 Early Hints) are not relayed: the final answer follows.
    if (this.gone || statusCode < 200) return true;
    const ctx = this.ctx;
    const res = ctx.res;
    this.resumeUpstream = resume;
    ctx.log.upstreamHeadersAt = process.hrtime.bigint();
    this.#status = statusCode;
    const headers = downstreamRawHeaders(rawHeaders);
    // An upload still running when the answer starts leaves unread bytes on the socket.
    if (!ctx.req.complete) headers['connection'] = 'close';
    ctx.log.status = statusCode;
    try {
      res.writeHead(statusCode, headers);
    } catch {
      this.gone = true;
      this.abort?.(new Error('invalid response head'));
      invalidResponse(ctx);
      this.#settle({ kind: 'error', reason: 'protocol', responseStarted: false });
      return true;
    }
    this.#headSent = true;
    const length = headers['content-length'];
    if (typeof length === 'string' && ctx.req.method !== 'HEAD') this.#length = Number(length);
    ctx.log.bytesOut = 0;
    if (ctx.router !== undefined) ctx.scope.connections.add(ctx.router, res);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.gone || this.#ended) return true;
    const ctx = this.ctx;
    const bytesOut = (ctx.log.bytesOut ?? 0) + chunk.length;
    ctx.log.bytesOut = bytesOut;
    if (bytesOut === this.#length) {
      // The last bytes of a Content-Length body: held for `end`, so head and body leave in one
      // write, without the cork-until-next-tick a `write` then `end` pair costs.
      this.#ended = true;
      this.#last = chunk;
      endSoon(this);
      return true;
    }
    if (ctx.res.write(chunk)) return true;
    // The client's socket is full: undici stops reading the server until `drain`.
    if (this.#onDrain === undefined) {
      // Made on first need: most responses never fill the client's socket.
      this.#onDrain = () => this.resumeUpstream?.();
      ctx.res.on('drain', this.#onDrain);
    }
    return false;
  }

  onComplete(trailers: readonly (Buffer | string)[] | null): void {
    // HTTP/2 carries trailers natively (gRPC status); HTTP/1.1 clients get none.
    if (trailers !== null && this.ctx.req.httpVersionMajor === 2)
      this.#trailers = normalizeTrailers(trailers);
    if (this.gone || this.#ended) return;
    this.#ended = true;
    endSoon(this);
  }

  /** Called by the end batch: sends the body's last bytes, if held, and ends the response. */
  finish(): void {
    if (this.gone) return;
    const last = this.#last;
    this.#last = undefined;
    if (this.#trailers !== undefined) this.ctx.res.addTrailers(this.#trailers);
    try {
      if (last === undefined) this.ctx.res.end();
      else this.ctx.res.end(last);
    } catch (err) {
      // Never seen; one response failing must not strand the rest of its batch.
      this.logger.debug({ err, origin: this.origin }, 'response end failed');
      this.ctx.res.destroy();
    }
    this.#settle({ kind: 'response', status: this.#status });
  }

  onError(err: Error): void {
    const ctx = this.ctx;
    if (this.gone || this.settled) {
      this.#settle(aborted(ctx));
      return;
    }
    if (this.#ended) {
      // The server sent every byte it announced; the end batch sends them.
      this.#settle({ kind: 'response', status: this.#status });
      return;
    }
    if (this.#headSent) {
      ctx.log.error = 'upstream_reset';
      this.logger.debug({ err, origin: this.origin }, 'response stream failed');
      ctx.res.destroy();
      this.#settle({ kind: 'error', reason: 'reset', responseStarted: true });
      return;
    }
    if (this.redispatch) {
      const refused = refusal(err);
      if (refused !== undefined) {
        this.logger.debug({ err, origin: this.origin }, 'upstream connect failed, redispatching');
        this.#settle(refused);
        return;
      }
    }
    void answerFailure(ctx, err, this.logger, this.origin).then((outcome) => this.#settle(outcome));
  }

  #settle(outcome: ForwardOutcome): void {
    if (this.settled) return;
    this.settled = true;
    const ctx = this.ctx;
    if (ctx.goneListener === this) ctx.goneListener = undefined;
    if (this.#onDrain !== undefined) ctx.res.off('drain', this.#onDrain);
    if (this.#headSent && ctx.router !== undefined) ctx.scope.connections.delete(ctx.router, ctx.res);
    this.resolve(outcome);
  }
}

/**
 * The path when a middleware wraps `ctx.respond` (headers, compress, retry, ...): the response
 * body goes to `ctx.respond` as a stream, like undici's `request()` API gives it, but through
 * `dispatch` with one exchange object and a plain Readable: no AbortController and abort
 * listeners per request, no undici API wrappers (≈ 10% of such a request's CPU). Same outcomes
 * as the request API path below: 502/504 through `ctx.respond` before any response, a reset
 * when the body fails after it, backpressure kept through the Readable.
 */
function dispatchStream(
  ctx: HttpRequestContext,
  target: ForwardTarget,
  transport: TransportSettings,
  hasRequestBody: boolean,
  pool: Dispatcher,
  logger: Logger,
  redispatch: boolean,
): Promise<ForwardOutcome> {
  const options = dispatchOptions(ctx, target, transport, hasRequestBody);
  return new Promise<ForwardOutcome>((resolve) => {
    const exchange = new StreamExchange(ctx, target.server.origin, logger, resolve, redispatch);
    ctx.goneListener = exchange;
    if (ctx.gone) exchange.clientGone();
    pool.dispatch(options, exchange);
  });
}

/** A response body fed by a StreamExchange: reading resumes undici, destroying it aborts the request. */
class UpstreamBody extends Readable implements TrailerCarrier {
  readonly #exchange: StreamExchange;
  /** Set when the server's answer is complete, before the body ends (upstream-trailers.ts). */
  trailers: Record<string, string> | undefined = undefined;

  constructor(exchange: StreamExchange) {
    super();
    this.#exchange = exchange;
  }

  override _read(): void {
    this.#exchange.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#exchange.bodyDestroyed(err);
    callback(err);
  }
}

class StreamExchange extends UpstreamExchange {
  #body: UpstreamBody | undefined = undefined;

  clientGone(): void {
    if (this.gone || this.settled) return;
    this.gone = true;
    this.abort?.(new Error('client went away'));
  }

  resume(): void {
    this.resumeUpstream?.();
  }

  bodyDestroyed(err: Error | null): void {
    // Whoever reads the body gave up on it (or it failed): the server's answer is no longer wanted.
    this.abort?.(err ?? new Error('response body destroyed'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (this.gone || statusCode < 200) return true;
    const ctx = this.ctx;
    this.resumeUpstream = resume;
    ctx.log.upstreamHeadersAt = process.hrtime.bigint();
    const headers = downstreamRawHeaders(rawHeaders);
    // An upload still running when the answer starts (an early 413, say) leaves unread bytes on the socket.
    if (!ctx.req.complete) headers['connection'] = 'close';
    const body = new UpstreamBody(this);
    this.#body = body;
    void ctx.respond(statusCode, headers, body).then(() => this.#responded(statusCode, body));
    return true;
  }

  onData(chunk: Buffer): boolean {
    const body = this.#body;
    if (body === undefined || body.destroyed) return true;
    return body.push(chunk);
  }

  onComplete(trailers: unknown): void {
    const body = this.#body;
    if (body === undefined || body.destroyed) return;
    body.trailers = normalizeTrailers(trailers);
    body.push(null);
  }

  onError(err: Error): void {
    const body = this.#body;
    if (body !== undefined) {
      // After the head: the body fails; `#responded` reads that once `respond` is done.
      if (!body.destroyed) body.destroy(err);
      return;
    }
    if (this.gone) {
      this.#settle(aborted(this.ctx));
      return;
    }
    if (this.redispatch) {
      const refused = refusal(err);
      if (refused !== undefined) {
        this.logger.debug({ err, origin: this.origin }, 'upstream connect failed, redispatching');
        this.#settle(refused);
        return;
      }
    }
    void answerFailure(this.ctx, err, this.logger, this.origin).then((outcome) => this.#settle(outcome));
  }

  #responded(status: number, body: UpstreamBody): void {
    if (body.errored && !this.gone) {
      this.ctx.log.error = 'upstream_reset';
      this.logger.debug({ err: body.errored, origin: this.origin }, 'response stream failed');
      this.#settle({ kind: 'error', reason: 'reset', responseStarted: true });
      return;
    }
    this.#settle({ kind: 'response', status });
  }

  #settle(outcome: ForwardOutcome): void {
    if (this.settled) return;
    this.settled = true;
    if (this.ctx.goneListener === this) this.ctx.goneListener = undefined;
    this.resolve(outcome);
  }
}

/** An Upgrade request: the same routing, middlewares and balancing, then a raw tunnel instead of undici. */
async function forwardUpgrade(
  ctx: HttpRequestContext,
  upgrade: UpgradeSocket,
  target: ForwardTarget,
  transport: TransportSettings,
): Promise<ForwardOutcome> {
  const { req, res } = ctx;
  const router = ctx.router;
  let tunnel: { destroy(): void } | undefined;
  let tunnelClosed: ((at: bigint) => void) | undefined;
  const headers = requestHeaders(ctx, target, req.headers.upgrade ?? 'websocket');
  const result = await relayUpgrade({
    socket: upgrade.socket,
    head: upgrade.head,
    server: target.server,
    transport,
    method: req.method ?? 'GET',
    target: ctx.target,
    headers,
    onAnswer: () => {
      ctx.log.upstreamHeadersAt = process.hrtime.bigint();
      if (res.socket) res.detachSocket(res.socket);
    },
    onOpen: (t) => {
      tunnel = t;
      if (router !== undefined) ctx.scope.connections.add(router, t);
      // The access log writes the line when the tunnel closes, with its life's duration and bytes.
      const log = {
        bytesIn: 0,
        bytesOut: 0,
        closed: new Promise<bigint>((resolve) => (tunnelClosed = resolve)),
      };
      ctx.log.tunnel = log;
    },
    onClose: (bytes) => {
      if (router !== undefined && tunnel !== undefined) ctx.scope.connections.delete(router, tunnel);
      const log = ctx.log.tunnel;
      if (log !== undefined) {
        log.bytesIn = bytes.fromClient;
        log.bytesOut = bytes.toClient;
      }
      tunnelClosed?.(process.hrtime.bigint());
    },
  });
  if (result.kind === 'upgraded') {
    ctx.log.status = 101;
    return { kind: 'response', status: 101 };
  }
  if (result.kind === 'response') {
    ctx.log.status = result.status;
    return { kind: 'response', status: result.status };
  }
  if (result.reason === 'aborted') return aborted(ctx);
  const timeout = result.reason === 'timeout';
  ctx.log.error = timeout ? 'upstream_timeout' : 'upstream_error';
  await ctx.respond(timeout ? 504 : 502, TEXT_HEADERS_CLOSE, timeout ? 'Gateway Timeout\n' : 'Bad Gateway\n');
  return { kind: 'error', reason: result.reason, responseStarted: false };
}

/**
 * An IP too: anything falsy would make undici fall back to the client's Host header. The pools'
 * connector (tls/server-name.ts) sends no IP as SNI and checks the certificate against it.
 */
function serverNameOf(target: ForwardTarget, tls: TlsSettings): string {
  return serverNameFor(target.server.url, tls.servername);
}

function aborted(ctx: RequestContext): ForwardOutcome {
  ctx.log.error ??= 'client_aborted';
  return ABORTED;
}

function requestHeaders(ctx: RequestContext, target: ForwardTarget, upgrade?: string): string[] {
  const req = ctx.req;
  const host = req.headers.host;
  const own = ctx instanceof HttpRequestContext ? ctx : undefined;
  return upstreamRequestHeaders(req.rawHeaders, {
    peerIp: own ? own.peerIp : clientAddress(req.socket.remoteAddress),
    proto: ctx.scheme,
    host,
    upstreamHost: target.passHostHeader ? host : undefined,
    trusted: own ? own.trusted : false,
    serverName: own ? own.scope.nodeName : '',
    overrides: ctx.upstreamHeaders,
    ...(upgrade === undefined ? {} : { upgrade }),
  });
}

/** `false` for a request without a body: an empty stream would make undici send `transfer-encoding: chunked`. */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  // HTTP/2 needs no content-length: a body follows unless the HEADERS frame ended the stream
  // (a mirrored copy has no stream: it has a body unless it is already complete).
  if (req.httpVersionMajor !== 2) return false;
  const stream = (req as unknown as Partial<Http2ServerRequest>).stream;
  return stream === undefined ? !req.complete : !stream.endAfterHeaders;
}

/** Bytes of request body buffered between client and server: a socket read's worth, so a fast upload is not throttled. */
const BODY_BUFFER = 64 * 1024;

/**
 * A PassThrough rather than `req` itself, because undici destroys the body on failure and
 * destroying `req` would kill the client socket before a 502 could be written.
 */
function requestBody(req: IncomingMessage): PassThrough {
  const body = new PassThrough({ highWaterMark: BODY_BUFFER });
  req.pipe(body);
  return body;
}

/**
 * An upstream failure before any response: 504 for timeouts, 502 otherwise, through `ctx.respond`
 * after `ctx.log.error` is set (retry recognises a proxy-made failure by it).
 */
async function answerFailure(
  ctx: RequestContext,
  err: unknown,
  logger: Logger,
  origin: string,
): Promise<ForwardOutcome> {
  const timeout = isTimeout(err);
  ctx.log.error = timeout ? 'upstream_timeout' : 'upstream_error';
  logger.debug({ err, origin }, 'upstream request failed');
  // The body may be partly unread; closing is cheaper than draining an upload nobody wants.
  const headers = ctx.req.complete ? TEXT_HEADERS : TEXT_HEADERS_CLOSE;
  await ctx.respond(timeout ? 504 : 502, headers, timeout ? 'Gateway Timeout\n' : 'Bad Gateway\n');
  return { kind: 'error', reason: timeout ? 'timeout' : reasonOf(err), responseStarted: false };
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}

/**
 * `refused` for a failure to connect, when nothing of the request can have reached the server:
 * refused, unreachable, unresolvable, or the connect timed out.
 */
function refusal(err: unknown): ForwardOutcome | undefined {
  const code = codeOf(err);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return CONNECT_TIMED_OUT;
  return isConnectFailure(code) ? REFUSED : undefined;
}

function isConnectFailure(code: unknown): boolean {
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}

function isTimeout(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT';
}

function reasonOf(err: unknown): 'connect' | 'reset' | 'protocol' {
  const code = codeOf(err);
  if (isConnectFailure(code)) return 'connect';
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE') return 'reset';
  return 'protocol';
}
