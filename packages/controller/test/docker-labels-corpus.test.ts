// The compatibility corpus: 52 real compose files, stacks and a label catalogue through the label
// decoder and the compiler, router by router against what Traefik itself builds (EXPECTED.json).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ConfigError, EntryPoint, StaticConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import type { CompileResult } from '../src/compiler/compile-result.js';
import { decodeContainers } from '../src/provider/docker/labels/index.js';
import type { ProviderPart } from '../src/provider/provider-part.js';
import {
  type CorpusCase,
  corpusDir,
  type ExpectedFile,
  type ExpectedRouter,
  readCase,
} from './support/compose-corpus.js';

const SEVERAL_PORTS =
  'several exposed ports and no port label (Traefik takes the lowest; Berth asks for the label)';

/**
 * Why a router Traefik accepts does not come out of Berth as Traefik builds it, with how many
 * routers each cause costs. Every cause is a feature Berth lacks or a deliberate difference, none a
 * label parser bug; a new cause or a changed count fails the test, so update this list only with a
 * reason (README "compatibility" section of the corpus).
 */
const KNOWN_CAUSES: Readonly<Record<string, number>> = {
  // Features Berth does not have yet (their own issues).
  'UDP: not in Berth yet': 1,
  'middleware Berth lacks: digestauth': 1,
  'middleware Berth lacks: forwardauth': 4,
  'middleware Berth lacks: passtlsclientcert': 1,
  'service @internal (api, ping, prometheus): not in Berth yet': 16,
  'v2 {name:regex} template in a v3 rule': 5,
  'v2-only matcher in a v2 file (Berth reads v3 rules)': 1,
  // Deliberate differences.
  /** File 05: Compose ate the `$` of an unescaped apr1 hash; Traefik takes `test:/` and no login ever works, Berth refuses it. */
  'basicAuth user that is no htpasswd line (Berth checks the hash format)': 1,
  /** Files 15, 16: Traefik's own container with ports 80, 443, 8080 and no port label; Traefik takes the lowest, Berth asks. */
  [SEVERAL_PORTS]: 2,
};

const UNUSED_DEFAULT =
  'generated default service no router uses, left out quietly (its container exposes several ports)';

/**
 * Services whose servers are not on Traefik's port, by cause. All are Traefik's own container
 * (ports 80, 443, 8080; its unused default service) and file 33's portainer (8000, 9000, 9443).
 */
const KNOWN_PORT_DIFFERENCES: Readonly<Record<string, number>> = { [SEVERAL_PORTS]: 5, [UNUSED_DEFAULT]: 8 };

type Verdict = 'matched' | 'rightly rejected' | 'mismatch';

interface RouterOutcome {
  file: string;
  kind: 'http' | 'tcp' | 'udp';
  name: string;
  verdict: Verdict;
  cause?: string;
  detail?: string;
}

