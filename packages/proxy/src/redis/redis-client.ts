// A small Redis client: a bounded pool of RESP2 connections (TCP or TLS), one command in flight on each, every step under a deadline.

import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { backoffDelay } from '../agent/backoff.js';
import { encodeCommand, RedisReplyError, RespParser, RespProtocolError, type RespValue } from './resp.js';

export interface RedisTls {
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify?: boolean;
}

export interface RedisClientOptions {
  /** `host:port` (`[v6]:port`); tried in order when connecting. */
  endpoints: string[];
  username?: string;
  password?: string;
  db?: number;
  tls?: RedisTls;
  /** Connecting, TLS, AUTH and SELECT together, and the wait for a free connection. */
  dialTimeoutMs: number;
  /** One command: sending it and reading its reply. */
  callTimeoutMs: number;
  /** Most connections open at once; callers beyond wait for one (within the dial timeout). */
  maxConnections: number;
  /** Idle connections kept open however long they stay unused. */
  minIdle?: number;
  /** Idle connections beyond `minIdle` are closed after this long (default 30 s). */
  idleCloseMs?: number;
}

/** Redis could not be asked (down, slow, refused): the caller applies its failure behaviour. */
export class RedisUnavailableError extends Error {}

/** First retry after a failure, and the most the client then waits before trying again. */
const BACKOFF = { initialMs: 100, maxMs: 5000 };
/** Callers waiting for a connection beyond this many are refused at once. */
const MAX_WAITERS = 10_000;

export function parseEndpoint(endpoint: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(endpoint.trim());
  if (!m) return null;
  const host = m[1] ?? m[2] ?? '';
  const port = m[3] === undefined ? 6379 : Number(m[3]);
  if (host === '' || port < 1 || port > 65535) return null;
  return { host, port };
}

interface Pending {
  resolve(value: RespValue): void;
  reject(err: Error): void;
}

