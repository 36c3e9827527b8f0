// Passive health: failed requests eject a server for a time that doubles with each ejection in a row (pure).
import { type PassiveHealthCheck, parseDuration } from '@berth/config';

export interface PassiveSettings {
  /** Failures older than this (counted from the first of a run) no longer count. */
  windowMs: number;
  /** Failures in a row, within the window, that eject the server. */
  maxFailedAttempts: number;
  /** First ejection time; doubles on every ejection without a success in between. */
  ejectMs: number;
  maxEjectMs: number;
}

/**
 * Berth's defaults: Traefik's window (10s) and attempts (1); an ejection starts at 10s and grows
 * to at most 5 minutes, so a dead server is retried rarely but never forgotten.
 */
export const PASSIVE_DEFAULTS: PassiveSettings = {
  windowMs: 10_000,
  maxFailedAttempts: 1,
  ejectMs: 10_000,
  maxEjectMs: 300_000,
};

function durationOr(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  return ms === null ? fallback : ms;
}

/** Fills in defaults; unreadable values (the controller validates) fall back to them. */
export function resolvePassive(config: PassiveHealthCheck): PassiveSettings {
  const attempts = config.maxFailedAttempts;
  const ejectMs = Math.max(1, durationOr(config.ejectTime, PASSIVE_DEFAULTS.ejectMs));
  return {
    windowMs: durationOr(config.failureWindow, PASSIVE_DEFAULTS.windowMs),
    maxFailedAttempts:
      typeof attempts === 'number' && Number.isInteger(attempts) && attempts >= 1
        ? attempts
        : PASSIVE_DEFAULTS.maxFailedAttempts,
    ejectMs,
    maxEjectMs: Math.max(ejectMs, durationOr(config.maxEjectTime, PASSIVE_DEFAULTS.maxEjectMs)),
  };
}

export type PassiveEvent =
  | { kind: 'ejected'; forMs: number; failures: number }
  | { kind: 'recovered'; ejections: number };

/** One server's passive record. Lives across snapshots so a config change does not pardon a server. */
export class PassiveState {
  #failures = 0;
  #firstFailureAt = 0;
  /** Ejections without a success in between: the exponent of the next ejection time. */
  #streak = 0;
  ejectedAt = 0;
  /** Epoch ms until which the server takes no requests; 0 when never ejected. */
  ejectedUntil = 0;

  isEjected(now: number): boolean {
    return now < this.ejectedUntil;
  }

  /** Ejections in a row so far. */
  get streak(): number {
    return this.#streak;
  }

  record(ok: boolean, now: number, settings: PassiveSettings): PassiveEvent | null {
    // Outcomes of requests sent before the ejection say nothing new.
    if (now < this.ejectedUntil) return null;
    if (ok) {
      this.#failures = 0;
      if (this.#streak === 0) return null;
      const ejections = this.#streak;
      this.#streak = 0;
      return { kind: 'recovered', ejections };
    }
    if (this.#failures === 0 || now - this.#firstFailureAt > settings.windowMs) {
      this.#failures = 0;
      this.#firstFailureAt = now;
    }
    this.#failures++;
    if (this.#failures < settings.maxFailedAttempts) return null;
    const failures = this.#failures;
    const forMs = Math.min(settings.ejectMs * 2 ** Math.min(this.#streak, 40), settings.maxEjectMs);
    this.#streak++;
    this.#failures = 0;
    this.ejectedAt = now;
    this.ejectedUntil = now + forMs;
    return { kind: 'ejected', forMs, failures };
  }
}
