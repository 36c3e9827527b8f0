// Issue 11, done when 1, 2, 4 and 5 end to end: `berth controller --docker` (the real Traefik label
// decoder) and a `berth proxy` node, both child processes, routing to busybox httpd containers on a real dockerd.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { parse } from 'yaml';
import { Cluster, eventually } from '../helpers/cluster.js';
import {
  BUSYBOX_IMAGE,
  type DockerEngine,
  engineUnavailable,
  ensureBusyboxImage,
  ensureDockerEngine,
  removeTestObjects,
} from '../helpers/docker-engine.js';
import { freePort, get } from '../helpers/http.js';

const found = await ensureDockerEngine();
const skip = found.ok ? false : engineUnavailable(found.reason);

interface RouterItem {
  name: string;
  rule: string;
  service: string;
  entryPoints: string[];
  status: 'enabled' | 'disabled' | 'error';
  errors: ApiError[];
}
interface ServiceItem {
  name: string;
  servers: string[];
}
interface ApiError {
  code: string;
  path: string;
  message: string;
  source?: { provider?: string; origin: string; label?: string };
}
interface DockerStatus {
  state: string;
  endpoint: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Traefik labels end to end: berth controller --docker, a proxy node, a real dockerd', {
  skip,
}, () => {
  // Names and hosts carry the run id: another test may watch the same daemon, and its routers must not
  // collide with these (two containers defining one router differently drop it, by design).
  const runId = randomBytes(4).toString('hex');
  const prefix = `berth-lbl-${runId}`;
  const network = `${prefix}-main`;
  let engine: DockerEngine;
  let cluster: Cluster;
  let port: number;
  let events: NodeJS.ReadableStream & { destroy?: () => void };
  /**
   * `<action> <container id>` → time of that Docker event (ms since the epoch, the daemon's clock:
   * same host), for `start`, `die` and `health_status: healthy`.
   */
  const seen = new Map<string, number>();
  /** Observed delays, a Docker event → the node routes accordingly; printed in `after`. */
  const delays: { what: string; ms: number }[] = [];

  before(async () => {
    if (!found.ok) return;
    engine = found.engine;
    await ensureBusyboxImage(engine.docker);
    await engine.docker.createNetwork({ Name: network, Labels: { 'berth-test': runId } });
    events = (await engine.docker.getEvents({
      filters: {
        type: ['container'],
        event: ['start', 'die', 'health_status'],
        label: [`berth-test=${runId}`],
      },
    })) as NodeJS.ReadableStream & { destroy?: () => void };
    let buffer = '';
    events.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === '') continue;
        const e = JSON.parse(line) as { id?: string; Action?: string; timeNano?: number };
        if (e.id && e.Action && e.timeNano) seen.set(`${e.Action} ${e.id}`, Math.round(e.timeNano / 1e6));
      }
    });
    cluster = await Cluster.create();
    // As a user types it; `--docker=<endpoint>` is the other spelling, used for the restart below.
    await cluster.startController({ extraArgs: ['--docker', engine.endpoint] });
    await cluster.startNode('node-1');
    port = await cluster.webPort('node-1');
  });

  after(async () => {
    if (!found.ok) return;
    events?.destroy?.();
    await removeTestObjects(engine.docker, runId).catch(() => {});
    await cluster?.close();
    await engine.release();
    if (delays.length > 0)
      console.log(
        `Docker event → node routes accordingly: ${delays.map((d) => `${d.what} ${d.ms} ms`).join(', ')}`,
      );
  });

  const logs = () => cluster.logs();

  interface RunOptions {
    who?: string;
    env?: string[];
    networkMode?: string;
    healthcheck?: Docker.HealthConfig;
    /** Create only; the caller connects networks and starts it. */
    noStart?: boolean;
  }

  /** A busybox httpd answering `who` (default: the name) as its page; only test-run labels besides `labels`. */
  async function run(name: string, labels: Record<string, string>, opts: RunOptions = {}) {
    const container = await engine.docker.createContainer({
      Image: BUSYBOX_IMAGE,
      name: `${prefix}-${name}`,
      Env: [`WHO=${opts.who ?? name}`, ...(opts.env ?? [])],
      Labels: { 'berth-test': runId, ...labels },
      HostConfig: { NetworkMode: opts.networkMode ?? network },
      ...(opts.healthcheck ? { Healthcheck: opts.healthcheck } : {}),
    });
    if (!opts.noStart) await container.start();
    return container;
  }

  /** The labels of one router `name` for Host(`host`), port 80, no more. */
  const routed = (name: string, host: string): Record<string, string> => ({
    'traefik.enable': 'true',
    [`traefik.http.routers.${name}.rule`]: `Host(\`${host}\`)`,
  });

  const body = async (host: string, timeoutMs = 5000) => {
    const res = await get(port, host, '/', timeoutMs);
    return res.status === 200 ? res.body.trim() : `status ${res.status}`;
  };

  /**
   * Polls the node every 10 ms until `host` answers `answer`; returns the time since Docker's event
   * `action` of `container` (observed, not asserted: the figure goes to the report).
   */
  async function timeTo(
    container: Docker.Container,
    host: string,
    answer: string,
    action = 'start',
    /** Every other answer seen meanwhile, for the report. */
    meanwhile?: Set<string>,
  ): Promise<number> {
    const deadline = Date.now() + 10_000;
    let last = '';
    while (Date.now() < deadline) {
      // A short timeout: a request stuck on the address of a container that just died must not hide the change.
      last = await body(host, 250).catch((e: Error) => e.message);
      if (last !== answer) meanwhile?.add(last.replace(/:\d+/g, ':<port>'));
      if (last === answer) {
        const at = Date.now();
        const event = await eventually(
          () => seen.get(`${action} ${container.id}`),
          5000,
          () => `no ${action} event seen`,
        );
        return at - event;
      }
      await sleep(10);
    }
    throw new Error(`${host} did not answer ${answer} within 10 s (last: ${last})\n${logs()}`);
  }

  const api = <T>(path: string) => cluster.api<T>(path);
  const router = async (name: string) =>
    (await api<RouterItem[]>('/api/v1/routers')).find((r) => r.name === name);
  const service = async (name: string) =>
    (await api<ServiceItem[]>('/api/v1/services')).find((s) => s.name === name);

  async function berthRoutes(): Promise<string> {
    const child = cluster.group.berth('berth routes', ['routes', '--api', cluster.controller?.api ?? '']);
    const code = await child.exited;
    assert.equal(code, 0, child.output());
    return child.output();
  }

  it('reports the Docker connection as connected in /api/v1/status', async () => {
    const status = await eventually(
      async () => {
        const s = await api<{ docker?: DockerStatus }>('/api/v1/status');
        return s.docker?.state === 'connected' ? s : null;
      },
      10_000,
      logs,
    );
    assert.equal(status.docker?.endpoint, engine.endpoint);
  });

  it('routes to a labelled container once it starts, and drops the route when it stops', async () => {
    const host = `solo.${runId}.test`;
    // Same labels without traefik.enable: exposedByDefault is false, so this one is never routed.
    const hidden = await run('hidden', {
      [`traefik.http.routers.hidden-${runId}.rule`]: `Host(\`${host}\`)`,
    });
    const solo = await run('solo', routed(`solo-${runId}`, host));
    delays.push({ what: 'solo', ms: await timeTo(solo, host, 'solo') });
    assert.equal(await router(`hidden-${runId}@docker`), undefined, 'a container without traefik.enable');
    await hidden.remove({ force: true });
    // A paused container cannot answer: its route goes, and comes back on unpause.
    await solo.pause();
    await eventually(async () => (await body(host, 250)) === 'status 404', 10_000, logs);
    await solo.unpause();
    await eventually(async () => (await body(host, 250)) === 'solo', 10_000, logs);
    await solo.stop({ t: 0 });
    const meanwhile = new Set<string>();
    delays.push({
      what: 'solo stopped (die → 404)',
      ms: await timeTo(solo, host, 'status 404', 'die', meanwhile),
    });
    if (meanwhile.size > 0)
      console.log(`between die and 404 the node answered: ${[...meanwhile].join('; ')}`);
    assert.equal(await router(`solo-${runId}@docker`), undefined, 'the router goes with the container');
  });

  it('scales one compose service to three containers and spreads requests round robin over them', async () => {
    const host = `scaled.${runId}.test`;
    const project = `${prefix}-compose`;
    // What Compose sets on every replica of service `web`; the default service `web-<project>` pools them.
    const replica = (n: number) =>
      run(`web-${n}`, {
        ...routed(`scaled-${runId}`, host),
        'com.docker.compose.project': project,
        'com.docker.compose.service': 'web',
        'com.docker.compose.container-number': String(n),
      });
    const first = await replica(1);
    delays.push({ what: 'scaled web-1', ms: await timeTo(first, host, 'web-1') });
    const [, third] = await Promise.all([replica(2), replica(3)]);
    const serviceName = `web-${project}@docker`;
    await eventually(async () => (await service(serviceName))?.servers.length === 3, 10_000, logs);
    assert.equal((await router(`scaled-${runId}@docker`))?.service, serviceName);
    // The node may apply the new snapshot a moment after the controller compiled it.
    await eventually(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add(await body(host));
        return seen.size === 3;
      },
      10_000,
      logs,
    );
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const who = await body(host);
      counts.set(who, (counts.get(who) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries([...counts].sort()), { 'web-1': 10, 'web-2': 10, 'web-3': 10 });
    // Scaled back to two: the stopped replica leaves the pool, the others keep serving.
    // Observed, not asserted: what a client sees between the replica's death and the route update.
    let watching = true;
    const during: string[] = [];
    const watcher = (async () => {
      for (let n = 0; watching && n < 200; n++) {
        const t0 = Date.now();
        const answer = await body(host, 1000).catch((e: Error) => e.message.replace(/:\d+/g, ':<port>'));
        during.push(`${answer} (${Date.now() - t0} ms)`);
      }
    })();
    await third.stop({ t: 0 });
    await eventually(async () => (await service(serviceName))?.servers.length === 2, 10_000, logs);
    watching = false;
    await watcher;
    const failed = during.filter((d) => !/^web-\d /.test(d));
    console.log(`scale-down: ${during.length} requests, ${failed.length} failed: ${failed.join('; ')}`);
    await eventually(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add(await body(host, 250).catch(() => 'timeout'));
        return seen.size === 2 && seen.has('web-1') && seen.has('web-2');
      },
      10_000,
      logs,
    );
  });

  it('reads berth.* labels with the same grammar as traefik.*', async () => {
    const host = `own-prefix.${runId}.test`;
    const container = await run('own-prefix', {
      'berth.enable': 'true',
      [`berth.http.routers.own-${runId}.rule`]: `Host(\`${host}\`)`,
    });
    delays.push({ what: 'berth.* labels', ms: await timeTo(container, host, 'own-prefix') });
  });

  it("runs corpus file 01 (Traefik's whoami example) as a real container and answers on its Host rule", async () => {
    const dir = new URL('../../fixtures/traefik-labels/', import.meta.url);
    const compose = parse(await readFile(new URL('01-traefik-docs-basic-whoami.yml', dir), 'utf8')) as {
      services: Record<string, { container_name?: string; labels?: string[] }>;
    };
    const expected = (
      JSON.parse(await readFile(new URL('EXPECTED.json', dir), 'utf8')) as {
        files: {
          file: string;
          assumptions: { composeProject?: string };
          http: { routers: { name: string; rule: string; entryPoints: string[]; service: string }[] };
        }[];
      }
    ).files.find((f) => f.file === '01-traefik-docs-basic-whoami.yml');
    assert.ok(expected, 'EXPECTED.json describes file 01');
    const whoami = compose.services['whoami'];
    assert.ok(whoami?.labels, 'the whoami service has labels');
    // Exactly the file's labels, plus the two Compose itself adds (EXPECTED.json assumes project `corpus`).
    const labels: Record<string, string> = {
      'com.docker.compose.project': expected.assumptions.composeProject ?? 'corpus',
      'com.docker.compose.service': 'whoami',
    };
    for (const item of whoami.labels) {
      const eq = item.indexOf('=');
      labels[item.slice(0, eq)] = item.slice(eq + 1);
    }
    // traefik/whoami listens on 80 and EXPOSEs it; so does the busybox image, so the port is found the same way.
    const container = await run(`${whoami.container_name ?? 'whoami'}`, labels, { who: 'whoami' });
    const want = expected.http.routers[0];
    assert.ok(want);
    const host = /Host\(`([^`]+)`\)/.exec(want.rule)?.[1];
    assert.ok(host, want.rule);
    delays.push({ what: 'corpus 01 whoami', ms: await timeTo(container, host, 'whoami') });
    const got = await router(`${want.name}@docker`);
    assert.deepEqual(
      got && { rule: got.rule, entryPoints: got.entryPoints, service: got.service, status: got.status },
      {
        rule: want.rule,
        entryPoints: want.entryPoints,
        service: `${want.service}@docker`,
        status: 'enabled',
      },
    );
    const [server] = (await service(`${want.service}@docker`))?.servers ?? [];
    const ip = (await container.inspect()).NetworkSettings.Networks[network]?.IPAddress;
    assert.equal(server, `http://${ip}:80`);
    await container.remove({ force: true });
  });

  it('keeps ten good containers routing next to a bad rule and an unknown label key, and names both', async () => {
    const good = Array.from({ length: 10 }, (_, i) => i);
    const badRule = `${prefix}-badrule`;
    const badKey = `${prefix}-badkey`;
    const ruleLabel = `traefik.http.routers.badrule-${runId}.rule`;
    const keyLabel = `traefik.http.routers.badkey-${runId}.bogus`;
    await Promise.all(
      good.map((i) => run(`good-${i}`, routed(`good-${i}-${runId}`, `good${i}.${runId}.test`))),
    );
    for (const i of good) {
      await eventually(async () => (await body(`good${i}.${runId}.test`)) === `good-${i}`, 15_000, logs);
    }
    // A client cycling over the ten while the broken ones arrive: every answer must be right.
    let sampling = true;
    const wrong: string[] = [];
    let requests = 0;
    const sampler = (async () => {
      for (let n = 0; sampling && n < 10_000; n++) {
        const i = n % good.length;
        const answer = await body(`good${i}.${runId}.test`).catch((e: Error) => e.message);
        requests++;
        if (answer !== `good-${i}`) wrong.push(`good${i}: ${answer}`);
      }
    })();
    await Promise.all([
      run('badrule', { 'traefik.enable': 'true', [ruleLabel]: 'Host(`badrule.test`' }),
      run('badkey', { ...routed(`badkey-${runId}`, `badkey.${runId}.test`), [keyLabel]: '1' }),
    ]);
    const errors = await eventually(
      async () => {
        const all = await api<ApiError[]>('/api/v1/errors');
        const mine = all.filter((e) => e.source?.origin === badRule || e.source?.origin === badKey);
        return mine.some((e) => e.source?.origin === badRule) && mine.some((e) => e.source?.origin === badKey)
          ? mine
          : null;
      },
      10_000,
      logs,
    );
    const ruleError = errors.find((e) => e.source?.origin === badRule);
    assert.equal(ruleError?.source?.label, ruleLabel, JSON.stringify(errors));
    assert.match(ruleError?.message ?? '', new RegExp(`${badRule}.*${ruleLabel.replace(/\./g, '\\.')}`));
    assert.ok(ruleError?.message.includes('Host(`badrule.test`'), 'the message quotes the value');
    const keyError = errors.find((e) => e.source?.origin === badKey);
    assert.equal(keyError?.source?.label, keyLabel, JSON.stringify(errors));
    assert.match(keyError?.message ?? '', new RegExp(`${badKey}.*${keyLabel.replace(/\./g, '\\.')}`));
    // The ten still answer with the errors in place, and answered right all along.
    for (const i of good) assert.equal(await body(`good${i}.${runId}.test`), `good-${i}`);
    sampling = false;
    await sampler;
    assert.deepEqual(wrong, [], `${wrong.length} wrong answers of ${requests}`);
    assert.ok(requests >= good.length, `the client made ${requests} requests`);
    assert.equal((await router(`badrule-${runId}@docker`))?.status, 'error');
    const table = await berthRoutes();
    assert.match(table, new RegExp(`^badrule-${runId}@docker\\s+error\\s`, 'm'), table);
    assert.match(table, new RegExp(`^badkey-${runId}@docker\\s+error\\s`, 'm'), table);
    assert.match(table, new RegExp(`^good-0-${runId}@docker\\s+enabled\\s`, 'm'), table);
    assert.match(table, new RegExp(`\\(${badRule}, label ${ruleLabel.replace(/\./g, '\\.')}\\)`), table);
    console.log(
      `berth routes (this run's bad containers):\n${table
        .split('\n')
        .filter((l) => l.includes('bad'))
        .join('\n')}`,
    );
  });

  it('reaches a container on two networks through the one traefik.docker.network names', async () => {
    const [netA, netB] = [`${prefix}-net-a`, `${prefix}-net-b`];
    for (const name of [netA, netB])
      await engine.docker.createNetwork({ Name: name, Labels: { 'berth-test': runId } });
    const host = `multi.${runId}.test`;
    const container = await run(
      'multi',
      { ...routed(`multi-${runId}`, host), 'traefik.docker.network': netB },
      { networkMode: netA, noStart: true },
    );
    await engine.docker.getNetwork(netB).connect({ Container: container.id });
    await container.start();
    delays.push({ what: 'two networks', ms: await timeTo(container, host, 'multi') });
    const nets = (await container.inspect()).NetworkSettings.Networks;
    const [ipA, ipB] = [nets[netA]?.IPAddress, nets[netB]?.IPAddress];
    assert.ok(ipA && ipB && ipA !== ipB, JSON.stringify(nets));
    const svc = (await router(`multi-${runId}@docker`))?.service ?? '';
    assert.deepEqual((await service(svc))?.servers, [`http://${ipB}:80`]);
    // Disconnected from that network (a network event, not a container one): an error, never net-a's address.
    await engine.docker.getNetwork(netB).disconnect({ Container: container.id });
    const gone = await eventually(
      async () =>
        (await api<ApiError[]>('/api/v1/errors')).find((e) => e.source?.origin === `${prefix}-multi`),
      10_000,
      logs,
    );
    assert.equal(gone.code, 'BERTH_DOCKER_ADDRESS', JSON.stringify(gone));
    assert.equal(gone.source?.label, 'traefik.docker.network');
    await eventually(async () => (await body(host, 250)) === 'status 404', 10_000, logs);
    await engine.docker.getNetwork(netB).connect({ Container: container.id });
    await eventually(async () => (await body(host, 250)) === 'multi', 10_000, logs);
    const ipB2 = (await container.inspect()).NetworkSettings.Networks[netB]?.IPAddress;
    assert.deepEqual((await service(svc))?.servers, [`http://${ipB2}:80`]);

    // A network the container is not on: an error naming the label, never some other network's address.
    const wrong = `${prefix}-wrongnet`;
    await run('wrongnet', {
      ...routed(`wrongnet-${runId}`, `wrongnet.${runId}.test`),
      'traefik.docker.network': `${prefix}-nowhere`,
    });
    const error = await eventually(
      async () => (await api<ApiError[]>('/api/v1/errors')).find((e) => e.source?.origin === wrong),
      10_000,
      logs,
    );
    assert.equal(error.code, 'BERTH_DOCKER_ADDRESS');
    assert.equal(error.source?.label, 'traefik.docker.network');
    assert.equal(await body(`wrongnet.${runId}.test`), 'status 404');
  });

  it('routes a container in host network mode through 127.0.0.1, as Traefik does', async () => {
    const host = `hostmode.${runId}.test`;
    const hostPort = await freePort();
    // httpd binds loopback only: nothing of this test listens beyond the host.
    const container = await run(
      'hostmode',
      {
        ...routed(`hostmode-${runId}`, host),
        [`traefik.http.services.hostmode-${runId}.loadbalancer.server.port`]: `${hostPort}`,
      },
      { networkMode: 'host', env: [`PORT=127.0.0.1:${hostPort}`] },
    );
    delays.push({ what: 'host network', ms: await timeTo(container, host, 'hostmode') });
    assert.deepEqual((await service(`hostmode-${runId}@docker`))?.servers, [`http://127.0.0.1:${hostPort}`]);
  });

  it("reaches a container sharing an unlabelled container's network namespace at that container's address", async () => {
    // Compose's `network_mode: service:vpn`, the VPN-sidecar pattern: only the app carries labels.
    const owner = await run('netns-owner', {});
    const host = `sidecar.${runId}.test`;
    const sidecar = await run(
      'sidecar',
      {
        ...routed(`sidecar-${runId}`, host),
        [`traefik.http.services.sidecar-${runId}.loadbalancer.server.port`]: '8080',
      },
      { networkMode: `container:${owner.id}`, env: ['PORT=8080'] },
    );
    delays.push({ what: 'shared netns', ms: await timeTo(sidecar, host, 'sidecar') });
    const ip = (await owner.inspect()).NetworkSettings.Networks[network]?.IPAddress;
    assert.deepEqual((await service(`sidecar-${runId}@docker`))?.servers, [`http://${ip}:8080`]);
  });

  it('excludes a container whose health check fails and includes one whose check passes', async () => {
    const [sickHost, fitHost] = [`sick.${runId}.test`, `fit.${runId}.test`];
    // `docker run --health-cmd false --health-interval 1s` (and `true` for the healthy one).
    const check = (cmd: string): Docker.HealthConfig => ({
      Test: ['CMD-SHELL', cmd],
      Interval: 1_000_000_000,
    });
    const sick = await run('sick', routed(`sick-${runId}`, sickHost), { healthcheck: check('false') });
    const fit = await run('fit', routed(`fit-${runId}`, fitHost), { healthcheck: check('true') });
    // Measured while the sick one is sampled: it turns healthy after about 1 s, long before the other fails.
    const fitRouted = timeTo(fit, fitHost, 'fit', 'health_status: healthy');
    // Sample the sick one from its start until Docker calls it unhealthy: never a byte of traffic.
    const answers = new Set<string>();
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      answers.add(await body(sickHost));
      if ((await sick.inspect()).State.Health?.Status === 'unhealthy') break;
      await sleep(50);
    }
    assert.equal((await sick.inspect()).State.Health?.Status, 'unhealthy');
    delays.push({ what: 'healthy (health_status → routed)', ms: await fitRouted });
    // Starting and unhealthy both keep it out, so there is no moment at which it may be routed.
    for (let i = 0; i < 5; i++) answers.add(await body(sickHost));
    assert.deepEqual([...answers], ['status 404'], 'the unhealthy container got no traffic');
    assert.equal(await router(`sick-${runId}@docker`), undefined);
  });

  it('finds the running containers in its first list after a controller restart', async () => {
    const before = await api<ServiceItem[]>('/api/v1/services');
    const mine = (list: ServiceItem[]) =>
      list
        .filter((s) => s.name.endsWith('@docker') && s.name.includes(runId))
        .map((s) => `${s.name} ${[...s.servers].sort().join(' ')}`)
        .sort();
    const nodesPort = cluster.controller?.nodesPort;
    await cluster.killController('SIGTERM');
    await cluster.startController({
      extraArgs: [`--docker=${engine.endpoint}`],
      ...(nodesPort === undefined ? {} : { nodesPort }),
    });
    // The shared-namespace app is among them: its unlabelled owner is read during the first resync too.
    const expected = mine(before);
    assert.ok(
      expected.some((s) => s.startsWith(`sidecar-${runId}@docker http://`)),
      expected.join('\n'),
    );
    await eventually(
      async () =>
        JSON.stringify(mine(await api<ServiceItem[]>('/api/v1/services'))) === JSON.stringify(expected),
      10_000,
      () => `${JSON.stringify(expected)}\n${logs()}`,
    );
    const errors = await api<ApiError[]>('/api/v1/errors');
    assert.ok(
      errors.some((e) => e.source?.origin === `${prefix}-badrule`),
      'the bad rule is reported again',
    );
    // Events are followed again, and the node takes the new controller's snapshots.
    const host = `after-restart.${runId}.test`;
    const late = await run('after-restart', routed(`after-restart-${runId}`, host));
    delays.push({ what: 'after controller restart', ms: await timeTo(late, host, 'after-restart') });
  });

  it('still reports Docker as connected at the end', async () => {
    const s = await api<{ docker?: DockerStatus }>('/api/v1/status');
    assert.equal(s.docker?.state, 'connected', JSON.stringify(s));
  });
});
