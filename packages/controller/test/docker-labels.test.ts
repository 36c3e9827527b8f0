// The Docker label decoder: Traefik's label grammar and defaults onto Berth's model, one error per element.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { StaticConfig } from '@berth/config';
import { compile } from '../src/compiler/compile.js';
import type { ContainerFacts, DockerProviderSettings } from '../src/provider/docker/container-facts.js';
import { interpolate } from '../src/provider/docker/labels/compose-interpolation.js';
import {
  DockerErrorCodes,
  decodeContainers,
  parseConstraints,
  renderDefaultRule,
} from '../src/provider/docker/labels/index.js';
import type { ProviderPart } from '../src/provider/provider-part.js';

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

let nextIp = 2;
function container(
  name: string,
  labels: Record<string, string>,
  extra: Partial<ContainerFacts> = {},
): ContainerFacts {
  return {
    id: `${name}-0123456789abcdef`,
    name,
    labels: { 'traefik.enable': 'true', ...labels },
    state: 'running',
    health: null,
    networkMode: 'bridge',
    networks: [{ name: 'app_default', ipv4: `172.18.0.${nextIp++}`, ipv6: '' }],
    exposedPorts: [{ port: 80, protocol: 'tcp' }],
    publishedPorts: [],
    compose: { project: 'app', service: name },
    ...extra,
  };
}

function partOf(parts: ProviderPart[], name: string): ProviderPart {
  const part = parts.find((p) => p.sourceKey === `docker/${name}`);
  assert.ok(part, `a part for container ${name}`);
  return part;
}

const statics: StaticConfig = { entryPoints: { web: { address: ':80' }, websecure: { address: ':443' } } };

