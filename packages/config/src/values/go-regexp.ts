// Go RE2 regular expressions and replacement templates, as Traefik users write them, turned into JavaScript's.

export type GoRegexpResult = { ok: true; regexp: RegExp } | { ok: false; message: string };
export type GoRegexpSource = { ok: true; source: string; flags: string } | { ok: false; message: string };

/** Longest pattern accepted; RE2 itself caps programs at a similar size. */
const MAX_PATTERN_LENGTH = 10_000;

// Characters JavaScript lets us escape in every mode, including the `u` mode \p{..} needs.
const SYNTAX_CHARS = new Set('^$\\.*+?()[]{}|/'.split(''));

// Go's escapes for control characters; JavaScript's non-unicode mode would read `\a` as a plain `a`.
const CONTROL_ESCAPES: Readonly<Record<string, string>> = {
  a: '\\x07',
  f: '\\f',
  n: '\\n',
  r: '\\r',
  t: '\\t',
  v: '\\v',
};

// Escapes with the same meaning in both languages (ASCII classes and word boundaries).
const SAME_ESCAPES = new Set(['b', 'B', 'd', 'D', 's', 'S', 'w', 'W']);

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

class Refused extends Error {}

/**
 * Compiles a Go (RE2) pattern into an equivalent RegExp: `(?P<name>` becomes `(?<name>`, leading
 * `(?i)`/`(?s)`/`(?m)` become flags, `\z` and `\A` become anchors, `\Q..\E` is quoted, POSIX classes
 * are expanded. Constructs RE2 lacks (lookaround, backreferences) are refused, as Go would refuse them.
 * Never throws.
 */
export function compileGoRegexp(pattern: string): GoRegexpResult {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, message: `regular expression is longer than ${MAX_PATTERN_LENGTH} characters` };
  }
  let converted: { source: string; flags: string };
  try {
    converted = convert(pattern);
  } catch (err) {
    // Anything else would be a converter bug; user input must still never take the process down.
    return {
      ok: false,
      message: err instanceof Refused ? err.message : `cannot be converted: ${String(err)}`,
    };
  }
  try {
    return { ok: true, regexp: new RegExp(converted.source, converted.flags) };
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
    return { ok: false, message: `invalid regular expression: ${why}` };
  }
}

/** The JavaScript source and flags of a Go pattern, for callers that build their own RegExp. */
export function convertGoRegexp(pattern: string): GoRegexpSource {
  const compiled = compileGoRegexp(pattern);
  return compiled.ok ? { ok: true, source: compiled.regexp.source, flags: compiled.regexp.flags } : compiled;
}

function convert(pattern: string): { source: string; flags: string } {
  const flags = new Set<string>();
  let i = 0;
  // Go applies flag groups anywhere; JavaScript (before ES2025 modifiers) only as whole-pattern flags.
  for (
    let m = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
    m !== null;
    m = /^\(\?([a-zA-Z]+)\)/.exec(pattern.slice(i))
  ) {
    for (const flag of m[1]!) {
      if (flag === 'i' || flag === 's' || flag === 'm') flags.add(flag);
      else if (flag === 'U')
        throw new Refused('the ungreedy flag (?U) is not supported; use lazy quantifiers (*?, +?)');
      else throw new Refused(`unknown flag '${flag}' in (?${m[1]})`);
    }
    i += m[0].length;
  }
  let out = '';
  let inClass = false;
  let unicode = false;
  let depth = 0;
  const names = new Set<string>();
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '\\') {
      const escaped = readEscape(pattern, i, inClass, flags);
      out += escaped.text;
      if (escaped.unicode) unicode = true;
      i = escaped.end;
      continue;
    }
    if (inClass) {
      if (c === ']') {
        inClass = false;
        out += ']';
        i++;
      } else if (c === '[' && pattern[i + 1] === ':') {
        const close = pattern.indexOf(':]', i + 2);
        const name = close < 0 ? '' : pattern.slice(i + 2, close);
        const expansion = POSIX_CLASSES[name];
        if (expansion === undefined || !Object.hasOwn(POSIX_CLASSES, name)) {
          throw new Refused(
            name.startsWith('^')
              ? `negated POSIX class [:${name}:] is not supported`
              : `unknown POSIX class at offset ${i}`,
          );
        }
        out += expansion;
        i = close + 2;
      } else {
        out += c === '[' ? '\\[' : c;
        i++;
      }
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += '[';
      i++;
      if (pattern[i] === '^') {
        out += '^';
        i++;
      }
      // Go reads a `]` right after the opening bracket as a literal, JavaScript as an empty class.
      if (pattern[i] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(') {
      depth++;
      const group = openGroup(pattern, i);
      if (group.text === '(?<') {
        // Newer V8 allows a name once per alternative; Go allows it once per pattern, on every Node.
        const name = /^[A-Za-z_]\w*(?=>)/.exec(pattern.slice(group.end))?.[0];
        if (name !== undefined && names.has(name)) throw new Refused(`duplicate group name '${name}'`);
        if (name !== undefined) names.add(name);
      }
      out += group.text;
      i = group.end;
      continue;
    }
    if (c === ')') depth--;
    out += c;
    i++;
  }
  if (inClass) throw new Refused('missing closing ]');
  if (depth !== 0) throw new Refused(depth > 0 ? 'missing closing )' : 'unexpected )');
  if (unicode) flags.add('u');
  return { source: out, flags: [...flags].sort().join('') };
}

