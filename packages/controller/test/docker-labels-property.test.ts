// Property: whatever labels a container carries, the decoder and the compiler never throw, and a
// valid neighbour container keeps its router. Seeded, so a failure replays exactly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StaticConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import type { ContainerFacts, DockerProviderSettings } from '../src/provider/docker/container-facts.js';
import { DockerErrorCodes, decodeContainers } from '../src/provider/docker/labels/index.js';

const SEED = 0x5eed_b347;
const ITERATIONS = 2_500;
const RANDOM_CONTAINERS_PER_ITERATION = 4;

/** mulberry32: small, fast, good enough to spread inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PREFIXES = ['traefik', 'traefik', 'traefik', 'berth', 'Traefik', 'TRAEFIK', 'traefik.', 'other'];
const SECTIONS = ['http', 'http', 'http', 'tcp', 'udp', 'tls', 'HTTP', 'Tcp', 'docker', 'swarm', 'nope'];
const KINDS = [
  'routers',
  'services',
  'middlewares',
  'serverstransports',
  'options',
  'stores',
  'Routers',
  'certificates',
];
const NAMES = [
  'r1',
  'R1',
  'r2',
  's1',
  'S1',
  'm1',
  'x',
  '__proto__',
  'constructor',
  'toString',
  'a-b_c',
  'é',
  'default',
];
const FIELDS = [
  'rule',
  'service',
  'entrypoints',
  'priority',
  'middlewares',
  'tls',
  'tls.certresolver',
  'tls.options',
  'tls.passthrough',
  'tls.domains[0].main',
  'tls.domains[1].sans',
  'tls.domains[x].main',
  'tls.domains[0]',
  '[0].main',
  'loadbalancer.server.port',
  'loadbalancer.server.scheme',
  'loadbalancer.server.url',
  'loadbalancer.server.weight',
  'loadbalancer.passhostheader',
  'loadbalancer.strategy',
  'loadbalancer.sticky',
  'loadbalancer.sticky.cookie',
  'loadbalancer.sticky.cookie.name',
  'loadbalancer.sticky.cookie.samesite',
  'loadbalancer.healthcheck.path',
  'loadbalancer.healthcheck.interval',
  'loadbalancer.healthcheck.headers.X-Foo',
  'loadbalancer.proxyprotocol.version',
  'loadbalancer.serverstransport',
  'stripprefix.prefixes',
  'redirectscheme.scheme',
  'redirectscheme.permanent',
  'redirectregex.regex',
  'redirectregex.replacement',
  'headers.customrequestheaders.X-Test',
  'headers.customresponseheaders.Bad Header',
  'headers.stsseconds',
  'headers.sslredirect',
  'basicauth.users',
  'ipallowlist.sourcerange',
  'ipwhitelist.sourcerange',
  'ratelimit.average',
  'ratelimit.burst',
  'compress',
  'chain.middlewares',
  'forwardauth.address',
  'retry.attempts',
  'inflightreq.amount',
  'insecureskipverify',
  'rootcas',
  'minversion',
  'clientauth.cafiles',
  'defaultgeneratedcert.resolver',
  'network',
  'allownonrunning',
  'foo.bar.baz',
  '',
  'a..b',
  'x]',
];
const VALUES = [
  '',
  'true',
  'false',
  'TRUE',
  '1',
  '80',
  '8080',
  '-1',
  '0',
  '99999',
  '1.5',
  'abc',
  'Host(`x.example.com`)',
  'Host(`x.example.com`',
  'HostSNI(`*`)',
  'HostSNI(`db.example.com`)',
  'PathPrefix(`/api`) || Host(`{sub:[a-z]+}.example.com`)',
  'web,websecure',
  ' web , ',
  '10s',
  '1m30s',
  'http://10.0.0.9:80',
  'https://',
  '/api,/v1',
  'r1,m1@file',
  'api@internal',
  's1',
  'm1',
  'user:$apr1$abc$def',
  'user:$2y$05$abcdefghijklmnopqrstuu5Hh2Jq.Q9jJdQ1oX3M5r7K2Hq3y9n1y',
  '10.0.0.0/8,::1',
  'not-a-cidr',
  '^/(.*)$',
  '(unclosed',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation syntax, not a JS template
  '${VAR}',
  'line\nbreak',
  'ünïcødé',
  '\u0000',
  'x'.repeat(5000),
];
const DEFAULT_RULES = [
  'Host(`{{ normalize .Name }}.example.com`)',
  'Host(`{{ index .Labels "com.docker.compose.service" }}.example.com`)',
  '',
  '{{ nope }}',
  '{{',
];

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)] as T;
}

function randomKey(rnd: () => number): string {
  const parts = [pick(rnd, PREFIXES)];
  const depth = rnd();
  if (depth < 0.05) return parts[0] as string;
  parts.push(pick(rnd, SECTIONS));
  if (depth < 0.1) parts.push(pick(rnd, ['enable', 'network', 'constraint-label']));
  else {
    parts.push(pick(rnd, KINDS), pick(rnd, NAMES));
    const field = pick(rnd, FIELDS);
    if (field !== '' || rnd() < 0.3) parts.push(field);
  }
  let key = parts.join('.');
  if (rnd() < 0.05) key = key.toUpperCase();
  return key;
}

/** A plausible, valid label set; mutations of it exercise the paths real typos take. */
function baseLabels(rnd: () => number, i: number): Record<string, string> {
  const name = pick(rnd, ['r1', 'r2', 'x']);
  return {
    'traefik.enable': 'true',
    [`traefik.http.routers.${name}.rule`]: `Host(\`r${i}.example.com\`)`,
    [`traefik.http.routers.${name}.entrypoints`]: 'websecure',
    [`traefik.http.routers.${name}.tls.certresolver`]: 'le',
    [`traefik.http.routers.${name}.middlewares`]: 'm1',
    'traefik.http.middlewares.m1.stripprefix.prefixes': '/api',
    [`traefik.http.services.s${i % 3}.loadbalancer.server.port`]: '8080',
  };
}

