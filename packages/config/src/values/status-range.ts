// Expected HTTP status specs for health checks: `200`, `200-299,304`, `2xx`, normalised and matched.

/** Traefik's default: any 2xx or 3xx answer means healthy. */
export const DEFAULT_HEALTHY_STATUS = '200-399';

const PART = /^(?:([1-5])xx|(\d{3})(?:-(\d{3}))?)$/;

/**
 * The normalised spec (lower-case, no spaces) of an integer or a string, or null when it is not one:
 * every comma-separated part is a code, a `low-high` range or a class like `2xx`, within 100..599.
 */
export function normaliseStatusSpec(value: string | number): string | null {
  const text = (typeof value === 'number' ? String(value) : value).replace(/\s+/g, '').toLowerCase();
  if (text === '') return null;
  const parts = text.split(',');
  for (const part of parts) {
    const m = PART.exec(part);
    if (m === null) return null;
    if (m[2] !== undefined) {
      const low = Number(m[2]);
      const high = m[3] === undefined ? low : Number(m[3]);
      if (low < 100 || high > 599 || high < low) return null;
    }
  }
  return parts.join(',');
}

/** A predicate for a spec that `normaliseStatusSpec` accepted; an invalid spec falls back to the default. */
export function statusMatcher(spec: string): (status: number) => boolean {
  const normalised = normaliseStatusSpec(spec) ?? DEFAULT_HEALTHY_STATUS;
  const ranges: Array<[number, number]> = normalised.split(',').map((part) => {
    const m = PART.exec(part)!;
    if (m[1] !== undefined) return [Number(m[1]) * 100, Number(m[1]) * 100 + 99];
    const low = Number(m[2]);
    return [low, m[3] === undefined ? low : Number(m[3])];
  });
  if (ranges.length === 1) {
    const [low, high] = ranges[0]!;
    return (status) => status >= low && status <= high;
  }
  return (status) => ranges.some(([low, high]) => status >= low && status <= high);
}
