// Expected-status specs of health checks (`"200"`, `"200-299,304"`, `"2xx"`), read by the same code the validator uses.
import { DEFAULT_HEALTHY_STATUS, normaliseStatusSpec, statusMatcher } from '@berth/config';

export type StatusMatcher = (status: number) => boolean;

/** Traefik's default: any 2xx or 3xx answer means healthy. */
export const DEFAULT_HEALTHY: StatusMatcher = statusMatcher(DEFAULT_HEALTHY_STATUS);

/**
 * Null when the spec is malformed, so the caller can fall back and report rather than throw.
 * An absent or blank spec is the default (2xx and 3xx).
 */
export function parseStatusSpec(spec: string | undefined): StatusMatcher | null {
  if (spec === undefined || spec.trim() === '') return DEFAULT_HEALTHY;
  const normalised = normaliseStatusSpec(spec);
  if (normalised === null) return null;
  return statusMatcher(normalised);
}