function mutate(rnd: () => number, labels: Record<string, string>): Record<string, string> {
  const out = { ...labels };
  const steps = 1 + Math.floor(rnd() * 3);
  for (let s = 0; s < steps; s++) {
    const keys = Object.keys(out);
    const key = pick(rnd, keys.length > 0 ? keys : ['traefik.enable']);
    const op = rnd();
    if (op < 0.2) delete out[key];
    else if (op < 0.45) out[key] = pick(rnd, VALUES);
    else if (op < 0.6) out[key.replace(/[a-z]/, (ch) => ch.toUpperCase())] = pick(rnd, VALUES);
    else if (op < 0.75) {
      const cut = key.lastIndexOf('.');
      out[`${key.slice(0, cut)}.${pick(rnd, FIELDS)}`] = out[key] ?? '';
    } else if (op < 0.9) out[randomKey(rnd)] = pick(rnd, VALUES);
    else out[`${key}.${pick(rnd, ['x', '[0]', 'main', ''])}`] = pick(rnd, VALUES);
  }
  return out;
}

function randomContainer(rnd: () => number, i: number): ContainerFacts {
  let labels: Record<string, string>;
  if (rnd() < 0.5) labels = mutate(rnd, baseLabels(rnd, i));
  else {
    labels = {};
    const n = Math.floor(rnd() * 14);
    for (let k = 0; k < n; k++) labels[randomKey(rnd)] = pick(rnd, VALUES);
    if (rnd() < 0.7) labels['traefik.enable'] = 'true';
  }
  const ports = [80, 443, 8080, 9000].filter(() => rnd() < 0.4);
  return {
    id: `rnd${i}`.padEnd(64, 'f'),
    name: `rnd-${i}`,
    labels,
    state: pick(rnd, ['running', 'running', 'running', 'exited', 'paused', '']),
    health: pick(rnd, [null, null, 'healthy', 'unhealthy', 'starting'] as const),
    networkMode: pick(rnd, [
      'bridge',
      'bridge',
      'host',
      'none',
      'container:neighbour',
      'container:nosuch',
      'app_default',
    ]),
    networks: pick(rnd, [
      [],
      [{ name: 'app_default', ipv4: `172.20.${i % 250}.3`, ipv6: '' }],
      [
        { name: 'app_front', ipv4: '', ipv6: 'fd00::3' },
        { name: 'app_back', ipv4: '', ipv6: '' },
      ],
    ]),
    exposedPorts: ports.map((port) => ({
      port,
      protocol: rnd() < 0.8 ? ('tcp' as const) : ('udp' as const),
    })),
    publishedPorts: [],
    ...(rnd() < 0.8
      ? { compose: { project: 'app', service: pick(rnd, ['rnd', 'web', `svc${i % 5}`]) } }
      : {}),
  };
}

