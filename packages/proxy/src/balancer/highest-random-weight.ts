// Rendezvous hashing (highest random weight) on a key, as Traefik's hrw balancer scores it. Pure.
import type { Availability, Balancer } from './balancer.js';

const encoder = new TextEncoder();

/**
 * 64-bit FNV-1a of `text` (UTF-8) as four 16-bit limbs, low first: exact without BigInt, which
 * would cost an allocation per byte on every request.
 */
export function fnv1a64(text: string): [number, number, number, number] {
  let h0 = 0x2325;
  let h1 = 0x8422;
  let h2 = 0x9ce4;
  let h3 = 0xcbf2;
  for (const byte of encoder.encode(text)) {
    h0 ^= byte;
    // × 0x100000001b3 = × 0x1b3 plus a shift left by 40 bits (h0 and h1 land in limbs 2 and 3).
    const t0 = h0 * 0x1b3;
    const t1 = h1 * 0x1b3 + (t0 >>> 16);
    const t2 = h2 * 0x1b3 + (t1 >>> 16) + (h0 << 8);
    const t3 = h3 * 0x1b3 + (t2 >>> 16) + (h1 << 8);
    h0 = t0 & 0xffff;
    h1 = t1 & 0xffff;
    h2 = t2 & 0xffff;
    h3 = t3 & 0xffff;
  }
  return [h0, h1, h2, h3];
}

/**
 * Traefik's score of a target for a key: FNV-1a of key then name, as a fraction of 2^64,
 * `weight / -ln(fraction)`. The same key always ranks the targets the same way.
 */
export function hrwScore(key: string, name: string, weight: number): number {
  const [h0, h1, h2, h3] = fnv1a64(key + name);
  // hi × 2^32 is exact, so the sum rounds once, as Go's float64(uint64) does.
  const sum = (h3 * 0x10000 + h2) * 0x1_0000_0000 + (h1 * 0x10000 + h0);
  const fraction = sum / 2 ** 64;
  return (1 / -Math.log(fraction)) * weight;
}

/** The available target of positive weight with the highest score for `key`; the first on a tie. */
export function pickHighestRandomWeight<T>(
  items: readonly T[],
  key: string,
  nameOf: (item: T) => string,
  weightOf: (item: T) => number,
  available?: Availability<T>,
): T | undefined {
  let best: T | undefined;
  let bestScore = 0;
  for (const item of items) {
    const weight = weightOf(item);
    if (!(weight > 0) || (available !== undefined && !available(item))) continue;
    const score = hrwScore(key, nameOf(item), weight);
    if (best === undefined || score > bestScore) {
      best = item;
      bestScore = score;
    }
  }
  return best;
}

/**
 * A loadBalancer's `strategy: hrw`: each client key keeps its server while that server is
 * available. `nameOf` gives what Traefik hashes: the server URL as configured.
 */
export class HighestRandomWeight<T extends { weight: number }> implements Balancer<T> {
  readonly #items: readonly T[];
  readonly #nameOf: (item: T) => string;

  constructor(items: readonly T[], nameOf: (item: T) => string) {
    this.#items = items;
    this.#nameOf = nameOf;
  }

  next(available?: Availability<T>, key = ''): T | undefined {
    return pickHighestRandomWeight(this.#items, key, this.#nameOf, (item) => item.weight, available);
  }
}
