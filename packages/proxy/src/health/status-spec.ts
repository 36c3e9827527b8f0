// Expected-status specs of health checks (`"200"`, `"200-299,304"`, `"2xx"`) compiled to predicates.

export type StatusMatcher = (status: number) => boolean;

/** Traefik's default: any 2xx or 3xx answer means healthy. */
export const DEFAULT_HEALTHY: StatusMatcher = (status) => status >= 200 && status < 400;

const CODE = /^[1-5][0-9][0-9]$/;
const CLASS = /^([1-5])xx$/i;

/**
 * Null when the spec is malformed, so the caller can fall back and report rather than throw.
 * An absent or blank spec is the default (2xx and 3xx).
 */
export function parseStatusSpec(spec: string | undefined): StatusMatcher | null {
  if (spec === undefined || spec.trim() === '') return DEFAULT_HEALTHY;
  const ranges: [number, number][] = [];
  for (const raw of spec.split(',')) {
    const part = raw.trim();
    const cls = CLASS.exec(part);
    if (cls) {
      const base = Number(cls[1]) * 100;
      ranges.push([base, base + 99]);
      continue;
    }
    const dash = part.indexOf('-');
    const lowText = dash < 0 ? part : part.slice(0, dash).trim();
    const highText = dash < 0 ? part : part.slice(dash + 1).trim();
    if (!CODE.test(lowText) || !CODE.test(highText)) return null;
    const low = Number(lowText);
    const high = Number(highText);
    if (low > high) return null;
    ranges.push([low, high]);
  }
  return (status) => {
    for (const [low, high] of ranges) if (status >= low && status <= high) return true;
    return false;
  };
}
