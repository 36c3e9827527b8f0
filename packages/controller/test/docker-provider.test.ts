// The Docker provider's I/O half against an in-memory Docker: what it asks Docker, what it publishes, how it recovers.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { ContainerDecoder, DockerProviderSettings } from '../src/provider/docker/container-facts.js';
import { DockerProvider } from '../src/provider/docker/docker-provider.js';
import type { ProviderPart } from '../src/provider/provider-part.js';
import { container, FakeDocker } from './support/fake-docker.js';

const settings: DockerProviderSettings = {
  endpoint: 'unix:///fake/docker.sock',
  exposedByDefault: false,
  constraints: '',
  defaultRule: 'Host(`{{ normalize .Name }}`)',
  network: '',
  useBindPortIP: false,
  allowEmptyServices: false,
  prefixes: ['traefik', 'berth'],
};

/** One part per running container: a router on its name to its first IP; counts its calls. */
function countingDecoder() {
  const seen: string[][] = [];
  const decode: ContainerDecoder = (containers) => {
    seen.push(containers.map((c) => c.name));
    return containers
      .filter((c) => c.state === 'running')
      .map((c) => ({
        sourceKey: `docker/${c.name}`,
        config: {
          http: {
            routers: { [c.name]: { rule: `Host(\`${c.name}\`)`, service: c.name } },
            services: {
              [c.name]: { loadBalancer: { servers: [{ url: `http://${c.networks[0]?.ipv4}:80` }] } },
            },
          },
        },
        errors: [],
      }));
  };
  return { decode, seen };
}

async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const names = (parts: ProviderPart[]) => parts.map((p) => p.sourceKey);
const settle = () => new Promise((r) => setTimeout(r, 60));

