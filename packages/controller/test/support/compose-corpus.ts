// Reads the Traefik label corpus (compose files, Swarm stacks, a label catalogue) into ContainerFacts
// the way Compose and Docker would hand them to the provider, with the assumptions EXPECTED.json states.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { ContainerFacts, DockerProviderSettings } from '../../src/provider/docker/container-facts.js';
import { interpolate } from '../../src/provider/docker/labels/compose-interpolation.js';

/**
 * The corpus: where BERTH_CORPUS_DIR says, else the copy in `test/fixtures/traefik-labels` (kept
 * verbatim from the shared corpus, so CI runs it), else next to the repository.
 */
export function corpusDir(): string | undefined {
  const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));
  const candidates = [
    process.env.BERTH_CORPUS_DIR,
    resolve(repoRoot, 'test/fixtures/traefik-labels'),
    resolve(repoRoot, '../shared/corpus/traefik-labels'),
    resolve(repoRoot, '../../shared/corpus/traefik-labels'),
  ];
  return candidates.find((c) => c !== undefined && existsSync(join(c, 'EXPECTED.json')));
}

export interface ExpectedRouter {
  name: string;
  rule: string;
  entryPoints: string[] | null;
  /** The entry points Traefik binds a router without `entryPoints` to, when the file states them. */
  effectiveEntryPoints?: string[] | string;
  service: string;
  middlewares: string[];
  tls: Record<string, unknown> | null;
  status: string;
  unresolvedReferences?: string[];
}

export interface ExpectedFile {
  file: string;
  /** The Traefik version the file was written for: `v2`, `v3` or `unknown`. */
  traefik?: string;
  kind: 'compose' | 'swarm-stack' | 'labels' | 'dynamic';
  assumptions: {
    exposedByDefault: string;
    env?: Record<string, string>;
    /** What `{{ env "X" }}` reads in a file provider template. */
    templateEnv?: Record<string, string>;
    /** A dynamic file's companion static configuration, as far as it matters. */
    staticConfig?: { defaultEntryPoints?: string[] };
    unsetVariables?: string[];
    constraints?: string[];
  };
  staticConfig?: {
    entryPoints?: Record<string, unknown>;
    defaultEntryPointsForRoutersWithout?: string[] | null;
    providerDefaultRule?: string;
    /** `core.defaultRuleSyntax` of the Traefik that runs the file (v2 for a Traefik v2). */
    defaultRuleSyntax?: string;
  };
  http?: { routers?: ExpectedRouter[]; services?: { name: string; port: string; portSource?: string }[] };
  tcp?: { routers?: ExpectedRouter[] };
  udp?: { routers?: ExpectedRouter[] };
  containers: { service: string; status: string }[];
}

/** EXPOSE of the images the corpus uses, where known (what Traefik's port auto-detection sees). */
const IMAGE_PORTS: Readonly<Record<string, number[]>> = {
  traefik: [80],
  'traefik/whoami': [80],
  'containous/whoami': [80],
  nginx: [80],
  httpd: [80],
  'portainer/portainer-ce': [8000, 9000, 9443],
  'istio/tcp-echo-server': [9000],
};

