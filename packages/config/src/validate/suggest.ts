// "Did you mean": the known names closest to a misspelt one, for messages.

/** Up to `limit` of `known`, closest first; a name differing only in case always comes first. */
export function closestNames(wrong: string, known: readonly string[], limit = 3): string[] {
  const target = wrong.trim().toUpperCase();
  // Beyond a third of the name, a "suggestion" is just noise.
  const bound = Math.max(2, Math.floor(target.length / 3));
  return known
    .map((name) => ({ name, distance: editDistance(target, name.toUpperCase()) }))
    .filter((c) => c.distance <= bound)
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((c) => c.name);
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
