// What a HostRegexp pattern promises about the hosts it matches: an exact host, or a domain suffix.

export type HostBinding = { kind: 'exact'; host: string } | { kind: 'suffix'; suffix: string } | null;

type Atom = { literal: string } | { other: string };

/**
 * Reads a Go pattern as a row of top-level atoms and looks at its end. Only an end-anchored pattern
 * (`$` or `\z`) binds the host: HostRegexp searches, so `.+\.example\.com` also matches
 * `a.example.com.evil.org`, and filing it under `.example.com` would change what it matches.
 * Conservative: anything unusual (top-level `|`, flags other than `i`, a quantified last atom) is `null`.
 */
export function hostBinding(pattern: string): HostBinding {
  let rest = pattern;
  const flags = /^\(\?([a-zA-Z]+)\)/.exec(rest);
  if (flags !== null) {
    if (!/^i+$/.test(flags[1]!)) return null;
    rest = rest.slice(flags[0].length);
  }
  const atoms = topLevelAtoms(rest);
  if (atoms === null) return null;
  const last = atoms.at(-1);
  if (last === undefined || !('other' in last) || (last.other !== '$' && last.other !== '\\z')) return null;
  let literal = '';
  let index = atoms.length - 2;
  for (; index >= 0; index--) {
    const atom = atoms[index]!;
    if (!('literal' in atom)) break;
    literal = atom.literal + literal;
  }
  // A quantifier applies to the atom before it, so a literal followed by `?` or `*` is not certain.
  const lower = literal.toLowerCase();
  const first = atoms[0];
  if (
    index === 0 &&
    first !== undefined &&
    'other' in first &&
    (first.other === '^' || first.other === '\\A')
  ) {
    return lower === '' ? null : { kind: 'exact', host: lower.endsWith('.') ? lower.slice(0, -1) : lower };
  }
  const dot = lower.indexOf('.');
  if (dot < 0 || dot === lower.length - 1) return null;
  return { kind: 'suffix', suffix: lower.slice(dot) };
}

const LITERAL_ESCAPES = new Set(['.', '-', '_']);

/** `null` when the pattern has a top-level alternation or cannot be read simply. */
function topLevelAtoms(pattern: string): Atom[] | null {
  const atoms: Atom[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const n = pattern[i + 1];
      if (n === undefined) return null;
      if (LITERAL_ESCAPES.has(n)) atoms.push({ literal: n });
      else atoms.push({ other: `\\${n}` });
      i += 2;
    } else if (c === '[') {
      const end = classEnd(pattern, i);
      if (end < 0) return null;
      atoms.push({ other: pattern.slice(i, end) });
      i = end;
    } else if (c === '(') {
      const end = groupEnd(pattern, i);
      if (end < 0) return null;
      atoms.push({ other: pattern.slice(i, end) });
      i = end;
    } else if (c === '|') {
      return null;
    } else if (/[a-zA-Z0-9-_]/.test(c)) {
      atoms.push({ literal: c });
      i++;
    } else {
      atoms.push({ other: c });
      i++;
    }
  }
  return atoms;
}

function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') i += 2;
    else if (c === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      if (close < 0) return -1;
      i = close + 2;
    } else if (c === ']') return i + 1;
    else i++;
  }
  return -1;
}

function groupEnd(pattern: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c === '[') {
      const end = classEnd(pattern, i);
      if (end < 0) return -1;
      i = end;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
}
