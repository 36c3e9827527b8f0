// Keep-alive HTTP/1.1 connections to servers for the fast path: one pool per transport and origin, llhttp for responses.
import { connect, type Socket } from 'node:net';
import type { ServerTarget } from '../../runtime/types.js';
import { endSoon, type Finishable } from '../end-batch.js';
import type { TransportSettings } from '../servers-transport.js';
import { llhttp, type NativeParser, releaseParser, responseParser } from './llhttp.js';

/** What a connection tells the exchange it carries. Calls come from socket events, never re-entrantly. */
export interface UpstreamExchange {
  /**
   * The final response's head (1xx answers are skipped). Returns how its body is framed:
   * `NO_BODY` (HEAD, 204, 304), `PARSER_FRAMED` (chunked or close-delimited), or its Content-Length.
   */
  onResponseHead(status: number, headers: readonly string[]): number;
  /** A piece of a chunked or close-delimited body; the parser made it a copy. */
  onResponseBody(chunk: Buffer): void;
  /** Bytes `from`–`to` of a Content-Length body, in the shared read buffer: copied before returning. */
  onLengthBody(buffer: Buffer, from: number, to: number): void;
  /** A read left the response incomplete: it will span turns of the event loop. */
  onResponsePending(): void;
  /** The response is complete; the connection is already back in its pool or closed. */
  onResponseEnd(): void;
  /** A bug in handling this exchange (never bad input): it is cut, and logged. */
  onInternalError(err: unknown): void;
  /** The connection failed before the response was complete. */
  onUpstreamFailure(conn: UpstreamConnection, reason: 'timeout' | 'invalid' | 'reset'): void;
}

export const NO_BODY = -2;
export const PARSER_FRAMED = -1;

/** Response heads are bounded like undici's default. */
const MAX_RESPONSE_HEADER_BYTES = 64 * 1024;

const kUpstream = Symbol('berth.upstream');

/** Every server connection reads into this buffer; its bytes are parsed before the next read. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
type TaggedSocket = Socket & { [kUpstream]?: UpstreamConnection };

/** Seconds a server's `Keep-Alive: timeout=N` grants, less this margin, before an idle connection is dropped. */
const KEEP_ALIVE_HINT_MARGIN_MS = 1000;

export class UpstreamConnection implements Finishable {
  readonly socket: Socket;
  readonly pool: UpstreamPool;
  exchange: UpstreamExchange | undefined = undefined;
  /** Has served a response before: a failure before any byte may be the server closing an idle connection. */
  reused = false;
  /** Bytes arrived for the current exchange. */
  received = false;
  connecting = true;
  /** Date.now() after which the server said it closes idle connections (Keep-Alive hint); 0: no hint. */
  expiresAt = 0;
  /** Date.now() until which an idle connection may be reused (idleConnTimeout, and the hint). */
  idleUntil = 0;
  #parser: NativeParser | undefined;
  /** Header lines llhttp hands over before the head completes (more than 32 of them). */
  partialHeaders: string[] | undefined = undefined;
  #done = false;
  /** A message began after the response was complete: the server speaks out of turn. */
  #extra = false;
  #informational = false;
  #keepAlive = false;
  /** Bytes of a Content-Length body still to come; -1 when llhttp frames the body. */
  #bodyLeft = -1;
  /** The parser stopped after a Content-Length head during the current `execute`. */
  #stopped = false;
  /** The parser has seen nothing since its reset. */
  #fresh = true;
  #skipBody = false;
  /** The request head waiting for the end of the loop turn. */
  #out: string | Buffer | undefined = undefined;
  #closed = false;