/** One socket, one command at a time: a reply always belongs to the only command outstanding. */
class Connection {
  readonly #socket: Socket;
  readonly #parser = new RespParser();
  #pending: Pending | null = null;
  #dead = false;
  lastUsed = Date.now();

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let replies: RespValue[];
      try {
        replies = this.#parser.push(chunk);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      for (const reply of replies) {
        const pending = this.#pending;
        // A reply nobody asked for: the stream is out of step, never trust it again.
        if (!pending) return this.destroy(new RespProtocolError('unexpected reply'));
        this.#pending = null;
        if (reply instanceof RedisReplyError) pending.reject(reply);
        else pending.resolve(reply);
      }
    });
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy(new RedisUnavailableError('connection closed')));
  }

  get dead(): boolean {
    return this.#dead;
  }

  send(args: readonly (string | number)[], timeoutMs: number): Promise<RespValue> {
    if (this.#dead) return Promise.reject(new RedisUnavailableError('connection closed'));
    this.lastUsed = Date.now();
    return new Promise<RespValue>((resolve, reject) => {
      // A late reply would belong to no command: a timed-out connection is closed, not reused.
      // Timers run before the loop reads sockets: after a busy stretch the reply may already be
      // waiting, so the deadline is checked once more after the next read (setImmediate).
      const timer = setTimeout(
        () =>
          setImmediate(() => {
            if (this.#pending === pending)
              this.destroy(new RedisUnavailableError(`no reply within ${timeoutMs} ms`));
          }),
        timeoutMs,
      );
      const pending: Pending = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#pending = pending;
      this.#socket.write(encodeCommand(args));
    });
  }

  destroy(err: Error = new RedisUnavailableError('connection closed')): void {
    if (!this.#dead) {
      this.#dead = true;
      this.#socket.destroy();
    }
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(err instanceof RedisReplyError ? err : new RedisUnavailableError(err.message));
  }
}

interface Waiter {
  resolve(conn: Connection): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * After a failed connect or a timed-out command the client stops trying for a backoff delay
 * (100 ms doubling to 5 s, with jitter) and fails calls at once meanwhile: a Redis that is down
 * costs a request nothing, and Redis coming back is found by the first call after the delay.
 */
export class RedisClient {
  readonly #opts: RedisClientOptions;
  readonly #idle: Connection[] = [];
  readonly #waiters: Waiter[] = [];
  /** Connections open or opening. */
  #count = 0;
  #failures = 0;
  #downUntil = 0;
  #lastError = '';
  #closed = false;
  /** Runs only while connections are open: a client nobody uses holds no timer and is collected. */
  #reaper: NodeJS.Timeout | null = null;

  constructor(opts: RedisClientOptions) {
    if (opts.endpoints.length === 0) throw new Error('redis: no endpoint');
    for (const e of opts.endpoints) if (!parseEndpoint(e)) throw new Error(`redis: bad endpoint ${e}`);
    this.#opts = opts;
  }

  /** Sends one command; rejects with `RedisReplyError` (Redis said no) or `RedisUnavailableError`. */
  async call(args: readonly (string | number)[]): Promise<RespValue> {
    const conn = await this.#acquire();
    try {
      return await conn.send(args, this.#opts.callTimeoutMs);
    } catch (err) {
      if (!(err instanceof RedisReplyError)) this.#failed(err as Error);
      throw err;
    } finally {
      this.#release(conn);
    }
  }

  /** Connections open or opening (tests). */
  get connections(): number {
    return this.#count;
  }

  close(): void {
    this.#closed = true;
    if (this.#reaper) clearInterval(this.#reaper);
    this.#reaper = null;
    for (const c of this.#idle.splice(0)) c.destroy();
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new RedisUnavailableError('client closed'));
    }
  }

  #acquire(): Promise<Connection> {
    if (this.#closed) return Promise.reject(new RedisUnavailableError('client closed'));
    const wait = this.#downUntil - Date.now();
    if (wait > 0)
      return Promise.reject(
        new RedisUnavailableError(`unavailable (${this.#lastError}); next attempt in ${wait} ms`),
      );
    for (let conn = this.#idle.pop(); conn; conn = this.#idle.pop()) {
      if (!conn.dead) return Promise.resolve(conn);
      this.#count--;
    }
    if (this.#count < this.#opts.maxConnections) return this.#open();
    if (this.#waiters.length >= MAX_WAITERS)
      return Promise.reject(new RedisUnavailableError('too many callers waiting for a connection'));
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          const i = this.#waiters.indexOf(waiter);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(new RedisUnavailableError(`no free connection within ${this.#opts.dialTimeoutMs} ms`));
        }, this.#opts.dialTimeoutMs),
      };
      this.#waiters.push(waiter);
    });
  }

  #release(conn: Connection): void {
    if (conn.dead || this.#closed) {
      if (!conn.dead) conn.destroy();
      this.#count--;
      // The slot freed may serve a waiter with a new connection.
      const waiter = this.#waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        this.#acquire().then(waiter.resolve, waiter.reject);
      }
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(conn);
      return;
    }
    this.#idle.push(conn);
  }

  async #open(): Promise<Connection> {
    this.#count++;
    if (this.#reaper === null) {
      const idleCloseMs = this.#opts.idleCloseMs ?? 30_000;
      this.#reaper = setInterval(() => this.#reap(idleCloseMs), Math.min(idleCloseMs, 10_000));
      this.#reaper.unref();
    }
    const deadline = Date.now() + this.#opts.dialTimeoutMs;
    let last: Error = new RedisUnavailableError('no endpoint');
    for (const endpoint of this.#opts.endpoints) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const conn = await this.#dial(endpoint, left);
        this.#failures = 0;
        this.#downUntil = 0;
        return conn;
      } catch (err) {
        last = err as Error;
        // Wrong credentials or database: the next endpoint of the same fleet will say the same.
        if (err instanceof RedisReplyError) break;
      }
    }
    this.#count--;
    this.#failed(last);
    throw last instanceof RedisReplyError ? last : new RedisUnavailableError(last.message);
  }

  async #dial(endpoint: string, timeoutMs: number): Promise<Connection> {
    const { host, port } = parseEndpoint(endpoint)!;
    const tls = this.#opts.tls;
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = tls
        ? tlsConnect({
            host,
            port,
            ...(isIP(host) === 0 ? { servername: host } : {}),
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
            rejectUnauthorized: tls.insecureSkipVerify !== true,
          })
        : netConnect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new RedisUnavailableError(`connect to ${endpoint} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      s.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(new RedisUnavailableError(`connect to ${endpoint}: ${err.message}`));
      });
    });
    // An idle pooled connection must not keep a worker alive on its own.
    socket.unref();
    const conn = new Connection(socket);
    const started = Date.now();
    const left = () => Math.max(1, timeoutMs - (Date.now() - started));
    try {
      const { username, password, db } = this.#opts;
      if (password !== undefined && password !== '')
        await conn.send(username ? ['AUTH', username, password] : ['AUTH', password], left());
      if (db !== undefined && db !== 0) await conn.send(['SELECT', db], left());
    } catch (err) {
      conn.destroy();
      throw err;
    }
    return conn;
  }

  #failed(err: Error): void {
    this.#lastError = err.message;
    this.#downUntil = Date.now() + backoffDelay(this.#failures, BACKOFF);
    this.#failures++;
  }

  #reap(idleCloseMs: number): void {
    const keep = this.#opts.minIdle ?? 0;
    const now = Date.now();
    // Oldest first: `#idle` is used as a stack, so the bottom holds the least recently used.
    while (this.#idle.length > keep && now - this.#idle[0]!.lastUsed > idleCloseMs) {
      this.#idle.shift()!.destroy();
      this.#count--;
    }
    if (this.#count === 0 && this.#reaper) {
      clearInterval(this.#reaper);
      this.#reaper = null;
    }
  }
}
