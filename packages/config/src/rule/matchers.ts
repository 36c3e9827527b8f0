// The one table of rule matchers: arity, argument checks, runtime closure and host indexing.
import type { RequestView, RuleMatcher } from './types.js';

export interface MatcherSpec {
  minArgs: number;
  /** `Infinity` when any number of arguments is accepted. */
  maxArgs: number;
  /** Why the arguments are unusable, or null. Runs only once the argument count is right. */
  validate(args: readonly string[]): string | null;
  build(args: readonly string[]): RuleMatcher;
  /** Exact host names every match is bound to, so the proxy can index the rule by host. */
  hosts?(args: readonly string[]): string[];
}

/** Adding a matcher is adding an entry here: the parser, compiler and error messages follow. */
const MATCHERS: Readonly<Record<string, MatcherSpec>> = {
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
    build: (args) => {
      const prefix = args[0]!;
      return (req: RequestView) => req.path.startsWith(prefix);
    },
  },
};

export function findMatcher(name: string): MatcherSpec | undefined {
  // hasOwn keeps `constructor` or `__proto__` in a rule from resolving to Object.prototype members.
  return Object.hasOwn(MATCHERS, name) ? MATCHERS[name] : undefined;
}

export function matcherNames(): string[] {
  return Object.keys(MATCHERS);
}

function firstProblem(args: readonly string[], check: (arg: string) => string | null): string | null {
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
function normalizeHost(host: string): string {
  const lower = stripTrailingDot(host.toLowerCase());
  return lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
}

function stripTrailingDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

const HOST_CHARS = /^[a-z0-9._-]+$/;
const IPV6 = /^\[?[0-9a-f:.]*:[0-9a-f:.]*\]?$/;

function hostProblem(arg: string): string | null {
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
