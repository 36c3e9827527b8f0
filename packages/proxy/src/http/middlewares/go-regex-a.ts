// Go (RE2) regular expressions and replacement templates, as Traefik configurations write them, run on JS RegExp.
import { MiddlewareConfigError } from '../context.js';

const POSIX_CLASSES: Record<string, string> = {
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

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/**
 * Translates a Go regexp into JS source and flags. Go's syntax is nearly a subset of JS's; the
 * differences that configurations meet are handled (`(?P<name>`, leading `(?i)`-style flags,
 * `\A`, `\z`, `\Q...\E`, `[[:alpha:]]`, `\pL`). What RE2 refuses (look-arounds, back-references)
 * is refused here too, so a pattern that works in Berth also works in Traefik.
 */
export function goRegexToJs(pattern: string): { source: string; flags: string } {
  let flags = '';
  let rest = pattern;
  const lead = /^\(\?([imsU]+)\)/.exec(rest);
  if (lead) {
    const wanted = lead[1] ?? '';
    if (wanted.includes('U')) throw new Error('the ungreedy flag (?U) is not supported');
    for (const f of new Set(wanted)) flags += f;
    rest = rest.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  let unicode = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i] as string;
    if (c === '\\') {
      const n = rest[i + 1];
      if (n === undefined) throw new Error('trailing backslash');
      if (!inClass && n === 'A') {
        if (flags.includes('m')) throw new Error('\\A with the m flag is not supported');
        out += '^';
      } else if (!inClass && n === 'z') {
        if (flags.includes('m')) throw new Error('\\z with the m flag is not supported');
        out += '$';
      } else if (n === 'Q') {
        const end = rest.indexOf('\\E', i + 2);
        const literal = rest.slice(i + 2, end < 0 ? rest.length : end);
        out += escapeLiteral(literal);
        i = end < 0 ? rest.length : end + 1;
        continue;
      } else if (n === 'p' || n === 'P') {
        unicode = true;
        const brace = rest[i + 2];
        if (brace === '{') {
          const close = rest.indexOf('}', i + 3);
          if (close < 0) throw new Error('unterminated \\p{...}');
          out += rest.slice(i, close + 1);
          i = close;
          continue;
        }
        if (brace === undefined) throw new Error('incomplete \\p');
        out += `\\${n}{${brace}}`;
        i += 2;
        continue;
      } else if (/[1-9]/.test(n)) {
        throw new Error('back-references are not supported by RE2');
      } else if (n === 'C') {
        throw new Error('\\C is not supported');
      } else {
        out += `\\${n}`;
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && rest[i + 1] === ':') {
        const close = rest.indexOf(':]', i + 2);
        const name = close < 0 ? '' : rest.slice(i + 2, close);
        const expansion = POSIX_CLASSES[name];
        if (expansion === undefined) throw new Error(`unknown character class [:${name}:]`);
        out += expansion;
        i = close + 1;
        continue;
      }
      if (c === ']') inClass = false;
      else if (c === '[') {
        out += '\\[';
        continue;
      }
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A `]` (or `^]`) right after the opening bracket is a literal in Go.
      if (rest[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (rest[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && rest[i + 1] === '?') {
      const after = rest.slice(i + 2);
      if (after.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (after.startsWith(':') || (after.startsWith('<') && !/^<[=!]/.test(after))) {
        out += '(?';
        i++;
        continue;
      }
      if (/^[=!]|^<[=!]/.test(after)) throw new Error('look-around assertions are not supported by RE2');
      throw new Error('inline flags are only supported at the start of the pattern');
    }
    out += c;
  }
  if (inClass) throw new Error('missing closing ]');
  if (unicode) flags += 'u';
  return { source: out, flags };
}

/** A compiled Go regexp with Go's matching and replacing semantics. */
export class GoRegex {
  readonly source: string;
  readonly #test: RegExp;
  readonly #global: RegExp;
  readonly groupNames: readonly string[];

  constructor(pattern: string) {
    this.source = pattern;
    const { source, flags } = goRegexToJs(pattern);
    this.#test = new RegExp(source, flags);
    this.#global = new RegExp(source, `${flags}g`);
    this.groupNames = [...source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1] as string);
  }

  test(input: string): boolean {
    return this.#test.test(input);
  }

  exec(input: string): RegExpExecArray | null {
    return this.#test.exec(input);
  }

  /**
   * Go's `ReplaceAllString`: every non-overlapping match is replaced by `template` expanded with
   * `$1`, `${1}`, `$name`, `${name}` and `$$`; an empty match right after a match is skipped.
   */
  replaceAll(input: string, template: string): string {
    const re = this.#global;
    let out = '';
    let lastEnd = 0;
    let searchPos = 0;
    // Each turn advances by at least one code unit, so this ends.
    while (searchPos <= input.length) {
      re.lastIndex = searchPos;
      const m = re.exec(input);
      if (!m) break;
      const start = m.index;
      const end = start + m[0].length;
      out += input.slice(lastEnd, start);
      if (end > lastEnd || start === 0) out += expandGoTemplate(template, m);
      lastEnd = end;
      const width = (input.codePointAt(searchPos) ?? 0) > 0xffff ? 2 : 1;
      searchPos = Math.max(searchPos + width, end);
    }
    return out + input.slice(lastEnd);
  }
}

/** Compiles a Go regexp for a middleware, turning syntax problems into a configuration error. */
export function compileGoRegex(pattern: string, what: string): GoRegex {
  try {
    return new GoRegex(pattern);
  } catch (err) {
    throw new MiddlewareConfigError(
      `${what}: invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`,
    );
  }
}

/** Go's `Regexp.Expand` over a JS match: unknown or unmatched groups expand to nothing. */
export function expandGoTemplate(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i] as string;
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string | undefined;
    let consumed = 0;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      const inner = close < 0 ? '' : template.slice(i + 2, close);
      if (/^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        consumed = close - i;
      }
    } else {
      const word = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (word) {
        name = word[0];
        consumed = word[0].length;
      }
    }
    if (name === undefined) {
      // Malformed: Go keeps the dollar as text.
      out += '$';
      continue;
    }
    i += consumed;
    // Go reads a leading zero (`$01`) as a name, which no group has.
    if (/^\d+$/.test(name)) out += name.length > 1 && name.startsWith('0') ? '' : (m[Number(name)] ?? '');
    else out += m.groups?.[name] ?? '';
  }
  return out;
}