const neighbour: ContainerFacts = {
  id: 'neighbour'.padEnd(64, '0'),
  name: 'neighbour',
  labels: {
    'traefik.enable': 'true',
    'traefik.http.routers.neighbour.rule': 'Host(`neighbour.example.com`)',
    'traefik.http.routers.neighbour.entrypoints': 'web',
    'traefik.http.services.neighbour-svc.loadbalancer.server.port': '80',
  },
  state: 'running',
  health: null,
  networkMode: 'bridge',
  networks: [{ name: 'app_default', ipv4: '172.19.0.2', ipv6: '' }],
  exposedPorts: [{ port: 80, protocol: 'tcp' }],
  publishedPorts: [],
  compose: { project: 'app', service: 'neighbour' },
};

const statics: StaticConfig = { entryPoints: { web: { address: ':80' }, websecure: { address: ':443' } } };

describe('Docker labels: random and mutated label sets', () => {
  it(`never throw, and a valid neighbour keeps routing (${ITERATIONS * RANDOM_CONTAINERS_PER_ITERATION} label sets)`, () => {
    const rnd = prng(SEED);
    let labelSets = 0;
    let errors = 0;
    let otherRouters = 0;
    for (let iteration = 0; iteration < ITERATIONS; iteration++) {
      const randoms = Array.from({ length: RANDOM_CONTAINERS_PER_ITERATION }, (_, k) =>
        randomContainer(rnd, iteration * RANDOM_CONTAINERS_PER_ITERATION + k),
      );
      labelSets += randoms.length;
      const settings: DockerProviderSettings = {
        endpoint: 'unix:///var/run/docker.sock',
        exposedByDefault: rnd() < 0.5,
        constraints: '',
        defaultRule: pick(rnd, DEFAULT_RULES),
        network: pick(rnd, ['', '', 'app_default', 'nosuch']),
        useBindPortIP: rnd() < 0.1,
        allowEmptyServices: rnd() < 0.2,
        prefixes: ['traefik', 'berth'],
      };
      const containers = rnd() < 0.5 ? [neighbour, ...randoms] : [...randoms, neighbour];
      const context = () =>
        `seed ${SEED}, iteration ${iteration}: ${JSON.stringify(randoms.map((r) => r.labels))}`;
      const parts = decodeContainers(containers, settings);
      const result = compile(parts, statics);
      const router = result.routers.find((r) => r.name === 'neighbour@docker');
      assert.equal(router?.status, 'enabled', context());
      assert.equal(router?.service, 'neighbour-svc@docker', context());
      assert.deepEqual(
        result.body.http.services['neighbour-svc@docker']?.loadBalancer?.servers,
        [{ url: 'http://172.19.0.2:80' }],
        context(),
      );
      otherRouters += result.routers.filter(
        (r) => r.status === 'enabled' && r.name !== 'neighbour@docker',
      ).length;
      for (const part of parts) {
        for (const e of part.errors) {
          errors++;
          assert.match(e.code, /^BERTH_[A-Z_]+$/, context());
          // The decoder's own safety net catching something is a bug, not a user error.
          assert.notEqual(e.code, DockerErrorCodes.INTERNAL, `${e.message} -- ${context()}`);
          if (part.sourceKey !== 'docker') assert.equal(e.source?.provider, 'docker', context());
          assert.ok(e.message.length > 0, context());
        }
      }
    }
    assert.ok(labelSets >= 10_000);
    // Most random sets are wrong somewhere; the errors must be there, not swallowed.
    assert.ok(errors > labelSets, `${errors} errors for ${labelSets} label sets`);
    // And many random routers are valid and route too: the generator reaches the happy paths.
    assert.ok(otherRouters > labelSets / 20, `${otherRouters} other routers enabled`);
  });
});