  constructor(pool: UpstreamPool) {
    this.pool = pool;
    // Reads land in one shared buffer, parsed at once: no buffer allocated per read, no stream
    // machinery ('data' events). llhttp hands the body over as copies.
    const socket = connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n: number, buffer: Uint8Array) => this.#read(n, buffer) },
    });
    (socket as TaggedSocket)[kUpstream] = this;
    this.socket = socket;
    socket.on('connect', onConnect);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('error', noop);
    socket.on('timeout', onTimeout);
    if (pool.dialMs > 0) socket.setTimeout(pool.dialMs);
    const parser = responseParser(MAX_RESPONSE_HEADER_BYTES);
    parser.owner = this;
    const P = llhttp!.Parser;
    parser[P.kOnHeaders] = parserHeaders;
    parser[P.kOnHeadersComplete] = parserHeadersComplete;
    parser[P.kOnBody] = parserBody;
    this.#parser = parser;
    this.#reset(parser);
  }

  /**
   * Ready for a new response. A Content-Length body is counted here rather than by llhttp (no
   * callback and no copy per read), which leaves the parser stopped after the head: it starts
   * afresh for the next response. Message callbacks are on only where they are needed.
   */
  #reset(parser: NativeParser): void {
    const P = llhttp!.Parser;
    parser.initialize(P.RESPONSE, {}, MAX_RESPONSE_HEADER_BYTES, 0);
    parser[P.kOnMessageBegin] = undefined;
    parser[P.kOnMessageComplete] = parserMessageComplete;
    this.partialHeaders = undefined;
    this.#fresh = true;
  }

  /** Sends a request head for `exchange`; the write leaves with the loop turn's others. */
  send(exchange: UpstreamExchange, head: string | Buffer, skipBody: boolean): void {
    this.exchange = exchange;
    this.received = false;
    this.#skipBody = skipBody;
    this.#done = false;
    if (!this.#fresh && this.#parser !== undefined) this.#reset(this.#parser);
    if (this.#out === undefined) endSoon(this);
    this.#out = head;
  }

  /** The end batch: the request head leaves in one write. */
  finish(): void {
    const out = this.#out;
    this.#out = undefined;
    if (out === undefined || this.#closed) return;
    if (typeof out === 'string') this.socket.write(out, 'latin1');
    else this.socket.write(out);
  }

  /** Closes the connection; an exchange still on it is not told (the caller has dealt with it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.exchange = undefined;
    this.socket.destroy();
    if (this.#parser !== undefined) releaseParser(this.#parser, false);
    this.#parser = undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  connected(): void {
    this.connecting = false;
    // No socket timer once connected: its refresh on every read and write costs more than the
    // pool's idle deadline (`idleUntil`), checked on reuse and swept.
    if (this.pool.dialMs > 0) this.socket.setTimeout(0);
  }

  timeout(): void {
    if (this.connecting) this.#fail('timeout');
  }

  /** A throw here would reach the socket's read callback and end the process: contain it. */
  #read(length: number, buffer: Uint8Array): boolean {
    try {
      return this.data(length, buffer);
    } catch (err) {
      const exchange = this.exchange;
      this.close();
      exchange?.onInternalError(err);
      return false;
    }
  }

  data(length: number, buffer: Uint8Array): boolean {
    const exchange = this.exchange;
    const parser = this.#parser;
    if (exchange === undefined || parser === undefined) {
      // Nothing was asked: a server talking out of turn cannot be trusted with the next request.
      this.close();
      return false;
    }
    this.received = true;
    if (this.#bodyLeft >= 0) {
      this.#lengthBody(exchange, buffer as Buffer, 0, length);
      return true;
    }
    this.#fresh = false;
    const parsed = parser.execute(Buffer.from(buffer.buffer, buffer.byteOffset, length));
    if (typeof parsed !== 'number') {
      this.#fail('invalid');
      return false;
    }
    if (this.#stopped) {
      // Stopped right after a Content-Length head: the body starts at `parsed`.
      this.#stopped = false;
      this.#lengthBody(exchange, buffer as Buffer, parsed, length);
      return true;
    }
    if (this.#done) this.#complete(exchange);
    else exchange.onResponsePending();
    return true;
  }

  /** Bytes `from`–`to` of the read buffer, of a body with `#bodyLeft` bytes to go. */
  #lengthBody(exchange: UpstreamExchange, buffer: Buffer, from: number, to: number): void {
    const left = this.#bodyLeft;
    const take = Math.min(to - from, left);
    if (take > 0) exchange.onLengthBody(buffer, from, from + take);
    this.#bodyLeft = left - take;
    if (this.#bodyLeft > 0) {
      exchange.onResponsePending();
      return;
    }
    this.#bodyLeft = -1;
    // Bytes after the body: the server answers what was not asked.
    if (to - from > take) this.#extra = true;
    this.#complete(exchange);
  }

  end(): void {
    const exchange = this.exchange;
    const parser = this.#parser;
    // A close-delimited body ends here (a Content-Length one cut short does not).
    if (exchange !== undefined && parser !== undefined && this.received && this.#bodyLeft < 0) {
      parser.finish();
      if (this.#done) {
        this.#complete(exchange);
        return;
      }
    }
    this.#fail('reset');
  }

  closedBySocket(): void {
    this.#fail('reset');
  }

  headersComplete(status: number, headers: readonly string[], keepAlive: boolean): number {
    if (this.#done) {
      this.#extra = true;
      return 0;
    }
    const exchange = this.exchange;
    if (exchange === undefined) return 0;
    if (status < 200) {
      // 1xx answers (103 Early Hints, a stray 100) are not relayed; the final answer follows.
      this.#informational = true;
      return 0;
    }
    this.#keepAlive = keepAlive;
    if (keepAlive) this.#keepAliveHint(headers);
    const framing = exchange.onResponseHead(status, headers);
    if (framing === NO_BODY || this.#skipBody) return 1;
    const parser = this.#parser!;
    const P = llhttp!.Parser;
    if (framing > 0) {
      // Stop after the head (llhttp's "no body, upgrade" answer); `data` counts the body.
      this.#bodyLeft = framing;
      this.#stopped = true;
      parser[P.kOnMessageComplete] = undefined;
      return 2;
    }
    // llhttp frames the body: a message starting after it in the same read must be seen.
    parser[P.kOnMessageBegin] = parserMessageBegin;
    return 0;
  }

  body(chunk: Buffer): void {
    if (this.#done) return;
    this.exchange?.onResponseBody(chunk);
  }

  messageBegin(): void {
    this.partialHeaders = undefined;
    if (this.#done) this.#extra = true;
  }

  messageComplete(): void {
    // Lines collected since the head are trailers: HTTP/1.1 clients get none, and they must not
    // become the next response's first headers.
    this.partialHeaders = undefined;
    if (this.#informational) {
      this.#informational = false;
      return;
    }
    if (this.exchange !== undefined) this.#done = true;
  }

  /** After the parser returned: a complete response frees the connection before the exchange goes on. */
  #complete(exchange: UpstreamExchange): void {
    this.#done = false;
    this.exchange = undefined;
    if (this.#keepAlive && !this.#extra && !this.#closed) this.pool.release(this);
    else this.close();
    exchange.onResponseEnd();
  }

  #fail(reason: 'timeout' | 'invalid' | 'reset'): void {
    const exchange = this.exchange;
    this.pool.forget(this);
    this.close();
    exchange?.onUpstreamFailure(this, reason);
  }

  /** `Keep-Alive: timeout=5` (Node servers send it): drop the idle connection a second before the server does. */
  #keepAliveHint(headers: readonly string[]): void {
    // Each answer's own hint (or none) counts, not one an earlier answer gave.
    this.expiresAt = 0;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (name.length !== 10 || name.toLowerCase() !== 'keep-alive') continue;
      const match = /timeout\s*=\s*(\d+)/i.exec(headers[i + 1]!);
      if (match !== null) {
        this.expiresAt = Date.now() + Number(match[1]) * 1000 - KEEP_ALIVE_HINT_MARGIN_MS;
      }
    }
  }
}

interface IdleSweeper {
  watch(): void;
}

/** How often idle server connections past their deadline are closed (reuse checks the deadline itself). */
const IDLE_SWEEP_MS = 1000;

/** Idle keep-alive connections to one server over one transport, most recent first. */
export class UpstreamPool {
  readonly host: string;
  readonly port: number;
  readonly dialMs: number;
  readonly idleMs: number;
  readonly #idle: UpstreamConnection[] = [];
  #closed = false;

  readonly #sweeper: IdleSweeper;

  constructor(server: ServerTarget, transport: TransportSettings, sweeper: IdleSweeper) {
    this.#sweeper = sweeper;
    const hostname = server.url.hostname;
    this.host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    this.port = server.url.port === '' ? 80 : Number(server.url.port);
    this.dialMs = transport.dialTimeoutMs;
    const idle = transport.pool.keepAliveTimeout;
    this.idleMs = typeof idle === 'number' && idle > 1 ? idle : 0;
  }

  /** An idle connection still worth using, else a new one. */
  acquire(): UpstreamConnection {
    const idle = this.#idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      if (conn.closed) continue;
      if (Date.now() >= conn.idleUntil) {
        conn.close();
        continue;
      }
      conn.reused = true;
      return conn;
    }
    return new UpstreamConnection(this);
  }

  /** A fresh connection, for the retry after a reused one failed. */
  dial(): UpstreamConnection {
    return new UpstreamConnection(this);
  }

  release(conn: UpstreamConnection): void {
    if (this.#closed || this.idleMs === 0) {
      conn.close();
      return;
    }
    const until = Date.now() + this.idleMs;
    conn.idleUntil = conn.expiresAt !== 0 && conn.expiresAt < until ? conn.expiresAt : until;
    this.#idle.push(conn);
    this.#sweeper.watch();
  }

  /** Closes idle connections past their deadline. */
  sweep(now: number): void {
    const idle = this.#idle;
    let kept = 0;
    for (const conn of idle) {
      if (conn.closed) continue;
      if (now >= conn.idleUntil) conn.close();
      else idle[kept++] = conn;
    }
    idle.length = kept;
  }

  forget(conn: UpstreamConnection): void {
    const at = this.#idle.indexOf(conn);
    if (at >= 0) this.#idle.splice(at, 1);
  }

  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.close();
  }
}

