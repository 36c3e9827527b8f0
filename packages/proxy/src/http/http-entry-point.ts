// The HTTP server of one entry point: builds each request's context, routes it on the runtime live at its start, runs the router's handler.
import type { IncomingMessage, Server } from 'node:http';
import { createServer, ServerResponse } from 'node:http';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, ServerHttp2Session } from 'node:http2';
import { createServer as createHttp2Server, constants as h2constants } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { ConnectionFacts, HttpHandoff } from '../edge/contract.js';
import { setConnectionFacts } from '../edge/contract.js';
import { routeRequest } from '../runtime/route-request.js';
import type { RuntimeSource } from '../runtime/runtime-switch.js';
import { ACME_CHALLENGE_PREFIX, type RouterEntry, type Runtime } from '../runtime/types.js';
import { misdirected } from '../tls/tls-terminator.js';
import type { RequestRecord } from './context.js';
import type { EntryPointRedirect, EntryPointSettings } from './entry-point-settings.js';
import { entryPointSettings } from './entry-point-settings.js';
import { FAST_PATH_AVAILABLE, FastConnection, type FastScope } from './fast/fast-connection.js';
import type { UpstreamPools } from './fast/upstream.js';
import type { Forward } from './forward-types.js';
import { forwardedClientIp, isTrusted } from './forwarded-headers.js';
import type { TransportSource } from './forwarder.js';
import { H2Request, H2Response } from './h2-compat.js';
import { H2Liveness } from './h2-liveness.js';
import { answerRedirect } from './middlewares/answer-a.js';
import { requestAuthority, schemeLocation } from './middlewares/redirect-scheme.js';
import type { EntryPointScope } from './request-context.js';
import { HttpRequestContext, TEXT_HEADERS, TEXT_HEADERS_CLOSE } from './request-context.js';
import { clientAddress, parseRequest, peerOf, setPeer } from './request-view.js';
import { RouteConnections } from './route-connections.js';
import type { TransportSettings } from './servers-transport.js';
import { framingError, headerCount } from './strict-request.js';
import { writeBadRequest, writeHeadersTooLarge } from './upgrade.js';

export interface EntryPointOptions {
  name: string;
  runtimes: RuntimeSource;
  /** Used for routers without a composed handler (service balancer, then forward). */
  forward: Forward;
  /** Transports of the live snapshot, for Upgrade requests and the fallback's service transport. */
  transports: TransportSource;
  logger: Logger;
  /** X-Forwarded-Server; empty to omit it. */
  nodeName?: string;
  settings?: EntryPointSettings;
  /** Called once per request when its handling is over (access log, metrics). */
  onRequestEnd?: (ctx: RequestRecord) => void;
  /** Server connections of the raw HTTP/1.1 fast path; without them every request goes through node:http. */
  fastPools?: UpstreamPools;
}

/**
 * How often Node checks request deadlines (readTimeout). Fixed when the server is created, so
 * it is short enough for any configured timeout to land within about half a second.
 */
const DEADLINE_CHECK_MS = 500;

type ServerWithLimits = Server & { maxHeaderSize?: number };

/**
 * node:http keeps at most `maxHeadersCount` headers and drops the rest silently (rawHeaders too,
 * in batches of 32): one more than the limit lets the count see an overlong head whole enough to
 * refuse it, and keeps every header of one within the limit.
 */
function nodeMaxHeadersCount(maxHeaderCount: number): number {
  return maxHeaderCount + 1;
}

/**
 * nghttp2 refuses a header block of more entries than `maxHeaderListPairs` with a stream reset
 * (ENHANCE_YOUR_CALM). Above the count limit and above anything `maxHeaderListSize` lets
 * through (each field costs its length plus 32 bytes), every request with too many headers
 * reaches the stream handler and gets the same 431 as on HTTP/1.1; the pseudo-headers count too.
 */
function h2MaxHeaderListPairs(settings: EntryPointSettings): number {
  return Math.max(settings.maxHeaderCount, Math.ceil(settings.maxHeaderBytes / 32)) + 8;
}

/**
 * The listener's options can change with every snapshot without touching open connections:
 * Node reads the timeouts and the header limit from the server object per connection or per
 * request, and the rest is read from `settings` per request.
 */
