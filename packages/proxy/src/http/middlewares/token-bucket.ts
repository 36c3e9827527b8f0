// Token buckets per source key with a bounded, least-recently-used table. Pure: time is passed in.

export type Take = { ok: true } | { ok: false /** Milliseconds until one token is back. */; waitMs: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

export interface TokenBucketOptions {
  /** Tokens added per millisecond. */
  ratePerMs: number;
  /** Bucket size: the most requests a quiet source may send at once. */
  burst: number;
  /** Most sources tracked; the least recently seen is forgotten first. */
  maxSources: number;
}

/**
 * A forgotten bucket comes back full, which only ever errs towards letting a request through:
 * an idle bucket refills to full anyway, so evicting the least recently used one (most likely
 * idle and full) loses nothing in the common case and bounds memory in every case.
 */
export class TokenBuckets {
  readonly #opts: TokenBucketOptions;
  /** Map iteration order is insertion order: re-inserting on use keeps it an LRU list. */
  readonly #buckets = new Map<string, Bucket>();

  constructor(opts: TokenBucketOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#buckets.size;
  }

  take(key: string, now: number): Take {
    const { ratePerMs, burst } = this.#opts;
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key);
      // A clock that steps back must not drain the bucket.
      const elapsed = Math.max(0, now - bucket.at);
      bucket.tokens = Math.min(burst, bucket.tokens + elapsed * ratePerMs);
      bucket.at = now;
    } else {
      bucket = { tokens: burst, at: now };
      this.#evict();
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, waitMs: (1 - bucket.tokens) / ratePerMs };
  }

  #evict(): void {
    while (this.#buckets.size >= this.#opts.maxSources) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done) return;
      this.#buckets.delete(oldest.value);
    }
  }
}
