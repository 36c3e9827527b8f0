// Traefik v2's HTTP matchers (`ruleSyntax: v2`), as Traefik v3 still runs them (pkg/muxer/http/matcher_v2.go).
import { CidrSet, parseCidr } from '../values/cidr.js';
import { compileGoRegexp } from '../values/go-regexp.js';
import {
  firstProblem,
  HTTP_MATCHERS,
  headerValues,
  type MatcherSpec,
  type MatcherTable,
  queryValues,
} from './matchers.js';
import { type TemplateKind, templateRegexp } from './mux-template.js';
import type { RequestView, RuleSyntax } from './types.js';

/** Declared before the table, which spreads it while the module loads. */
const v2Arity = { minArgs: 1, maxArgs: Number.POSITIVE_INFINITY } as const;

/**
 * Every v2 matcher takes any number of arguments, none empty (Traefik's CheckRule). Headers,
 * HeadersRegexp and Query read them as pairs and need all of them; the others match any one.
 */
export const HTTP_MATCHERS_V2: MatcherTable<RequestView> = {
  Host: v2Host('Host'),
  HostHeader: v2Host('HostHeader'),
  // Outside `{...}` the text is literal: HostRegexp(`a.example.com`) is an exact, case-insensitive host.
  HostRegexp: v2Template('HostRegexp', 'host', (req) => req.host),
  Path: v2Template('Path', 'path', (req) => req.path),
  PathPrefix: v2Template('PathPrefix', 'prefix', (req) => req.path),
  Method: {
    ...v2Arity,
    validate: (args) => emptyArg('Method', args),
    build: (args) => {
      const methods = new Set(args.map((m) => m.toUpperCase()));
      return (req) => methods.has(req.method);
    },
  },
  ClientIP: {
    ...v2Arity,
    validate: (args) =>
      emptyArg('ClientIP', args) ??
      firstProblem(args, (arg) =>
        parseCidr(arg) === null ? `ClientIP '${arg}' is not an IP address or CIDR range` : null,
      ),
    build: (args) => {
      const set = CidrSet.parse([...args]).set;
      return (req) => set.contains(req.clientIp);
    },
  },
  // Header names fold case; the value must equal one of the header's values. Pairs are ANDed.
  Headers: {
    ...v2Arity,
    validate: (args) => emptyArg('Headers', args) ?? pairsProblem('Headers', args),
    build: (args) => {
      const wanted = [...pairs(args)];
      return (req) => wanted.every(([name, value]) => headerValues(req, name).includes(value));
    },
  },
  // Each value is a plain Go regexp, searched (not anchored) in each of the header's values.
  HeadersRegexp: {
    ...v2Arity,
    validate: (args) =>
      emptyArg('HeadersRegexp', args) ??
      pairsProblem('HeadersRegexp', args) ??
      firstProblem(
        args.filter((_, i) => i % 2 === 1),
        (pattern) => {
          const compiled = compileGoRegexp(pattern);
          return compiled.ok ? null : `HeadersRegexp ${JSON.stringify(pattern)}: ${compiled.message}`;
        },
      ),
    build: (args) => {
      const wanted = [...pairs(args)].map(([name, pattern]) => [name, goRegexp(pattern)] as const);
      return (req) => wanted.every(([name, re]) => headerValues(req, name).some((v) => re.test(v)));
    },
  },
  // Query(`k=v`, ...): every pair must hold, on the first value of the parameter; `k=` takes any value.
  Query: {
    ...v2Arity,
    validate: (args) => {
      const empty = emptyArg('Query', args);
      if (empty !== null) return empty;
      const flat = flattenQuery(args);
      if (flat.length % 2 !== 0) {
        return `Query ${args.map((a) => JSON.stringify(a)).join(', ')}: write each parameter as key=value`;
      }
      return firstProblem(queryTemplates(flat), (template) => {
        const built = templateRegexp(template, 'query');
        if (!built.ok) return `Query ${JSON.stringify(template)}: ${built.message}`;
        const compiled = compileGoRegexp(built.source);
        return compiled.ok ? null : `Query ${JSON.stringify(template)}: ${compiled.message}`;
      });
    },
    build: (args) => {
      const matchers = queryTemplates(flattenQuery(args)).map((template) => {
        const key = template.slice(0, template.indexOf('='));
        const re = builtTemplate(template, 'query');
        return (req: RequestView) => {
          const first = queryValues(req, key)[0];
          return re.test(first === undefined ? '' : `${key}=${first}`);
        };
      });
      return (req) => matchers.every((m) => m(req));
    },
  },
};