describe('Docker labels: mapping onto the model', () => {
  it('maps router, service and middleware labels, TLS domains included', () => {
    const c = container('api', {
      'traefik.http.routers.api.rule': 'Host(`api.example.com`)',
      'traefik.http.routers.api.entrypoints': 'web,websecure',
      'traefik.http.routers.api.priority': '10',
      'traefik.http.routers.api.middlewares': 'strip, auth@file',
      'traefik.http.routers.api.tls': 'true',
      'traefik.http.routers.api.tls.certresolver': 'le',
      'traefik.http.routers.api.tls.options': 'modern@file',
      'traefik.http.routers.api.tls.domains[0].main': 'example.com',
      'traefik.http.routers.api.tls.domains[0].sans': '*.example.com, www.example.com',
      'traefik.http.services.api-svc.loadbalancer.server.port': '8080',
      'traefik.http.services.api-svc.loadbalancer.passhostheader': 'false',
      'traefik.http.services.api-svc.loadbalancer.sticky.cookie.name': 'lb',
      'traefik.http.services.api-svc.loadbalancer.healthcheck.path': '/health',
      'traefik.http.services.api-svc.loadbalancer.healthcheck.interval': '5s',
      'traefik.http.middlewares.strip.stripprefix.prefixes': '/api,/v1',
    });
    const [part] = decodeContainers([c], settings);
    assert.ok(part);
    assert.deepEqual(part.errors, []);
    const ip = c.networks[0]?.ipv4;
    assert.deepEqual(part.config.http.routers.api, {
      rule: 'Host(`api.example.com`)',
      service: 'api-svc',
      entryPoints: ['web', 'websecure'],
      middlewares: ['strip', 'auth@file'],
      priority: 10,
      tls: {
        certResolver: 'le',
        options: 'modern@file',
        domains: [{ main: 'example.com', sans: ['*.example.com', 'www.example.com'] }],
      },
    });
    assert.deepEqual(part.config.http.services['api-svc'], {
      loadBalancer: {
        servers: [{ url: `http://${ip}:8080` }],
        passHostHeader: false,
        sticky: { cookie: { name: 'lb' } },
        healthCheck: { path: '/health', interval: '5s' },
      },
    });
    assert.deepEqual(part.config.http.middlewares?.strip, { stripPrefix: { prefixes: ['/api', '/v1'] } });
    assert.deepEqual(part.sources?.routers.api, {
      provider: 'docker',
      origin: 'api',
      label: 'traefik.http.routers.api.entrypoints',
    });
  });

  it('matches keys case-insensitively, keeping the first spelling in sorted order', () => {
    const [part] = decodeContainers(
      [
        container('web', {
          'traefik.http.routers.Web.rule': 'Host(`a.example.com`)',
          'traefik.HTTP.routers.web.EntryPoints': 'web',
          'traefik.http.middlewares.testHeader.headers.customresponseheaders.X-A': '1',
          'traefik.http.middlewares.testheader.headers.customResponseHeaders.X-B': '2',
        }),
      ],
      settings,
    );
    assert.ok(part);
    assert.deepEqual(part.errors, []);
    // `traefik.HTTP.routers.web...` sorts before `traefik.http.routers.Web...` (bytes, as Go sorts).
    assert.deepEqual(Object.keys(part.config.http.routers), ['web']);
    assert.deepEqual(part.config.http.routers.web, {
      rule: 'Host(`a.example.com`)',
      service: 'web-app',
      entryPoints: ['web'],
    });
    assert.deepEqual(Object.keys(part.config.http.middlewares ?? {}), ['testHeader']);
    assert.deepEqual(part.config.http.middlewares?.testHeader?.headers?.customResponseHeaders, {
      'X-A': '1',
      'X-B': '2',
    });
  });

  it('reads berth. labels with the same grammar; traefik. wins for the same key', () => {
    const [part] = decodeContainers(
      [
        container('app', {
          'traefik.enable': 'false',
          'berth.enable': 'true',
          'berth.http.routers.app.rule': 'Host(`berth.example.com`)',
          'berth.http.routers.app.entrypoints': 'websecure',
          'traefik.http.routers.app.entrypoints': 'web',
        }),
      ],
      { ...settings, exposedByDefault: true },
    );
    // traefik.enable=false wins over berth.enable=true: the container is not routed.
    assert.equal(part, undefined);
    const [part2] = decodeContainers(
      [
        container('app', {
          'berth.http.routers.app.rule': 'Host(`berth.example.com`)',
          'berth.http.routers.app.entrypoints': 'websecure',
          'traefik.http.routers.app.entrypoints': 'web',
        }),
      ],
      settings,
    );
    assert.ok(part2);
    assert.deepEqual(part2.config.http.routers.app, {
      rule: 'Host(`berth.example.com`)',
      service: 'app-app',
      entryPoints: ['web'],
    });
  });

  it('maps TCP routers and services (PROXY protocol, passthrough); a TCP-only container gets no HTTP config', () => {
    const c = container('db', {
      'traefik.tcp.routers.db.rule': 'HostSNI(`db.example.com`)',
      'traefik.tcp.routers.db.entrypoints': 'websecure',
      'traefik.tcp.routers.db.tls.passthrough': 'true',
      'traefik.tcp.services.db.loadbalancer.server.port': '5432',
      'traefik.tcp.services.db.loadbalancer.proxyprotocol.version': '1',
    });
    const [part] = decodeContainers([c], settings);
    assert.ok(part);
    assert.deepEqual(part.errors, []);
    assert.deepEqual(part.config.http, { routers: {}, services: {} });
    assert.deepEqual(part.config.tcp?.routers.db, {
      rule: 'HostSNI(`db.example.com`)',
      service: 'db',
      entryPoints: ['websecure'],
      tls: { passthrough: true },
    });
    assert.deepEqual(part.config.tcp?.services.db, {
      loadBalancer: { servers: [{ address: `${c.networks[0]?.ipv4}:5432` }], proxyProtocol: { version: 1 } },
    });
  });

  it('decodes UDP routers and services as Traefik does, with no HTTP router for a UDP-only container', () => {
    const c = container('dns', {
      'traefik.udp.routers.dns.entrypoints': 'dns',
      'traefik.udp.services.dns.loadbalancer.server.port': '53',
    });
    const [part] = decodeContainers([c], settings);
    assert.ok(part);
    assert.deepEqual(part.errors, []);
    assert.deepEqual(part.config.udp?.routers.dns, { service: 'dns', entryPoints: ['dns'] });
    assert.deepEqual(part.config.udp?.services.dns, {
      loadBalancer: { servers: [{ address: `${c.networks[0]?.ipv4}:53` }] },
    });
    assert.deepEqual(part.config.http.routers, {});
    assert.equal(part.sources?.udpRouters?.dns?.label, 'traefik.udp.routers.dns.entrypoints');
  });

  it('links a UDP router without service to the generated default service on the exposed port', () => {
    const c = container(
      'syslog',
      {
        'traefik.udp.routers.logs.entrypoints': 'syslog',
        'traefik.http.routers.ui.rule': 'Host(`logs.example.com`)',
      },
      {
        exposedPorts: [
          { port: 80, protocol: 'tcp' },
          { port: 514, protocol: 'udp' },
        ],
      },
    );
    const [part] = decodeContainers([c], settings);
    assert.ok(part);
    assert.deepEqual(part.errors, []);
    assert.deepEqual(part.config.udp?.routers.logs, { service: 'syslog-app', entryPoints: ['syslog'] });
    assert.deepEqual(part.config.udp?.services['syslog-app'], {
      loadBalancer: { servers: [{ address: `${c.networks[0]?.ipv4}:514` }] },
    });
    // HTTP labels beside UDP ones are built as well.
    assert.ok(part.config.http.routers.ui);
  });

  it('refuses labels that would make the controller read files', () => {
    const [part] = decodeContainers(
      [
        container('evil', {
          'traefik.http.routers.evil.rule': 'Host(`evil.example.com`)',
          'traefik.http.serverstransports.t.rootcas': '/etc/berth/controller.key',
          'traefik.tls.certificates[0].certfile': '/etc/shadow',
        }),
      ],
      settings,
    );
    assert.ok(part);
    assert.equal(part.config.http.serversTransports?.t, undefined);
    assert.equal(part.config.tls?.certificates, undefined);
    assert.ok(part.errors.every((e) => e.code === DockerErrorCodes.FILE_FROM_LABEL));
    assert.equal(part.errors.length, 2);
    assert.ok(part.config.http.routers.evil);
  });
});

