// When to (re)try ordering one certificate: a pure function of its dates, the clock, the resolver's
// window and the failures so far, so the scheduler that calls it holds no policy of its own.
import type { RenewBefore } from './resolver-settings.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface CertificateDates {
  notBefore: number;
  notAfter: number;
  /** The CA's renewal window for this certificate (ARI, RFC 9773), when it offers one. */
  suggestedWindow?: SuggestedWindow | null;
}

/** ms since the epoch. */
export interface SuggestedWindow {
  start: number;
  end: number;
}

export interface RenewalSettings {
  renewBefore: RenewBefore;
  /** First retry after a failure; doubled per consecutive failure. */
  minRetryMs?: number;
  /** Cap on that doubling. */
  maxRetryMs?: number;
  /** Renewals of many certificates issued together are spread over this part of the window. */
  jitterFraction?: number;
  /** How close to expiry a certificate is reported as a warning. */
  warnBeforeMs?: number;
}

export interface RenewalFailures {
  /** Consecutive failed attempts since the last success (0: none). */
  count: number;
  /** When the last attempt failed (ms since the epoch). */
  lastAttemptAt: number;
  /** The CA's Retry-After from that failure, in ms, if it sent one. */
  retryAfterMs?: number | null;
}

export type RenewalReason =
  /** Nothing stored yet (or unreadable): order now. */
  | 'missing'
  /** Expired: order now (routers serve the default certificate meanwhile). */
  | 'expired'
  /** Valid: renew at the jittered start of the renewal window. */
  | 'window'
  /** Valid, and the CA suggested a window (ARI): a uniformly random time in it, or now once it ended. */
  | 'suggested-window'
  /** The last attempt failed: exponential backoff. */
  | 'backoff'
  /** The last attempt failed and the CA said when to come back. */
  | 'retry-after';

export interface RenewalPlan {
  /** When to attempt the next order (ms since the epoch); never before `now`. */
  at: number;
  reason: RenewalReason;
  /** Start of the renewal window (before jitter; the CA's when it suggested one); null without a certificate. */
  windowStart: number | null;
  /** Within `warnBeforeMs` of expiry (or expired): worth a warning in the API. */
  expiringSoon: boolean;
}

export const DEFAULT_MIN_RETRY_MS = MINUTE;
export const DEFAULT_MAX_RETRY_MS = 6 * HOUR;
const DEFAULT_JITTER_FRACTION = 0.1;
const MAX_JITTER_MS = 12 * HOUR;
const DEFAULT_WARN_BEFORE_MS = 7 * DAY;

/**
 * The next attempt for one certificate. `random` (in [0, 1)) is injected so tests are exact.
 *
 * - The CA suggested a window (ARI): a time chosen uniformly in it (RFC 9773 §4.2), so the CA
 *   spreads its load and can pull renewals forward (a revocation ahead); now once it has ended.
 *   It replaces the resolver's own window; failures still back off as below.
 * - No failures: at the start of the renewal window (renewBefore of the lifetime before expiry),
 *   pushed later by up to a tenth of the window (at most 12 h) so certificates issued together are
 *   not renewed in one burst; immediately when missing or expired.
 * - After failures: min × 2^(failures-1), capped at max and at a quarter of the remaining
 *   lifetime (retries get denser as expiry nears), minus up to a quarter of jitter; never less than
 *   min after the failed attempt, so a failing CA never sees a tight loop; and never before the
 *   CA's Retry-After.
 */
export function renewalPlan(
  cert: CertificateDates | null,
  now: number,
  settings: RenewalSettings,
  failures: RenewalFailures | null = null,
  random: () => number = Math.random,
): RenewalPlan {
  const minRetry = Math.max(1000, settings.minRetryMs ?? DEFAULT_MIN_RETRY_MS);
  const maxRetry = Math.max(minRetry, settings.maxRetryMs ?? DEFAULT_MAX_RETRY_MS);
  const warnBefore = settings.warnBeforeMs ?? DEFAULT_WARN_BEFORE_MS;
  const suggested = cert?.suggestedWindow ?? null;
  const windowStart =
    cert === null
      ? null
      : suggested !== null
        ? suggested.start
        : renewalWindowStart(cert, settings.renewBefore);
  const expiringSoon = cert !== null && cert.notAfter - now <= warnBefore;

  if (failures !== null && failures.count > 0) {
    const remaining = cert === null ? Number.POSITIVE_INFINITY : cert.notAfter - now;
    const cap = remaining > 0 ? Math.min(maxRetry, Math.max(minRetry, remaining / 4)) : maxRetry;
    const exponent = Math.min(failures.count - 1, 30);
    const backoff = Math.min(cap, minRetry * 2 ** exponent);
    const jittered = Math.max(minRetry, backoff * (1 - 0.25 * random()));
    const retryAfter = failures.retryAfterMs ?? 0;
    const byBackoff = failures.lastAttemptAt + jittered;
    const byCa = failures.lastAttemptAt + retryAfter;
    // A success in the meantime would have reset `failures`; a window opening later than the
    // backoff (a failed early renewal) still waits for the backoff, not the window.
    return {
      at: Math.max(now, byBackoff, byCa),
      reason: byCa > byBackoff ? 'retry-after' : 'backoff',
      windowStart,
      expiringSoon,
    };
  }

  if (cert === null || windowStart === null) return { at: now, reason: 'missing', windowStart, expiringSoon };
  if (cert.notAfter <= now) return { at: now, reason: 'expired', windowStart, expiringSoon };
  if (suggested !== null) {
    const at = suggested.start + random() * (suggested.end - suggested.start);
    return {
      at: Math.max(now, Math.min(at, cert.notAfter)),
      reason: 'suggested-window',
      windowStart,
      expiringSoon,
    };
  }
  const windowLength = cert.notAfter - windowStart;
  const jitter =
    random() * Math.min(windowLength * (settings.jitterFraction ?? DEFAULT_JITTER_FRACTION), MAX_JITTER_MS);
  return { at: Math.max(now, windowStart + jitter), reason: 'window', windowStart, expiringSoon };
}

/** notAfter minus renewBefore, never before notBefore (a window longer than the lifetime is all of it). */
export function renewalWindowStart(cert: CertificateDates, renewBefore: RenewBefore): number {
  const lifetime = Math.max(0, cert.notAfter - cert.notBefore);
  const before = 'fraction' in renewBefore ? lifetime * renewBefore.fraction : renewBefore.ms;
  return Math.max(cert.notBefore, cert.notAfter - before);
}
