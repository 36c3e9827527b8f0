// One undici Pool per server origin and transport, shared across runtimes so a config change keeps warm connections.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { buildConnector, Pool } from 'undici';
import { serverConnector } from '../tls/server-name.js';
import { clientEnds, proxiedConnector } from './proxy-protocol-connect.js';
import type { TransportSettings } from './servers-transport.js';
import { DEFAULT_TRANSPORT } from './servers-transport.js';
import { undici } from './undici-loader.js';

export interface PoolCacheOptions {
  /** How long a pool no runtime references stays open for requests still using an old runtime. */
  graceMs?: number;
  /** Undici pool options applied over every transport's, for tests and tuning. */
  pool?: Pool.Options;
}

interface Entry {
  pool: Pool;
  origin: string;
  transport: string;
  retireTimer: NodeJS.Timeout | undefined;
}

/**
 * Keyed by transport first, so two services with different serversTransports (timeouts, TLS
 * settings, limits) never share connections to the same server, and a lookup allocates nothing.
 */
export class PoolCache {
  readonly #pools = new Map<string, Map<string, Entry>>();
  #referenced: ReadonlySet<string> = new Set();
  #transports: ReadonlySet<string> | undefined;
  readonly #graceMs: number;
  readonly #override: Pool.Options | undefined;
  #closed = false;
  /** Pools of PROXY-protocol transports: one set per client connection, closed with it. */
  readonly #perClient = new Map<EventEmitter, Map<string, Pool>>();

  constructor(options: PoolCacheOptions = {}) {
    this.#graceMs = options.graceMs ?? 30_000;
    this.#override = options.pool;
  }

  /**
   * The live pool for `origin` over `transport`, opened on first use. A transport that sends a
   * PROXY header gets a pool per client connection (`req`'s socket): its connections carry that
   * client's address and are never shared with another client; they close with the client's.
   */
  get(origin: string, transport: TransportSettings = DEFAULT_TRANSPORT, req?: IncomingMessage): Pool {
    if (transport.proxyProtocol !== undefined && req !== undefined)
      return this.#clientPool(origin, transport, req);
    const existing = this.#pools.get(transport.key)?.get(origin);
    if (existing) return existing.pool;
    return this.#open(origin, transport);
  }

  /**
   * Declares the origins (and transport keys) the live runtime uses; pools of the others close
   * after the grace period. Without `transports`, every transport counts as used.
   */
  retain(origins: ReadonlySet<string>, transports?: ReadonlySet<string>): void {
    this.#referenced = origins;
    this.#transports = transports;
    for (const entry of this.#entries()) {
      if (this.#isReferenced(entry)) {
        clearTimeout(entry.retireTimer);
        entry.retireTimer = undefined;
      } else if (entry.retireTimer === undefined) {
        this.#scheduleRetire(entry);
      }
    }
  }