describe('Docker labels: Traefik defaults', () => {
  it('gives a container without labels but traefik.enable a default service and router', () => {
    const c = container('whoami', {});
    const [part] = decodeContainers([c], settings);
    assert.ok(part);
    assert.deepEqual(part.config.http.routers, {
      'whoami-app': { rule: 'Host(`whoami-app.example.com`)', service: 'whoami-app' },
    });
    assert.deepEqual(part.config.http.services['whoami-app'], {
      loadBalancer: { servers: [{ url: `http://${c.networks[0]?.ipv4}:80` }] },
    });
  });

  it('names the default service after the container without Compose, and after the Swarm service', () => {
    const plain = container('my_box', {});
    delete (plain as { compose?: unknown }).compose;
    const task = container(
      'stack_web.1.abc',
      { 'traefik.swarm.network': 'stack_back' },
      {
        networks: [
          { name: 'stack_front', ipv4: '10.9.0.2', ipv6: '' },
          { name: 'stack_back', ipv4: '10.9.1.2', ipv6: '' },
        ],
      },
    );
    delete (task as { compose?: unknown }).compose;
    task.swarm = { serviceName: 'stack_web', stack: 'stack' };
    const parts = decodeContainers([plain, task], settings);
    assert.ok(partOf(parts, 'my_box').config.http.routers['my-box']);
    const swarmPart = partOf(parts, 'stack_web.1.abc');
    assert.ok(swarmPart.config.http.routers['stack-web']);
    assert.deepEqual(swarmPart.config.http.services['stack-web']?.loadBalancer?.servers, [
      { url: 'http://10.9.1.2:80' },
    ]);
  });

  it('links a router without service to the only service, and drops it when there are several', () => {
    const [part] = decodeContainers(
      [
        container('two', {
          'traefik.http.routers.r.rule': 'Host(`r.example.com`)',
          'traefik.http.services.a.loadbalancer.server.port': '80',
          'traefik.http.services.b.loadbalancer.server.port': '80',
        }),
      ],
      settings,
    );
    assert.ok(part);
    assert.deepEqual(part.config.http.routers, {});
    assert.equal(part.errors[0]?.code, DockerErrorCodes.SERVICE_AMBIGUOUS);
    assert.equal(part.errors[0]?.source?.label, 'traefik.http.routers.r.rule');
    assert.match(part.errors[0]?.message ?? '', /container "two".*a, b/);
  });

  it('renders the default rule template: normalize, .Labels, index, pipelines', () => {
    const model = {
      Name: 'web-app',
      ContainerName: 'app_web_1',
      Labels: { 'com.docker.compose.service': 'web', x: 'Y' },
    };
    assert.deepEqual(renderDefaultRule('Host(`{{ normalize .Name }}`)', model), {
      ok: true,
      rule: 'Host(`web-app`)',
    });
    assert.deepEqual(
      renderDefaultRule('Host(`{{ index .Labels "com.docker.compose.service"}}.example.com`)', model),
      {
        ok: true,
        rule: 'Host(`web.example.com`)',
      },
    );
    assert.deepEqual(renderDefaultRule('Host(`{{ .ContainerName | normalize | lower }}`)', model), {
      ok: true,
      rule: 'Host(`app-web-1`)',
    });
    assert.deepEqual(renderDefaultRule('{{ .Labels.x | lower }}', model), { ok: true, rule: 'y' });
    assert.equal(renderDefaultRule('Host(`{{ env "HOME" }}`)', model).ok, false);
    assert.equal(renderDefaultRule('Host(`{{ .Name `)', model).ok, false);
  });

  it('drops a router whose default rule renders empty or cannot be rendered, with an error', () => {
    for (const defaultRule of ['', '{{ nosuchfunc .Name }}']) {
      const [part] = decodeContainers([container('x', {})], { ...settings, defaultRule });
      assert.ok(part);
      assert.deepEqual(part.config.http.routers, {});
      assert.equal(part.errors[0]?.code, DockerErrorCodes.DEFAULT_RULE);
    }
  });
});

