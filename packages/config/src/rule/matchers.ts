// The one table of rule matchers: arity, argument checks, runtime closure and host indexing.
import { CidrSet, parseCidr } from '../values/cidr.js';
import { compileGoRegexp } from '../values/go-regexp.js';
import { isHeaderName } from '../values/http-syntax.js';
import { hostBinding } from './host-pattern.js';
import type { RequestView } from './types.js';

export interface MatcherSpec<V = RequestView> {
  minArgs: number;
  /** `Infinity` when any number of arguments is accepted. */
  maxArgs: number;
  /** Why the arguments are unusable, or null. Runs only once the argument count is right. */
  validate(args: readonly string[]): string | null;
  build(args: readonly string[]): (view: V) => boolean;
  /** Why accepted arguments will not do what they seem to (a warning; the rule still works as written). */
  warn?(args: readonly string[]): string | null;
  /** Exact host names every match is bound to, so the proxy can index the rule by host; null: unbound. */
  hosts?(args: readonly string[]): string[] | null;
  /** Domain suffixes (`.example.com`) every match is bound to, for the index's wildcard tier. */
  hostSuffixes?(args: readonly string[]): string[] | null;
}

/** A set of matchers a rule may call: HTTP rules and TCP rules each have one. */
export type MatcherTable<V> = Readonly<Record<string, MatcherSpec<V>>>;

/** Adding a matcher is adding an entry here: the parser, compiler and error messages follow. */
export const HTTP_MATCHERS: MatcherTable<RequestView> = {
  // Several arguments mean "any of these", as in Traefik v2; v3 rules written with one still work.
  Host: {
    minArgs: 1,
    maxArgs: Number.POSITIVE_INFINITY,
    validate: (args) => firstProblem(args, hostProblem),
    build: (args) => {
      const wanted = new Set(args.map(normalizeHost));
      if (wanted.size === 1) {
        const only = normalizeHost(args[0]!);
        return (req: RequestView) => stripTrailingDot(req.host) === only;
      }
      return (req: RequestView) => wanted.has(stripTrailingDot(req.host));
    },
    hosts: (args) => [...new Set(args.map(normalizeHost))],
  },
  Path: {
    minArgs: 1,
    maxArgs: 1,
    validate: (args) => firstProblem(args, (arg) => pathProblem('Path', arg)),
    warn: (args) => v2TemplateWarning('Path', args[0]!),
    build: (args) => {
      const path = args[0]!;
      return (req: RequestView) => req.path === path;
    },
  },
  // A plain string prefix, like Traefik: PathPrefix(`/api`) also matches `/apiary`.
  PathPrefix: {
    minArgs: 1,
    maxArgs: 1,
    validate: (args) => firstProblem(args, (arg) => pathProblem('PathPrefix', arg)),
    warn: (args) => v2TemplateWarning('PathPrefix', args[0]!),
    build: (args) => {
      const prefix = args[0]!;
      return (req: RequestView) => req.path.startsWith(prefix);
    },
  },
  // Traefik searches: the pattern is not anchored unless it says so, like Go's MatchString.
  HostRegexp: {
    minArgs: 1,
    maxArgs: 1,
    validate: (args) => {
      const pattern = args[0]!;
      if ([...pattern].some((ch) => ch.charCodeAt(0) > 0x7f)) {
        return `HostRegexp '${pattern}' is not ASCII; write internationalised names in punycode (xn--...)`;
      }
      return regexpProblem('HostRegexp', pattern);
    },
    warn: (args) => v2TemplateWarning('HostRegexp', args[0]!),
    build: (args) => {
      const re = regexp(args[0]!);
      return (req: RequestView) => re.test(stripTrailingDot(req.host));
    },
    hosts: (args) => {
      const bound = hostBinding(args[0]!);
      return bound?.kind === 'exact' ? [bound.host] : null;
    },
    hostSuffixes: (args) => {
      const bound = hostBinding(args[0]!);
      return bound?.kind === 'suffix' ? [bound.suffix] : null;
    },
  },
  PathRegexp: {
    minArgs: 1,
    maxArgs: 1,
    validate: (args) => regexpProblem('PathRegexp', args[0]!),
    build: (args) => {
      const re = regexp(args[0]!);
      return (req: RequestView) => re.test(req.path);
    },
  },
  Method: {
    minArgs: 1,
    maxArgs: 1,
    validate: (args) =>
      /^[A-Za-z]+$/.test(args[0]!) ? null : `Method '${args[0]}' is not an HTTP method name`,
    build: (args) => {
      const method = args[0]!.toUpperCase();
      return (req: RequestView) => req.method === method || req.method.toUpperCase() === method;
    },
  },
  // Header names fold case, values compare exactly; any one of a repeated header's values may match.
  Header: {
    minArgs: 2,
    maxArgs: 2,
    validate: (args) => headerNameProblem('Header', args[0]!),
    build: (args) => {
      const name = args[0]!.toLowerCase();
      const value = args[1]!;
      return (req: RequestView) => headerValues(req, name).some((v) => v === value);
    },
  },
  HeaderRegexp: {
    minArgs: 2,
    maxArgs: 2,
    validate: (args) =>
      headerNameProblem('HeaderRegexp', args[0]!) ?? regexpProblem('HeaderRegexp', args[1]!),
    build: (args) => {
      const name = args[0]!.toLowerCase();
      const re = regexp(args[1]!);
      return (req: RequestView) => headerValues(req, name).some((v) => re.test(v));
    },
  },
  // As in Traefik, Query(`k`) alone is Query(`k`, ``): the parameter is present with an empty value.
  Query: {
    minArgs: 1,
    maxArgs: 2,
    validate: (args) => (args[0] === '' ? 'Query needs a non-empty parameter name' : null),
    build: (args) => {
      const key = args[0]!;
      const value = args[1] ?? '';
      return (req: RequestView) => queryValues(req, key).some((v) => v === value);
    },
  },
  QueryRegexp: {
    minArgs: 2,
    maxArgs: 2,
    validate: (args) =>
      args[0] === ''
        ? 'QueryRegexp needs a non-empty parameter name'
        : regexpProblem('QueryRegexp', args[1]!),
    build: (args) => {
      const key = args[0]!;
      const re = regexp(args[1]!);
      return (req: RequestView) => queryValues(req, key).some((v) => re.test(v));
    },
  },
  // The peer address, as Traefik: X-Forwarded-For is for middlewares with an ipStrategy.
  ClientIP: {
    minArgs: 1,
    maxArgs: 1,
    validate: (args) =>
      parseCidr(args[0]!) === null ? `ClientIP '${args[0]}' is not an IP address or CIDR range` : null,
    build: (args) => {
      const set = CidrSet.parse([args[0]!]).set;
      return (req: RequestView) => set.contains(req.clientIp);
    },
  },
};

