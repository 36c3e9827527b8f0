// The Swarm provider's pure half: services and tasks → facts → the Docker label decoder → one `@swarm` part per service.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../src/compiler/compile.js';
import { decodeSwarm } from '../src/provider/swarm/decode-swarm.js';
import type { SwarmService, SwarmState, SwarmTask } from '../src/provider/swarm/swarm-client.js';
import { factsFromSwarm, isTaskStarting } from '../src/provider/swarm/swarm-facts.js';
import type { SwarmProviderSettings } from '../src/provider/swarm/swarm-settings.js';

const settings: SwarmProviderSettings = {
  endpoint: 'unix:///var/run/docker.sock',
  exposedByDefault: false,
  constraints: '',
  defaultRule: 'Host(`{{ normalize .Name }}`)',
  network: '',
  useBindPortIP: false,
  allowEmptyServices: false,
  prefixes: ['traefik', 'berth'],
  refreshSeconds: 15,
};

const NETWORKS = [
  { Id: 'net-front', Name: 'stack_front' },
  { Id: 'net-back', Name: 'stack_back' },
  { Id: 'net-ingress', Name: 'ingress', Ingress: true },
];

const WEB_LABELS = {
  'traefik.enable': 'true',
  'traefik.http.routers.web.rule': 'Host(`web.example.com`)',
  'traefik.http.services.web.loadbalancer.server.port': '8080',
};

function service(
  name: string,
  labels: Record<string, string>,
  extra: Partial<SwarmService> = {},
): SwarmService {
  return {
    ID: `svc-${name}`,
    Spec: { Name: name, Labels: { 'com.docker.stack.namespace': 'stack', ...labels } },
    ...extra,
  };
}

function task(
  svc: string,
  slot: number,
  addresses: Record<string, string>,
  state = 'running',
  desired = 'running',
  extra: Partial<SwarmTask> = {},
): SwarmTask {
  return {
    ID: `task-${svc}-${slot}-${state}`,
    ServiceID: `svc-${svc}`,
    NodeID: 'node-1',
    Slot: slot,
    DesiredState: desired,
    Status: { State: state },
    NetworksAttachments: Object.entries(addresses).map(([id, addr]) => ({
      Network: { ID: id },
      Addresses: [addr],
    })),
    ...extra,
  };
}

function state(services: SwarmService[], tasks: SwarmTask[]): SwarmState {
  return { services, tasks, networks: NETWORKS, nodes: [{ ID: 'node-1', Status: { Addr: '192.0.2.10' } }] };
}

const servers = (s: SwarmState, name: string, extra: Partial<SwarmProviderSettings> = {}) =>
  decodeSwarm(s, { ...settings, ...extra })
    .flatMap((p) => p.config.http.services[name]?.loadBalancer?.servers ?? [])
    .map((x) => x.url);