function openGroup(pattern: string, i: number): { text: string; end: number } {
  if (pattern[i + 1] !== '?') return { text: '(', end: i + 1 };
  const rest = pattern.slice(i);
  if (rest.startsWith('(?P<')) return { text: '(?<', end: i + 4 };
  if (rest.startsWith('(?:')) return { text: '(?:', end: i + 3 };
  if (
    rest.startsWith('(?=') ||
    rest.startsWith('(?!') ||
    rest.startsWith('(?<=') ||
    rest.startsWith('(?<!')
  ) {
    throw new Refused(`lookahead and lookbehind (at offset ${i}) are not supported by RE2`);
  }
  // Go 1.22 also accepts `(?<name>`.
  if (rest.startsWith('(?<')) return { text: '(?<', end: i + 3 };
  if (/^\(\?[a-zA-Z-]*[:)]/.test(rest)) {
    throw new Refused(
      `flag group at offset ${i} is not supported; flags are only supported at the very start of the pattern, e.g. (?i)...`,
    );
  }
  throw new Refused(`unsupported group syntax '${rest.slice(0, 4)}' at offset ${i}`);
}

function readEscape(
  pattern: string,
  i: number,
  inClass: boolean,
  flags: ReadonlySet<string>,
): { text: string; end: number; unicode?: boolean } {
  const n = pattern[i + 1];
  if (n === undefined) throw new Refused('trailing backslash at end of pattern');
  if (n >= '1' && n <= '9') throw new Refused(`backreference \\${n} is not supported by RE2`);
  if (SAME_ESCAPES.has(n)) {
    if (inClass && (n === 'b' || n === 'B'))
      throw new Refused(`\\${n} is not allowed inside a character class`);
    return { text: `\\${n}`, end: i + 2 };
  }
  const control = CONTROL_ESCAPES[n];
  if (control !== undefined) return { text: control, end: i + 2 };
  switch (n) {
    case '0': {
      const digits = /^[0-7]{0,2}/.exec(pattern.slice(i + 2))![0];
      return { text: hexEscape(Number.parseInt(`0${digits}`, 8)), end: i + 2 + digits.length };
    }
    case 'z':
    case 'A':
      if (inClass) throw new Refused(`\\${n} is not allowed inside a character class`);
      if (n === 'z') return { text: flags.has('m') ? '(?![\\s\\S])' : '$', end: i + 2 };
      return { text: flags.has('m') ? '(?<![\\s\\S])' : '^', end: i + 2 };
    case 'Q': {
      const close = pattern.indexOf('\\E', i + 2);
      const literal = pattern.slice(i + 2, close < 0 ? pattern.length : close);
      return {
        text: [...literal].map((ch) => literalChar(ch, inClass)).join(''),
        end: close < 0 ? pattern.length : close + 2,
      };
    }
    case 'E':
      return { text: '', end: i + 2 };
    case 'x': {
      if (pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        const hex = close < 0 ? '' : pattern.slice(i + 3, close);
        if (!/^[0-9a-fA-F]{1,6}$/.test(hex) || Number.parseInt(hex, 16) > 0x10ffff) {
          throw new Refused(`invalid \\x{...} escape at offset ${i}`);
        }
        const code = Number.parseInt(hex, 16);
        return code <= 0xffff
          ? { text: `\\u${code.toString(16).padStart(4, '0')}`, end: close + 1 }
          : { text: `\\u{${hex}}`, end: close + 1, unicode: true };
      }
      const hex = pattern.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new Refused(`invalid \\x escape at offset ${i}`);
      return { text: `\\x${hex}`, end: i + 4 };
    }
    case 'p':
    case 'P': {
      let name: string;
      let end: number;
      if (pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        if (close < 0) throw new Refused(`missing } in \\${n}{...} at offset ${i}`);
        name = pattern.slice(i + 3, close);
        end = close + 1;
      } else {
        name = pattern[i + 2] ?? '';
        end = i + 3;
      }
      if (!/^\^?[A-Za-z_]+$/.test(name)) throw new Refused(`invalid Unicode class \\${n} at offset ${i}`);
      const negate = name.startsWith('^') ? n === 'p' : n === 'P';
      const bare = name.replace(/^\^/, '');
      // General categories (`L`, `Lu`) and `Any` read the same; scripts (`Greek`) need `Script=` in JavaScript.
      const property = /^[A-Z][a-z]?$/.test(bare) || bare === 'Any' ? bare : `Script=${bare}`;
      return { text: `\\${negate ? 'P' : 'p'}{${property}}`, end, unicode: true };
    }
    case 'C':
      throw new Refused('\\C (any byte) is not supported');
  }
  if (/[A-Za-z0-9]/.test(n)) throw new Refused(`invalid escape sequence \\${n}`);
  return { text: literalChar(n, inClass), end: i + 2 };
}