  /** Origins with an open pool (for tests and diagnostics). */
  origins(): string[] {
    return [...new Set([...this.#entries()].map((e) => e.origin))];
  }

  /** Waits for requests in flight to finish, then closes every pool. */
  async close(): Promise<void> {
    await this.#shutdown((pool) => pool.close());
  }

  /** Immediately aborts every request and connection; for a shutdown whose drain time is over. */
  async destroy(): Promise<void> {
    await this.#shutdown((pool) => pool.destroy());
  }

  #clientPool(origin: string, transport: TransportSettings, req: IncomingMessage): Pool {
    // The client connection: an HTTP/2 request's socket is a per-stream facade, its session is the connection.
    const owner: EventEmitter =
      (req as { stream?: { session?: EventEmitter } }).stream?.session ?? req.socket;
    const key = `${transport.key}\u0000${origin}`;
    let pools = this.#perClient.get(owner);
    const existing = pools?.get(key);
    if (existing) return existing;
    if (!pools) {
      const created = new Map<string, Pool>();
      pools = created;
      this.#perClient.set(owner, created);
      owner.once('close', () => {
        this.#perClient.delete(owner);
        for (const pool of created.values()) pool.close().catch(() => {});
      });
    }
    const connect = proxiedConnector(
      transport.proxyProtocol ?? 2,
      clientEnds(req),
      transport.tls,
      transport.dialTimeoutMs,
    );
    const pool = new (undici().Pool)(
      dialOrigin(origin),
      h2cOptions(origin, { ...transport.pool, ...this.#override, connect }),
    );
    pools.set(key, pool);
    if (this.#closed || req.socket.destroyed) pool.close().catch(() => {});
    return pool;
  }

  #open(origin: string, transport: TransportSettings): Pool {
    const options = this.#override ? { ...transport.pool, ...this.#override } : transport.pool;
    const connect = options.connect;
    const entry: Entry = {
      pool: new (undici().Pool)(
        dialOrigin(origin),
        h2cOptions(
          origin,
          connect === undefined || typeof connect === 'function'
            ? options
            : { ...options, connect: serverConnector(connect) },
        ),
      ),
      origin,
      transport: transport.key,
      retireTimer: undefined,
    };
    let byOrigin = this.#pools.get(transport.key);
    if (!byOrigin) {
      byOrigin = new Map();
      this.#pools.set(transport.key, byOrigin);
    }
    byOrigin.set(origin, entry);
    // A request on a superseded runtime may reopen a retired origin; that pool must not leak.
    if (!this.#isReferenced(entry) || this.#closed) this.#scheduleRetire(entry);
    return entry.pool;
  }

  #isReferenced(entry: Entry): boolean {
    return (
      this.#referenced.has(entry.origin) &&
      (this.#transports === undefined || this.#transports.has(entry.transport))
    );
  }

  *#entries(): Generator<Entry> {
    for (const byOrigin of this.#pools.values()) yield* byOrigin.values();
  }

  async #shutdown(end: (pool: Pool) => Promise<void>): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries()];
    this.#pools.clear();
    const clientPools = [...this.#perClient.values()].flatMap((m) => [...m.values()]);
    this.#perClient.clear();
    await Promise.all([
      ...entries.map((entry) => {
        clearTimeout(entry.retireTimer);
        return end(entry.pool).catch(() => {});
      }),
      ...clientPools.map((pool) => end(pool).catch(() => {})),
    ]);
  }

  #scheduleRetire(entry: Entry): void {
    entry.retireTimer = setTimeout(() => {
      entry.retireTimer = undefined;
      const byOrigin = this.#pools.get(entry.transport);
      if (this.#isReferenced(entry) || byOrigin?.get(entry.origin) !== entry) return;
      byOrigin.delete(entry.origin);
      if (byOrigin.size === 0) this.#pools.delete(entry.transport);
      // close() is graceful: requests still running on this pool complete first.
      entry.pool.close().catch(() => {});
    }, this.#graceMs);
    entry.retireTimer.unref();
  }
}

/** Origins of `h2c://` servers are dialled as plain http, then spoken to in HTTP/2 (prior knowledge). */
function dialOrigin(origin: string): string {
  return origin.startsWith('h2c://') ? `http://${origin.slice(6)}` : origin;
}

/**
 * HTTP/2 without TLS, as Traefik's `h2c://` servers: undici speaks HTTP/2 on a socket whose
 * `alpnProtocol` says `h2`. Its own `useH2c` option is ignored once a connector function is
 * given (ours check server names and send PROXY headers), so the connector marks the socket.
 */
function h2cOptions(origin: string, options: Pool.Options): Pool.Options {
  if (!origin.startsWith('h2c://')) return options;
  const given = options.connect;
  const connect: buildConnector.connector =
    typeof given === 'function' ? given : undici().buildConnector({ ...given });
  return {
    ...options,
    allowH2: true,
    // Requests without a streamed body share a connection (undici's H2CClient default); undici
    // never puts a streamed upload (a gRPC call) beside others, so those take a connection each.
    pipelining: 100,
    connect: (opts, callback) =>
      connect(opts, (err, socket) => {
        if (socket !== null) (socket as { alpnProtocol?: string }).alpnProtocol = 'h2';
        callback(err, socket as never);
      }),
  };
}
