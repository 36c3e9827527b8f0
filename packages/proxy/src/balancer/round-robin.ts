// Smooth weighted round robin (nginx's algorithm): weights are honoured without bursts to one target.
import type { Availability, Balancer } from './balancer.js';

export interface Weighted {
  /** Relative share of picks; default 1, 0 means never picked. */
  weight?: number;
}

interface Slot<T> {
  item: T;
  weight: number;
  current: number;
}

/**
 * Each pick adds every weight to its slot's running score, takes the highest score and
 * subtracts the total from it, so a 3:1 split comes out as a,a,b,a rather than a,a,a,b.
 */
export class RoundRobin<T extends Weighted> implements Balancer<T> {
  readonly #slots: Slot<T>[];
  readonly #total: number;

  constructor(items: readonly T[]) {
    this.#slots = items
      .map((item) => ({ item, weight: item.weight ?? 1, current: 0 }))
      .filter((slot) => slot.weight > 0);
    this.#total = this.#slots.reduce((sum, slot) => sum + slot.weight, 0);
  }

  /** Targets that can be picked, i.e. with a positive weight. */
  get size(): number {
    return this.#slots.length;
  }

  /**
   * Unavailable targets sit out of the round, as in nginx: only the weights of the targets
   * considered are added and subtracted, so the others keep their exact shares.
   */
  next(available?: Availability<T>): T | undefined {
    const slots = this.#slots;
    if (slots.length === 0) return undefined;
    if (slots.length === 1) {
      const only = slots[0]!.item;
      return available === undefined || available(only) ? only : undefined;
    }
    if (available === undefined) {
      let best: Slot<T> = slots[0]!;
      for (const slot of slots) {
        slot.current += slot.weight;
        if (slot.current > best.current) best = slot;
      }
      best.current -= this.#total;
      return best.item;
    }
    let best: Slot<T> | undefined;
    let total = 0;
    for (const slot of slots) {
      if (!available(slot.item)) continue;
      slot.current += slot.weight;
      total += slot.weight;
      if (best === undefined || slot.current > best.current) best = slot;
    }
    if (best === undefined) return undefined;
    best.current -= total;
    return best.item;
  }
}