/** v2 Host and HostHeader: the v3 Host without its checks, which v2 never made (ASCII aside). */
function v2Host(name: string): MatcherSpec<RequestView> {
  const v3 = HTTP_MATCHERS.Host!;
  return {
    ...v2Arity,
    validate: (args) =>
      emptyArg(name, args) ??
      firstProblem(args, (arg) =>
        isAscii(arg)
          ? null
          : `${name} '${arg}' is not ASCII; write internationalised names in punycode (xn--...)`,
      ),
    build: v3.build,
    ...(v3.hosts === undefined ? {} : { hosts: v3.hosts }),
  };
}

function v2Template(
  name: string,
  kind: TemplateKind,
  subject: (req: RequestView) => string,
): MatcherSpec<RequestView> {
  return {
    ...v2Arity,
    validate: (args) =>
      emptyArg(name, args) ??
      firstProblem(args, (arg) => {
        if (kind === 'host' && !isAscii(arg)) {
          return `${name} '${arg}' is not ASCII; write internationalised names in punycode (xn--...)`;
        }
        if (kind !== 'host' && !arg.startsWith('/')) return `${name} '${arg}' must start with '/'`;
        const built = templateRegexp(arg, kind);
        if (!built.ok) return `${name} ${JSON.stringify(arg)}: ${built.message}`;
        const compiled = compileGoRegexp(built.source);
        return compiled.ok ? null : `${name} ${JSON.stringify(arg)}: ${compiled.message}`;
      }),
    build: (args) => {
      const regexps = args.map((arg) => builtTemplate(arg, kind));
      const [only] = regexps;
      if (regexps.length === 1 && only !== undefined) return (req) => only.test(subject(req));
      return (req) => {
        const value = subject(req);
        return regexps.some((re) => re.test(value));
      };
    },
  };
}

function builtTemplate(template: string, kind: TemplateKind): RegExp {
  const built = templateRegexp(template, kind);
  if (!built.ok) throw new Error(`rule matcher: unvalidated template: ${built.message}`);
  return goRegexp(built.source);
}

function goRegexp(pattern: string): RegExp {
  const compiled = compileGoRegexp(pattern);
  if (!compiled.ok) throw new Error(`rule matcher: unvalidated regular expression: ${compiled.message}`);
  return compiled.regexp;
}

function emptyArg(name: string, args: readonly string[]): string | null {
  return args.includes('') ? `${name} takes no empty argument` : null;
}

function pairsProblem(name: string, args: readonly string[]): string | null {
  return args.length % 2 === 0 ? null : `${name} takes name and value pairs, got ${args.length} arguments`;
}

/** Lower-case names; as in mux (a Go map), a name given twice keeps its last value. */
function pairs(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < args.length; i += 2) out.set(args[i]!.toLowerCase(), args[i + 1]!);
  return out;
}

/** Traefik splits each argument at its first `=` and pairs up the pieces, whatever argument they came from. */
function flattenQuery(args: readonly string[]): string[] {
  return args.flatMap((arg) => {
    const eq = arg.indexOf('=');
    return eq < 0 ? [arg] : [arg.slice(0, eq), arg.slice(eq + 1)];
  });
}

function queryTemplates(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push(`${flat[i]}=${flat[i + 1]}`);
  return out;
}

function isAscii(text: string): boolean {
  return [...text].every((ch) => ch.charCodeAt(0) <= 0x7f);
}

/** The HTTP matchers of a rule syntax. */
export function httpMatchers(syntax: RuleSyntax): MatcherTable<RequestView> {
  return syntax === 'v2' ? HTTP_MATCHERS_V2 : HTTP_MATCHERS;
}
