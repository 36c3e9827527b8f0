// The Swarm provider's I/O half against an in-memory manager: when it reads, what it publishes, how it recovers.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { DockerEvent, EventHandlers } from '../src/provider/docker/docker-client.js';
import { decodeSwarm } from '../src/provider/swarm/decode-swarm.js';
import type { SwarmClient, SwarmService, SwarmTask } from '../src/provider/swarm/swarm-client.js';
import { SwarmProvider } from '../src/provider/swarm/swarm-provider.js';
import type { SwarmProviderSettings } from '../src/provider/swarm/swarm-settings.js';

const settings: SwarmProviderSettings = {
  endpoint: 'unix:///fake/docker.sock',
  exposedByDefault: false,
  constraints: '',
  defaultRule: 'Host(`{{ normalize .Name }}`)',
  network: '',
  useBindPortIP: false,
  allowEmptyServices: false,
  prefixes: ['traefik', 'berth'],
  refreshSeconds: 3600,
};

/** A manager in memory: services and tasks to edit, an events stream to push into, a switch to fail. */
class FakeManager implements SwarmClient {
  readonly endpoint = 'unix:///fake/docker.sock';
  services: SwarmService[] = [];
  tasks: SwarmTask[] = [];
  failing: string | null = null;
  handlers: EventHandlers | null = null;
  async ping() {
    if (this.failing) throw new Error(this.failing);
  }
  async subscribe(_filters: Record<string, string[]>, handlers: EventHandlers) {
    if (this.failing) throw new Error(this.failing);
    this.handlers = handlers;
    return { close: () => (this.handlers = null) };
  }
  async listServices({ label }: { label?: string }) {
    if (this.failing) throw new Error(this.failing);
    return this.services.filter((s) => label === undefined || Object.hasOwn(s.Spec?.Labels ?? {}, label));
  }
  async listTasks() {
    if (this.failing) throw new Error(this.failing);
    return this.tasks.filter((t) => t.DesiredState === 'running');
  }
  async listNetworks() {
    return [{ Id: 'net', Name: 'front' }];
  }
  async listNodes() {
    return [{ ID: 'node-1', Status: { Addr: '192.0.2.10' } }];
  }
  emit(event: DockerEvent) {
    this.handlers?.onEvent(event);
  }
}

const web: SwarmService = {
  ID: 'svc-web',
  Spec: {
    Name: 'web',
    Labels: {
      'traefik.enable': 'true',
      'traefik.http.routers.web.rule': 'Host(`web.test`)',
      'traefik.http.services.web.loadbalancer.server.port': '80',
    },
  },
};

const task = (n: number, state = 'running', desired = 'running'): SwarmTask => ({
  ID: `t${n}`,
  ServiceID: 'svc-web',
  NodeID: 'node-1',
  DesiredState: desired,
  Status: { State: state },
  NetworksAttachments: [{ Network: { ID: 'net' }, Addresses: [`10.0.1.${n}/24`] }],
});

