// Compares what Berth builds from one corpus file with what Traefik builds (EXPECTED.json), router by
// router, and names the cause of every difference; shared by the label and the file corpus tests.
import type { ConfigError, DynamicConfig, EntryPoint, StaticConfig } from '@berth/config';
import { compile } from '../../src/compiler/compile.js';
import type { CompileResult } from '../../src/compiler/compile-result.js';
import type { ProviderPart } from '../../src/provider/provider-part.js';
import type { ExpectedFile, ExpectedRouter } from './compose-corpus.js';

export const SEVERAL_PORTS =
  'several exposed ports and no port label (Traefik takes the lowest; Berth asks for the label)';

export const BASIC_AUTH_FAILS_CLOSED =
  'basicAuth user no hash can match (Compose ate a `$`): Berth fails closed with 503, Traefik serves a login nobody passes';

export type Verdict = 'matched' | 'rightly rejected' | 'mismatch';

export interface RouterOutcome {
  file: string;
  kind: 'http' | 'tcp' | 'udp';
  name: string;
  verdict: Verdict;
  cause?: string;
  detail?: string;
}

export function staticsFor(expected: ExpectedFile, parts: ProviderPart[]): StaticConfig {
  const names = new Set<string>(Object.keys(expected.staticConfig?.entryPoints ?? {}));
  for (const ep of expected.staticConfig?.defaultEntryPointsForRoutersWithout ?? []) names.add(ep);
  for (const ep of expected.assumptions.staticConfig?.defaultEntryPoints ?? []) names.add(ep);
  for (const r of [...(expected.http?.routers ?? []), ...(expected.tcp?.routers ?? [])])
    for (const ep of r.entryPoints ?? []) names.add(ep);
  for (const p of parts) {
    for (const r of [...Object.values(p.config.http.routers), ...Object.values(p.config.tcp?.routers ?? {})])
      for (const ep of r.entryPoints ?? []) names.add(ep);
  }
  // UDP routers' entry points listen on UDP (`--entrypoints.x.address=:10051/udp`); in the
  // generated catalogue (file 53) `foobar` serves routers of every kind, and only its UDP ones are valid.
  const udp = new Set<string>();
  for (const r of expected.udp?.routers ?? []) for (const ep of listOf(r.entryPoints)) udp.add(ep);
  for (const p of parts)
    for (const r of Object.values(p.config.udp?.routers ?? {}))
      for (const ep of r.entryPoints ?? []) udp.add(ep);
  if (names.size === 0 && udp.size === 0) names.add('http');
  const entryPoints: Record<string, EntryPoint> = {};
  let port = 8000;
  for (const n of [...new Set([...names, ...udp])].sort()) {
    const written = expected.staticConfig?.entryPoints?.[n] as { asDefault?: unknown } | undefined;
    entryPoints[n] = {
      address: udp.has(n) ? `:${port++}/udp` : `:${port++}`,
      ...(written?.asDefault === true ? { asDefault: true } : {}),
    };
  }
  // A Traefik v2 reads v2 rules; on Traefik v3 the same files need `core.defaultRuleSyntax: v2`.
  const syntax = expected.staticConfig?.defaultRuleSyntax ?? (expected.traefik === 'v2' ? 'v2' : undefined);
  return syntax === 'v2' ? { entryPoints, core: { defaultRuleSyntax: 'v2' } } : { entryPoints };
}

function tlsOf(tls: unknown): string {
  if (tls === null || tls === undefined) return 'none';
  const t = tls as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) {
    const key = k.toLowerCase();
    if (key === 'passthrough' && (v === false || v === 'false')) continue;
    if (key === 'domains' && Array.isArray(v)) {
      out[key] = v.map((d: Record<string, unknown>) => ({
        main: d.main,
        sans: (typeof d.sans === 'string' ? d.sans.split(',') : ((d.sans as string[] | undefined) ?? [])).map(
          (s) => s.trim(),
        ),
      }));
    } else out[key] = key === 'passthrough' ? String(v) === 'true' : v;
  }
  return JSON.stringify(Object.fromEntries(Object.entries(out).sort()));
}

function listOf(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  return (v as string[]).map((s) => s.trim());
}

