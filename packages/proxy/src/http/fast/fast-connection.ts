// The raw-socket HTTP/1.1 fast path: keep-alive GET and HEAD requests to routers without middlewares, parsed by llhttp and relayed over pooled server connections, without node:http or undici. Everything else is handed to node:http.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestView } from '@berth/config';
import type { Logger } from 'pino';
import { routeRequest } from '../../runtime/route-request.js';

import {
  ACME_CHALLENGE_PREFIX,
  type DirectService,
  type Runtime,
  type ServerTarget,
} from '../../runtime/types.js';
import type { RequestLog, RequestRecord } from '../context.js';
import { endSoon, type Finishable } from '../end-batch.js';
import type { EntryPointSettings } from '../entry-point-settings.js';
import {
  connectionTokens,
  FORWARDED,
  forwardedClientIp,
  HOP_BY_HOP,
  isPlain,
  isTrusted,
  upstreamRequestHeaders,
} from '../forwarded-headers.js';
import { TEXT_HEADERS } from '../request-context.js';
import { hostOf, peerOf } from '../request-view.js';
import type { RouteConnections } from '../route-connections.js';
import type { TransportSettings } from '../servers-transport.js';
import { llhttp, type NativeParser, releaseParser, requestParser } from './llhttp.js';
import type { UpstreamConnection, UpstreamExchange, UpstreamPools } from './upstream.js';
import { NO_BODY, PARSER_FRAMED } from './upstream.js';

/** `BERTH_FAST_PATH=0` serves every request through node:http and undici. */
export const FAST_PATH_AVAILABLE = llhttp !== undefined && process.env['BERTH_FAST_PATH'] !== '0';

export const FAST_PATH_FAILED = 'BERTH_PROXY_FAST_PATH';

/** What the entry point gives its fast connections. */
export interface FastScope {
  readonly logger: Logger;
  readonly name: string;
  readonly nodeName: string;
  readonly connections: RouteConnections;
  readonly settings: EntryPointSettings;
  /** The live runtime, read once per request. */
  readonly runtime: Runtime | undefined;
  transport(name: string | undefined): TransportSettings;
  readonly pools: UpstreamPools;
  /** Gives the connection to node:http, `unread` bytes first. */
  handoff(socket: Socket, unread: Buffer): void;
  requestEnded(record: RequestRecord): void;
  /** Draining: connections close after their current exchange. */
  readonly draining: boolean;
  readonly fastConnections: Set<FastConnection>;
  /** Requests the fast path has served (diagnostics and tests). */
  fastRequests: number;
}

const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
/** Bytes queued for a client before its server is paused. */
const OUT_HIGH_WATER = 64 * 1024;
/** Queued pieces up to this size are copied into one buffer: one plain write instead of a writev. */
const COALESCE_MAX = 16 * 1024;
const CR = 13;
const LF = 10;
const SLASH = 47;

const kFast = Symbol('berth.fast');
type TaggedSocket = Socket & { [kFast]?: FastConnection };

/**
 * One client connection on the fast path. A request qualifies when its whole head is in hand
 * (one read, as clients send heads), it is HTTP/1.1 keep-alive GET or HEAD without a body,
 * Expect or Upgrade, has one Host, and routes to a router with no middleware whose service
 * is `direct`. Anything else, including every parse error, goes to node:http with the bytes
 * exactly as received (`handoff`), so node:http's answers (400, 431, 404, 503, upgrades) and
 * timeouts stay the ones tested; the connection then stays there.
 */
export class FastConnection implements Finishable {
  readonly socket: Socket;
  readonly scope: FastScope;
  exchange: FastExchange | undefined = undefined;
  /** The head the parser last completed (set from its callback). */
  headParsed = false;
  major = 0;
  minor = 0;
  headers: string[] = [];
  method = -1;
  url = '';
  upgrade = false;
  keepAlive = false;
  partialHeaders: string[] | undefined = undefined;
  partialUrl = '';
  /** Requests started; the idle sweep compares it between ticks. */
  requests = 0;
  #sweepSeen = -1;
  #idleTicks = 0;
  /** The request head needs no header removed or replaced: it is sent upstream as received, plus X-Forwarded-* after Host. */
  plainHead = false;
  /** X-Forwarded-* and X-Real-Ip lines for `suffixHost`, as bytes: the same for every request of the connection. */
  suffix: Buffer | undefined = undefined;
  suffixHost: string | undefined = undefined;
  #parser: NativeParser | undefined = undefined;
  /** Bytes that came after a head while its exchange runs (pipelining). */
  #pending: Buffer | undefined = undefined;
  /** Bytes for the client, written at the end of the loop turn. */
  #out: (string | Buffer)[] = [];
  #outBytes = 0;
  #endAfterFlush = false;
  #detached = false;
  #drainListening = false;
  readonly #onData: (chunk: Buffer) => void;