describe('DockerProvider', () => {
  let provider: DockerProvider | null = null;
  afterEach(async () => {
    await provider?.close();
    provider = null;
  });

  function make(docker: FakeDocker, decode: ContainerDecoder, extra: Partial<DockerProviderSettings> = {}) {
    provider = new DockerProvider({
      settings: { ...settings, ...extra },
      decode,
      client: docker,
      debounceMs: 10,
      reconnectMinMs: 10,
      reconnectMaxMs: 40,
      pingMs: 60_000,
    });
    return provider;
  }

  it('lists only labelled containers (one Docker-side filtered list per prefix) and inspects only those', async () => {
    const docker = new FakeDocker();
    docker.add(container('a'));
    docker.add(container('b', { 'berth.enable': 'true' }));
    for (let i = 0; i < 20; i++) docker.add(container(`plain-${i}`, {}));
    const { decode, seen } = countingDecoder();
    const p = make(docker, decode);
    await p.start();
    assert.deepEqual(
      docker.calls.filter((c) => c.startsWith('list')),
      ['list:traefik.enable', 'list:berth.enable'],
    );
    assert.deepEqual(docker.calls.filter((c) => c.startsWith('inspect')).sort(), ['inspect:a', 'inspect:b']);
    assert.deepEqual(seen, [['a', 'b']]);
    assert.deepEqual(names(p.current()), ['docker/a', 'docker/b']);
    assert.equal(p.status().state, 'connected');
    assert.deepEqual(docker.filters?.['type'], ['container', 'network']);
    assert.ok(!docker.filters?.['event']?.includes('exec_start'), 'health check execs are not even sent');
  });

  it('lists every running container when exposedByDefault is true', async () => {
    const docker = new FakeDocker();
    docker.add(container('a'));
    docker.add(container('plain', {}));
    const { decode } = countingDecoder();
    const p = make(docker, decode, { exposedByDefault: true });
    await p.start();
    assert.deepEqual(
      docker.calls.filter((c) => c.startsWith('list')),
      ['list:'],
    );
    assert.deepEqual(names(p.current()), ['docker/a', 'docker/plain']);
  });

  it('gathers a burst of events into one inspect of the named container and one decode', async () => {
    const docker = new FakeDocker();
    const { decode, seen } = countingDecoder();
    const p = make(docker, decode);
    await p.start();
    let published = 0;
    p.onChange(() => published++);
    docker.add(container('web'));
    for (const action of ['start', 'health_status: starting', 'health_status: healthy', 'start']) {
      docker.emitContainer('web', action);
    }
    await until(() => names(p.current()).includes('docker/web'), 'web routed');
    await settle();
    assert.equal(docker.count('inspect:web'), 1);
    assert.equal(seen.length, 2, 'the start and the burst: two decodes');
    assert.equal(published, 1);
  });

  it('ignores, without inspecting, an event for a container that has no enable label', async () => {
    const docker = new FakeDocker();
    const { decode, seen } = countingDecoder();
    const p = make(docker, decode);
    await p.start();
    docker.add(container('plain', { 'com.docker.compose.service': 'db' }));
    docker.emitContainer('plain', 'start');
    docker.emitContainer('plain', 'health_status: healthy');
    docker.emit({
      Type: 'network',
      Action: 'connect',
      Actor: { ID: 'n1', Attributes: { container: 'plain' } },
    });
    await settle();
    assert.equal(docker.count('inspect'), 0);
    assert.equal(seen.length, 1);
    assert.equal(p.status().counters.ignored, 3);
  });

  it('decodes nothing when an event changes no fact, and publishes nothing when the decoded parts are the same', async () => {
    const docker = new FakeDocker();
    docker.add(container('web'));
    const { decode, seen } = countingDecoder();
    const p = make(docker, decode);
    await p.start();
    let published = 0;
    p.onChange(() => published++);
    docker.emitContainer('web', 'unpause'); // nothing changed in Docker
    await until(() => docker.count('inspect:web') === 2, 'the event inspected');
    await settle();
    assert.equal(seen.length, 1, 'same facts: no decode');
    // A health change is a new fact; this decoder does not look at health, so the parts stay the same.
    docker.containers.get('web')!.State = { Status: 'running', Health: { Status: 'healthy' } };
    docker.emitContainer('web', 'health_status: healthy');
    await until(() => seen.length === 2, 'a decode');
    await settle();
    assert.equal(published, 0);
  });

  it('drops a destroyed container without inspecting it, and a stopped one after inspecting it', async () => {
    const docker = new FakeDocker();
    docker.add(container('a'));
    docker.add(container('b', { 'traefik.enable': 'true' }, '10.0.0.3'));
    const { decode } = countingDecoder();
    const p = make(docker, decode);
    await p.start();
    docker.containers.get('a')!.State = { Status: 'exited' };
    docker.emitContainer('a', 'die');
    await until(() => names(p.current()).join() === 'docker/b', 'a gone');
    const inspects = docker.count('inspect');
    docker.emitContainer('b', 'destroy');
    docker.containers.delete('b');
    await until(() => p.current().length === 0, 'b gone');
    assert.equal(docker.count('inspect'), inspects);
  });

  it('follows a network connect of a known container', async () => {
    const docker = new FakeDocker();
    docker.add(container('web', { 'traefik.enable': 'true' }, '10.0.0.2'));
    const { decode } = countingDecoder();
    const p = make(docker, decode);
    await p.start();
    docker.containers.get('web')!.NetworkSettings = {
      Networks: { aaa: { IPAddress: '10.9.0.2' }, net: { IPAddress: '10.0.0.2' } },
    };
    docker.emit({
      Type: 'network',
      Action: 'connect',
      Actor: { ID: 'aaa', Attributes: { container: 'web' } },
    });
    await until(
      () => JSON.stringify(p.current()).includes('10.9.0.2'),
      'the new network seen by the decoder',
    );
  });

  it('keeps the last parts while the stream is lost, says so, and resyncs in full when Docker is back', async () => {
    const docker = new FakeDocker();
    docker.add(container('stays'));
    docker.add(container('goes', { 'traefik.enable': 'true' }, '10.0.0.3'));
    const { decode } = countingDecoder();
    const p = make(docker, decode);
    await p.start();
    docker.down = new Error('connect ENOENT /fake/docker.sock');
    docker.drop(new Error('socket hang up'));
    assert.equal(p.status().state, 'unreachable');
    assert.equal(p.status().lastError?.code, 'BERTH_DOCKER_EVENTS_LOST');
    assert.deepEqual(names(p.current()), ['docker/goes', 'docker/stays', 'docker:status']);
    const outage = p.current().at(-1)?.errors[0];
    assert.equal(outage?.code, 'BERTH_DOCKER_EVENTS_LOST');
    assert.match(outage?.message ?? '', /last known containers keep routing/);
    // Retries fail for a while; meanwhile a container went away, unseen.
    await until(() => docker.count('subscribe') >= 3, 'retries');
    assert.deepEqual(names(p.current()), ['docker/goes', 'docker/stays', 'docker:status']);
    docker.containers.delete('goes');
    docker.down = null;
    await until(() => p.status().state === 'connected', 'reconnected');
    assert.deepEqual(names(p.current()), ['docker/stays']);
    assert.equal(p.status().counters.resyncs >= 2, true);
    assert.ok(docker.streaming, 'following events again');
    docker.add(container('new', { 'traefik.enable': 'true' }, '10.0.0.4'));
    docker.emitContainer('new', 'start');
    await until(() => names(p.current()).includes('docker/new'), 'events after the reconnect');
  });

  it('resyncs in full now and then, catching what a silenced stream missed', async () => {
    const docker = new FakeDocker();
    const { decode } = countingDecoder();
    provider = new DockerProvider({ settings, decode, client: docker, debounceMs: 10, resyncMs: 30 });
    const p = provider;
    await p.start();
    let published = 0;
    p.onChange(() => published++);
    docker.add(container('quiet')); // started, but its event never arrives
    await until(() => names(p.current()).join() === 'docker/quiet', 'the periodic resync');
    const resyncs = p.status().counters.resyncs;
    await until(() => p.status().counters.resyncs >= resyncs + 2, 'more resyncs');
    assert.equal(published, 1, 'a resync that finds nothing new publishes nothing');
  });

  it('starts even when Docker is unreachable, and connects when it appears', async () => {
    const docker = new FakeDocker();
    docker.down = new Error('connect ECONNREFUSED');
    docker.add(container('a'));
    const { decode } = countingDecoder();
    const p = make(docker, decode);
    await p.start();
    assert.equal(p.status().state, 'unreachable');
    assert.equal(p.status().lastError?.code, 'BERTH_DOCKER_UNREACHABLE');
    assert.deepEqual(names(p.current()), ['docker:status']);
    const since = p.status().since;
    const publishes = p.status().counters.publishes;
    await until(() => docker.count('subscribe') >= 4, 'retries');
    assert.equal(p.status().since, since, 'one outage, one start time, however many retries');
    assert.equal(p.status().counters.publishes, publishes, 'retries publish nothing new');
    docker.down = null;
    await until(() => p.status().state === 'connected', 'connected');
    assert.deepEqual(names(p.current()), ['docker/a']);
  });

  it('reconnects when an inspect fails mid-burst', async () => {
    const docker = new FakeDocker();
    const { decode } = countingDecoder();
    const p = make(docker, decode);
    await p.start();
    docker.add(container('web'));
    docker.down = new Error('read ECONNRESET');
    docker.emitContainer('web', 'start');
    await until(() => p.status().state === 'unreachable', 'unreachable');
    assert.equal(p.status().lastError?.code, 'BERTH_DOCKER_INSPECT');
    docker.down = null;
    await until(() => names(p.current()).join() === 'docker/web', 'resynced');
  });

  it('keeps the previous parts when the decoder throws', async () => {
    const docker = new FakeDocker();
    docker.add(container('a'));
    let broken = false;
    const { decode: inner } = countingDecoder();
    const decode: ContainerDecoder = (c, s) => {
      if (broken) throw new Error('bug');
      return inner(c, s);
    };
    const p = make(docker, decode);
    await p.start();
    broken = true;
    docker.add(container('b', { 'traefik.enable': 'true' }, '10.0.0.3'));
    docker.emitContainer('b', 'start');
    await until(() => p.status().counters.decodes === 2, 'the failing decode');
    assert.deepEqual(names(p.current()), ['docker/a']);
  });

  it('keeps stopped containers for the decoder with allowEmptyServices', async () => {
    const docker = new FakeDocker();
    docker.add({ ...container('a'), State: { Status: 'exited' } });
    const seenStates: string[] = [];
    const decode: ContainerDecoder = (cs) => {
      seenStates.push(...cs.map((c) => c.state));
      return [];
    };
    const p = make(docker, decode, { allowEmptyServices: true });
    await p.start();
    assert.deepEqual(seenStates, ['exited']);
  });

  it('reads the unlabelled owner of a network namespace a routed container shares, and follows its events', async () => {
    const docker = new FakeDocker();
    docker.add(container('vpn', {}, '10.0.0.9'));
    docker.add({ ...container('app'), HostConfig: { NetworkMode: 'container:vpn' } });
    docker.add(container('plain', {}, '10.0.0.7'));
    const seen: string[][] = [];
    const decode: ContainerDecoder = (cs) => {
      seen.push(cs.map((c) => `${c.name}:${c.networks[0]?.ipv4 ?? '-'}`));
      return [];
    };
    const p = make(docker, decode);
    await p.start();
    assert.deepEqual(seen.at(-1), ['app:10.0.0.2', 'vpn:10.0.0.9']);
    assert.deepEqual(docker.calls.filter((c) => c.startsWith('inspect')).sort(), [
      'inspect:app',
      'inspect:vpn',
    ]);
    // The owner restarts with another address: its events count although it has no enable label.
    docker.add(container('vpn', {}, '10.0.0.10'));
    docker.emitContainer('vpn', 'start');
    docker.emitContainer('plain', 'start');
    await until(() => seen.at(-1)?.includes('vpn:10.0.0.10') === true, 'the new owner address');
    assert.equal(docker.count('inspect:plain'), 0, 'an unrelated unlabelled container is still ignored');
    // Without the app, the owner is no longer read or passed on.
    docker.containers.delete('app');
    docker.emitContainer('app', 'destroy');
    await until(() => seen.at(-1)?.length === 0, 'the owner dropped with its last dependant');
    const inspects = docker.count('inspect:vpn');
    docker.emitContainer('vpn', 'start');
    await settle();
    assert.equal(docker.count('inspect:vpn'), inspects);
  });
});
