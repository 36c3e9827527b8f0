// What a circuit breaker measures: statuses, network errors and latencies over a rolling window of one-second buckets.
import type { BreakerMetric } from '@berth/config';

interface Bucket {
  /** Whole second (clock ms / 1000, floored) the bucket counts. */
  second: number;
  total: number;
  netErrors: number;
  codes: Map<number, number>;
  latencies: number[];
}

/** Latency samples kept per bucket; beyond it, reservoir sampling keeps a fair subset. */
const MAX_SAMPLES = 1024;

/**
 * oxy's RTMetrics as Traefik uses it: the last `seconds` (default 10) whole seconds. A network
 * error is a 502 or 504 answer (the forwarder's own, when the server cannot be reached or does
 * not answer in time), as oxy counts them.
 */
export class RollingMetrics {
  readonly #buckets: Bucket[];
  readonly #random: () => number;

  constructor(seconds = 10, random: () => number = Math.random) {
    this.#buckets = Array.from({ length: seconds }, () => emptyBucket(-1));
    this.#random = random;
  }

  record(nowMs: number, status: number, latencyMs: number): void {
    const bucket = this.#bucket(Math.floor(nowMs / 1000));
    bucket.total++;
    if (status === 502 || status === 504) bucket.netErrors++;
    bucket.codes.set(status, (bucket.codes.get(status) ?? 0) + 1);
    if (bucket.latencies.length < MAX_SAMPLES) bucket.latencies.push(latencyMs);
    else {
      const slot = Math.floor(this.#random() * bucket.total);
      if (slot < MAX_SAMPLES) bucket.latencies[slot] = latencyMs;
    }
  }

  reset(): void {
    for (let i = 0; i < this.#buckets.length; i++) this.#buckets[i] = emptyBucket(-1);
  }

  /** The metric's value over the window ending at `nowMs`; ratios are 0 without requests. */
  measure(nowMs: number, metric: BreakerMetric): number {
    const live = this.#live(Math.floor(nowMs / 1000));
    switch (metric.fn) {
      case 'NetworkErrorRatio': {
        let total = 0;
        let errors = 0;
        for (const b of live) {
          total += b.total;
          errors += b.netErrors;
        }
        return total === 0 ? 0 : errors / total;
      }
      case 'ResponseCodeRatio': {
        let num = 0;
        let den = 0;
        for (const b of live) {
          for (const [code, n] of b.codes) {
            if (code >= metric.from1 && code < metric.to1) num += n;
            if (code >= metric.from2 && code < metric.to2) den += n;
          }
        }
        return den === 0 ? 0 : num / den;
      }
      case 'LatencyAtQuantileMS': {
        const all = live.flatMap((b) => b.latencies).sort((a, b) => a - b);
        if (all.length === 0) return 0;
        const index = Math.min(
          all.length - 1,
          Math.max(0, Math.ceil((metric.quantile / 100) * all.length) - 1),
        );
        return all[index]!;
      }
    }
  }

  #bucket(second: number): Bucket {
    const index = second % this.#buckets.length;
    let bucket = this.#buckets[index]!;
    if (bucket.second !== second) {
      bucket = emptyBucket(second);
      this.#buckets[index] = bucket;
    }
    return bucket;
  }

  #live(second: number): Bucket[] {
    const oldest = second - this.#buckets.length + 1;
    return this.#buckets.filter((b) => b.second >= oldest && b.second <= second);
  }
}

function emptyBucket(second: number): Bucket {
  return { second, total: 0, netErrors: 0, codes: new Map(), latencies: [] };
}
