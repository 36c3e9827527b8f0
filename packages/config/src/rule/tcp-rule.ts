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
} from './matchers.js';
import { parseRule } from './parser.js';
import type { CompiledTcpRule, ConnectionView, ParseResult, RuleNode } from './types.js';

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

/** Parses a TCP rule and checks every call against the TCP matchers. Never throws. */
export function parseTcpRule(text: string): ParseResult {
  return parseRule(text, TCP_MATCHERS);
}

/** Expects an AST from a successful parseTcpRule. */
export function compileTcpRule(ast: RuleNode): CompiledTcpRule {
  const catchAll = ast.kind === 'call' && ast.name === 'HostSNI' && ast.args.includes('*');
  const compiled = compile(ast);
  return { match: compiled.match, hosts: compiled.hosts, catchAll };
}

type Compiled = { match: (conn: ConnectionView) => boolean; hosts: string[] | null };

function compile(ast: RuleNode): Compiled {
  switch (ast.kind) {
    case 'call': {
      const spec = findMatcher(ast.name, TCP_MATCHERS);
      if (spec === undefined) throw new Error(`compileTcpRule: unknown matcher '${ast.name}'`);
      return { match: spec.build(ast.args), hosts: spec.hosts?.(ast.args) ?? null };
    }
    case 'not': {
      const inner = compile(ast.operand).match;
      return { match: (conn) => !inner(conn), hosts: null };
    }
    case 'and': {
      const left = compile(ast.left);
      const right = compile(ast.right);
      const hosts =
        left.hosts === null
          ? right.hosts
          : right.hosts === null
            ? left.hosts
            : left.hosts.filter((h) => right.hosts?.includes(h));
      return { match: (conn) => left.match(conn) && right.match(conn), hosts };
    }
    case 'or': {
      const left = compile(ast.left);
      const right = compile(ast.right);
      const hosts =
        left.hosts === null || right.hosts === null ? null : [...new Set([...left.hosts, ...right.hosts])];
      return { match: (conn) => left.match(conn) || right.match(conn), hosts };
    }
  }
}
