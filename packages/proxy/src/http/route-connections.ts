// Long-lived exchanges (upgraded sockets, streamed responses) per router, so a removed route's can be closed after a grace.

/** What a tracked exchange offers: a way to cut it. */
export interface Closable {
  destroy(): void;
}

/**
 * One per entry point: router names are per entry point, and a router kept by a new snapshot
 * (same name, same entry point) keeps its connections whatever else changed.
 */
export class RouteConnections {
  readonly #byRouter = new Map<string, Set<Closable>>();
  readonly #timers = new Set<NodeJS.Timeout>();

  add(router: string, conn: Closable): void {
    const set = this.#byRouter.get(router);
    if (set) set.add(conn);
    else this.#byRouter.set(router, new Set([conn]));
  }

  delete(router: string, conn: Closable): void {
    const set = this.#byRouter.get(router);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) this.#byRouter.delete(router);
  }

  /** Open exchanges of `router` (for tests and metrics). */
  count(router: string): number {
    return this.#byRouter.get(router)?.size ?? 0;
  }

  /**
   * After a snapshot: the exchanges of every router `exists` denies are closed after `graceMs`,
   * unless by then a later snapshot brought the router back.
   */
  retire(exists: (router: string) => boolean, graceMs: number): void {
    for (const router of this.#byRouter.keys()) {
      if (exists(router)) continue;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (exists(router)) return;
        this.closeRouter(router);
      }, graceMs);
      timer.unref();
      this.#timers.add(timer);
    }
  }

  closeRouter(router: string): void {
    const set = this.#byRouter.get(router);
    if (!set) return;
    this.#byRouter.delete(router);
    for (const conn of set) conn.destroy();
  }

  /** Cuts everything and forgets pending retirements (the entry point is closing). */
  closeAll(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const router of [...this.#byRouter.keys()]) this.closeRouter(router);
  }
}
