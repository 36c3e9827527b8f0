// The TCP rule language: HostSNI, HostSNIRegexp, ClientIP and ALPN over a connection, as Traefik v3.
import { CidrSet, parseCidr } from '../values/cidr.js';
import {
  findMatcher,
  firstProblem,
  hostProblem,
  type MatcherTable,
  normalizeHost,
  regexp,
  regexpProblem,
  v2TemplateWarning,
} from './matchers.js';
import { templateRegexp } from './mux-template.js';
import { parseRule } from './parser.js';
import type { CompiledTcpRule, ConnectionView, ParseResult, RuleNode, RuleSyntax } from './types.js';

/** Adding a TCP matcher is adding an entry here. */
export const TCP_MATCHERS: MatcherTable<ConnectionView> = {
  // `*` matches every connection, TLS or not; otherwise the SNI of a TLS connection.
  HostSNI: {
    minArgs: 1,
    maxArgs: Number.POSITIVE_INFINITY,
    validate: (args) =>
      firstProblem(args, (arg) =>
        arg === '*' ? null : (hostProblem(arg)?.replace(/^Host/, 'HostSNI') ?? null),
      ),
    build: (args) => {
      if (args.includes('*')) return () => true;
      const wanted = new Set(args.map(normalizeHost));
      return (conn) => wanted.has(conn.serverName);
    },
    hosts: (args) => (args.includes('*') ? null : [...new Set(args.map(normalizeHost))]),
  },
  HostSNIRegexp: {
    minArgs: 1,
    maxArgs: 1,
    validate: (args) => regexpProblem('HostSNIRegexp', args[0]!),
    warn: (args) => v2TemplateWarning('HostSNIRegexp', args[0]!),
    build: (args) => {
      const re = regexp(args[0]!);
      return (conn) => conn.tls && re.test(conn.serverName);
    },
  },
  ClientIP: {
    minArgs: 1,
    maxArgs: 1,
    validate: (args) =>
      parseCidr(args[0]!) === null ? `ClientIP '${args[0]}' is not an IP address or CIDR range` : null,
    build: (args) => {
      const set = CidrSet.parse([args[0]!]).set;
      return (conn) => set.contains(conn.clientIp);
    },
  },
  // The ACME TLS-ALPN-01 protocol is Berth's own business, as in Traefik.
  ALPN: {
    minArgs: 1,
    maxArgs: 1,
    validate: (args) =>
      args[0] === '' || args[0]!.toLowerCase() === 'acme-tls/1'
        ? `ALPN '${args[0]}' is not allowed: give a protocol other than acme-tls/1`
        : null,
    build: (args) => {
      const protocol = args[0]!;
      return (conn) => conn.alpn.includes(protocol);
    },
  },
};

// Traefik v2's syntax: every matcher takes several arguments, none empty (pkg/muxer/tcp/matcher_v2.go).
const v2Arity = { minArgs: 1, maxArgs: Number.POSITIVE_INFINITY } as const;
const noEmpty = (name: string, args: readonly string[]): string | null =>
  args.includes('') ? `${name} takes no empty argument` : null;
const HOST_OR_IP_V2 = /^[0-9A-Za-z_.:-]+$/;

