// Which certificates the routers ask their resolvers for, as Traefik derives them: a router with
// `tls.certResolver` gets one certificate per `tls.domains` entry (main + sans), or else one for
// every name in its rule's Host(...) / HostSNI(...) matchers (the first is the main domain).
// Routers asking the same resolver for the same names share one certificate. Pure: the wiring
// (compiler → orders → snapshots) calls it with the merged dynamic configuration.
import {
  type ConfigError,
  configError,
  parseRule,
  parseTcpRule,
  type RuleNode,
  type RuleSyntax,
  type Source,
} from '@berth/config';
import { AcmeErrorCodes } from './acme-errors.js';
import type { AcmeResolverSettings } from './resolver-settings.js';

export interface RouterForAcme {
  rule: string;
  /** As the snapshot carries it: `v2` when the rule is read in Traefik v2's syntax. */
  ruleSyntax?: RuleSyntax;
  tls?: { certResolver?: string; domains?: { main?: string; sans?: string[] }[] };
  source?: Source;
}

export interface CertificateRequest {
  resolver: string;
  /** Lower-case, no duplicates; the first is the main domain (the certificate's CN). */
  domains: string[];
  /** `http.routers.NAME` / `tcp.routers.NAME` of every router served by this certificate. */
  routers: string[];
}

export interface CertificateRequestsResult {
  requests: CertificateRequest[];
  /** Per router, never thrown: that router serves the default or a matching configured certificate. */
  errors: ConfigError[];
}

const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function certificateRequests(
  routers: { http?: Record<string, RouterForAcme>; tcp?: Record<string, RouterForAcme> },
  resolvers: ReadonlyMap<string, AcmeResolverSettings>,
): CertificateRequestsResult {
  const byKey = new Map<string, CertificateRequest>();
  const errors: ConfigError[] = [];
  const each: [string, RouterForAcme, boolean][] = [
    ...Object.entries(routers.http ?? {}).map(([n, r]): [string, RouterForAcme, boolean] => [
      `http.routers.${n}`,
      r,
      false,
    ]),
    ...Object.entries(routers.tcp ?? {}).map(([n, r]): [string, RouterForAcme, boolean] => [
      `tcp.routers.${n}`,
      r,
      true,
    ]),
  ];
  for (const [path, router, tcp] of each) {
    const resolverName = router.tls?.certResolver;
    if (resolverName === undefined || resolverName === '') continue;
    const fail = (code: string, message: string, sub = '.tls.certResolver') =>
      errors.push(configError(code, `${path}${sub}`, `router "${path}": ${message}`, router.source));
    const resolver = resolvers.get(resolverName);
    if (!resolver) {
      fail(
        AcmeErrorCodes.RESOLVER_UNKNOWN,
        `certResolver "${resolverName}" is not a configured certificate resolver (${resolvers.size > 0 ? [...resolvers.keys()].join(', ') : 'none configured'}); the router serves the default or a matching configured certificate`,
      );
      continue;
    }
    const sets: string[][] = [];
    if (router.tls?.domains && router.tls.domains.length > 0) {
      for (const d of router.tls.domains) sets.push([d.main ?? '', ...(d.sans ?? [])]);
    } else sets.push(ruleHosts(router.rule, tcp, router.ruleSyntax));
    for (const raw of sets) {
      const domains = unique(
        raw.map((n) => n.trim().toLowerCase().replace(/\.$/, '')).filter((n) => n !== ''),
      );
      if (domains.length === 0) {
        fail(
          AcmeErrorCodes.NO_DOMAIN,
          `certResolver "${resolverName}" has no name to order: add tls.domains or a Host(\`...\`) to the rule`,
          '.tls',
        );
        continue;
      }
      const bad = domains.find((n) => !DNS_NAME.test(n));
      if (bad !== undefined) {
        fail(AcmeErrorCodes.DOMAIN_INVALID, `"${bad}" is not a DNS name a CA issues for`, '.tls');
        continue;
      }
      const wildcard = domains.find((n) => n.startsWith('*.'));
      if (wildcard !== undefined && resolver.challenge.type !== 'dns-01') {
        fail(
          AcmeErrorCodes.DOMAIN_INVALID,
          `"${wildcard}" needs a DNS-01 resolver; "${resolverName}" uses ${resolver.challenge.type}`,
          '.tls',
        );
        continue;
      }
      const key = `${resolverName}\n${[...domains].sort().join(',')}`;
      const existing = byKey.get(key);
      if (existing) existing.routers.push(path);
      else byKey.set(key, { resolver: resolverName, domains, routers: [path] });
    }
  }
  return { requests: [...byKey.values()], errors };
}

/** Literal names of every Host(...) (HTTP) or HostSNI(...) (TCP) in the rule, in order; `*` skipped. */
export function ruleHosts(rule: string, tcp = false, syntax: RuleSyntax = 'v3'): string[] {
  const parsed = tcp ? parseTcpRule(rule, syntax) : parseRule(rule, syntax);
  if (!parsed.ok) return [];
  const matcher = tcp ? 'hostsni' : 'host';
  const out: string[] = [];
  const walk = (node: RuleNode): void => {
    if (node.kind === 'call') {
      if (node.name.toLowerCase() === matcher) out.push(...node.args.filter((a) => a !== '*'));
    } else if (node.kind === 'not') {
      // A negated Host names what the router does not serve.
    } else {
      walk(node.left);
      walk(node.right);
    }
  };
  walk(parsed.ast);
  return out;
}

/** The same set of names, in any order (a certificate's domains against a request's). */
export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((n) => set.has(n));
}

function unique(names: string[]): string[] {
  return names.filter((n, i) => names.indexOf(n) === i);
}
