// Docker Compose's `$` interpolation of one string, for tests that read real compose files the way
// Compose hands their labels to Docker: `$$`, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:?e}`,
// `${VAR?e}`, `${VAR:+a}`, `${VAR+a}` (nested in defaults). Not used by the provider itself.

export interface Interpolated {
  value: string;
  /** Variables read while unset (Compose warns and uses an empty string). */
  unset: string[];
  /** `${VAR?err}` on an unset variable: Compose refuses the file. */
  error?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolate(text: string, env: Readonly<Record<string, string | undefined>>): Interpolated {
  const unset: string[] = [];
  let error: string | undefined;
  const lookup = (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : undefined);
  const expand = (s: string, depth: number): string => {
    let out = '';
    let i = 0;
    while (i < s.length) {
      const c = s[i] as string;
      if (c !== '$') {
        out += c;
        i++;
        continue;
      }
      const next = s[i + 1];
      if (next === '$') {
        out += '$';
        i += 2;
        continue;
      }
      if (next === '{') {
        // Find the matching brace, allowing nested `${...}` in the default.
        let depthB = 1;
        let j = i + 2;
        while (j < s.length && depthB > 0) {
          if (s[j] === '{') depthB++;
          else if (s[j] === '}') depthB--;
          if (depthB > 0) j++;
        }
        if (j >= s.length) {
          out += s.slice(i);
          break;
        }
        const body = s.slice(i + 2, j);
        out += braced(body, depth);
        i = j + 1;
        continue;
      }
      const m = NAME.exec(s.slice(i + 1));
      if (m === null) {
        // Compose rejects a lone `$`; the corpus has none, so keep it literally.
        out += '$';
        i++;
        continue;
      }
      const v = lookup(m[0]);
      if (v === undefined) unset.push(m[0]);
      out += v ?? '';
      i += 1 + m[0].length;
    }
    return out;
  };
  const braced = (body: string, depth: number): string => {
    const m = NAME.exec(body);
    if (m === null) return '';
    const name = m[0];
    const rest = body.slice(name.length);
    const v = lookup(name);
    const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
    const arg = op === undefined ? '' : rest.slice(op.length);
    const emptyCounts = op?.startsWith(':') ?? false;
    const isSet = v !== undefined && (!emptyCounts || v !== '');
    const sub = (): string => (depth > 10 ? arg : expand(arg, depth + 1));
    switch (op) {
      case ':-':
      case '-':
        return isSet ? (v as string) : sub();
      case ':?':
      case '?':
        if (!isSet) error ??= `${name}: ${arg || 'required variable is missing a value'}`;
        return v ?? '';
      case ':+':
      case '+':
        return isSet ? sub() : '';
      default:
        if (v === undefined) unset.push(name);
        return v ?? '';
    }
  };
  const value = expand(text, 0);
  return error === undefined ? { value, unset } : { value, unset, error };
}