export class HttpEntryPoint implements EntryPointScope, HttpHandoff, FastScope {
  readonly name: string;
  readonly nodeName: string;
  readonly server: Server;
  readonly connections = new RouteConnections();
  #settings: EntryPointSettings;
  readonly #runtimes: RuntimeSource;
  readonly #forward: Forward;
  readonly #transports: TransportSource;
  readonly #logger: Logger;
  readonly #onRequestEnd: ((ctx: RequestRecord) => void) | undefined;
  /** HTTP/2 over TLS (ALPN `h2`); made on the first such connection. */
  #h2: Http2Server | undefined;
  readonly #h2Sessions = new Set<ServerHttp2Session>();
  readonly #fastPools: UpstreamPools | undefined;
  readonly fastConnections = new Set<FastConnection>();
  fastRequests = 0;
  #idleSweep: NodeJS.Timeout | undefined = undefined;
  #draining = false;

  constructor(opts: EntryPointOptions) {
    this.name = opts.name;
    this.nodeName = opts.nodeName ?? '';
    this.#runtimes = opts.runtimes;
    this.#forward = opts.forward;
    this.#transports = opts.transports;
    this.#logger = opts.logger;
    this.#onRequestEnd = opts.onRequestEnd;
    this.#fastPools = FAST_PATH_AVAILABLE ? opts.fastPools : undefined;
    this.#settings = opts.settings ?? entryPointSettings(undefined);
    this.server = createServer(
      {
        keepAlive: true,
        // Lenient parsing is what request smuggling feeds on.
        insecureHTTPParser: false,
        connectionsCheckingInterval: DEADLINE_CHECK_MS,
        maxHeaderSize: this.#settings.maxHeaderBytes,
        requestTimeout: this.#settings.readTimeoutMs,
        headersTimeout: this.#settings.readTimeoutMs,
      },
      (req, res) => this.#onRequest(req, res),
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.#onUpgrade(req, socket, head),
    );
    this.configure(this.#settings);
  }

  get settings(): EntryPointSettings {
    return this.#settings;
  }

  /** Applies new options; open connections stay, and each option applies from its next use. */
  configure(settings: EntryPointSettings): void {
    const before = this.#settings;
    this.#settings = settings;
    // HTTP/2 settings are sent when a session starts: new ones take a new (never listening) server.
    if (
      before.h2MaxConcurrentStreams !== settings.h2MaxConcurrentStreams ||
      before.maxHeaderBytes !== settings.maxHeaderBytes ||
      before.maxHeaderCount !== settings.maxHeaderCount
    )
      this.#h2 = undefined;
    const server = this.server as ServerWithLimits;
    server.maxHeaderSize = settings.maxHeaderBytes;
    server.maxHeadersCount = nodeMaxHeadersCount(settings.maxHeaderCount);
    server.requestTimeout = settings.readTimeoutMs;
    server.headersTimeout = settings.readTimeoutMs;
    server.keepAliveTimeout = settings.idleTimeoutMs;
    if (before.idleTimeoutMs !== settings.idleTimeoutMs && this.#idleSweep !== undefined) {
      clearInterval(this.#idleSweep);
      this.#idleSweep = undefined;
      if (this.fastConnections.size > 0) this.#watchIdle();
    }
    this.#h2?.setTimeout(settings.idleTimeoutMs);
  }

  /** A new plain connection: the fast path when it can serve (fast/fast-connection.ts), else node:http. */
  accept(socket: Socket): void {
    if (this.#fastPools !== undefined && !this.#draining) {
      new FastConnection(this, socket);
      this.#watchIdle();
      // The front door may have paused the socket to peek: flowing again, the bytes it put back come first.
      if (socket.isPaused()) socket.resume();
      return;
    }
    this.#toNodeHttp(socket);
  }

  /**
   * node:http takes the connection. Whoever had it (the front door peeking, the fast path)
   * paused it and put its unread bytes back: flowing again, they reach the parser through its
   * data listener on the next tick, before any I/O callback could hand it newer bytes.
   */
  #toNodeHttp(socket: Socket): void {
    this.server.emit('connection', socket);
    if (socket.isPaused()) socket.resume();
  }

  // FastScope: what the fast path reads from its entry point.
  get runtime(): Runtime | undefined {
    return this.#runtimes.current;
  }

  get logger(): Logger {
    return this.#logger;
  }

  get pools(): UpstreamPools {
    return this.#fastPools!;
  }

  get draining(): boolean {
    return this.#draining;
  }

  transport(name: string | undefined): TransportSettings {
    return this.#transports.transports.get(name);
  }

  handoff(socket: Socket, unread: Buffer): void {
    socket.pause();
    if (unread.length > 0) socket.unshift(unread);
    this.#toNodeHttp(socket);
  }

  requestEnded(record: RequestRecord): void {
    if (this.#onRequestEnd === undefined) return;
    try {
      this.#onRequestEnd(record);
    } catch (err) {
      this.#logger.error({ err, entryPoint: this.name }, 'onRequestEnd failed');
    }
  }

  /** idleTimeout for fast connections: one sweep per entry point while it has any, at a quarter of the timeout (≤ 1 s). */
  #watchIdle(): void {
    const idle = this.#settings.idleTimeoutMs;
    if (this.#idleSweep !== undefined || idle <= 0) return;
    const every = Math.min(1000, Math.max(10, Math.floor(idle / 4)));
    // A connection closes after this many ticks without a request: between idle and idle + one tick.
    const ticks = Math.ceil(idle / every);
    this.#idleSweep = setInterval(() => this.#sweepIdle(ticks), every);
    this.#idleSweep.unref();
  }

  #sweepIdle(ticks: number): void {
    if (this.fastConnections.size === 0) {
      clearInterval(this.#idleSweep);
      this.#idleSweep = undefined;
      return;
    }
    for (const conn of this.fastConnections) conn.idleTick(ticks);
  }

  /** Draining: fast connections close once idle, and new ones go to node:http (which drains its own). */
  drainFast(): void {
    this.#draining = true;
    for (const conn of this.fastConnections) conn.closeIfIdle();
  }

  /**
   * The front door's hand-off: a plain socket, or a handshaken TLS socket (ALPN `h2`: HTTP/2,
   * otherwise HTTP/1.1). Either way the same routing, middlewares and forwarder serve it; only
   * TLS routers answer TLS requests, and only plain routers plain ones.
   */
  serve(socket: Socket | TLSSocket, facts: ConnectionFacts): void {
    setConnectionFacts(socket, facts);
    // The client's address as the front door learnt it (PROXY protocol), read once per connection.
    setPeer(socket, clientAddress(facts.clientIp));
    if ((socket as TLSSocket).alpnProtocol === 'h2') {
      // HTTP/2 knows no half-closed connection, and the listener allows one (for TCP routes): a
      // client's FIN means it is gone (process killed, socket closed with streams open), so its
      // streams, their upstream requests and the connection end now, not when the backends end.
      socket.once('end', () => socket.destroy());
      this.#http2().emit('connection', socket);
      return;
    }
    if ((socket as Partial<TLSSocket>).encrypted === true) this.#toNodeHttp(socket);
    else this.accept(socket);
  }

  #http2(): Http2Server {
    if (this.#h2 === undefined) {
      const h2 = createHttp2Server({
        maxSendHeaderBlockLength: 64 * 1024,
        maxHeaderListPairs: h2MaxHeaderListPairs(this.#settings),
        settings: {
          maxHeaderListSize: this.#settings.maxHeaderBytes,
          maxConcurrentStreams: this.#settings.h2MaxConcurrentStreams,
        },
        // Node's types know these options but not their subclass constructors' signatures.
        Http2ServerRequest: H2Request as unknown as typeof Http2ServerRequest,
        Http2ServerResponse: H2Response as unknown as typeof Http2ServerResponse,
      });
      h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => this.#onH2Request(req, res));
      h2.on('session', (session: ServerHttp2Session) => {
        this.#h2Sessions.add(session);
        session.once('close', () => this.#h2Sessions.delete(session));
        new H2Liveness(
          session,
          session.socket,
          () => this.#settings.h2KeepAlive,
          () => {
            this.#logger.debug(
              { entryPoint: this.name, client: peerOf(session.socket) },
              'HTTP/2 client did not answer a PING: connection closed with its streams',
            );
            session.destroy();
          },
        );
      });
      h2.on('sessionError', (err: Error) =>
        this.#logger.debug({ err, entryPoint: this.name }, 'HTTP/2 session error'),
      );
      h2.setTimeout(this.#settings.idleTimeoutMs);
      this.#h2 = h2;
    }
    return this.#h2;
  }

  /** Open HTTP/2 sessions (each a TLS connection); `server` tracks the HTTP/1.1 ones. */
  get http2Sessions(): number {
    return this.#h2Sessions.size;
  }

  /**
   * Draining: every HTTP/2 session gets a GOAWAY and closes once its open streams are done
   * (`now`: closes them at once, streams and all).
   */
  closeHttp2(now = false): void {
    for (const session of this.#h2Sessions) {
      if (now) session.destroy();
      else session.close();
    }
  }

  /**
   * After a snapshot swap: exchanges of routers this entry point no longer has are closed after
   * `graceMs`, unless the router comes back by then.
   */
  routesChanged(graceMs: number): void {
    this.connections.retire((router) => this.#hasRouter(router), graceMs);
  }

  #hasRouter(router: string): boolean {
    // The table indexes its routers by name: no scan of 10,000 routes per snapshot.
    return this.#runtimes.current?.routers.get(this.name)?.has(router) === true;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    // Read once: a swap during this request must not change where it goes.
    const runtime = this.#runtimes.current;
    if (headerCount(req.rawHeaders, false) > this.#settings.maxHeaderCount) {
      reject431(res);
      return;
    }
    if (framingError(req) !== null) {
      reject400(res);
      return;
    }
    void this.#run(this.#context(req, res), runtime);
  }

  /** The HTTP/2 request and response stand in for HTTP/1.1 ones (see h2-compat.ts). */
  #onH2Request(req: Http2ServerRequest, res: Http2ServerResponse): void {
    if (headerCount(req.rawHeaders, true) > this.#settings.maxHeaderCount) {
      const text = 'Request Header Fields Too Large\n';
      res.writeHead(431, { ...TEXT_HEADERS, 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const runtime = this.#runtimes.current;
    // readTimeout, as node:http applies it to HTTP/1.1: the whole request, body included, in time.
    const readTimeout = this.#settings.readTimeoutMs;
    if (readTimeout > 0 && !req.complete) {
      const stream = req.stream;
      const timer = setTimeout(() => {
        if (!req.complete && !stream.destroyed) stream.close(h2constants.NGHTTP2_CANCEL);
      }, readTimeout);
      const clear = (): void => clearTimeout(timer);
      req.once('end', clear);
      stream.once('close', clear);
    }
    void this.#run(
      this.#context(req as unknown as IncomingMessage, res as unknown as ServerResponse),
      runtime,
    );
  }

  #context(req: IncomingMessage, res: ServerResponse): HttpRequestContext {
    const { view, target } = parseRequest(req);
    const peer = peerOf(req.socket);
    const trust = this.#settings.forwarded;
    const trusted = (trust.insecure || trust.trustedIPs !== null) && isTrusted(peer, trust);
    view.clientIp = trusted ? forwardedClientIp(peer, req.headers['x-forwarded-for'], trust) : peer;
    const ctx = new HttpRequestContext(this, req, res, view, target, peer, trusted);
    // Through an HTTP/2 stream, `req.socket` forwards to the TLS socket too.
    if ((req.socket as Partial<TLSSocket>).encrypted === true) {
      ctx.tls = true;
      ctx.scheme = 'https';
    }
    // Behind a trusted TLS-terminating proxy the client spoke https: redirectScheme and HSTS must know.
    if (trusted) {
      const proto = req.headers['x-forwarded-proto'];
      const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
      if (first === 'https' || first === 'http') ctx.scheme = first;
    }
    return ctx;
  }

  async #run(ctx: HttpRequestContext, runtime: Runtime | undefined): Promise<void> {
    const writeTimeout = ctx.upgrade === undefined ? this.#settings.writeTimeoutMs : 0;
    const timer = writeTimeout > 0 ? setTimeout(cutSlowWriter, writeTimeout, ctx.res) : undefined;
    try {
      // ACME HTTP-01 answers come before any router or redirect, as the CA asks on plain :80.
      const acme = runtime?.acmeHttp01?.get(this.name);
      if (acme !== undefined && ctx.view.path.startsWith(ACME_CHALLENGE_PREFIX)) {
        const answer = acme.get(ctx.view.path.slice(ACME_CHALLENGE_PREFIX.length));
        if (answer !== undefined) {
          ctx.log.router = 'acme-http-01@internal';
          await ctx.respond(200, ACME_ANSWER_HEADERS, answer);
          return;
        }
      }
      if (ctx.tls && misdirected(ctx.req.socket, ctx.view.host)) {
        ctx.log.error = 'misdirected';
        await ctx.respond(421, TEXT_HEADERS, 'Misdirected Request\n');
        return;
      }
      const router = runtime && routeRequest(runtime, this.name, ctx.view, ctx.tls);
      const redirect = this.#settings.redirect;
      if (redirect !== null && redirects(redirect, ctx, router)) {
        ctx.log.router = `${this.name}-to-${redirect.scheme}@internal`;
        await answerRedirect(
          ctx,
          schemeLocation(redirect.scheme, redirect.port, requestAuthority(ctx), ctx.target),
          redirect.permanent,
        );
        return;
      }
      if (!runtime || !router) {
        ctx.log.error = 'no_route';
        await ctx.respond(404, TEXT_HEADERS, '404 page not found\n');
        return;
      }
      ctx.router = router.name;
      ctx.log.router = router.name;
      ctx.log.service = router.service;
      if (router.handler !== undefined) await router.handler(ctx);
      else await this.#balanceAndForward(ctx, runtime, router);
    } catch (err) {
      this.#logger.error({ err, entryPoint: this.name }, 'request handling failed');
      ctx.log.error = 'internal';
      await ctx.respond(500, TEXT_HEADERS_CLOSE, 'Internal Server Error\n');
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (this.#onRequestEnd !== undefined) {
        try {
          this.#onRequestEnd(ctx);
        } catch (err) {
          this.#logger.error({ err, entryPoint: this.name }, 'onRequestEnd failed');
        }
      }
    }
  }

  /** Today's service handling, for runtimes whose routers carry no composed handler. */
  async #balanceAndForward(ctx: HttpRequestContext, runtime: Runtime, router: RouterEntry): Promise<void> {
    const service = runtime.services.get(router.service);
    const server = service?.balancer.next();
    if (!service || !server) {
      ctx.log.error = 'no_server';
      await ctx.respond(503, TEXT_HEADERS, 'Service Unavailable\n');
      return;
    }
    const transport = this.#transports.transports.nameForService(service.name);
    await this.#forward(ctx, {
      server,
      passHostHeader: service.passHostHeader,
      ...(transport === undefined ? {} : { serversTransport: transport }),
    });
  }

  /**
   * An Upgrade request goes through the same routing, middlewares and balancing as any other:
   * a ServerResponse on the raw socket lets them answer (401, 403, 429...), and the forwarder
   * tunnels instead of calling undici.
   */
  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', noop);
    if (headerCount(req.rawHeaders, false) > this.#settings.maxHeaderCount) {
      writeHeadersTooLarge(socket);
      return;
    }
    if (framingError(req) !== null) {
      writeBadRequest(socket);
      return;
    }
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    try {
      res.assignSocket(socket as Socket);
    } catch (err) {
      this.#logger.debug({ err, entryPoint: this.name }, 'upgrade socket unusable');
      socket.destroy();
      return;
    }
    // Whoever answers instead of a tunnel ends the exchange; the connection goes with it.
    res.once('finish', () => socket.end());
    const ctx = this.#context(req, res);
    ctx.upgrade = { socket, head };
    void this.#run(ctx, this.#runtimes.current);
  }
}

