// The wait before each retry: exponential with jitter, shaped as Traefik shapes it. Pure.

/**
 * Milliseconds to wait before retry number `retry` (1 for the first retry). Traefik picks the
 * multiplier so the un-jittered interval doubles over the whole run of attempts, then spreads
 * each wait ±50% (`random` in [0, 1)).
 */
export function retryDelay(initialMs: number, attempts: number, retry: number, random: number): number {
  if (initialMs <= 0 || attempts < 2) return 0;
  const multiplier = 2 ** (1 / (attempts - 1));
  const interval = initialMs * multiplier ** (retry - 1);
  const jitter = 0.5;
  return interval * (1 - jitter) + random * interval * 2 * jitter;
}