function imageName(image: unknown): string {
  if (typeof image !== 'string') return '';
  const noTag = image.replace(/[@:][^/]*$/, '');
  return noTag.replace(/^(docker\.io|ghcr\.io|lscr\.io|docker\.n8n\.io)\//, '').replace(/^library\//, '');
}

function containerPorts(svc: Record<string, unknown>): number[] {
  const ports: number[] = [];
  const add = (text: string) => {
    const target = text.split('/')[0]?.split(':').pop() ?? '';
    if (/^\d+$/.test(target)) ports.push(Number(target));
  };
  for (const p of asList(svc.expose)) add(String(p));
  for (const p of asList(svc.ports)) {
    if (typeof p === 'object' && p !== null && 'target' in p) add(String((p as { target: unknown }).target));
    else add(String(p));
  }
  return ports;
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export interface CorpusCase {
  expected: ExpectedFile;
  containers: ContainerFacts[];
  settings: DockerProviderSettings;
  /** Labels Compose would refuse (`${VAR?err}`), unset variables, and similar harness notes. */
  notes: string[];
}

export function readCase(dir: string, expected: ExpectedFile): CorpusCase {
  const text = readFileSync(join(dir, expected.file), 'utf8');
  const doc = parse(text, { merge: true, uniqueKeys: false }) as unknown;
  const env: Record<string, string> = { ...(expected.assumptions.env ?? {}) };
  const notes: string[] = [];
  const labelsOf = (raw: unknown): Record<string, string> => {
    const out: Record<string, string> = {};
    if (Array.isArray(raw)) {
      for (const item of raw) {
        // List items are interpolated as a whole, then split at the first '='.
        const r = interpolate(String(item), env);
        if (r.error !== undefined) notes.push(r.error);
        const eq = r.value.indexOf('=');
        if (eq < 0) out[r.value] = '';
        else out[r.value.slice(0, eq)] = r.value.slice(eq + 1);
      }
    } else if (typeof raw === 'object' && raw !== null) {
      for (const [key, value] of Object.entries(raw)) {
        // Map keys are never interpolated; values are, after YAML turned them into strings.
        const str = value === null || value === undefined ? '' : String(value);
        const r = interpolate(str, env);
        if (r.error !== undefined) notes.push(r.error);
        out[key] = r.value;
      }
    }
    return out;
  };
  const autoPorts = (expected.http?.services ?? [])
    .filter((s) => s.portSource !== undefined && /^\d+$/.test(s.port))
    .map((s) => Number(s.port));
  const containers: ContainerFacts[] = [];
  let ip = 2;
  const facts = (
    name: string,
    labels: Record<string, string>,
    ports: number[],
    networks: string[],
    extra: Partial<ContainerFacts>,
  ): ContainerFacts => ({
    id: `${name}-id`.padEnd(64, '0'),
    name,
    labels,
    state: 'running',
    health: null,
    networkMode: 'bridge',
    networks: networks.map((n) => ({
      name: n,
      ipv4: `10.1.${Math.floor(ip / 250)}.${(ip++ % 250) + 2}`,
      ipv6: '',
    })),
    exposedPorts: [...new Set(ports)]
      .sort((a, b) => a - b)
      .map((port) => ({ port, protocol: 'tcp' as const })),
    publishedPorts: [],
    ...extra,
  });
  if (expected.kind === 'labels') {
    const service = 'reference';
    const labels = {
      ...labelsOf(doc),
      'com.docker.compose.project': 'corpus',
      'com.docker.compose.service': service,
    };
    containers.push(
      facts(`corpus-${service}-1`, labels, [80], ['corpus_default'], {
        compose: { project: 'corpus', service },
      }),
    );
  } else {
    const root = (doc ?? {}) as Record<string, unknown>;
    const services = (root.services ?? {}) as Record<string, Record<string, unknown>>;
    const topNetworks = (root.networks ?? {}) as Record<string, Record<string, unknown> | null>;
    const networkName = (key: string): string => {
      const def = topNetworks[key];
      if (def !== null && def !== undefined && typeof def.name === 'string') return def.name;
      if (def?.external) return key;
      return `corpus_${key}`;
    };
    const swarm = expected.kind === 'swarm-stack';
    for (const [service, svc] of Object.entries(services)) {
      const deploy = (svc.deploy ?? {}) as Record<string, unknown>;
      const own = labelsOf(swarm ? deploy.labels : svc.labels);
      const netKeys = Array.isArray(svc.networks)
        ? svc.networks.map(String)
        : Object.keys(svc.networks ?? {});
      const networks = netKeys.length === 0 ? ['corpus_default'] : netKeys.map(networkName);
      let ports = [...(IMAGE_PORTS[imageName(svc.image)] ?? []), ...containerPorts(svc)];
      // Images whose EXPOSE the corpus does not know: the port EXPECTED.json auto-detected, else 80.
      if (ports.length === 0) ports = autoPorts.length === 1 ? autoPorts : [80];
      if (swarm) {
        const labels = { ...own, 'com.docker.stack.namespace': 'corpus' };
        containers.push(
          facts(`corpus_${service}.1.task`, labels, ports, networks, {
            swarm: { serviceName: `corpus_${service}`, stack: 'corpus' },
          }),
        );
      } else {
        const labels = {
          ...own,
          'com.docker.compose.project': 'corpus',
          'com.docker.compose.service': service,
        };
        const name = typeof svc.container_name === 'string' ? svc.container_name : `corpus-${service}-1`;
        containers.push(facts(name, labels, ports, networks, { compose: { project: 'corpus', service } }));
      }
    }
  }
  const settings: DockerProviderSettings = {
    endpoint: 'unix:///var/run/docker.sock',
    exposedByDefault: expected.assumptions.exposedByDefault.trim().startsWith('true'),
    constraints: expected.assumptions.constraints?.[0] ?? '',
    defaultRule: expected.staticConfig?.providerDefaultRule ?? 'Host(`{{ normalize .Name }}`)',
    network: '',
    useBindPortIP: false,
    allowEmptyServices: false,
    prefixes: ['traefik', 'berth'],
  };
  return { expected, containers, settings, notes };
}