function noop(): void {}

const ACME_ANSWER_HEADERS = { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' };

function redirects(
  redirect: EntryPointRedirect,
  ctx: HttpRequestContext,
  router: RouterEntry | undefined,
): boolean {
  if (ctx.scheme === redirect.scheme) return false;
  if (ctx.view.path.startsWith(ACME_CHALLENGE_PREFIX)) return false;
  return router === undefined || router.priority <= redirect.priority;
}

/** The request cannot be framed unambiguously: answer 400 and drop the connection, unread bytes and all. */
function reject400(res: ServerResponse): void {
  const text = 'Bad Request\n';
  res.writeHead(400, { ...TEXT_HEADERS_CLOSE, 'content-length': Buffer.byteLength(text) });
  const socket = res.socket;
  res.end(text, () => socket?.destroy());
}

/**
 * More header lines than `http.maxHeaderCount`: 431, as for too many bytes, and the connection
 * closes (a body may follow that nobody reads).
 */
function reject431(res: ServerResponse): void {
  const text = 'Request Header Fields Too Large\n';
  res.writeHead(431, { ...TEXT_HEADERS_CLOSE, 'content-length': Buffer.byteLength(text) });
  const socket = res.socket;
  res.end(text, () => socket?.destroy());
}

/** writeTimeout: the response has not been completely written in time. */
function cutSlowWriter(res: ServerResponse): void {
  if (!res.writableFinished) res.destroy();
}