describe('Docker labels: which containers, which address', () => {
  it('follows traefik.enable and exposedByDefault', () => {
    const off = container('off', {});
    off.labels = {};
    assert.equal(decodeContainers([off], settings).length, 0);
    assert.equal(decodeContainers([off], { ...settings, exposedByDefault: true }).length, 1);
    const bad = container('bad', { 'traefik.enable': 'yes' });
    const [part] = decodeContainers([bad], settings);
    assert.equal(part?.errors[0]?.code, DockerErrorCodes.LABEL_VALUE);
    assert.deepEqual(part?.config.http.routers, {});
  });

  it('applies constraints: Label, LabelRegex, !, &&, || and parentheses', () => {
    const a = container('a', { 'traefik.constraint-label': 'public', tier: 'web' });
    const b = container('b', { 'traefik.constraint-label': 'internal', tier: 'db' });
    const routed = (constraints: string) =>
      decodeContainers([a, b], { ...settings, constraints })
        .map((p) => p.sourceKey)
        .sort();
    assert.deepEqual(routed('Label(`traefik.constraint-label`, `public`)'), ['docker/a']);
    assert.deepEqual(routed('!Label(`traefik.constraint-label`, `public`)'), ['docker/b']);
    assert.deepEqual(
      routed('LabelRegex(`tier`, `^(web|db)$`) && !(Label(`tier`,`web`) || Label(`tier`,`x`))'),
      ['docker/b'],
    );
    assert.deepEqual(routed('Label("tier", "web") || Label("tier", "db")'), ['docker/a', 'docker/b']);
    assert.equal(parseConstraints('Label(`a`)').ok, false);
    assert.equal(parseConstraints('Label(`a`,`b`) &&').ok, false);
    assert.equal(parseConstraints('Nope(`a`,`b`)').ok, false);
    const broken = decodeContainers([a, b], { ...settings, constraints: 'Label(`a`' });
    assert.deepEqual(
      broken.map((p) => [p.sourceKey, p.errors[0]?.code]),
      [['docker', DockerErrorCodes.CONSTRAINTS]],
    );
  });

  it('leaves out containers that are not running, unhealthy or starting; allowEmptyServices keeps them without servers', () => {
    const stopped = container('stopped', {}, { state: 'exited' });
    const sick = container('sick', {}, { health: 'unhealthy' });
    const starting = container('starting', {}, { health: 'starting' });
    const healthy = container('healthy', {}, { health: 'healthy' });
    const parts = decodeContainers([stopped, sick, starting, healthy], settings);
    assert.deepEqual(
      parts.map((p) => p.sourceKey),
      ['docker/healthy'],
    );
    const lenient = decodeContainers([stopped, sick], { ...settings, allowEmptyServices: true });
    assert.deepEqual(
      lenient.map((p) => p.sourceKey),
      ['docker/sick'],
    );
    assert.deepEqual(lenient[0]?.config.http.services['sick-app'], { loadBalancer: { servers: [] } });
    const allowed = decodeContainers(
      [container('s2', { 'traefik.docker.allownonrunning': 'true' }, { state: 'exited' })],
      settings,
    );
    assert.deepEqual(allowed[0]?.config.http.services['s2-app'], { loadBalancer: { servers: [] } });
  });

  it('takes the port from the label, else the single exposed port; several ports without a label are an error', () => {
    const many = container(
      'many',
      {},
      {
        exposedPorts: [
          { port: 80, protocol: 'tcp' },
          { port: 9090, protocol: 'tcp' },
        ],
      },
    );
    const none = container('none', {}, { exposedPorts: [{ port: 53, protocol: 'udp' }] });
    const labelled = container(
      'labelled',
      { 'traefik.http.services.s.loadbalancer.server.port': '9090' },
      { exposedPorts: many.exposedPorts },
    );
    const parts = decodeContainers([many, none, labelled], settings);
    const manyPart = partOf(parts, 'many');
    assert.equal(manyPart.errors[0]?.code, DockerErrorCodes.PORT);
    assert.match(manyPart.errors[0]?.message ?? '', /80, 9090.*loadbalancer\.server\.port/);
    assert.deepEqual(manyPart.config.http.services, {});
    assert.equal(partOf(parts, 'none').errors[0]?.code, DockerErrorCodes.PORT);
    assert.deepEqual(partOf(parts, 'labelled').config.http.services.s?.loadBalancer?.servers, [
      { url: `http://${labelled.networks[0]?.ipv4}:9090` },
    ]);
  });

  it("leaves out quietly the generated service no router uses when its port is ambiguous (Traefik's own container)", () => {
    const proxy = container(
      'traefik',
      {
        'traefik.http.routers.dashboard.rule': 'Host(`proxy.example.com`)',
        'traefik.http.routers.dashboard.service': 'api@internal',
      },
      {
        exposedPorts: [
          { port: 80, protocol: 'tcp' },
          { port: 443, protocol: 'tcp' },
        ],
      },
    );
    const [part] = decodeContainers([proxy], settings);
    assert.ok(part);
    assert.deepEqual(part.errors, []);
    assert.deepEqual(part.config.http.services, {});
    assert.equal(part.config.http.routers.dashboard?.service, 'api@internal');
  });

  it('keeps a server url label as is, and refuses it together with a port', () => {
    const [ok] = decodeContainers(
      [
        container('ext', {
          'traefik.http.services.ext.loadbalancer.server.url': 'https://backend.internal:8443',
        }),
      ],
      settings,
    );
    assert.deepEqual(ok?.config.http.services.ext?.loadBalancer?.servers, [
      { url: 'https://backend.internal:8443' },
    ]);
    const [both] = decodeContainers(
      [
        container('both', {
          'traefik.http.services.both.loadbalancer.server.url': 'http://x:1',
          'traefik.http.services.both.loadbalancer.server.port': '80',
        }),
      ],
      settings,
    );
    assert.equal(both?.errors[0]?.code, DockerErrorCodes.SERVER_URL_AND_PORT);
  });

  it('uses the scheme label, the network the label names, host networking, and IPv6-only networks', () => {
    const multi = container(
      'multi',
      {
        'traefik.docker.network': 'backend',
        'traefik.http.services.m.loadbalancer.server.scheme': 'https',
      },
      {
        networks: [
          { name: 'app_frontend', ipv4: '10.0.1.5', ipv6: '' },
          { name: 'app_backend', ipv4: '10.0.2.5', ipv6: '' },
        ],
      },
    );
    const wrong = container('wrong', { 'traefik.docker.network': 'nosuch' });
    const host = container('host', {}, { networkMode: 'host', networks: [] });
    const v6 = container('v6', {}, { networks: [{ name: 'v6net', ipv4: '', ipv6: 'fd00::5' }] });
    const parts = decodeContainers([multi, wrong, host, v6], settings);
    assert.deepEqual(partOf(parts, 'multi').config.http.services.m?.loadBalancer?.servers, [
      { url: 'https://10.0.2.5:80' },
    ]);
    const w = partOf(parts, 'wrong');
    assert.equal(w.errors[0]?.code, DockerErrorCodes.ADDRESS);
    assert.match(w.errors[0]?.message ?? '', /"nosuch".*not attached.*app_default/);
    assert.equal(w.errors[0]?.source?.label, 'traefik.docker.network');
    assert.deepEqual(partOf(parts, 'host').config.http.services['host-app']?.loadBalancer?.servers, [
      { url: 'http://127.0.0.1:80' },
    ]);
    assert.deepEqual(partOf(parts, 'v6').config.http.services['v6-app']?.loadBalancer?.servers, [
      { url: 'http://[fd00::5]:80' },
    ]);
  });
});

