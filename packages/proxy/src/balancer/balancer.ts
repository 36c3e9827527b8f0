// The contract every load-balancing strategy (round robin now, p2c or sticky later) fulfils.

/** Picks the next target for a request; `undefined` when no target may receive traffic. */
export interface Balancer<T> {
  next(): T | undefined;
}
