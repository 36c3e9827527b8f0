// Gathers a burst of provider changes into one compile: fires `quietMs` after the last change, and never later than `maxWaitMs` after the first.

/** Defaults for `providers.debounce`: a rename-into-place or a `docker compose up` is one version. */
export const DEFAULT_DEBOUNCE_QUIET_MS = 20;
export const DEFAULT_DEBOUNCE_MAX_MS = 250;

export interface DebounceSettings {
  /** Fire once nothing changed for this long (0: at the next turn of the event loop). */
  quietMs: number;
  /** ...but no later than this after the first change of a burst, so a steady stream still publishes. */
  maxWaitMs: number;
}

/** The clock and timers, injectable so tests step through time without waiting. */
export interface DebounceTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: DebounceTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ChangeDebouncer {
  /** One change happened, for `reason`; the reasons of a burst are handed to `fire` together. */
  trigger(reason: string): void;
  /** Fires now if a burst is pending. */
  flush(): void;
  /** Drops a pending burst. */
  cancel(): void;
  readonly pending: boolean;
}

/**
 * Calls `fire` with the distinct reasons of each burst, in the order they first came. The timer
 * is re-armed for the earlier of "quiet after this change" and "the burst's deadline".
 */
export function createChangeDebouncer(
  settings: DebounceSettings,
  fire: (reasons: string[]) => void,
  timers: DebounceTimers = realTimers,
): ChangeDebouncer {
  const quietMs = Math.max(0, settings.quietMs);
  const maxWaitMs = Math.max(quietMs, settings.maxWaitMs);
  let reasons: string[] = [];
  let deadline = 0;
  let timer: unknown = null;

  const disarm = () => {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
  };
  const fireNow = () => {
    disarm();
    const burst = reasons;
    reasons = [];
    if (burst.length > 0) fire(burst);
  };
  return {
    trigger(reason) {
      const now = timers.now();
      if (reasons.length === 0) deadline = now + maxWaitMs;
      if (!reasons.includes(reason)) reasons.push(reason);
      disarm();
      timer = timers.setTimeout(fireNow, Math.max(0, Math.min(quietMs, deadline - now)));
    },
    flush: fireNow,
    cancel() {
      disarm();
      reasons = [];
    },
    get pending() {
      return reasons.length > 0;
    },
  };
}