describe('Docker labels: gRPC', () => {
  it('takes server.scheme=h2c and a grpcWeb middleware, as Traefik does', () => {
    const grpc = container('grpc', {
      'traefik.http.services.g.loadbalancer.server.scheme': 'h2c',
      'traefik.http.services.g.loadbalancer.server.port': '50051',
      'traefik.http.middlewares.gw.grpcweb.alloworigins': 'https://a.test, https://b.test',
      'traefik.http.routers.g.rule': 'Host(`grpc.test`)',
      'traefik.http.routers.g.middlewares': 'gw',
    });
    const part = partOf(decodeContainers([grpc], settings), 'grpc');
    assert.deepEqual(part.errors, []);
    assert.match(part.config.http.services.g?.loadBalancer?.servers?.[0]?.url ?? '', /^h2c:\/\/[^/]+:50051$/);
    assert.deepEqual(part.config.http.middlewares?.['gw'], {
      grpcWeb: { allowOrigins: ['https://a.test', 'https://b.test'] },
    });
  });
});

describe('Docker labels: published ports and shared network namespaces', () => {
  it('uses the published host IP and port with useBindPortIP, and the container address when bound to all interfaces', () => {
    const bound = container(
      'bound',
      {},
      {
        publishedPorts: [{ containerPort: 80, hostIp: '192.168.1.5', hostPort: 8081, protocol: 'tcp' }],
      },
    );
    const wildcard = container(
      'wildcard',
      {},
      {
        publishedPorts: [{ containerPort: 80, hostIp: '0.0.0.0', hostPort: 8082, protocol: 'tcp' }],
      },
    );
    const parts = decodeContainers([bound, wildcard], { ...settings, useBindPortIP: true });
    assert.deepEqual(partOf(parts, 'bound').config.http.services['bound-app']?.loadBalancer?.servers, [
      { url: 'http://192.168.1.5:8081' },
    ]);
    assert.deepEqual(partOf(parts, 'wildcard').config.http.services['wildcard-app']?.loadBalancer?.servers, [
      { url: `http://${wildcard.networks[0]?.ipv4}:80` },
    ]);
  });

  it('reaches a container in network mode container:<id> at the address of that container', () => {
    const vpn = container('vpn', { 'traefik.enable': 'false' });
    const app = container('app', {}, { networkMode: `container:${vpn.id}`, networks: [] });
    const ghost = container('ghost', {}, { networkMode: 'container:nosuch', networks: [] });
    const parts = decodeContainers([vpn, app, ghost], settings);
    assert.deepEqual(partOf(parts, 'app').config.http.services['app-app']?.loadBalancer?.servers, [
      { url: `http://${vpn.networks[0]?.ipv4}:80` },
    ]);
    assert.equal(partOf(parts, 'ghost').errors[0]?.code, DockerErrorCodes.ADDRESS);
  });

  it('takes the network of a container:<id> owner from its own network label first, as Traefik', () => {
    const nets = [
      { name: 'app_default', ipv4: '172.18.0.200', ipv6: '' },
      { name: 'app_front', ipv4: '172.19.0.200', ipv6: '' },
    ];
    const vpn = container(
      'vpn',
      { 'traefik.enable': 'false', 'Traefik.Docker.Network': 'front' },
      { networks: nets },
    );
    const plain = container('plain', { 'traefik.enable': 'false' }, { networks: nets });
    const app = container(
      'app',
      { 'traefik.docker.network': 'default' },
      { networkMode: `container:${vpn.id}`, networks: [] },
    );
    const other = container(
      'other',
      { 'traefik.docker.network': 'front' },
      { networkMode: `container:${plain.id}`, networks: [] },
    );
    const parts = decodeContainers([vpn, plain, app, other], settings);
    assert.deepEqual(partOf(parts, 'app').config.http.services['app-app']?.loadBalancer?.servers, [
      { url: 'http://172.19.0.200:80' },
    ]);
    assert.deepEqual(partOf(parts, 'other').config.http.services['other-app']?.loadBalancer?.servers, [
      { url: 'http://172.19.0.200:80' },
    ]);
  });
});