describe('decodeSwarm', () => {
  it('makes one @swarm part per service, with a server for each running task and none for tasks starting or stopping', () => {
    const s = state(
      [service('stack_web', WEB_LABELS)],
      [
        task('stack_web', 1, { 'net-front': '10.0.1.3/24' }),
        task('stack_web', 2, { 'net-front': '10.0.1.4/24' }),
        task('stack_web', 3, { 'net-front': '10.0.1.5/24' }),
        // A rolling update: one on its way up, one being stopped (desired shutdown, still running).
        task('stack_web', 4, { 'net-front': '10.0.1.6/24' }, 'starting'),
        task('stack_web', 5, { 'net-front': '10.0.1.7/24' }, 'running', 'shutdown'),
      ],
    );
    const parts = decodeSwarm(s, settings);
    assert.equal(parts.length, 1);
    const part = parts[0];
    assert.equal(part?.sourceKey, 'swarm/stack_web');
    assert.equal(part?.provider, 'swarm');
    assert.deepEqual(part?.errors, []);
    assert.deepEqual(part?.config.http.routers['web'], { rule: 'Host(`web.example.com`)', service: 'web' });
    assert.deepEqual(part?.config.http.services['web']?.loadBalancer?.servers.map((x) => x.url).sort(), [
      'http://10.0.1.3:8080',
      'http://10.0.1.4:8080',
      'http://10.0.1.5:8080',
    ]);
    assert.deepEqual(part?.sources?.routers['web'], {
      provider: 'swarm',
      origin: 'stack_web',
      label: 'traefik.http.routers.web.rule',
    });
    assert.equal(isTaskStarting(s.tasks[3] as SwarmTask), true);
  });

  it('compiles to names qualified @swarm, which a file router can reference', () => {
    const s = state(
      [service('stack_web', WEB_LABELS)],
      [task('stack_web', 1, { 'net-front': '10.0.1.3/24' })],
    );
    const parts = [
      ...decodeSwarm(s, settings),
      {
        sourceKey: '/etc/berth/dynamic.yaml',
        provider: 'file',
        config: {
          http: {
            routers: { also: { rule: 'Host(`also.example.com`)', service: 'web@swarm' } },
            services: {},
          },
        },
        errors: [],
      },
    ];
    const result = compile(parts, { entryPoints: { web: { address: ':80' } } });
    assert.deepEqual(result.errors, []);
    assert.ok(result.body.http.routers['web@swarm']);
    assert.equal(result.body.http.routers['also@file']?.service, 'web@swarm');
    assert.deepEqual(
      result.body.http.services['web@swarm']?.loadBalancer?.servers.map((x) => x.url),
      ['http://10.0.1.3:8080'],
    );
  });

  it('picks the network named by traefik.swarm.network, then by the settings, and never the ingress network by chance', () => {
    const tasks = [
      task('stack_web', 1, {
        'net-ingress': '10.0.0.9/24',
        'net-back': '10.0.2.3/24',
        'net-front': '10.0.1.3/24',
      }),
    ];
    assert.deepEqual(servers(state([service('stack_web', WEB_LABELS)], tasks), 'web'), [
      'http://10.0.2.3:8080',
    ]);
    assert.deepEqual(
      servers(
        state([service('stack_web', { ...WEB_LABELS, 'traefik.swarm.network': 'stack_front' })], tasks),
        'web',
      ),
      ['http://10.0.1.3:8080'],
    );
    assert.deepEqual(
      servers(state([service('stack_web', WEB_LABELS)], tasks), 'web', { network: 'stack_front' }),
      ['http://10.0.1.3:8080'],
    );
    // The deprecated spelling still works.
    assert.deepEqual(
      servers(
        state([service('stack_web', { ...WEB_LABELS, 'traefik.docker.network': 'stack_front' })], tasks),
        'web',
      ),
      ['http://10.0.1.3:8080'],
    );
  });

  it('reports a network label naming no network of the tasks once for the service, not once per task', () => {
    const s = state(
      [service('stack_web', { ...WEB_LABELS, 'traefik.swarm.network': 'nope' })],
      [1, 2, 3].map((i) => task('stack_web', i, { 'net-front': `10.0.1.${i + 2}/24` })),
    );
    const parts = decodeSwarm(s, settings);
    assert.equal(parts.length, 1);
    assert.deepEqual(
      parts[0]?.errors.map((e) => [e.code, e.source?.label]),
      [['BERTH_DOCKER_ADDRESS', 'traefik.swarm.network']],
    );
    assert.match(
      parts[0]?.errors[0]?.message ?? '',
      /^service "stack_web", label traefik\.swarm\.network="nope"/,
    );
    assert.equal(parts[0]?.config.http.services['web'], undefined);
  });

  it('with traefik.swarm.lbswarm=true, routes to the VIP on the chosen network instead of the tasks', () => {
    const s = state(
      [
        service(
          'stack_web',
          { ...WEB_LABELS, 'traefik.swarm.lbswarm': 'true', 'traefik.swarm.network': 'stack_front' },
          {
            Endpoint: {
              VirtualIPs: [
                { NetworkID: 'net-front', Addr: '10.0.1.2/24' },
                { NetworkID: 'net-back', Addr: '10.0.2.2/24' },
              ],
            },
          },
        ),
      ],
      [
        task('stack_web', 1, { 'net-front': '10.0.1.3/24' }),
        task('stack_web', 2, { 'net-front': '10.0.1.4/24' }),
      ],
    );
    assert.deepEqual(servers(s, 'web'), ['http://10.0.1.2:8080']);
    // The deprecated label, any case.
    const old = state(
      [
        service(
          'stack_web',
          { ...WEB_LABELS, 'Traefik.Docker.LBSwarm': 'true' },
          { Endpoint: { VirtualIPs: [{ NetworkID: 'net-front', Addr: '10.0.1.2/24' }] } },
        ),
      ],
      [],
    );
    assert.deepEqual(servers(old, 'web'), ['http://10.0.1.2:8080']);
  });

  it('falls back to the tasks, with a warning, for lbswarm on a dnsrr service; a bad lbswarm value is an error', () => {
    const tasks = [task('stack_web', 1, { 'net-front': '10.0.1.3/24' })];
    const dnsrr = decodeSwarm(
      state(
        [
          service(
            'stack_web',
            { ...WEB_LABELS, 'traefik.swarm.lbswarm': 'true' },
            {
              Spec: {
                Name: 'stack_web',
                Labels: { ...WEB_LABELS, 'traefik.swarm.lbswarm': 'true' },
                EndpointSpec: { Mode: 'dnsrr' },
              },
            },
          ),
        ],
        tasks,
      ),
      settings,
    );
    assert.deepEqual(
      dnsrr[0]?.errors.map((e) => [e.code, e.severity]),
      [['BERTH_SWARM_LBSWARM_DNSRR', 'warning']],
    );
    assert.deepEqual(
      dnsrr[0]?.config.http.services['web']?.loadBalancer?.servers.map((x) => x.url),
      ['http://10.0.1.3:8080'],
    );
    const bad = decodeSwarm(
      state([service('stack_web', { ...WEB_LABELS, 'traefik.swarm.lbswarm': 'maybe' })], tasks),
      settings,
    );
    assert.deepEqual(
      bad[0]?.errors.map((e) => [e.code, e.source?.label]),
      [['BERTH_DOCKER_LABEL_VALUE', 'traefik.swarm.lbswarm']],
    );
    assert.equal(bad[0]?.config.http.services['web']?.loadBalancer?.servers.length, 1);
  });

  it('with useBindPortIP, reaches each task on its host-mode published port at its node address', () => {
    const ports = (published: number) => ({
      Status: {
        State: 'running',
        // Docker lists a host-mode port once per address family.
        PortStatus: {
          Ports: [
            { Protocol: 'tcp', TargetPort: 8080, PublishedPort: published, PublishMode: 'host' },
            { Protocol: 'tcp', TargetPort: 8080, PublishedPort: published, PublishMode: 'host' },
          ],
        },
      },
    });
    const s = state(
      [service('stack_web', WEB_LABELS)],
      [
        task('stack_web', 1, { 'net-front': '10.0.1.3/24' }, 'running', 'running', ports(32768)),
        task('stack_web', 2, { 'net-front': '10.0.1.4/24' }, 'running', 'running', ports(32769)),
      ],
    );
    assert.deepEqual(servers(s, 'web', { useBindPortIP: true }).sort(), [
      'http://192.0.2.10:32768',
      'http://192.0.2.10:32769',
    ]);
    assert.deepEqual(servers(s, 'web').sort(), ['http://10.0.1.3:8080', 'http://10.0.1.4:8080']);
    // The published target port is the task's port when no label names one.
    const noPortLabel = { ...WEB_LABELS };
    delete (noPortLabel as Record<string, string>)['traefik.http.services.web.loadbalancer.server.port'];
    const facts = factsFromSwarm(state([service('stack_web', noPortLabel)], s.tasks), settings).facts;
    assert.deepEqual(facts[0]?.exposedPorts, [{ port: 8080, protocol: 'tcp' }]);
    assert.deepEqual(facts[0]?.publishedPorts, [
      { containerPort: 8080, hostIp: '192.0.2.10', hostPort: 32768, protocol: 'tcp' },
    ]);
  });

  it('says that Swarm tells no port when no label names one', () => {
    const labels = { 'traefik.enable': 'true', 'traefik.http.routers.web.rule': 'Host(`web.example.com`)' };
    const parts = decodeSwarm(
      state([service('stack_web', labels)], [task('stack_web', 1, { 'net-front': '10.0.1.3/24' })]),
      settings,
    );
    assert.deepEqual(
      parts[0]?.errors.map((e) => e.code),
      ['BERTH_DOCKER_PORT'],
    );
    assert.match(parts[0]?.errors[0]?.message ?? '', /Swarm tells no port.*set loadbalancer\.server\.port/);
  });

  it('routes a service with no running task only with allowEmptyServices, and then with no servers', () => {
    const s = state([service('stack_web', WEB_LABELS)], [task('stack_web', 1, {}, 'starting')]);
    assert.deepEqual(decodeSwarm(s, settings), []);
    const parts = decodeSwarm(s, { ...settings, allowEmptyServices: true });
    assert.deepEqual(parts[0]?.config.http.services['web'], { loadBalancer: { servers: [] } });
    assert.ok(parts[0]?.config.http.routers['web']);
  });

  it('leaves out services without traefik.enable, or outside the constraints, and reads the default rule from the service name', () => {
    const tasks = [
      task('stack_api', 1, { 'net-front': '10.0.1.3/24' }),
      task('stack_plain', 1, { 'net-front': '10.0.1.4/24' }),
      task('stack_other', 1, { 'net-front': '10.0.1.5/24' }),
    ];
    const s = state(
      [
        service('stack_api', {
          'traefik.enable': 'true',
          team: 'web',
          'traefik.http.services.api.loadbalancer.server.port': '80',
        }),
        service('stack_plain', { 'traefik.http.services.plain.loadbalancer.server.port': '80' }),
        service('stack_other', { 'traefik.enable': 'true', team: 'db' }),
      ],
      tasks,
    );
    const parts = decodeSwarm(s, { ...settings, constraints: 'Label(`team`, `web`)' });
    assert.deepEqual(
      parts.map((p) => p.sourceKey),
      ['swarm/stack_api'],
    );
    assert.deepEqual(parts[0]?.config.http.routers['stack-api'], {
      rule: 'Host(`stack-api`)',
      service: 'api',
    });
  });

  it('names both services when they define one router differently, and drops it', () => {
    const s = state(
      [
        service('stack_a', {
          'traefik.enable': 'true',
          'traefik.http.routers.shared.rule': 'Host(`a`)',
          'traefik.http.services.a.loadbalancer.server.port': '80',
        }),
        service('stack_b', {
          'traefik.enable': 'true',
          'traefik.http.routers.shared.rule': 'Host(`b`)',
          'traefik.http.services.b.loadbalancer.server.port': '80',
        }),
      ],
      [
        task('stack_a', 1, { 'net-front': '10.0.1.3/24' }),
        task('stack_a', 2, { 'net-front': '10.0.1.4/24' }),
        task('stack_b', 1, { 'net-front': '10.0.1.5/24' }),
      ],
    );
    const parts = decodeSwarm(s, settings);
    const errors = parts.flatMap((p) => p.errors);
    assert.deepEqual(
      errors.map((e) => e.code),
      ['BERTH_DOCKER_CONFLICT'],
    );
    assert.match(errors[0]?.message ?? '', /defined differently by services "stack_a" and "stack_b"/);
    for (const p of parts) assert.equal(p.config.http.routers['shared'], undefined);
  });

  it('never throws on gaps in what Docker returns', () => {
    const s: SwarmState = {
      services: [
        {},
        { ID: 'x' },
        { ID: 'y', Spec: { Name: 'y', Labels: null } },
        service('stack_web', WEB_LABELS, { Endpoint: null }),
      ],
      tasks: [
        {},
        { ServiceID: 'svc-stack_web' },
        {
          ServiceID: 'svc-stack_web',
          DesiredState: 'running',
          Status: { State: 'running' },
          NetworksAttachments: null,
        },
      ],
      networks: [{}, { Id: 'n' }],
      nodes: [{}],
    };
    const parts = decodeSwarm(s, settings);
    assert.deepEqual(
      parts.map((p) => p.errors.map((e) => e.code)),
      [['BERTH_DOCKER_ADDRESS']],
    );
  });
});