/** The first reason the compiler or the decoder gives for a router, named by what Berth lacks. */
function classify(
  r: ExpectedRouter,
  kind: 'http' | 'tcp' | 'udp',
  errors: ConfigError[],
  result: CompileResult,
  parts: ProviderPart[],
): string {
  const all = parts.flatMap((p) => p.errors);
  if (
    r.service.endsWith('@internal') &&
    errors.some((e) => e.code === 'BERTH_CONFIG_SERVICE_MISSING' && e.path.endsWith('.service'))
  )
    return `internal service Berth lacks: ${r.service}`;
  if (r.service.endsWith('@swarm'))
    return 'reference qualified @swarm: the corpus names every element @docker, Swarm stacks included';
  for (const e of errors) {
    // A warning leaves the router in; whatever took it out is further on.
    if (e.severity === 'warning') continue;
    if (e.code.startsWith('BERTH_CONFIG_RULE')) {
      if (/\{[a-zA-Z_]+:/.test(r.rule)) return 'v2 {name:regex} template in a v3 rule';
      if (e.code === 'BERTH_CONFIG_RULE_UNKNOWN_MATCHER')
        return 'v2-only matcher in a v2 file (Berth reads v3 rules)';
      return `rule Berth rejects (${e.code})`;
    }
    if (e.code === 'BERTH_CONFIG_MIDDLEWARE_MISSING') {
      const m = /middleware "([^"]+)"/.exec(e.message)?.[1] ?? '';
      if (m.endsWith('@swarm'))
        return 'reference qualified @swarm: the corpus names every element @docker, Swarm stacks included';
      const bare = m.replace(/@(docker|file|internal)$/i, '');
      const status = result.middlewares.find((s) => s.name.replace(/@(docker|file)$/, '') === bare);
      const dropped = all.find(
        (x) => x.path.startsWith(`http.middlewares.${bare}`) && x.path !== `http.middlewares.${bare}`,
      );
      if (dropped !== undefined) {
        const segs = dropped.path.split('.');
        const kindName = segs[3] ?? '?';
        const field = segs[4];
        if (dropped.code === 'BERTH_CONFIG_UNSUPPORTED' || dropped.code === 'BERTH_CONFIG_UNKNOWN_FIELD') {
          return field === undefined
            ? `middleware Berth lacks: ${kindName.toLowerCase()}`
            : `middleware option Berth lacks: ${kindName.toLowerCase()}.${field.toLowerCase()}`;
        }
        if (dropped.code === 'BERTH_CONFIG_INVALID_HTPASSWD')
          return result.routers.find((s) => s.name.replace(/@[^@]*$/, '') === r.name)?.failClosed
            ? BASIC_AUTH_FAILS_CLOSED
            : 'basicAuth user that is no htpasswd line, router dropped';
        return `middleware dropped: ${dropped.code}`;
      }
      if (status === undefined) return 'middleware defined outside this file (another provider or file)';
      return `middleware dropped: ${status.errors[0]?.code ?? '?'}`;
    }
    if (e.code === 'BERTH_CONFIG_SERVICE_MISSING') {
      const svc = r.service.replace(/@(docker|file)$/i, '');
      const why = all.find(
        (x) => x.path === `${kind}.services.${svc}` || x.path.startsWith(`${kind}.services.${svc}.`),
      );
      if (why?.code === 'BERTH_DOCKER_PORT' && /several ports/.test(why.message))
        return 'several exposed ports and no port label (Traefik takes the lowest; Berth asks for the label)';
      if (why !== undefined) return `service dropped: ${why.code}`;
      return 'service defined outside this file (another provider or file)';
    }
  }
  return `other: ${errors.map((e) => e.code).join(', ') || 'router missing'}`;
}

/** The provider a corpus file's elements belong to: file for dynamic configuration, else docker. */
export function providerOf(expected: ExpectedFile): 'file' | 'docker' {
  return expected.kind === 'dynamic' ? 'file' : 'docker';
}

/**
 * What the file's routers name in other files (`chain-oauth@file`, a middleware another compose
 * file defines): stand-ins, so that the comparison measures this file's labels only. One part per
 * provider, since `x@file` and `x@docker` are different elements; an unqualified name that
 * EXPECTED.json lists as defined elsewhere is one of the file's own provider.
 */