describe('Docker labels: across containers', () => {
  it('pools the servers of replicas of one compose service', () => {
    const replicas = [1, 2, 3].map((i) =>
      container(
        `app-web-${i}`,
        { 'traefik.http.routers.web.rule': 'Host(`web.example.com`)' },
        {
          compose: { project: 'app', service: 'web' },
        },
      ),
    );
    const parts = decodeContainers(replicas, settings);
    assert.equal(parts.length, 3);
    const result = compile(parts, statics);
    assert.deepEqual(result.errors, []);
    assert.equal(result.body.http.services['web-app@docker']?.loadBalancer?.servers.length, 3);
    assert.equal(result.routers.find((r) => r.name === 'web@docker')?.status, 'enabled');
  });

  it('drops a router two containers define differently, names both, and keeps the rest routing', () => {
    const a = container('a', {
      'traefik.http.routers.shared.rule': 'Host(`a.example.com`)',
      'traefik.http.routers.a.rule': 'Host(`a2.example.com`)',
    });
    const b = container('b', {
      'traefik.http.routers.shared.rule': 'Host(`b.example.com`)',
      'traefik.http.routers.b.rule': 'Host(`b2.example.com`)',
    });
    const parts = decodeContainers([a, b], settings);
    const conflict = parts.flatMap((p) => p.errors).filter((e) => e.code === DockerErrorCodes.CONFLICT);
    assert.equal(conflict.length, 1);
    assert.match(conflict[0]?.message ?? '', /router "shared".*"a" and "b"/);
    const result = compile(parts, statics);
    assert.deepEqual(
      result.routers.filter((r) => r.status === 'enabled').map((r) => r.name),
      ['a@docker', 'b@docker'],
    );
  });
});