  constructor(scope: FastScope, socket: Socket) {
    this.scope = scope;
    this.socket = socket;
    (socket as TaggedSocket)[kFast] = this;
    // A closure per connection: a symbol lookup on sockets of many shapes costs more per read.
    this.#onData = (chunk: Buffer) => {
      try {
        this.data(chunk);
      } catch (err) {
        this.internalError(err);
      }
    };
    socket.on('data', this.#onData);
    socket.on('end', onClientEnd);
    socket.on('close', onClientClose);
    socket.on('error', noop);
    scope.fastConnections.add(this);
  }

  data(chunk: Buffer): void {
    if (this.exchange !== undefined || this.#pending !== undefined) {
      this.#pending = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
      this.socket.pause();
      return;
    }
    this.#consume(chunk);
  }

  #consume(data: Buffer): void {
    const first = data[0];
    // Empty lines before a request are legal and rare: node:http deals with them.
    if (first === CR || first === LF) {
      this.#handoff(data);
      return;
    }
    const end = data.indexOf(HEAD_END);
    if (end < 0) {
      this.#handoff(data);
      return;
    }
    const headLength = end + 4;
    const exchange = this.#request(headLength === data.length ? data : data.subarray(0, headLength));
    if (exchange === undefined) {
      this.#handoff(data);
      return;
    }
    if (headLength < data.length) {
      this.#pending = data.subarray(headLength);
      this.socket.pause();
    }
    this.exchange = exchange;
    this.requests++;
    exchange.start();
  }

  /** Parses one complete head; the exchange that serves it, or `undefined` for node:http. */
  #request(head: Buffer): FastExchange | undefined {
    let parser = this.#parser;
    if (parser === undefined) {
      parser = requestParser(this.scope.settings.maxHeaderBytes);
      const P = llhttp!.Parser;
      parser[P.kOnHeaders] = requestHeaders;
      parser[P.kOnHeadersComplete] = requestHeadersComplete;
      parser[P.kOnMessageBegin] = undefined;
      parser[P.kOnBody] = undefined;
      parser[P.kOnMessageComplete] = undefined;
      parser.owner = this;
      this.#parser = parser;
    }
    this.headParsed = false;
    this.partialHeaders = undefined;
    this.partialUrl = '';
    const parsed = parser.execute(head);
    if (parsed !== head.length || !this.headParsed) return undefined;
    // Too many header lines: node:http answers 431 (http-entry-point.ts), as for too many bytes.
    if (this.headers.length > 2 * this.scope.settings.maxHeaderCount) return undefined;
    if (this.major !== 1 || this.minor !== 1 || this.upgrade || !this.keepAlive) return undefined;
    const method = llhttp!.methods[this.method];
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    const url = this.url;
    if (url.charCodeAt(0) !== SLASH) return undefined;
    const headers = this.headers;
    let host: string | undefined;
    let xff: string[] | undefined;
    let plain = true;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (!NOTABLE_LENGTHS[name.length]) continue;
      const lower = name.toLowerCase();
      if (lower === 'host') {
        // Two Host headers: node:http's path refuses the request (strict-request.ts).
        if (host !== undefined) return undefined;
        host = headers[i + 1]!;
      } else if (HANDED_OFF.has(lower)) {
        return undefined;
      } else if (REWRITTEN.has(lower)) {
        plain = false;
        if (lower === 'x-forwarded-for') {
          xff ??= [];
          xff.push(headers[i + 1]!);
        }
      }
    }
    if (host === undefined) return undefined;
    this.plainHead = plain;
    const scope = this.scope;
    const settings = scope.settings;
    if (settings.redirect !== null) return undefined;
    const runtime = scope.runtime;
    if (runtime === undefined) return undefined;
    // An ACME HTTP-01 answer is the entry point's to give (node:http's path), before any route.
    if (runtime.acmeHttp01 !== undefined && url.includes(ACME_CHALLENGE_PREFIX)) return undefined;
    const peer = peerOf(this.socket);
    const trust = settings.forwarded;
    const trusted = (trust.insecure || trust.trustedIPs !== null) && isTrusted(peer, trust);
    const clientIp = trusted ? forwardedClientIp(peer, xff, trust) : peer;
    const view = new FastView(hostOf(host), url, method, clientIp, headers);
    const router = routeRequest(runtime, scope.name, view, false);
    const direct = router?.direct;
    if (router === undefined || direct === undefined) return undefined;
    const transport = scope.transport(direct.serversTransport);
    if (transport.proxyProtocol !== undefined || transport.pool.connections !== undefined) return undefined;
    const server = direct.pick();
    if (server === undefined) return undefined;
    return new FastExchange(
      this,
      router.name,
      direct,
      server,
      transport,
      view,
      url,
      peer,
      trusted,
      host,
      head,
    );
  }

  /** A bug, not bad input: logged, and only this connection pays for it. */
  internalError(err: unknown): void {
    this.scope.logger.error({ err, entryPoint: this.scope.name, code: FAST_PATH_FAILED }, 'fast path failed');
    this.socket.destroy();
  }

  /**
   * Queues bytes for the client; they leave with the loop turn's other responses (end-batch.ts),
   * in one write. False when the queue and the socket's buffer are full: the caller stops
   * reading its server until `flushed` or `drain` resumes it.
   */
  write(data: string | Buffer): boolean {
    const socket = this.socket;
    if (socket.destroyed) return true;
    if (this.#out.length === 0) endSoon(this);
    this.#out.push(data);
    this.#outBytes += data.length;
    return this.#outBytes + socket.writableLength < OUT_HIGH_WATER;
  }

  /** The end batch: everything queued this turn, as one buffer when small. */
  finish(): void {
    const out = this.#out;
    if (out.length === 0) return;
    const bytes = this.#outBytes;
    this.#outBytes = 0;
    const socket = this.socket;
    if (socket.destroyed) {
      out.length = 0;
      return;
    }
    let more: boolean;
    if (out.length === 1) {
      const only = out[0]!;
      more = typeof only === 'string' ? socket.write(only, 'latin1') : socket.write(only);
    } else if (bytes <= COALESCE_MAX) {
      const buffer = Buffer.allocUnsafe(bytes);
      let at = 0;
      for (const piece of out) {
        if (typeof piece === 'string') at += buffer.write(piece, at, 'latin1');
        else at += piece.copy(buffer, at);
      }
      more = socket.write(buffer);
    } else {
      socket.cork();
      for (const piece of out) {
        if (typeof piece === 'string') socket.write(piece, 'latin1');
        else socket.write(piece);
      }
      socket.uncork();
      more = !socket.writableNeedDrain;
    }
    out.length = 0;
    if (this.#endAfterFlush) {
      socket.end();
      return;
    }
    if (more) this.exchange?.resumeUpstream();
    else this.#waitDrain();
  }

  /** The client's socket is full: the exchange resumes its server on `drain`. */
  #waitDrain(): void {
    if (this.#drainListening) return;
    this.#drainListening = true;
    this.socket.on('drain', onClientDrain);
  }

  /** Ends the connection once what is queued is written. */
  #end(): void {
    if (this.#out.length > 0) this.#endAfterFlush = true;
    else this.socket.end();
  }

  /** An exchange is over: the next pipelined request, a pending close, or more reading. */
  exchangeDone(exchange: FastExchange): void {
    if (this.exchange !== exchange) return;
    this.exchange = undefined;
    const socket = this.socket;
    if (this.#detached || socket.destroyed) return;
    if (this.scope.draining) {
      this.#end();
      return;
    }
    const pending = this.#pending;
    if (pending !== undefined) {
      this.#pending = undefined;
      this.#consume(pending);
      if (this.#detached) return;
    }
    if (this.#pending === undefined && socket.isPaused()) socket.resume();
  }

  /** Draining: an idle connection closes now, a busy one after its exchange. */
  closeIfIdle(): void {
    if (this.exchange === undefined && this.#pending === undefined) this.#end();
  }

  /**
   * The client half-closed. As node:http (without httpAllowHalfOpen): requests in flight are
   * abandoned and the connection closes.
   */
  ended(): void {
    if (this.exchange === undefined && this.#pending === undefined) this.#end();
    else this.socket.destroy();
  }

  closed(): void {
    this.#detach();
    this.exchange?.clientGone();
  }

  /**
   * idleTimeout, from the entry point's sweep (no socket timer: refreshing one on every read and
   * write costs more). Only a connection waiting for its next request is idle.
   */
  idleTick(ticksToClose: number): void {
    if (this.exchange !== undefined || this.#pending !== undefined || this.requests !== this.#sweepSeen) {
      this.#sweepSeen = this.requests;
      this.#idleTicks = 0;
      return;
    }
    if (++this.#idleTicks >= ticksToClose) this.socket.destroy();
  }

  #handoff(unread: Buffer): void {
    // What the fast path answered goes first.
    this.finish();
    this.#detach();
    this.scope.handoff(this.socket, unread);
  }

  #detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    const socket = this.socket;
    socket.off('data', this.#onData);
    socket.off('end', onClientEnd);
    socket.off('close', onClientClose);
    socket.off('error', noop);
    if (this.#drainListening) socket.off('drain', onClientDrain);
    this.scope.fastConnections.delete(this);
    if (this.#parser !== undefined) releaseParser(this.#parser, true);
    this.#parser = undefined;
  }
}

/** What rules match on; the header object is built only if a rule asks for it (Header, HeaderRegexp). */
class FastView implements RequestView {
  host: string;
  path: string;
  method: string;
  query: string;
  clientIp: string;
  readonly #raw: readonly string[];
  #headers: Record<string, string | string[]> | undefined = undefined;

  constructor(host: string, url: string, method: string, clientIp: string, raw: readonly string[]) {
    const q = url.indexOf('?');
    this.host = host;
    this.path = q < 0 ? url : url.slice(0, q);
    this.query = q < 0 ? '' : url.slice(q + 1);
    this.method = method;
    this.clientIp = clientIp;
    this.#raw = raw;
  }

  get headers(): Readonly<Record<string, string | string[] | undefined>> {
    this.#headers ??= headerObject(this.#raw);
    return this.#headers;
  }
}

/** Headers node:http keeps the first of when repeated; the others are joined (Cookie with `; `). */
const SINGLE_VALUED = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** `req.headers` as node:http builds it from raw headers. */
export function headerObject(raw: readonly string[]): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prior = out[name];
    if (prior === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (typeof prior !== 'string') prior.push(value);
    else if (!SINGLE_VALUED.has(name)) out[name] = `${prior}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** One request on the fast path, from the routed head to the end of the response. */
class FastExchange implements UpstreamExchange, RequestRecord {
  readonly conn: FastConnection;
  readonly router: string;
  readonly direct: DirectService;
  /** The server the request goes to; another one after a failed connect (redispatch). */
  server: ServerTarget;
  readonly transport: TransportSettings;
  readonly view: FastView;
  readonly method: string;
  readonly url: string;
  readonly clientIp: string;
  readonly startedAt: bigint;
  readonly log: RequestLog;
  #head: string | Buffer;
  readonly #peer: string;
  readonly #trusted: boolean;
  readonly #host: string;
  #upstream: UpstreamConnection | undefined = undefined;
  #attempts = 1;
  /** Servers whose connection failed before the request left; made on the first such failure. */
  #tried: ServerTarget[] | undefined = undefined;
  #headSent = false;
  /** The head of a Content-Length response, written with the body's first bytes. */
  #pendingHead: string | undefined = undefined;
  /** In the entry point's RouteConnections (a response spanning reads). */
  #tracked = false;
  #chunked = false;
  #status = 0;
  #bytes = 0;
  #settled = false;
  #headerTimer: NodeJS.Timeout | undefined = undefined;
  #writeTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    conn: FastConnection,
    router: string,
    direct: DirectService,
    server: ServerTarget,
    transport: TransportSettings,
    view: FastView,
    url: string,
    peer: string,
    trusted: boolean,
    host: string,
    rawHead: Buffer,
  ) {
    this.startedAt = process.hrtime.bigint();
    this.conn = conn;
    this.router = router;
    this.direct = direct;
    this.server = server;
    this.transport = transport;
    this.view = view;
    this.method = view.method;
    this.url = url;
    this.clientIp = view.clientIp;
    this.log = { entryPoint: conn.scope.name, router, service: direct.name, server: server.origin };
    this.#peer = peer;
    this.#trusted = trusted;
    this.#host = host;
    if (conn.plainHead && direct.passHostHeader) {
      // The usual request: its own bytes, with the forwarded headers after Host.
      let suffix = conn.suffix;
      if (suffix === undefined || conn.suffixHost !== host) {
        suffix = forwardedLines(peer, host, trusted, conn.scope.nodeName);
        conn.suffix = suffix;
        conn.suffixHost = host;
      }
      this.#head = withForwarded(rawHead, suffix);
      return;
    }
    this.#head = this.#rewrittenHead(server);
  }

  /** The head with every header rewritten; names `server` as Host when the client's is not passed. */
  #rewrittenHead(server: ServerTarget): string {
    const conn = this.conn;
    const host = this.#host;
    const headers = upstreamRequestHeaders(conn.headers, {
      peerIp: this.#peer,
      proto: 'http',
      host,
      upstreamHost: this.direct.passHostHeader ? host : server.url.host,
      trusted: this.#trusted,
      serverName: conn.scope.nodeName,
    });
    return `${this.method} ${this.url} HTTP/1.1\r\n${headerLines(headers)}\r\n`;
  }

  /** The access log reads `req.method` and `req.url`. */
  get req(): this {
    return this;
  }

  start(): void {
    const writeTimeout = this.conn.scope.settings.writeTimeoutMs;
    if (writeTimeout > 0) this.#writeTimer = setTimeout(cutSlowClient, writeTimeout, this);
    this.#send(false);
  }

  #send(fresh: boolean): void {
    const pool = this.conn.scope.pools.get(this.server, this.transport);
    const upstream = fresh ? pool.dial() : pool.acquire();
    this.#upstream = upstream;
    upstream.send(this, this.#head, this.method === 'HEAD');
    const headerTimeout = this.transport.responseHeaderTimeoutMs;
    if (headerTimeout > 0) {
      clearTimeout(this.#headerTimer);
      this.#headerTimer = setTimeout(responseHeaderTimeout, headerTimeout, this);
    }
  }

  onResponseHead(status: number, headers: readonly string[]): number {
    if (this.#settled) return NO_BODY;
    if (this.#headerTimer !== undefined) {
      clearTimeout(this.#headerTimer);
      this.#headerTimer = undefined;
    }
    const bodyless = this.method === 'HEAD' || status === 204 || status === 304;
    let head = statusLine(status);
    let length = -1;
    let date = false;
    let named: string[] | undefined;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i]!;
      const value = headers[i + 1]!;
      switch (name.length) {
        case 2:
        case 4:
        case 7:
        case 10:
        case 14:
        case 16:
        case 17:
        case 18:
        case 19: {
          const lower = name.toLowerCase();
          // llhttp accepted it: digits only, and one value.
          if (lower === 'content-length') length = Number(value);
          else if (lower === 'date') date = true;
          else if (HOP_BY_HOP.has(lower)) {
            if (lower === 'connection' && !isPlain(value)) {
              named ??= [];
              named.push(value);
            }
            continue;
          }
        }
      }
      head += `${name}: ${value}\r\n`;
    }
    if (named !== undefined) head = withoutNamed(head, named);
    if (!bodyless && length < 0) {
      // Close-delimited or chunked upstream: chunked to the client, so the connection stays open.
      head += 'transfer-encoding: chunked\r\n';
      this.#chunked = true;
    }
    if (!date) head += `date: ${utcDate()}\r\n`;
    const framing = bodyless ? NO_BODY : length >= 0 ? length : PARSER_FRAMED;
    // A Content-Length body's first bytes will join the head in one buffer (onLengthBody).
    if (framing > 0) this.#pendingHead = `${head}\r\n`;
    else this.conn.write(`${head}\r\n`);
    this.#headSent = true;
    this.#status = status;
    const log = this.log;
    log.status = status;
    log.upstreamHeadersAt = process.hrtime.bigint();
    return framing;
  }

  onLengthBody(buffer: Buffer, from: number, to: number): void {
    if (this.#settled) return;
    const take = to - from;
    this.#bytes += take;
    const head = this.#pendingHead;
    let piece: Buffer;
    if (head === undefined) {
      piece = Buffer.allocUnsafe(take);
      buffer.copy(piece, 0, from, to);
    } else {
      this.#pendingHead = undefined;
      piece = Buffer.allocUnsafe(head.length + take);
      piece.write(head, 0, 'latin1');
      buffer.copy(piece, head.length, from, to);
    }
    if (!this.conn.write(piece)) this.#upstream?.socket.pause();
  }

  onResponseBody(chunk: Buffer): void {
    if (this.#settled || !this.#headSent) return;
    this.#bytes += chunk.length;
    const conn = this.conn;
    let more: boolean;
    if (this.#chunked) {
      conn.write(`${chunk.length.toString(16)}\r\n`);
      conn.write(chunk);
      more = conn.write('\r\n');
    } else {
      more = conn.write(chunk);
    }
    // The client reads slower than the server sends: stop reading the server until the queue drains.
    if (!more) this.#upstream?.socket.pause();
  }

  onResponsePending(): void {
    // A response still streaming is what a removed route's grace period applies to; one that
    // completes within the read that brought its head never needs tracking.
    if (!this.#headSent || this.#tracked || this.#settled) return;
    this.#tracked = true;
    this.conn.scope.connections.add(this.router, this);
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    this.#upstream = undefined;
    if (this.#chunked) this.conn.write('0\r\n\r\n');
    this.#settle(this.#status < 500);
  }

  onUpstreamFailure(upstream: UpstreamConnection, reason: 'timeout' | 'invalid' | 'reset'): void {
    if (this.#settled || upstream !== this.#upstream) return;
    this.#upstream = undefined;
    // A kept-alive connection the server closed just as the request went out: nothing was
    // processed, and GET and HEAD may be sent again, once, on a new connection (as Go's and
    // so Traefik's transport does).
    if (
      !this.#headSent &&
      reason === 'reset' &&
      upstream.reused &&
      !upstream.received &&
      this.#attempts === 1
    ) {
      this.#attempts = 2;
      this.#send(true);
      return;
    }
    // Still connecting: the head waits in the socket, nothing reached the server.
    if (!this.#headSent && upstream.connecting && reason !== 'invalid' && this.#redispatch()) return;
    this.#fail(reason);
  }

  /**
   * Sends the request to another server than those whose connection failed, at most
   * MAX_REDISPATCHES times (HAProxy's `retries` with `option redispatch`). Each failed server
   * counts a failure for passive health. False when no other server may take the request.
   */
  #redispatch(): boolean {
    const tried = this.#tried ?? [];
    if (tried.length >= MAX_REDISPATCHES) return false;
    const failed = this.server;
    tried.push(failed);
    const next = this.direct.pick(tried);
    if (next === undefined) return false;
    this.#tried = tried;
    this.direct.done(failed, false);
    this.server = next;
    this.log.server = next.origin;
    this.log.redispatches = tried.length;
    // Only a head naming the server as Host differs from one server to the next.
    if (!this.direct.passHostHeader) this.#head = this.#rewrittenHead(next);
    this.#send(false);
    return true;
  }

  resumeUpstream(): void {
    this.#upstream?.socket.resume();
  }

  headerTimeout(): void {
    this.#headerTimer = undefined;
    const upstream = this.#upstream;
    if (upstream === undefined || this.#headSent || this.#settled) return;
    this.#upstream = undefined;
    upstream.close();
    this.#fail('timeout');
  }

  /** The client's connection closed before the response was complete. */
  clientGone(): void {
    if (this.#settled) return;
    const upstream = this.#upstream;
    this.#upstream = undefined;
    // Mid-response, the server connection cannot carry another request.
    upstream?.close();
    this.log.error ??= 'client_aborted';
    this.#settle(undefined);
  }

  onInternalError(err: unknown): void {
    this.#upstream?.close();
    this.#upstream = undefined;
    this.conn.internalError(err);
  }

  /** Route removal (RouteConnections): the response in flight is cut. */
  destroy(): void {
    this.conn.socket.destroy();
  }

  #fail(reason: 'timeout' | 'invalid' | 'reset'): void {
    const log = this.log;
    if (this.#headSent) {
      // The response is cut short: the client must not take it for complete.
      log.error = 'upstream_reset';
      this.conn.socket.destroy();
      this.#settle(false);
      return;
    }
    const timeout = reason === 'timeout';
    log.error = timeout ? 'upstream_timeout' : reason === 'invalid' ? 'invalid_response' : 'upstream_error';
    log.status = timeout ? 504 : 502;
    this.conn.write(textAnswer(timeout ? 504 : 502, this.method === 'HEAD'));
    this.#settle(false);
  }

  #settle(ok: boolean | undefined): void {
    this.#settled = true;
    if (this.#headerTimer !== undefined) clearTimeout(this.#headerTimer);
    if (this.#writeTimer !== undefined) clearTimeout(this.#writeTimer);
    const scope = this.conn.scope;
    if (this.#tracked) scope.connections.delete(this.router, this);
    if (this.#headSent) this.log.bytesOut = this.#bytes;
    this.direct.done(this.server, ok);
    scope.fastRequests++;
    scope.requestEnded(this);
    this.conn.exchangeDone(this);
  }

  get settled(): boolean {
    return this.#settled;
  }
}

/** X-Forwarded-* and X-Real-Ip lines as the generic rewrite writes them after Host. */
function forwardedLines(peer: string, host: string, trusted: boolean, nodeName: string): Buffer {
  const headers = upstreamRequestHeaders([], {
    peerIp: peer,
    proto: 'http',
    host,
    upstreamHost: undefined,
    trusted,
    serverName: nodeName,
  });
  return Buffer.from(headerLines(headers), 'latin1');
}

/**
 * The head as received with `forwarded` right after its Host line, and the Host line right
 * after the request line: a server that reads only its first N headers still gets both. Clients
 * send Host first, so this is usually two copies, as many as appending.
 */
function withForwarded(raw: Buffer, forwarded: Buffer): Buffer {
  const lineEnd = raw.indexOf(LF) + 1;
  // The parser accepted the head and found one Host header: one line starts with `host:`.
  let hostStart = lineEnd;
  let hostEnd = raw.indexOf(LF, hostStart) + 1;
  while (!isHostLine(raw, hostStart)) {
    if (hostEnd === 0 || hostEnd >= raw.length - 2)
      throw new Error('fast path: no Host line in a routed head');
    hostStart = hostEnd;
    hostEnd = raw.indexOf(LF, hostStart) + 1;
  }
  const out = Buffer.allocUnsafe(raw.length + forwarded.length);
  let at = raw.copy(out, 0, 0, lineEnd);
  at += raw.copy(out, at, hostStart, hostEnd);
  at += forwarded.copy(out, at);
  at += raw.copy(out, at, lineEnd, hostStart);
  raw.copy(out, at, hostEnd);
  return out;
}

/** `host:` in any case at `at` (a header name has no space before its colon). */
function isHostLine(raw: Buffer, at: number): boolean {
  return (
    raw[at + 4] === 58 &&
    (raw[at]! | 0x20) === 104 &&
    (raw[at + 1]! | 0x20) === 111 &&
    (raw[at + 2]! | 0x20) === 115 &&
    (raw[at + 3]! | 0x20) === 116
  );
}

/** `name: value` lines of a flat `[name, value, ...]` list. */
function headerLines(headers: readonly string[]): string {
  let text = '';
  for (let i = 0; i + 1 < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return text;
}

/** Servers tried after the first when connecting fails: 3 attempts in all, as HAProxy's `retries 3`. */
const MAX_REDISPATCHES = 2;

/** Request headers that send the request to node:http. */
const HANDED_OFF = new Set(['expect', 'upgrade', 'content-length', 'transfer-encoding']);

/** Request headers the rewrite removes or replaces: hop-by-hop ones and the forwarded ones. */
const REWRITTEN: ReadonlySet<string> = new Set([...HOP_BY_HOP, ...FORWARDED]);

/** Name lengths worth lower-casing: those of Host and of the two sets above. */
const NOTABLE_LENGTHS: boolean[] = [];
for (const name of ['host', ...HANDED_OFF, ...REWRITTEN]) NOTABLE_LENGTHS[name.length] = true;

function cutSlowClient(exchange: FastExchange): void {
  // writeTimeout: the response was not completely written in time.
  if (!exchange.settled) exchange.conn.socket.destroy();
}

function responseHeaderTimeout(exchange: FastExchange): void {
  exchange.headerTimeout();
}

/** Drops the header lines a Connection header names (rare: the usual values name none). */
function withoutNamed(head: string, named: readonly string[]): string {
  const tokens = connectionTokens(named);
  const lines = head.split('\r\n');
  const kept = [lines[0]!];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (!tokens.has(line.slice(0, colon).toLowerCase())) kept.push(line);
  }
  return `${kept.join('\r\n')}\r\n`;
}

const STATUS_LINES: string[] = [];

function statusLine(status: number): string {
  let line = STATUS_LINES[status];
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    if (status >= 100 && status < 1000) STATUS_LINES[status] = line;
  }
  return line;
}

/** The headers of the proxy's own plain-text answers (request-context.ts), as lines. */
const TEXT_HEADER_LINES = headerLines(
  Object.entries(TEXT_HEADERS).flatMap(([name, value]) => [name, String(value)]),
);

/** 502 or 504 written by the fast path, with node:http's path's headers. */
function textAnswer(status: 502 | 504, headOnly: boolean): string {
  const body = status === 504 ? 'Gateway Timeout\n' : 'Bad Gateway\n';
  const head =
    `${statusLine(status)}${TEXT_HEADER_LINES}content-length: ${body.length}\r\n` +
    `date: ${utcDate()}\r\n\r\n`;
  return headOnly ? head : head + body;
}

let dateCache = '';

/** The Date header value, computed at most once a second (as node:http does). */
function utcDate(): string {
  if (dateCache === '') {
    const now = new Date();
    dateCache = now.toUTCString();
    setTimeout(resetDate, 1000 - now.getMilliseconds()).unref();
  }
  return dateCache;
}

function resetDate(): void {
  dateCache = '';
}

function noop(): void {}

function connOf(socket: Socket): FastConnection {
  return (socket as TaggedSocket)[kFast]!;
}

function onClientEnd(this: Socket): void {
  connOf(this).ended();
}
function onClientClose(this: Socket): void {
  connOf(this).closed();
}
function onClientDrain(this: Socket): void {
  connOf(this).exchange?.resumeUpstream();
}

type ParserThis = NativeParser & { owner: FastConnection };

/** More than 32 header lines arrive in pieces before `kOnHeadersComplete` (as node:http collects them). */
function requestHeaders(this: ParserThis, headers: string[], url: string): void {
  const conn = this.owner;
  if (conn.partialHeaders === undefined) conn.partialHeaders = headers.slice();
  else conn.partialHeaders.push(...headers);
  conn.partialUrl += url;
}

function requestHeadersComplete(
  this: ParserThis,
  major: number,
  minor: number,
  headers: string[] | undefined,
  method: number,
  url: string | undefined,
  _status: unknown,
  _message: unknown,
  upgrade: boolean,
  keepAlive: boolean,
): number {
  const conn = this.owner;
  conn.headParsed = true;
  conn.major = major;
  conn.minor = minor;
  conn.method = method;
  conn.upgrade = upgrade;
  conn.keepAlive = keepAlive;
  if (headers === undefined) {
    conn.headers = conn.partialHeaders ?? [];
    conn.partialHeaders = undefined;
  } else {
    conn.headers = headers;
  }
  if (url === undefined || url === '') {
    conn.url = conn.partialUrl;
    conn.partialUrl = '';
  } else {
    conn.url = url;
  }
  return 0;
}
