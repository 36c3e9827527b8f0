// The one mutable reference to the live Runtime; a swap is a single assignment, so it is atomic.
import type { Runtime } from './types.js';

/**
 * A request reads `current` once when it starts and keeps that Runtime to the end, so a swap
 * never changes the routing of a request already in flight.
 */
export class RuntimeSwitch {
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