/** A literal character written so it means itself in a class or outside one, in `u` mode or not. */
function literalChar(ch: string, inClass: boolean): string {
  if (SYNTAX_CHARS.has(ch)) return `\\${ch}`;
  if (ch === '-' && inClass) return '\\-';
  return ch;
}

function hexEscape(code: number): string {
  return `\\x${code.toString(16).padStart(2, '0')}`;
}

/**
 * Converts a Go `Regexp.Expand` template (`$1`, `${1}`, `$name`, `${name}`, `$$`) into a JavaScript
 * replacement string for `String.prototype.replace` with `regexp`. As in Go, `$name` takes the
 * longest run of letters, digits and `_` (so `$1x` names group `1x`), a group that does not exist
 * expands to nothing, and a `$` not followed by a name is kept literally.
 */
export function convertGoReplacement(template: string, regexp: RegExp): string {
  const groupCount = countGroups(regexp);
  const names = groupNames(regexp);
  let out = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    if (template[i + 1] === '$') {
      out += '$$';
      i += 2;
      continue;
    }
    let name: string | null = null;
    let end = i + 1;
    if (template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (/^\w+$/.test(inner)) {
        name = inner;
        end = close + 1;
      }
    } else {
      const m = /^\w+/.exec(template.slice(i + 1));
      if (m !== null) {
        name = m[0];
        end = i + 1 + name.length;
      }
    }
    if (name === null) {
      out += '$$';
      i++;
      continue;
    }
    out += groupReference(name, groupCount, names);
    i = end;
  }
  return out;
}

function groupReference(name: string, groupCount: number, names: ReadonlySet<string>): string {
  if (/^\d+$/.test(name)) {
    const index = Number(name);
    if (index === 0) return '$&';
    // Two digits always: `$01` followed by `2` can never be read as group 12.
    if (index <= groupCount && index <= 99) return `$${String(index).padStart(2, '0')}`;
    return '';
  }
  return names.has(name) ? `$<${name}>` : '';
}

function countGroups(regexp: RegExp): number {
  // An empty alternative always matches, and the match array has one slot per group.
  const probe = new RegExp(`${regexp.source}|`, regexp.flags.replace(/[gy]/g, ''));
  return (probe.exec('')?.length ?? 1) - 1;
}

function groupNames(regexp: RegExp): Set<string> {
  const probe = new RegExp(`${regexp.source}|`, regexp.flags.replace(/[gy]/g, ''));
  return new Set(Object.keys(probe.exec('')?.groups ?? {}));
}
