// The contract every load-balancing strategy (smooth weighted round robin, p2c, hrw) fulfils.

/** Whether a target may take requests now (health checks); absent means every target may. */
export type Availability<T> = (item: T) => boolean;

/** Picks the next target for a request; `undefined` when no target may receive traffic. */
export interface Balancer<T> {
  /** `key`: the client's, for strategies that keep a client on one target (hrw); others ignore it. */
  next(available?: Availability<T>, key?: string): T | undefined;
  /** A request sent to `item` without `next` (a sticky session) starts: counted like a pick. */
  acquire?(item: T): void;
  /** A request that `next` picked (or `acquire` counted) is over. */
  release?(item: T): void;
}
