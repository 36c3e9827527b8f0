// Power of two choices: of two targets drawn at random, the one with fewer requests in flight wins.
import type { Availability, Balancer } from './balancer.js';

export interface P2cOptions<T> {
  /** Uniform in [0, 1); injectable so tests replay a sequence. Default Math.random. */
  random?: () => number;
  /** Requests in flight per target; default: the balancer's own count of picks not yet released. */
  inFlight?: (item: T) => number;
}

/**
 * Two random draws avoid both the herd effect of "always the least loaded" (every node sends
 * the next burst to the same idle server) and round robin's blindness to slow servers. Weights
 * are ignored, as in Traefik's p2c.
 */
export class PowerOfTwoChoices<T> implements Balancer<T> {
  readonly #items: readonly T[];
  readonly #counts = new Map<T, number>();
  readonly #random: () => number;
  readonly #inFlight: (item: T) => number;

  constructor(items: readonly T[], opts: P2cOptions<T> = {}) {
    this.#items = [...items];
    for (const item of items) this.#counts.set(item, 0);
    this.#random = opts.random ?? Math.random;
    this.#inFlight = opts.inFlight ?? ((item) => this.#counts.get(item) ?? 0);
  }

  next(available?: Availability<T>): T | undefined {
    let items = this.#items;
    if (available !== undefined && !items.every(available)) items = items.filter(available);
    const n = items.length;
    if (n === 0) return undefined;
    let picked: T;
    if (n === 1) picked = items[0]!;
    else {
      const i = Math.min(n - 1, Math.floor(this.#random() * n));
      // A second draw among the n-1 others, so the two choices always differ.
      let j = Math.min(n - 2, Math.floor(this.#random() * (n - 1)));
      if (j >= i) j++;
      const a = items[i]!;
      const b = items[j]!;
      picked = this.#inFlight(b) < this.#inFlight(a) ? b : a;
    }
    this.acquire(picked);
    return picked;
  }

  acquire(item: T): void {
    const count = this.#counts.get(item);
    if (count !== undefined) this.#counts.set(item, count + 1);
  }

  release(item: T): void {
    const count = this.#counts.get(item);
    if (count !== undefined && count > 0) this.#counts.set(item, count - 1);
  }

  /** Requests picked and not yet released, as this balancer counts them. */
  inFlight(item: T): number {
    return this.#counts.get(item) ?? 0;
  }
}
