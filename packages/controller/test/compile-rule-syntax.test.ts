// Rule syntax through the compiler: a router's ruleSyntax, the static core.defaultRuleSyntax, labels,
// the snapshot's resolved syntax, and the warning for a v2 template under v3.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DynamicConfig, HttpRouter, StaticConfig, TcpRouter } from '@berth/config';
import { validateStatic } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import type { ContainerFacts, DockerProviderSettings } from '../src/provider/docker/container-facts.js';
import { decodeContainers } from '../src/provider/docker/labels/index.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

const statics: StaticConfig = { entryPoints: { web: { address: ':80' } } };
const v2Default: StaticConfig = { ...statics, core: { defaultRuleSyntax: 'v2' } };
const HEADERS_RULE = 'Host(`radarr.example.com`) && Headers(`x-bypass`, `key`)';

function part(routers: Record<string, HttpRouter>, tcpRouters: Record<string, TcpRouter> = {}): ProviderPart {
  const config: DynamicConfig = {
    http: { routers, services: { app: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } } } },
  };
  if (Object.keys(tcpRouters).length > 0) {
    config.tcp = {
      routers: tcpRouters,
      services: { app: { loadBalancer: { servers: [{ address: '127.0.0.1:9' }] } } },
    };
  }
  return { sourceKey: '/dyn.yml', config, errors: [] };
}

describe('rule syntax in the compiler', () => {
  it('reads a router with ruleSyntax v2 in v2 and tells the nodes so in the snapshot', () => {
    const result = compile([part({ r: { rule: HEADERS_RULE, service: 'app', ruleSyntax: 'v2' } })], statics);
    assert.equal(result.routers[0]?.status, 'enabled');
    assert.equal(result.body.http.routers['r@file']?.ruleSyntax, 'v2');
  });

  it('reads routers without ruleSyntax in core.defaultRuleSyntax, v3 unless set', () => {
    const r = { rule: HEADERS_RULE, service: 'app' };
    const asV3 = compile([part({ r })], statics);
    assert.equal(asV3.routers[0]?.status, 'disabled');
    assert.equal(asV3.routers[0]?.errors[0]?.code, 'BERTH_CONFIG_RULE_UNKNOWN_MATCHER');
    const asV2 = compile([part({ r })], v2Default);
    assert.equal(asV2.routers[0]?.status, 'enabled');
    assert.equal(asV2.body.http.routers['r@file']?.ruleSyntax, 'v2');
  });

  it('lets a router keep v3 under a v2 default; a v3 router carries no ruleSyntax, so bodies hash as before', () => {
    const r: HttpRouter = { rule: 'Header(`x-bypass`, `key`)', service: 'app', ruleSyntax: 'v3' };
    const result = compile([part({ r })], v2Default);
    assert.equal(result.routers[0]?.status, 'enabled');
    assert.equal('ruleSyntax' in result.body.http.routers['r@file']!, false);
  });

  it('keeps a v2 template under v3, as Traefik does, with a never-matches warning on the router', () => {
    const r = { rule: 'HostRegexp(`{sub:[a-z]+}.example.com`)', service: 'app' };
    const result = compile([part({ r })], statics);
    const status = result.routers[0]!;
    assert.equal(status.status, 'enabled');
    assert.deepEqual(
      status.errors.map((e) => [e.code, e.severity, e.path]),
      [['BERTH_CONFIG_RULE_NEVER_MATCHES', 'warning', 'http.routers.r@file.rule']],
    );
    assert.match(status.errors[0]!.message, /never matches under v3/);
    assert.ok(result.body.http.routers['r@file']);
    // Under v2 the same rule is a template that matches, and nothing is said.
    const v2 = compile([part({ r })], v2Default);
    assert.deepEqual(v2.routers[0]?.errors, []);
  });

  it('reads TCP rules in the syntax in force too', () => {
    const t: TcpRouter = {
      rule: 'HostSNIRegexp(`nas.example.com`, `{subdomain:[a-z]+}.nas.example.com`)',
      service: 'app',
      tls: { passthrough: true },
    };
    const asV3 = compile([part({}, { t })], statics);
    assert.equal(asV3.tcpRouters[0]?.status, 'disabled');
    assert.equal(asV3.tcpRouters[0]?.errors[0]?.code, 'BERTH_CONFIG_RULE_ARGS');
    const asV2 = compile([part({}, { t })], v2Default);
    assert.equal(asV2.tcpRouters[0]?.status, 'enabled');
    assert.equal(asV2.body.tcp?.routers['t@file']?.ruleSyntax, 'v2');
  });
});

describe('rule syntax from Docker labels', () => {
  const settings: DockerProviderSettings = {
    endpoint: 'unix:///var/run/docker.sock',
    exposedByDefault: false,
    constraints: '',
    defaultRule: 'Host(`{{ normalize .Name }}.example.com`)',
    network: '',
    useBindPortIP: false,
    allowEmptyServices: false,
    prefixes: ['traefik', 'berth'],
  };
  const facts = (labels: Record<string, string>): ContainerFacts => ({
    id: 'radarr-0123456789abcdef',
    name: 'radarr',
    labels: { 'traefik.enable': 'true', ...labels },
    state: 'running',
    health: null,
    networkMode: 'bridge',
    networks: [{ name: 'app_default', ipv4: '172.18.0.2', ipv6: '' }],
    exposedPorts: [{ port: 80, protocol: 'tcp' }],
    publishedPorts: [],
    compose: { project: 'app', service: 'radarr' },
  });

  it('takes traefik.http.routers.NAME.rulesyntax=v2 and traefik.tcp.routers.NAME.rulesyntax=v2', () => {
    const parts = decodeContainers(
      [
        facts({
          'traefik.http.routers.bypass.rule': HEADERS_RULE,
          'traefik.http.routers.bypass.rulesyntax': 'v2',
          'traefik.tcp.routers.nas.rule': 'HostSNI(`a.example.com`, `b.example.com`)',
          'traefik.tcp.routers.nas.rulesyntax': 'v2',
          'traefik.tcp.routers.nas.tls.passthrough': 'true',
          'traefik.tcp.services.nas.loadbalancer.server.port': '443',
        }),
      ],
      settings,
    );
    assert.deepEqual(
      parts.flatMap((p) => p.errors),
      [],
    );
    const result = compile(parts, statics);
    assert.equal(result.routers.find((r) => r.name === 'bypass@docker')?.status, 'enabled');
    assert.equal(result.tcpRouters.find((r) => r.name === 'nas@docker')?.status, 'enabled');
  });
});

describe('core.defaultRuleSyntax in the static configuration', () => {
  it('takes v2 or v3 and leaves out anything else, as Traefik refuses it', () => {
    const base = { entryPoints: { web: { address: ':80' } } };
    assert.deepEqual(validateStatic({ ...base, core: { defaultRuleSyntax: 'v2' } }).config.core, {
      defaultRuleSyntax: 'v2',
    });
    const bad = validateStatic({ ...base, core: { defaultRuleSyntax: 'v4' } });
    assert.equal(bad.config.core, undefined);
    assert.deepEqual(
      bad.errors.map((e) => e.path),
      ['core.defaultRuleSyntax'],
    );
  });
});
