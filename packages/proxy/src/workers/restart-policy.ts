// When to replace a worker that exited: at once the first time, with growing delays when it keeps crashing.
import { backoffDelay } from '../agent/backoff.js';

export interface RestartPolicy {
  /** A worker that served at least this long before exiting counts as healthy: the backoff resets. */
  stableMs: number;
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { stableMs: 10_000, initialMs: 250, maxMs: 15_000 };

export interface SlotHistory {
  /** Exits in a row that came soon after the worker started. */
  quickExits: number;
}

/**
 * Records one exit and returns the delay before the replacement starts. `random` is injectable
 * so tests can check the bounds.
 */
export function nextRestart(
  history: SlotHistory,
  uptimeMs: number,
  policy: RestartPolicy = DEFAULT_RESTART_POLICY,
  random: () => number = Math.random,
): number {
  if (uptimeMs >= policy.stableMs) history.quickExits = 0;
  const attempt = history.quickExits++;
  if (attempt === 0) return 0;
  return backoffDelay(attempt - 1, { initialMs: policy.initialMs, maxMs: policy.maxMs }, random);
}
