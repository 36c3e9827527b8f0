// Traefik v2's route templates (`{name:regex}` in hosts, paths and queries), as gorilla/mux reads them.
//
// Ported from Traefik's fork github.com/containous/mux (regexp.go, newRouteRegexp): text outside the
// braces is literal (regexp.QuoteMeta), each `{name}` or `{name:pattern}` becomes a group, and the
// whole is anchored; a PathPrefix is anchored at the start only. The result is Go regexp source,
// compiled by the same Go-to-JavaScript converter as every other rule regexp.

export type TemplateKind = 'host' | 'path' | 'prefix' | 'query';

export type TemplateResult = { ok: true; source: string } | { ok: false; message: string };

const DEFAULT_PATTERN: Readonly<Record<TemplateKind, string>> = {
  host: '[^.]+',
  path: '[^/]+',
  prefix: '[^/]+',
  query: '.*',
};

/** The Go regexp source a v2 template stands for, or why mux refuses it. */
export function templateRegexp(template: string, kind: TemplateKind): TemplateResult {
  const braces = braceIndices(template);
  if (braces === null) return { ok: false, message: `unbalanced braces in ${JSON.stringify(template)}` };
  const fallback = DEFAULT_PATTERN[kind];
  // Host matching is case-insensitive in Traefik's fork of mux.
  let pattern = kind === 'host' ? '(?i)^' : '^';
  let end = 0;
  for (let i = 0; i < braces.length; i += 2) {
    const open = braces[i]!;
    const close = braces[i + 1]!;
    const raw = template.slice(end, open);
    end = close;
    const inner = template.slice(open + 1, close - 1);
    const colon = inner.indexOf(':');
    const name = colon < 0 ? inner : inner.slice(0, colon);
    const patt = colon < 0 ? fallback : inner.slice(colon + 1);
    if (name === '' || patt === '') {
      return {
        ok: false,
        message: `missing name or pattern in ${JSON.stringify(template.slice(open, close))}`,
      };
    }
    pattern += `${quoteMeta(raw)}(?P<v${i / 2}>${patt})`;
  }
  pattern += quoteMeta(template.slice(end));
  // mux: `k=` (an empty query value) means any value.
  if (kind === 'query' && template.slice(template.indexOf('=') + 1) === '') pattern += fallback;
  if (kind !== 'prefix') pattern += '$';
  return { ok: true, source: pattern };
}

/** First-level `{`/`}` positions: start of each open brace, one past each closing one; null when unbalanced. */
function braceIndices(text: string): number[] | null {
  let level = 0;
  let start = 0;
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') {
      level++;
      if (level === 1) start = i;
    } else if (c === '}') {
      level--;
      if (level === 0) out.push(start, i + 1);
      else if (level < 0) return null;
    }
  }
  return level === 0 ? out : null;
}

/** Go's regexp.QuoteMeta. */
export function quoteMeta(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