export function stubsFor(expected: ExpectedFile): ProviderPart[] {
  const own = providerOf(expected);
  const parts = {
    file: { sourceKey: 'file:corpus-stubs', provider: 'file', config: emptyConfig(), errors: [] },
    docker: { sourceKey: 'docker/corpus-stubs', provider: 'docker', config: emptyConfig(), errors: [] },
  } satisfies Record<string, ProviderPart>;
  const target = (ref: string): { part: ProviderPart; name: string } => {
    const m = /^(.*)@(file|docker)$/i.exec(ref);
    if (m === null) return { part: parts[own], name: ref };
    return { part: parts[m[2]!.toLowerCase() as 'file' | 'docker'], name: m[1]! };
  };
  // Qualified with the other provider, or listed by EXPECTED.json as defined elsewhere.
  const other = own === 'file' ? /@docker$/i : /@file$/i;
  const outside = (ref: string, r: ExpectedRouter) =>
    other.test(ref) ||
    ['', '@docker', '@file'].some((q) => (r.unresolvedReferences ?? []).includes(`${ref}${q}`));
  for (const r of expected.http?.routers ?? []) {
    for (const m of r.middlewares ?? []) {
      if (!outside(m, r)) continue;
      const { part, name } = target(m);
      part.config.http.middlewares ??= {};
      part.config.http.middlewares[name] = {
        headers: { customResponseHeaders: { 'X-Corpus-Stub': name } },
      };
    }
    if (outside(r.service, r)) {
      const { part, name } = target(r.service);
      part.config.http.services[name] = { loadBalancer: { servers: [{ url: 'http://192.0.2.1:80' }] } };
    }
    // TLS options a companion file defines (`tls-opts@file`, file 60 for the htpc files).
    const options = r.tls?.options;
    if (typeof options === 'string' && /@(file|docker)$/i.test(options)) {
      const { part, name } = target(options);
      const own = (expected as { tls?: { options?: Record<string, unknown> } }).tls?.options ?? {};
      if (!(part === parts[providerOf(expected)] && Object.hasOwn(own, name))) {
        part.config.tls ??= {};
        part.config.tls.options ??= {};
        part.config.tls.options[name] = {};
      }
    }
  }
  for (const r of expected.tcp?.routers ?? []) {
    if (!outside(r.service, r)) continue;
    const { part, name } = target(r.service);
    part.config.tcp ??= { routers: {}, services: {} };
    part.config.tcp.services[name] = { loadBalancer: { servers: [{ address: '192.0.2.1:80' }] } };
  }
  for (const r of expected.udp?.routers ?? []) {
    if (!outside(r.service, r)) continue;
    const { part, name } = target(r.service);
    part.config.udp ??= { routers: {}, services: {} };
    part.config.udp.services[name] = { loadBalancer: { servers: [{ address: '192.0.2.1:53' }] } };
  }
  return [parts.file, parts.docker];
}

function emptyConfig(): DynamicConfig {
  return { http: { routers: {}, services: {} } };
}