function staticsFor(c: CorpusCase, parts: ProviderPart[]): StaticConfig {
  const names = new Set<string>(Object.keys(c.expected.staticConfig?.entryPoints ?? {}));
  for (const ep of c.expected.staticConfig?.defaultEntryPointsForRoutersWithout ?? []) names.add(ep);
  for (const r of [...(c.expected.http?.routers ?? []), ...(c.expected.tcp?.routers ?? [])])
    for (const ep of r.entryPoints ?? []) names.add(ep);
  for (const p of parts) {
    for (const r of [...Object.values(p.config.http.routers), ...Object.values(p.config.tcp?.routers ?? {})])
      for (const ep of r.entryPoints ?? []) names.add(ep);
  }
  if (names.size === 0) names.add('http');
  const entryPoints: Record<string, EntryPoint> = {};
  let port = 8000;
  for (const n of [...names].sort()) entryPoints[n] = { address: `:${port++}` };
  return { entryPoints };
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
  kind: 'http' | 'tcp',
  errors: ConfigError[],
  result: CompileResult,
  parts: ProviderPart[],
): string {
  const all = parts.flatMap((p) => p.errors);
  if (r.service.endsWith('@internal')) return 'service @internal (api, ping, prometheus): not in Berth yet';
  if (r.service.endsWith('@swarm')) return 'reference qualified @swarm: no Swarm provider yet';
  for (const e of errors) {
    if (e.code.startsWith('BERTH_CONFIG_RULE')) {
      if (/\{[a-zA-Z_]+:/.test(r.rule)) return 'v2 {name:regex} template in a v3 rule';
      if (e.code === 'BERTH_CONFIG_RULE_UNKNOWN_MATCHER')
        return 'v2-only matcher in a v2 file (Berth reads v3 rules)';
      return `rule Berth rejects (${e.code})`;
    }
    if (e.code === 'BERTH_CONFIG_MIDDLEWARE_MISSING') {
      const m = /middleware "([^"]+)"/.exec(e.message)?.[1] ?? '';
      const bare = m.replace(/@(docker|file|internal)$/i, '');
      const status = result.middlewares.find((s) => s.name === bare);
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
          return 'basicAuth user that is no htpasswd line (Berth checks the hash format)';
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

/**
 * What the file's routers name in other files (`chain-oauth@file`, a middleware another compose
 * file defines): stand-ins, so that the comparison measures this file's labels only.
 */
function stubsFor(c: CorpusCase): ProviderPart {
  const part: ProviderPart = {
    sourceKey: 'file:corpus-stubs',
    config: { http: { routers: {}, services: {} } },
    errors: [],
  };
  const bare = (ref: string) => ref.replace(/@(file|docker)$/i, '');
  const outside = (ref: string, r: ExpectedRouter) =>
    /@file$/i.test(ref) ||
    (r.unresolvedReferences ?? []).includes(ref) ||
    (r.unresolvedReferences ?? []).includes(`${ref}@docker`);
  for (const r of c.expected.http?.routers ?? []) {
    for (const m of r.middlewares ?? []) {
      if (!outside(m, r)) continue;
      part.config.http.middlewares ??= {};
      part.config.http.middlewares[bare(m)] = {
        headers: { customResponseHeaders: { 'X-Corpus-Stub': bare(m) } },
      };
    }
    if (outside(r.service, r))
      part.config.http.services[bare(r.service)] = {
        loadBalancer: { servers: [{ url: 'http://192.0.2.1:80' }] },
      };
  }
  for (const r of c.expected.tcp?.routers ?? []) {
    if (!outside(r.service, r)) continue;
    part.config.tcp ??= { routers: {}, services: {} };
    part.config.tcp.services[bare(r.service)] = { loadBalancer: { servers: [{ address: '192.0.2.1:80' }] } };
  }
  return part;
}

function runCase(c: CorpusCase): { outcomes: RouterOutcome[]; parts: ProviderPart[]; ports: PortOutcome[] } {
  const parts = decodeContainers(c.containers, c.settings);
  parts.push(stubsFor(c));
  const result = compile(parts, staticsFor(c, parts));
  const outcomes: RouterOutcome[] = [];
  const file = c.expected.file;
  for (const r of c.expected.udp?.routers ?? []) {
    outcomes.push({
      file,
      kind: 'udp',
      name: r.name,
      verdict: r.status === 'enabled' ? 'mismatch' : 'rightly rejected',
      cause: 'UDP: not in Berth yet',
    });
  }
  for (const kind of ['http', 'tcp'] as const) {
    for (const r of c.expected[kind]?.routers ?? []) {
      const status =
        kind === 'http'
          ? result.routers.find((s) => s.name === r.name)
          : result.tcpRouters.find((s) => s.name === r.name);
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
    [...(c.expected.http?.routers ?? []), ...(c.expected.tcp?.routers ?? [])].map((r) => r.name),
  );
  for (const s of [...result.routers, ...result.tcpRouters]) {
    if (s.status !== 'enabled' || known.has(s.name)) continue;
    outcomes.push({
      file,
      kind: 'http',
      name: s.name,
      verdict: 'mismatch',
      cause: 'router Traefik does not build',
    });
  }
  // Ports of the services Traefik builds, where EXPECTED.json knows them.
  const ports: PortOutcome[] = [];
  for (const svc of c.expected.http?.services ?? []) {
    if (!/^\d+$/.test(svc.port)) continue;
    const status = result.services.find((x) => x.name === svc.name);
    if (status === undefined || status.status !== 'enabled') {
      const why = parts.flatMap((p) => p.errors).find((e) => e.path === `http.services.${svc.name}`);
      const several = why?.code === 'BERTH_DOCKER_PORT' && /several ports/.test(why.message);
      ports.push({
        file,
        name: svc.name,
        ok: false,
        detail: several ? SEVERAL_PORTS : why === undefined ? UNUSED_DEFAULT : `service missing: ${why.code}`,
      });
      continue;
    }
    const got = status.servers.map((u) => /:(\d+)$/.exec(u)?.[1]);
    const ok = got.length > 0 && got.every((p) => p === svc.port);
    ports.push({ file, name: svc.name, ok, detail: `${JSON.stringify(got)} != ${svc.port}` });
  }
  return { outcomes, parts, ports };
}

interface PortOutcome {
  file: string;
  name: string;
  ok: boolean;
  detail: string;
}

const dir = corpusDir();

describe('Traefik label compatibility corpus', {
  skip: dir === undefined ? 'corpus not found (set BERTH_CORPUS_DIR)' : false,
}, () => {
  it('builds every router Traefik accepts as Traefik does, except for known, documented causes', () => {
    const root = dir as string;
    const expected = (
      JSON.parse(readFileSync(join(root, 'EXPECTED.json'), 'utf8')) as { files: ExpectedFile[] }
    ).files;
    const files = expected.filter((f) => /^(0[1-9]|[1-4]\d|5[0-2])-/.test(f.file));
    assert.equal(files.length, 52);
    const outcomes: RouterOutcome[] = [];
    const ports: PortOutcome[] = [];
    let catalogue = '';
    for (const f of files) {
      const c = readCase(root, f);
      const { outcomes: o, parts, ports: p } = runCase(c);
      outcomes.push(...o);
      ports.push(...p);
      if (f.kind === 'labels') {
        const kept = (pick: (p: ProviderPart) => object | undefined) =>
          parts.reduce((n, p) => n + Object.keys(pick(p) ?? {}).length, 0);
        catalogue = `${kept((p) => p.config.http.routers)} routers, ${kept((p) => p.config.http.services)} services, ${kept((p) => p.config.http.middlewares)} middlewares, ${kept((p) => p.config.tcp?.routers)} TCP routers, ${kept((p) => p.config.tcp?.services)} TCP services`;
      }
    }
    const count = (v: Verdict) => outcomes.filter((o) => o.verdict === v).length;
    const causes: Record<string, number> = {};
    for (const o of outcomes)
      if (o.cause !== undefined && o.verdict === 'mismatch') causes[o.cause] = (causes[o.cause] ?? 0) + 1;
    const sortedCauses = Object.fromEntries(Object.entries(causes).sort(([a], [b]) => (a < b ? -1 : 1)));
    const portCauses: Record<string, number> = {};
    for (const p of ports) if (!p.ok) portCauses[p.detail] = (portCauses[p.detail] ?? 0) + 1;
    const lines = [
      `corpus: ${files.length} files, ${outcomes.length} label routers (${outcomes.filter((o) => o.kind === 'http').length} HTTP, ${outcomes.filter((o) => o.kind === 'tcp').length} TCP, ${outcomes.filter((o) => o.kind === 'udp').length} UDP)`,
      `  matched: ${count('matched')}, rightly rejected: ${count('rightly rejected')}, mismatched: ${count('mismatch')}`,
      ...Object.entries(sortedCauses).map(([cause, n]) => `  ${String(n).padStart(3)}  ${cause}`),
      `  service ports (where EXPECTED.json states one): ${ports.filter((p) => p.ok).length} of ${ports.length} as Traefik; ${ports.filter((p) => !p.ok).length} left out:`,
      ...Object.entries(portCauses).map(([cause, n]) => `  ${String(n).padStart(3)}  ${cause}`),
      `  file 51 (label catalogue; Traefik ignores the whole container): Berth keeps ${catalogue} (each element alone)`,
    ];
    console.log(lines.join('\n'));
    if (process.env.BERTH_CORPUS_VERBOSE) {
      for (const o of outcomes.filter((x) => x.verdict === 'mismatch'))
        console.log(`${o.file} ${o.kind} ${o.name}: ${o.cause} -- ${o.detail ?? ''}`);
    }
    if (process.env.BERTH_CORPUS_VERBOSE) {
      for (const p of ports.filter((x) => !x.ok)) console.log(`${p.file} service ${p.name}: ${p.detail}`);
    }
    assert.deepEqual(sortedCauses, KNOWN_CAUSES);
    assert.deepEqual(portCauses, KNOWN_PORT_DIFFERENCES);
  });
});