export function findMatcher<V = RequestView>(
  name: string,
  table: MatcherTable<V> = HTTP_MATCHERS as unknown as MatcherTable<V>,
): MatcherSpec<V> | undefined {
  // hasOwn keeps `constructor` or `__proto__` in a rule from resolving to Object.prototype members.
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

export function matcherNames<V>(
  table: MatcherTable<V> = HTTP_MATCHERS as unknown as MatcherTable<V>,
): string[] {
  return Object.keys(table);
}

export function firstProblem(args: readonly string[], check: (arg: string) => string | null): string | null {
  for (const arg of args) {
    const problem = check(arg);
    if (problem !== null) return problem;
  }
  return null;
}

/**
 * Request hosts arrive lower-case, and IPv6 literals without brackets (as Go's URL.Hostname gives
 * them); a fully qualified `example.com.` names the same host.
 */
export function normalizeHost(host: string): string {
  const lower = stripTrailingDot(host.toLowerCase());
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

export function stripTrailingDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

const HOST_CHARS = /^[a-z0-9._-]+$/;
const IPV6 = /^\[?[0-9a-f:.]*:[0-9a-f:.]*\]?$/;

export function hostProblem(arg: string): string | null {
  const host = normalizeHost(arg);
  if (host === '') return 'Host needs a non-empty host name';
  if ([...host].some((ch) => ch.charCodeAt(0) > 0x7f)) {
    return `Host '${arg}' is not ASCII; write internationalised names in punycode (xn--...)`;
  }
  if (host.includes('*')) return `Host '${arg}' contains a wildcard; only exact host names are supported`;
  if (host.includes(':')) {
    // An IPv6 literal has at least two colons; one colon can only be a port (`cafe:8080`).
    const colons = host.split(':').length - 1;
    const bracketed = host.startsWith('[') === host.endsWith(']');
    if (colons >= 2 && bracketed && IPV6.test(host)) return null;
    return `Host '${arg}' must not include a port; requests are matched on the host name alone`;
  }
  if (!HOST_CHARS.test(host)) return `Host '${arg}' is not a valid host name`;
  return null;
}

function pathProblem(matcher: string, arg: string): string | null {
  return arg.startsWith('/') ? null : `${matcher} '${arg}' must start with '/'`;
}

export function regexpProblem(matcher: string, pattern: string): string | null {
  const compiled = compileGoRegexp(pattern);
  return compiled.ok ? null : `${matcher} ${JSON.stringify(pattern)}: ${compiled.message}`;
}

/**
 * Traefik v2 wrote `{sub:[a-z]+}.example.com`; Traefik v3 takes it as a regexp with literal braces
 * (or a path with literal braces) and accepts the router, which then never matches: so does Berth,
 * and says so.
 */
export function v2TemplateWarning(matcher: string, arg: string): string | null {
  if (!/\{[A-Za-z_]\w*(:[^}]*)?\}/.test(arg)) return null;
  const fix = matcher.endsWith('Regexp')
    ? 'write a regular expression (e.g. ^[a-z]+\\.example\\.com$)'
    : `write the path without it (or a PathRegexp)`;
  return `${matcher} ${JSON.stringify(arg)} uses Traefik v2's {name:regex} syntax, which v3 rules read literally: it never matches under v3; ${fix}, or set ruleSyntax: v2 on the router`;
}

/** Only called on arguments `validate` accepted, so the pattern compiles. */
export function regexp(pattern: string): RegExp {
  const compiled = compileGoRegexp(pattern);
  if (!compiled.ok) throw new Error(`rule matcher: unvalidated regular expression: ${compiled.message}`);
  return compiled.regexp;
}

function headerNameProblem(matcher: string, name: string): string | null {
  return isHeaderName(name) ? null : `${matcher} name '${name}' is not a valid header name`;
}

export function headerValues(req: RequestView, name: string): readonly string[] {
  const value = req.headers[name];
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

// One parse per request, however many Query matchers its candidate rules hold.
const parsedQueries = new WeakMap<RequestView, Map<string, string[]>>();

/** Go's url.Query(): `+` is a space, pairs with a bad escape or a `;` are skipped. */
export function queryValues(req: RequestView, key: string): readonly string[] {
  let parsed = parsedQueries.get(req);
  if (parsed === undefined) {
    parsed = parseQuery(req.query);
    parsedQueries.set(req, parsed);
  }
  return parsed.get(key) ?? [];
}

function parseQuery(query: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of query.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    const key = decodeQueryPart(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeQueryPart(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === null || value === null) continue;
    const list = out.get(key);
    if (list === undefined) out.set(key, [value]);
    else list.push(value);
  }
  return out;
}

function decodeQueryPart(text: string): string | null {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}