export const TCP_MATCHERS_V2: MatcherTable<ConnectionView> = {
  // As v2: `*` first matches every connection; elsewhere in the list, any connection with an SNI.
  HostSNI: {
    ...v2Arity,
    validate: (args) =>
      noEmpty('HostSNI', args) ??
      firstProblem(args, (arg) =>
        arg === '*' || HOST_OR_IP_V2.test(arg) ? null : `HostSNI '${arg}' is not a valid host name or IP`,
      ),
    build: (args) => {
      if (args[0] === '*') return () => true;
      const any = args.includes('*');
      const wanted = new Set(args.map(normalizeHost));
      return (conn) => conn.serverName !== '' && (any || wanted.has(conn.serverName));
    },
    hosts: (args) => (args.includes('*') ? null : [...new Set(args.map(normalizeHost))]),
  },
  // `{name:regex}` templates, literal elsewhere, anchored and case-insensitive; any one may match.
  HostSNIRegexp: {
    ...v2Arity,
    validate: (args) =>
      noEmpty('HostSNIRegexp', args) ??
      firstProblem(args, (arg) => {
        const built = templateRegexp(arg, 'host');
        if (!built.ok) return `HostSNIRegexp ${JSON.stringify(arg)}: ${built.message}`;
        return regexpProblem('HostSNIRegexp', built.source);
      }),
    build: (args) => {
      const regexps = args.map((arg) => {
        const built = templateRegexp(arg, 'host');
        if (!built.ok) throw new Error(`compileTcpRule: unvalidated template: ${built.message}`);
        return regexp(built.source);
      });
      return (conn) => regexps.some((re) => re.test(conn.serverName));
    },
  },
  ClientIP: {
    ...v2Arity,
    validate: (args) =>
      noEmpty('ClientIP', args) ??
      firstProblem(args, (arg) =>
        parseCidr(arg) === null ? `ClientIP '${arg}' is not an IP address or CIDR range` : null,
      ),
    build: (args) => {
      const set = CidrSet.parse([...args]).set;
      return (conn) => conn.clientIp !== '' && set.contains(conn.clientIp);
    },
  },
  ALPN: {
    ...v2Arity,
    validate: (args) =>
      noEmpty('ALPN', args) ??
      firstProblem(args, (arg) =>
        arg.toLowerCase() === 'acme-tls/1'
          ? `ALPN '${arg}' is not allowed: give a protocol other than acme-tls/1`
          : null,
      ),
    build: (args) => {
      const protocols = new Set(args);
      return (conn) => conn.alpn.some((p) => protocols.has(p));
    },
  },
};

/** The TCP matchers of a rule syntax. */
export function tcpMatchers(syntax: RuleSyntax): MatcherTable<ConnectionView> {
  return syntax === 'v2' ? TCP_MATCHERS_V2 : TCP_MATCHERS;
}

/** Parses a TCP rule and checks every call against the TCP matchers of its syntax. Never throws. */
export function parseTcpRule(text: string, syntax: RuleSyntax = 'v3'): ParseResult {
  return parseRule(text, tcpMatchers(syntax));
}

/** Expects an AST from a successful parseTcpRule of the same syntax. */
export function compileTcpRule(ast: RuleNode, syntax: RuleSyntax = 'v3'): CompiledTcpRule {
  // In v2, HostSNI(`*`) matches every connection only when `*` comes first.
  const catchAll =
    ast.kind === 'call' &&
    ast.name === 'HostSNI' &&
    (syntax === 'v2' ? ast.args[0] === '*' : ast.args.includes('*'));
  const compiled = compile(ast, tcpMatchers(syntax));
  return { match: compiled.match, hosts: compiled.hosts, catchAll };
}

type Compiled = { match: (conn: ConnectionView) => boolean; hosts: string[] | null };

function compile(ast: RuleNode, table: MatcherTable<ConnectionView>): Compiled {
  switch (ast.kind) {
    case 'call': {
      const spec = findMatcher(ast.name, table);
      if (spec === undefined) throw new Error(`compileTcpRule: unknown matcher '${ast.name}'`);
      return { match: spec.build(ast.args), hosts: spec.hosts?.(ast.args) ?? null };
    }
    case 'not': {
      const inner = compile(ast.operand, table).match;
      return { match: (conn) => !inner(conn), hosts: null };
    }
    case 'and': {
      const left = compile(ast.left, table);
      const right = compile(ast.right, table);
      const hosts =
        left.hosts === null
          ? right.hosts
          : right.hosts === null
            ? left.hosts
            : left.hosts.filter((h) => right.hosts?.includes(h));
      return { match: (conn) => left.match(conn) && right.match(conn), hosts };
    }
    case 'or': {
      const left = compile(ast.left, table);
      const right = compile(ast.right, table);
      const hosts =
        left.hosts === null || right.hosts === null ? null : [...new Set([...left.hosts, ...right.hosts])];
      return { match: (conn) => left.match(conn) || right.match(conn), hosts };
    }
  }
}
