// Medians and ratios over rounds: the report quotes medians because this machine is shared and noisy.

export function median(values) {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

export function min(values) {
  const xs = values.filter((v) => Number.isFinite(v));
  return xs.length === 0 ? Number.NaN : Math.min(...xs);
}

export function max(values) {
  const xs = values.filter((v) => Number.isFinite(v));
  return xs.length === 0 ? Number.NaN : Math.max(...xs);
}

/** Median of `key` over rounds, with the spread, for one table cell. */
export function summarise(rounds, key) {
  const xs = rounds.map((r) => r[key]);
  return { median: median(xs), min: min(xs), max: max(xs), n: xs.length };
}

export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN;
}
