// Keeps one stateless child running: restarts it when it dies, with a backoff that resets once it has run a while.
import type { Child } from './child-group.js';

export interface BackoffPolicy {
  firstMs: number;
  maxMs: number;
  /** A child that ran at least this long before dying starts over at `firstMs`. */
  stableMs: number;
}

export const NODE_BACKOFF: BackoffPolicy = { firstMs: 500, maxMs: 10_000, stableMs: 30_000 };

/** The wait before the next start, given the previous wait and how long the child ran. Pure. */
export function nextDelay(policy: BackoffPolicy, previousMs: number | null, ranMs: number): number {
  if (previousMs === null || ranMs >= policy.stableMs) return policy.firstMs;
  return Math.min(previousMs * 2, policy.maxMs);
}

export interface SupervisorEvents {
  /** The child died and will be started again after `delayMs`. */
  exited(child: Child, code: number | string, delayMs: number): void;
  /** A new child was started in place of the dead one. */
  restarted(child: Child): void;
}

export class Supervisor {
  readonly #start: () => Child;
  readonly #policy: BackoffPolicy;
  readonly #events: SupervisorEvents;
  #child: Child;
  #stopping = false;
  /** Ends the wait between two starts early when stopping. */
  #wake: (() => void) | null = null;
  readonly done: Promise<void>;

  constructor(first: Child, start: () => Child, events: SupervisorEvents, policy = NODE_BACKOFF) {
    this.#child = first;
    this.#start = start;
    this.#events = events;
    this.#policy = policy;
    this.done = this.#loop();
  }

  get child(): Child {
    return this.#child;
  }

  /** No more restarts; the caller stops the running child (ChildGroup.stopAll). */
  stop(): void {
    this.#stopping = true;
    this.#wake?.();
  }

  async #loop(): Promise<void> {
    let delay: number | null = null;
    for (;;) {
      const startedAt = Date.now();
      const code = await this.#child.exited;
      if (this.#stopping) return;
      delay = nextDelay(this.#policy, delay, Date.now() - startedAt);
      this.#events.exited(this.#child, code, delay);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay ?? 0);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
      if (this.#stopping) return;
      this.#child = this.#start();
      this.#events.restarted(this.#child);
    }
  }
}