async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('SwarmProvider', () => {
  let provider: SwarmProvider | null = null;
  afterEach(async () => {
    await provider?.close();
    provider = null;
  });

  function make(manager: FakeManager, extra: Partial<SwarmProviderSettings> = {}) {
    provider = new SwarmProvider({
      settings: { ...settings, ...extra },
      decode: decodeSwarm,
      client: manager,
      debounceMs: 10,
      settleMs: 10,
      reconnectMinMs: 10,
      reconnectMaxMs: 40,
      pingMs: 60_000,
    });
    return provider;
  }

  const urls = (p: SwarmProvider) =>
    p
      .current()
      .flatMap((part) => part.config.http.services['web']?.loadBalancer?.servers ?? [])
      .map((s) => s.url)
      .sort();

  it('reads services and tasks at start and publishes one @swarm part per service', async () => {
    const manager = new FakeManager();
    manager.services = [web, { ID: 'svc-plain', Spec: { Name: 'plain', Labels: {} } }];
    manager.tasks = [task(1), task(2)];
    const p = make(manager);
    await p.start();
    assert.deepEqual(urls(p), ['http://10.0.1.1:80', 'http://10.0.1.2:80']);
    assert.deepEqual(
      p.current().map((part) => [part.sourceKey, part.provider]),
      [['swarm/web', 'swarm']],
    );
    assert.equal(p.status().state, 'connected');
    assert.equal(p.status().services, 1, 'only services with an enable label are listed');
  });

  it('reads again on a service event or a task container event, debounced, and ignores other containers', async () => {
    const manager = new FakeManager();
    manager.services = [web];
    manager.tasks = [task(1)];
    const p = make(manager);
    await p.start();
    const reads = p.status().counters.reads;
    manager.emit({ Type: 'container', Action: 'start', Actor: { ID: 'c', Attributes: { name: 'plain' } } });
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(p.status().counters.reads, reads, 'a container of no task causes no read');
    assert.equal(p.status().counters.ignored, 1);
    manager.tasks = [task(1), task(2)];
    for (let i = 0; i < 5; i++)
      manager.emit({
        Type: 'container',
        Action: 'start',
        Actor: { ID: `c${i}`, Attributes: { 'com.docker.swarm.service.id': 'svc-web' } },
      });
    await until(() => urls(p).length === 2, 'the second task');
    assert.equal(p.status().counters.reads, reads + 1, 'a burst of events is one read');
    manager.tasks = [task(2, 'running', 'shutdown'), task(1)];
    manager.emit({
      Type: 'service',
      Action: 'update',
      Actor: { ID: 'svc-web', Attributes: { name: 'web' } },
    });
    await until(() => urls(p).length === 1, 'the task being shut down to go');
    assert.deepEqual(urls(p), ['http://10.0.1.1:80']);
  });

  it('reads again soon while a task is starting, with no event, until it runs', async () => {
    const manager = new FakeManager();
    manager.services = [web];
    manager.tasks = [task(1), task(2, 'starting')];
    const p = make(manager);
    await p.start();
    assert.deepEqual(urls(p), ['http://10.0.1.1:80']);
    await until(() => p.status().counters.reads >= 3, 'reads while the task starts');
    const decodes = p.status().counters.decodes;
    assert.equal(decodes, 1, 'reads that change nothing decode nothing');
    manager.tasks = [task(1), task(2)];
    await until(() => urls(p).length === 2, 'the started task');
    const settled = p.status().counters.reads;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(p.status().counters.reads, settled, 'no more quick reads once every task runs');
  });

  it('reads again soon while a rolling update runs, so a task marked for shutdown leaves before it stops', async () => {
    const manager = new FakeManager();
    manager.services = [{ ...web, UpdateStatus: { State: 'updating' } }];
    manager.tasks = [task(1), task(2)];
    const p = make(manager);
    await p.start();
    assert.equal(urls(p).length, 2);
    // Swarm marks the old task for shutdown, with no event; it still runs for Swarm's 2 s grace.
    manager.tasks = [task(1), task(2, 'running', 'shutdown')];
    await until(() => urls(p).length === 1, 'the task marked for shutdown to leave');
    manager.services = [{ ...web, UpdateStatus: { State: 'completed' } }];
    const done = p.status().counters.reads;
    await until(() => p.status().counters.reads > done, 'the read that sees the update complete');
    const settled = p.status().counters.reads;
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(p.status().counters.reads, settled, 'no more quick reads once the update is over');
  });

  it('keeps the last services while the manager fails, says so, and reads everything when it answers', async () => {
    const manager = new FakeManager();
    manager.services = [web];
    manager.tasks = [task(1)];
    const p = make(manager);
    await p.start();
    manager.failing = 'This node is not a swarm manager.';
    manager.handlers?.onEnd(new Error('stream closed'));
    await until(() => p.status().state !== 'connected', 'the outage');
    assert.deepEqual(urls(p), ['http://10.0.1.1:80'], 'the last known task keeps routing');
    const status = p.current().find((part) => part.sourceKey === 'swarm:status');
    assert.equal(status?.errors[0]?.path, 'providers.swarm');
    assert.match(status?.errors[0]?.message ?? '', /last known services keep routing/);
    manager.tasks = [task(1), task(3)];
    manager.failing = null;
    await until(() => p.status().state === 'connected' && urls(p).length === 2, 'the resync');
    assert.equal(
      p.current().some((part) => part.sourceKey === 'swarm:status'),
      false,
    );
  });

  it('starts even when Docker is not a Swarm manager, and routes once it is', async () => {
    const manager = new FakeManager();
    manager.failing = 'This node is not a swarm manager.';
    const p = make(manager);
    await p.start();
    assert.equal(p.status().state, 'unreachable');
    assert.equal(p.status().lastError?.code, 'BERTH_SWARM_LIST');
    assert.match(p.status().lastError?.message ?? '', /is not a Swarm manager .*docker swarm init/);
    manager.services = [web];
    manager.tasks = [task(1)];
    manager.failing = null;
    await until(() => urls(p).length === 1, 'the first read');
  });
});