/**
 * Pools by transport key, then origin (as PoolCache for undici): a transport's settings changing
 * makes new pools, and pools no snapshot references close their idle connections.
 */
export class UpstreamPools implements IdleSweeper {
  readonly #byKey = new Map<string, Map<string, UpstreamPool>>();
  #timer: NodeJS.Timeout | undefined = undefined;

  /** Starts the idle sweep (unref'd, once a second) when a connection first goes idle. */
  watch(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const byOrigin of this.#byKey.values()) for (const pool of byOrigin.values()) pool.sweep(now);
    }, IDLE_SWEEP_MS);
    this.#timer.unref();
  }

  get(server: ServerTarget, transport: TransportSettings): UpstreamPool {
    let byOrigin = this.#byKey.get(transport.key);
    if (byOrigin === undefined) {
      byOrigin = new Map();
      this.#byKey.set(transport.key, byOrigin);
    }
    let pool = byOrigin.get(server.origin);
    if (pool === undefined) {
      pool = new UpstreamPool(server, transport, this);
      byOrigin.set(server.origin, pool);
    }
    return pool;
  }

  /** Closes the pools of origins or transports the live snapshot no longer uses; exchanges in flight finish. */
  retain(origins: ReadonlySet<string>, keys: ReadonlySet<string>): void {
    for (const [key, byOrigin] of this.#byKey) {
      for (const [origin, pool] of byOrigin) {
        if (keys.has(key) && origins.has(origin)) continue;
        pool.close();
        byOrigin.delete(origin);
      }
      if (byOrigin.size === 0) this.#byKey.delete(key);
    }
  }

  closeAll(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const byOrigin of this.#byKey.values()) for (const pool of byOrigin.values()) pool.close();
    this.#byKey.clear();
  }
}

