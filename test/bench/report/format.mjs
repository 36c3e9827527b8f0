// Number formatting shared by the scenario renderers, so every table reads the same way.

export function fmtInt(x) {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a';
}

/** A latency or CPU time given in microseconds, in the unit that reads best. */
export function fmtUs(us) {
  if (!Number.isFinite(us)) return 'n/a';
  if (us >= 10_000) return `${(us / 1000).toFixed(1)} ms`;
  if (us >= 1000) return `${(us / 1000).toFixed(2)} ms`;
  return `${us.toFixed(1)} µs`;
}

export function fmtMs(ms) {
  return Number.isFinite(ms) ? `${ms.toFixed(ms >= 100 ? 0 : 1)} ms` : 'n/a';
}

export function fmtRatio(x) {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a';
}

export function fmtPct(x) {
  return Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : 'n/a';
}

/** `median (min–max)` for a summarise() cell. */
export function spread(cell, f) {
  if (cell.n <= 1) return f(cell.median);
  return `${f(cell.median)} (${f(cell.min)}–${f(cell.max)})`;
}
