// Reconnect delays: exponential with "equal jitter", so a fleet that lost its controller does not return in lockstep.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
}

/** Delay before attempt number `attempt` (0-based). `random` is injectable for tests. */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const factor = opts.factor ?? 2;
  const cap = Math.min(opts.maxMs, opts.initialMs * factor ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}
