// Issue 11, done when 1, 3 and 7: a real dockerd, labelled busybox containers, a real proxy node routing to them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  type ControllerHandle,
  DockerProvider,
  type DockerProviderSettings,
  dockerodeClient,
} from '@berth/controller';
import { type Cluster, eventually } from '../helpers/cluster.js';
import {
  BUSYBOX_IMAGE,
  type DockerEngine,
  engineUnavailable,
  ensureBusyboxImage,
  ensureDockerEngine,
  removeTestObjects,
} from '../helpers/docker-engine.js';
import { testDecoder } from '../helpers/docker-test-decoder.js';
import { get } from '../helpers/http.js';
import { readLog, startProviderCluster } from '../helpers/provider-cluster.js';

const found = await ensureDockerEngine();
const skip = found.ok ? false : engineUnavailable(found.reason);

const settings: DockerProviderSettings = {
  endpoint: found.ok ? found.engine.endpoint : '',
  exposedByDefault: false,
  constraints: '',
  defaultRule: 'Host(`{{ normalize .Name }}`)',
  network: '',
  useBindPortIP: false,
  allowEmptyServices: false,
  prefixes: ['traefik', 'berth'],
};

describe('the Docker provider on a real dockerd', { skip }, () => {
  const runId = randomBytes(4).toString('hex');
  const network = `berth-test-${runId}`;
  let engine: DockerEngine;
  let cluster: Cluster;
  let provider: DockerProvider;
  let controller: ControllerHandle;
  let port: number;
  let logFile: string;

  before(async () => {
    if (!found.ok) return;
    engine = found.engine;
    await ensureBusyboxImage(engine.docker);
    await engine.docker.createNetwork({ Name: network, Labels: { 'berth-test': runId } });
    ({ cluster, provider, controller, port, logFile } = await startProviderCluster(
      (logger) =>
        new DockerProvider({
          settings,
          decode: testDecoder,
          client: dockerodeClient({ kind: 'socket', socketPath: engine.socketPath }),
          logger,
          reconnectMinMs: 100,
          reconnectMaxMs: 1000,
          pingMs: 1000,
        }),
    ));
  });

  after(async () => {
    if (!found.ok) return;
    await removeTestObjects(engine.docker, runId).catch(() => {});
    await controller?.close();
    await cluster?.close();
    await engine.release();
  });

  /** Everything the processes and the in-process controller said, for failure messages. */
  const logs = () =>
    `${cluster.logs()}\n----- controller\n${readLog(logFile)}\n----- provider ${JSON.stringify(provider.status())}`;

  /** A busybox httpd answering its `who` as the body, labelled for the router `host`. */
  async function run(who: string, host: string, extraLabels: Record<string, string> = {}) {
    const service = host.replace(/\W/g, '-');
    const container = await engine.docker.createContainer({
      Image: BUSYBOX_IMAGE,
      name: `berth-test-${runId}-${who}`,
      Env: [`WHO=${who}`],
      Labels: {
        'berth-test': runId,
        'traefik.enable': 'true',
        [`traefik.http.routers.${service}.rule`]: `Host(\`${host}\`)`,
        [`traefik.http.services.${service}.loadbalancer.server.port`]: '80',
        ...extraLabels,
      },
      HostConfig: { NetworkMode: network },
    });
    await container.start();
    return container;
  }

  const body = async (host: string) => {
    const res = await get(port, host);
    return res.status === 200 ? res.body.trim() : `status ${res.status}`;
  };

  it('routes to a labelled container once it starts, and drops the route when it stops', async () => {
    const app = await run('solo', 'solo.test');
    await eventually(async () => (await body('solo.test')) === 'solo', 10_000, logs);
    await app.stop({ t: 1 });
    await eventually(async () => (await body('solo.test')) === 'status 404', 10_000, logs);
  });

  it('spreads requests round robin over three replicas of one service', async () => {
    await Promise.all(['r1', 'r2', 'r3'].map((who) => run(who, 'replicas.test')));
    // Wait until all three serve, then count a fresh series.
    await eventually(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add(await body('replicas.test'));
        return seen.size === 3 && ['r1', 'r2', 'r3'].every((w) => seen.has(w));
      },
      15_000,
      logs,
    );
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const who = await body('replicas.test');
      counts.set(who, (counts.get(who) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries([...counts].sort()), { r1: 10, r2: 10, r3: 10 });
  });

  it('does not inspect a container without an enable label, and publishes nothing for a change the routes do not show', async () => {
    const before = provider.status().counters;
    const plain = await engine.docker.createContainer({
      Image: BUSYBOX_IMAGE,
      name: `berth-test-${runId}-plain`,
      Labels: { 'berth-test': runId },
      HostConfig: { NetworkMode: network },
    });
    await plain.start();
    await eventually(() => provider.status().counters.ignored > before.ignored, 10_000, logs);
    await plain.remove({ force: true });
    // A rename changes the container's facts but not what the (test) decoder builds from them.
    const named = await run('renamed', 'renamed.test');
    await eventually(async () => (await body('renamed.test')) === 'renamed', 10_000, logs);
    const mid = provider.status().counters;
    await named.rename({ name: `berth-test-${runId}-renamed-2` });
    await eventually(() => provider.status().counters.decodes > mid.decodes, 10_000, logs);
    const end = provider.status().counters;
    assert.equal(end.publishes, mid.publishes, 'a rename the routes do not show publishes nothing');
    assert.equal(end.inspects - before.inspects, mid.inspects - before.inspects + 1);
    assert.ok(
      mid.inspects - before.inspects <= 2,
      `inspects for one labelled start: ${mid.inspects - before.inspects}`,
    );
  });

  it('follows Docker health: no traffic while starting or unhealthy, and no events from passing health checks', async () => {
    // Same labels, plus a health check that passes once /www/ok exists, run every 200 ms.
    const container = await engine.docker.createContainer({
      Image: BUSYBOX_IMAGE,
      name: `berth-test-${runId}-health`,
      Env: ['WHO=health'],
      Labels: {
        'berth-test': runId,
        'traefik.enable': 'true',
        'traefik.http.routers.health.rule': 'Host(`health.test`)',
        'traefik.http.services.health.loadbalancer.server.port': '80',
      },
      Healthcheck: {
        Test: ['CMD', '/bin/busybox', 'test', '-f', '/www/ok'],
        Interval: 200_000_000,
        Timeout: 1_000_000_000,
        Retries: 1,
      },
      HostConfig: { NetworkMode: network },
    });
    await container.start();
    const exec = async (...cmd: string[]) => {
      const e = await container.exec({ Cmd: ['/bin/busybox', ...cmd] });
      await e.start({ Detach: true });
    };
    await eventually(
      async () => (await container.inspect()).State.Health?.Status === 'unhealthy',
      10_000,
      logs,
    );
    assert.equal(await body('health.test'), 'status 404', 'no route to an unhealthy container');
    await exec('touch', '/www/ok');
    await eventually(async () => (await body('health.test')) === 'health', 10_000, logs);
    // Steady passing checks: Docker runs an exec every 200 ms, and none of that reaches the provider.
    const steady = provider.status().counters;
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(provider.status().counters.events, steady.events, 'passing health checks send no events');
    await exec('rm', '/www/ok');
    await eventually(async () => (await body('health.test')) === 'status 404', 10_000, logs);
  });

  it('keeps routing while dockerd restarts, then resyncs and follows events again', async (t) => {
    if (!(await engine.soleUser())) {
      t.skip('the Docker daemon in use is not the harness’s own, or another process uses it too');
      return;
    }
    await run('survivor', 'survivor.test');
    await eventually(async () => (await body('survivor.test')) === 'survivor', 10_000, logs);
    const resyncs = provider.status().counters.resyncs;
    await engine.restart();
    await eventually(
      () => provider.status().state === 'connected' && provider.status().counters.resyncs > resyncs,
      30_000,
      logs,
    );
    assert.equal(await body('survivor.test'), 'survivor', 'the surviving container is still routed');
    const status = (await (await fetch(`${controller.apiUrl}/api/v1/status`)).json()) as {
      docker?: { state: string };
    };
    assert.equal(status.docker?.state, 'connected');
    // Whichever notices first, the events stream ending or a request failing, says so.
    assert.match(
      await readFile(logFile, 'utf8'),
      /"code":"BERTH_DOCKER_(EVENTS_LOST|UNREACHABLE)"/,
      'the lost connection is logged',
    );
    await run('after-restart', 'after.test');
    await eventually(async () => (await body('after.test')) === 'after-restart', 10_000, logs);
  });

  it('never lets the proxy node connect to the Docker socket', async () => {
    const node = cluster.nodes.get('node-1');
    assert.ok(node?.child.pid);
    const proxyPackage = JSON.parse(
      await readFile(new URL('../../../packages/proxy/package.json', import.meta.url), 'utf8'),
    ) as { dependencies?: Record<string, string> };
    assert.equal(
      proxyPackage.dependencies?.['dockerode'],
      undefined,
      'the proxy package does not depend on dockerode',
    );
    // ss lists each unix connection with its peer: the daemon's accepted ends name the socket path.
    const { stdout } = await promisify(execFile)('ss', ['-xpn']);
    const rows = stdout.split('\n').map((line) => line.trim().split(/\s+/));
    const clientsOfDocker = new Set(rows.filter((r) => r[4] === engine.socketPath).map((r) => r[7]));
    const inodesOf = (pid: number) =>
      new Set(rows.filter((r) => r.slice(8).join(' ').includes(`pid=${pid},`)).map((r) => r[5]));
    const controllerSide = [...inodesOf(process.pid)].filter((i) => clientsOfDocker.has(i));
    assert.ok(controllerSide.length > 0, `the check sees the controller's own connection:\n${stdout}`);
    const nodeSide = [...inodesOf(node.child.pid)].filter((i) => clientsOfDocker.has(i));
    assert.deepEqual(nodeSide, [], 'the node holds no connection to the Docker socket');
  });
});
