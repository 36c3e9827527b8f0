// Go-style durations (`1m30s`, `250ms`, `1.5h`), as Traefik writes them, to milliseconds.

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * Milliseconds of a duration: a Go duration string, or a number (or numeric string) of seconds,
 * as Traefik reads both. `null` when it is neither. Negative durations are refused.
 */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : null;
  const text = value.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (text === '0') return 0;
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < text.length) {
    PART.lastIndex = pos;
    const m = PART.exec(text);
    if (!m) return null;
    total += Number(m[1]) * (UNITS[m[2] as string] ?? Number.NaN);
    pos = PART.lastIndex;
  }
  return Number.isFinite(total) ? total : null;
}

/** Formats milliseconds as a Go duration (`1m30s`, `250ms`, `0s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let rest = ms;
  let out = '';
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  if (h) out += `${h}h`;
  if (m) out += `${m}m`;
  if (rest) out += `${rest / 1000}s`;
  return out;
}
