// Accept-Encoding negotiation with q-values against a preference order. Pure.

/** Lower-case coding → q-value, as the client listed them (`x-gzip` read as `gzip`). */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of header.split(',')) {
    const [rawName = '', ...params] = part.split(';');
    let name = rawName.trim().toLowerCase();
    if (name === '') continue;
    if (name === 'x-gzip') name = 'gzip';
    let q = 1;
    for (const p of params) {
      const [k = '', v = ''] = p.split('=');
      if (k.trim().toLowerCase() !== 'q') continue;
      const n = Number(v.trim());
      q = Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
    }
    // A repeated coding keeps its best weight.
    out.set(name, Math.max(q, out.get(name) ?? 0));
  }
  return out;
}

/**
 * The coding to use, or `null` for none. The highest q wins; ties go to the earlier entry of
 * `preference`. `*` stands for every coding the client did not name; for it (and for a request
 * without Accept-Encoding) `defaultEncoding` is used when set, as Traefik does.
 */
export function negotiateEncoding(
  header: string | undefined,
  preference: readonly string[],
  defaultEncoding?: string,
): string | null {
  if (header === undefined) {
    return defaultEncoding !== undefined && preference.includes(defaultEncoding) ? defaultEncoding : null;
  }
  const accepted = parseAcceptEncoding(header);
  const star = accepted.get('*');
  let best: string | null = null;
  let bestQ = 0;
  for (const coding of preference) {
    const q = accepted.get(coding) ?? star ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  if (
    best !== null &&
    !accepted.has(best) &&
    defaultEncoding !== undefined &&
    preference.includes(defaultEncoding) &&
    !accepted.has(defaultEncoding)
  ) {
    // Chosen only through `*`: the configured default takes its place.
    return defaultEncoding;
  }
  return best;
}