describe('Docker labels: error isolation', () => {
  it('drops only the element a bad label belongs to, naming container, label, value and reason', () => {
    const c = container('mixed', {
      'traefik.http.routers.good.rule': 'Host(`good.example.com`)',
      'traefik.http.routers.good.service': 'svc',
      'traefik.http.routers.typo.rule': 'Host(`typo.example.com`)',
      'traefik.http.routers.typo.servce': 'svc',
      'traefik.http.routers.badrule.rule': 'Host(`x.example.com`',
      'traefik.http.routers.badprio.rule': 'Host(`p.example.com`)',
      'traefik.http.routers.badprio.priority': 'high',
      'traefik.http.routers.badprio.service': 'svc',
      'traefik.http.routers.badmw.rule': 'Host(`m.example.com`)',
      'traefik.http.routers.badmw.service': 'svc',
      'traefik.http.routers.badmw.middlewares': 'broken',
      'traefik.http.middlewares.broken.stripprefix.prefixes': '',
      'traefik.http.middlewares.broken.ratelimit.average': 'many',
      'traefik.http.services.svc.loadbalancer.server.port': '80',
      'traefik..http.bad': 'x',
    });
    const parts = decodeContainers([c], settings);
    const part = partOf(parts, 'mixed');
    const byLabel = new Map(part.errors.map((e) => [e.source?.label, e]));
    const typo = byLabel.get('traefik.http.routers.typo.servce');
    assert.equal(typo?.code, 'BERTH_CONFIG_UNKNOWN_FIELD');
    assert.match(
      typo?.message ?? '',
      /container "mixed", label traefik\.http\.routers\.typo\.servce="svc": .*unknown field 'servce'/,
    );
    assert.equal(byLabel.get('traefik.http.routers.badrule.rule')?.code, 'BERTH_CONFIG_RULE_SYNTAX');
    assert.equal(byLabel.get('traefik.http.routers.badprio.priority')?.code, 'BERTH_CONFIG_INVALID_TYPE');
    assert.equal(byLabel.get('traefik..http.bad')?.code, DockerErrorCodes.LABEL_KEY);
    for (const e of part.errors) {
      assert.equal(e.source?.provider, 'docker');
      assert.equal(e.source?.origin, 'mixed');
    }
    assert.deepEqual(Object.keys(part.config.http.routers).sort(), ['badmw', 'good']);
    const result = compile(parts, statics);
    assert.deepEqual(
      result.routers.filter((r) => r.status === 'enabled').map((r) => r.name),
      ['good@docker'],
    );
    assert.equal(result.routers.find((r) => r.name === 'badmw@docker')?.status, 'disabled');
  });
});

describe('Compose interpolation (corpus harness)', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation syntax, not a JS template
  it('expands $$, $VAR, ${VAR}, defaults, alternatives and required variables as Compose does', () => {
    const env = { A: 'a', EMPTY: '' };
    assert.equal(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation syntax, not a JS template
      interpolate('$$A $A ${A} ${B:-d} ${EMPTY:-e} ${EMPTY-e} ${A:+alt} ${B:-${A}x}', env).value,
      '$A a a d e  alt ax',
    );
    assert.deepEqual(interpolate('test:$apr1$x0x$abc/', env), {
      value: 'test:/',
      unset: ['apr1', 'x0x', 'abc'],
    });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Compose interpolation syntax, not a JS template
    assert.equal(interpolate('${B?needed}', env).error, 'B: needed');
  });
});
