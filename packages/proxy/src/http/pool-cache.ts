// One undici Pool per upstream origin, shared across runtimes so a config change keeps warm connections.
import { Pool } from 'undici';

export interface PoolCacheOptions {
  /** How long a pool no runtime references stays open for requests still using an old runtime. */
  graceMs?: number;
  /** Undici pool options, for tests and tuning. */
  pool?: Pool.Options;
}

/**
 * Traefik-like transport defaults: no response-header or idle-body deadline (long polls and
 * streams are legitimate), a bounded connect.
 */
const DEFAULT_POOL: Pool.Options = {
  headersTimeout: 0,
  bodyTimeout: 0,
  connect: { timeout: 30_000 },
};

interface Entry {
  pool: Pool;
  retireTimer: NodeJS.Timeout | undefined;
}

export class PoolCache {
  readonly #pools = new Map<string, Entry>();
  #referenced: ReadonlySet<string> = new Set();
  readonly #graceMs: number;
  readonly #poolOptions: Pool.Options;
  #closed = false;

  constructor(options: PoolCacheOptions = {}) {
    this.#graceMs = options.graceMs ?? 30_000;
    this.#poolOptions = { ...DEFAULT_POOL, ...options.pool };
  }

  /** The live pool for `origin`, opened on first use. */
  get(origin: string): Pool {
    const existing = this.#pools.get(origin);
    if (existing) return existing.pool;
    const entry: Entry = { pool: new Pool(origin, this.#poolOptions), retireTimer: undefined };
    this.#pools.set(origin, entry);
    // A request on a superseded runtime may reopen a retired origin; that pool must not leak.
    if (!this.#referenced.has(origin) || this.#closed) this.#scheduleRetire(origin, entry);
    return entry.pool;
  }

  /** Declares the origins the live runtime uses; pools of the others close after the grace period. */
  retain(origins: ReadonlySet<string>): void {
    this.#referenced = origins;
    for (const [origin, entry] of this.#pools) {
      if (origins.has(origin)) {
        clearTimeout(entry.retireTimer);
        entry.retireTimer = undefined;
      } else if (entry.retireTimer === undefined) {
        this.#scheduleRetire(origin, entry);
      }
    }
  }

  /** Origins with an open pool (for tests and diagnostics). */
  origins(): string[] {
    return [...this.#pools.keys()];
  }

  /** Waits for requests in flight to finish, then closes every pool. */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(
      entries.map((entry) => {
        clearTimeout(entry.retireTimer);
        return entry.pool.close();
      }),
    );
  }

  /** Immediately aborts every request and connection; for a shutdown whose drain time is over. */
  async destroy(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(
      entries.map((entry) => {
        clearTimeout(entry.retireTimer);
        return entry.pool.destroy();
      }),
    );
  }

  #scheduleRetire(origin: string, entry: Entry): void {
    entry.retireTimer = setTimeout(() => {
      entry.retireTimer = undefined;
      if (this.#referenced.has(origin) || this.#pools.get(origin) !== entry) return;
      this.#pools.delete(origin);
      // close() is graceful: requests still running on this pool complete first.
      entry.pool.close().catch(() => {});
    }, this.#graceMs);
    entry.retireTimer.unref();
  }
}