function noop(): void {}

function ownerOf(socket: Socket): UpstreamConnection {
  return (socket as TaggedSocket)[kUpstream]!;
}

function onConnect(this: Socket): void {
  ownerOf(this).connected();
}
function onEnd(this: Socket): void {
  ownerOf(this).end();
}
function onClose(this: Socket): void {
  ownerOf(this).closedBySocket();
}
function onTimeout(this: Socket): void {
  ownerOf(this).timeout();
}

type ParserThis = NativeParser & { owner: UpstreamConnection };

function parserMessageBegin(this: ParserThis): void {
  this.owner.messageBegin();
}
/** More than 32 header lines arrive in pieces before `kOnHeadersComplete`. */
function parserHeaders(this: ParserThis, headers: string[]): void {
  const conn = this.owner;
  if (conn.partialHeaders === undefined) conn.partialHeaders = headers.slice();
  else conn.partialHeaders.push(...headers);
}
function parserHeadersComplete(
  this: ParserThis,
  _major: number,
  _minor: number,
  headers: string[] | undefined,
  _method: unknown,
  _url: unknown,
  status: number,
  _message: unknown,
  _upgrade: boolean,
  keepAlive: boolean,
): number {
  let all = headers;
  if (all === undefined) {
    all = this.owner.partialHeaders ?? [];
    this.owner.partialHeaders = undefined;
  }
  return this.owner.headersComplete(status, all, keepAlive);
}
function parserBody(this: ParserThis, chunk: Buffer): void {
  this.owner.body(chunk);
}
function parserMessageComplete(this: ParserThis): void {
  this.owner.messageComplete();
}
