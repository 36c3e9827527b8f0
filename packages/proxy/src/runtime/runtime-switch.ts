// The one mutable reference to the live Runtime; a swap is a single assignment, so it is atomic.
import type { Runtime } from './types.js';

/** Where a request reads the runtime it will use. */
export interface RuntimeSource {
  readonly current: Runtime | undefined;
}

/**
 * A request reads `current` once when it starts and keeps that Runtime to the end, so a swap
 * never changes the routing of a request already in flight.
 */
export class RuntimeSwitch implements RuntimeSource {
  #current: Runtime | undefined;

  get current(): Runtime | undefined {
    return this.#current;
  }

  swap(next: Runtime): Runtime | undefined {
    const previous = this.#current;
    this.#current = next;
    return previous;
  }
}

/**
 * For a listener bound while a snapshot is being applied: serves the incoming runtime before it
 * is swapped in, so an entry point new in that snapshot never answers from a table without it.
 * If the apply fails the listener is closed, so nothing else ever sees the staged runtime.
 */
export class StagedRuntime implements RuntimeSource {
  #staged: Runtime | undefined;
  readonly #live: RuntimeSource;

  constructor(staged: Runtime, live: RuntimeSource) {
    this.#staged = staged;
    this.#live = live;
  }

  get current(): Runtime | undefined {
    return this.#staged ?? this.#live.current;
  }

  /** Called once the staged runtime is live: from then on follow the switch. */
  commit(): void {
    this.#staged = undefined;
  }
}
