// The compatibility corpus: 52 real compose files, stacks and a label catalogue through the label
// decoder and the compiler, router by router against what Traefik itself builds (EXPECTED.json).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeContainers } from '../src/provider/docker/labels/index.js';
import type { ProviderPart } from '../src/provider/provider-part.js';
import { type CorpusCase, corpusDir, type ExpectedFile, readCase } from './support/compose-corpus.js';
import {
  BASIC_AUTH_FAILS_CLOSED,
  compareRouters,
  type RouterOutcome,
  SEVERAL_PORTS,
  stubsFor,
  type Verdict,
} from './support/corpus-compare.js';

/**
 * Why a router Traefik accepts does not come out of Berth as Traefik builds it, with how many
 * routers each cause costs. Every cause is a feature Berth lacks or a deliberate difference, none a
 * label parser bug; a new cause or a changed count fails the test, so update this list only with a
 * reason (README "compatibility" section of the corpus).
 */
const KNOWN_CAUSES: Readonly<Record<string, number>> = {
  // Features Berth does not have yet (their own issues).
  // Deliberate differences.
  /** File 04's dashboard router names `dashboard-auth@swarm`; the corpus decodes Swarm stacks as @docker. */
  'reference qualified @swarm: the corpus names every element @docker, Swarm stacks included': 1,
  /**
   * File 05: Compose ate the `$` of an unescaped apr1 hash; Traefik takes `test:/` and no login
   * ever works; Berth keeps the router answering 503 with BERTH_CONFIG_INVALID_HTPASSWD, naming the user line.
   */
  [BASIC_AUTH_FAILS_CLOSED]: 1,
  /**
   * Files 15, 16, 35, 45: Traefik's own container with ports 80, 443, 8080 and no port label; Traefik
   * takes the lowest, Berth asks. (35 and 45 are v2 catch-alls whose rules Berth now reads.)
   */
  [SEVERAL_PORTS]: 4,
};

const UNUSED_DEFAULT =
  'generated default service no router uses, left out quietly (its container exposes several ports)';

/**
 * Services whose servers are not on Traefik's port, by cause. All are Traefik's own container
 * (ports 80, 443, 8080; its unused default service) and file 33's portainer (8000, 9000, 9443).
 */
const KNOWN_PORT_DIFFERENCES: Readonly<Record<string, number>> = { [SEVERAL_PORTS]: 5, [UNUSED_DEFAULT]: 8 };

function runCase(c: CorpusCase): { outcomes: RouterOutcome[]; parts: ProviderPart[]; ports: PortOutcome[] } {
  const parts = decodeContainers(c.containers, c.settings);
  parts.push(...stubsFor(c.expected));
  const { outcomes, result } = compareRouters(c.expected, parts);
  const file = c.expected.file;
  // Ports of the services Traefik builds, where EXPECTED.json knows them.
  const ports: PortOutcome[] = [];
  for (const svc of c.expected.http?.services ?? []) {
    if (!/^\d+$/.test(svc.port)) continue;
    const status = result.services.find((x) => x.name === `${svc.name}@docker`);
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
        catalogue = `${kept((p) => p.config.http.routers)} routers, ${kept((p) => p.config.http.services)} services, ${kept((p) => p.config.http.middlewares)} middlewares, ${kept((p) => p.config.tcp?.routers)} TCP routers, ${kept((p) => p.config.tcp?.services)} TCP services, ${kept((p) => p.config.udp?.routers)} UDP routers, ${kept((p) => p.config.udp?.services)} UDP services`;
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