/** Every router of one corpus file: as Traefik builds it, rightly rejected, or why it differs. */
export function compareRouters(
  expected: ExpectedFile,
  parts: ProviderPart[],
): { outcomes: RouterOutcome[]; result: CompileResult } {
  const result = compile(parts, staticsFor(expected, parts));
  const outcomes: RouterOutcome[] = [];
  const file = expected.file;
  // The compiler qualifies names by provider; EXPECTED.json names routers as written.
  const qualified = (name: string) => `${name}@${providerOf(expected)}`;
  for (const r of expected.udp?.routers ?? []) {
    const status = result.udpRouters.find((s) => s.name === qualified(r.name));
    const configured = parts.map((p) => p.config.udp?.routers[r.name]).find((x) => x !== undefined);
    const enabled = status?.status === 'enabled';
    if (!r.status.startsWith('enabled')) {
      outcomes.push({
        file,
        kind: 'udp',
        name: r.name,
        verdict: enabled ? 'mismatch' : 'rightly rejected',
        ...(enabled ? { cause: 'accepted a router Traefik rejects', detail: r.status } : {}),
      });
      continue;
    }
    if (!enabled || configured === undefined) {
      const routerErrors = [
        ...(status?.errors ?? []),
        ...parts
          .flatMap((p) => p.errors)
          .filter((e) => e.path === `udp.routers.${r.name}` || e.path.startsWith(`udp.routers.${r.name}.`)),
      ];
      outcomes.push({
        file,
        kind: 'udp',
        name: r.name,
        verdict: 'mismatch',
        cause: classify(r, 'udp', routerErrors, result, parts),
        detail: routerErrors.map((e) => `${e.code}: ${e.message}`).join(' | '),
      });
      continue;
    }
    const diffs: string[] = [];
    if (configured.service !== r.service) diffs.push(`service ${configured.service} != ${r.service}`);
    const eps = configured.entryPoints === undefined ? null : listOf(configured.entryPoints);
    if (JSON.stringify(eps) !== JSON.stringify(r.entryPoints === null ? null : listOf(r.entryPoints)))
      diffs.push(`entryPoints ${JSON.stringify(eps)} != ${JSON.stringify(r.entryPoints)}`);
    outcomes.push(
      diffs.length === 0
        ? { file, kind: 'udp', name: r.name, verdict: 'matched' }
        : {
            file,
            kind: 'udp',
            name: r.name,
            verdict: 'mismatch',
            cause: 'label decoding differs',
            detail: diffs.join('; '),
          },
    );
  }
  for (const kind of ['http', 'tcp'] as const) {
    for (const r of expected[kind]?.routers ?? []) {
      const status =
        kind === 'http'
          ? result.routers.find((s) => s.name === qualified(r.name))
          : result.tcpRouters.find((s) => s.name === qualified(r.name));
      const configured = parts
        .map((p) => (kind === 'http' ? p.config.http.routers[r.name] : p.config.tcp?.routers[r.name]))
        .find((x) => x !== undefined);
      const routerErrors = [
        ...(status?.errors ?? []),
        ...parts
          .flatMap((p) => p.errors)
          .filter(
            (e) => e.path === `${kind}.routers.${r.name}` || e.path.startsWith(`${kind}.routers.${r.name}.`),
          ),
      ];
      const enabled = status?.status === 'enabled';
      if (!r.status.startsWith('enabled')) {
        outcomes.push({
          file,
          kind,
          name: r.name,
          verdict: enabled ? 'mismatch' : 'rightly rejected',
          ...(enabled ? { cause: 'accepted a router Traefik rejects', detail: r.status } : {}),
        });
        continue;
      }
      if (!enabled || configured === undefined) {
        outcomes.push({
          file,
          kind,
          name: r.name,
          verdict: 'mismatch',
          cause: classify(r, kind, routerErrors, result, parts),
          detail: routerErrors.map((e) => `${e.code}: ${e.message}`).join(' | '),
        });
        continue;
      }
      const diffs: string[] = [];
      if (configured.rule !== r.rule)
        diffs.push(`rule ${JSON.stringify(configured.rule)} != ${JSON.stringify(r.rule)}`);
      if (configured.service !== r.service) diffs.push(`service ${configured.service} != ${r.service}`);
      const eps = configured.entryPoints === undefined ? null : configured.entryPoints;
      if (
        JSON.stringify(eps === null ? null : listOf(eps)) !==
        JSON.stringify(r.entryPoints === null ? null : listOf(r.entryPoints))
      )
        diffs.push(`entryPoints ${JSON.stringify(eps)} != ${JSON.stringify(r.entryPoints)}`);
      // Where the file states them (an `asDefault` entry point, say): the entry points Berth binds to.
      if (r.entryPoints === null && Array.isArray(r.effectiveEntryPoints)) {
        const bound = JSON.stringify([...(status?.entryPoints ?? [])].sort());
        if (bound !== JSON.stringify([...r.effectiveEntryPoints].sort()))
          diffs.push(`effective entryPoints ${bound} != ${JSON.stringify(r.effectiveEntryPoints)}`);
      }
      if (JSON.stringify(listOf(configured.middlewares)) !== JSON.stringify(listOf(r.middlewares)))
        diffs.push(
          `middlewares ${JSON.stringify(configured.middlewares)} != ${JSON.stringify(r.middlewares)}`,
        );
      if (tlsOf(configured.tls) !== tlsOf(r.tls))
        diffs.push(`tls ${tlsOf(configured.tls)} != ${tlsOf(r.tls)}`);
      outcomes.push(
        diffs.length === 0
          ? { file, kind, name: r.name, verdict: 'matched' }
          : {
              file,
              kind,
              name: r.name,
              verdict: 'mismatch',
              cause: 'label decoding differs',
              detail: diffs.join('; '),
            },
      );
    }
  }
  // Routers Berth builds that Traefik does not: a label parser inventing routes is a mismatch too.
  const known = new Set(
    [
      ...(expected.http?.routers ?? []),
      ...(expected.tcp?.routers ?? []),
      ...(expected.udp?.routers ?? []),
    ].map((r) => qualified(r.name)),
  );
  for (const s of [...result.routers, ...result.tcpRouters, ...result.udpRouters]) {
    if (s.status !== 'enabled' || known.has(s.name)) continue;
    outcomes.push({
      file,
      kind: 'http',
      name: s.name,
      verdict: 'mismatch',
      cause: 'router Traefik does not build',
    });
  }
  return { outcomes, result };
}
