// Go (RE2) regular expressions and replacement templates, as Traefik configurations write them, run on JS RegExp.
import { convertGoRegexp } from '@berth/config';
import { MiddlewareConfigError } from '../context.js';

/**
 * Translates a Go regexp into JS source and flags, through the one converter the configuration
 * validator uses too, so a pattern the controller accepted compiles the same way here.
 */
export function goRegexToJs(pattern: string): { source: string; flags: string } {
  const converted = convertGoRegexp(pattern);
  if (!converted.ok) throw new Error(converted.message);
  return { source: converted.source, flags: converted.flags };
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
