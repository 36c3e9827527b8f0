// Issue 12, tests 2–6: deploy/compose.yaml, unedited, on a real dockerd with Docker Compose: the image
// built from deploy/Dockerfile, a controller with the socket, proxies scaled 2 → 4 → 1 under a client
// loop, the controller recreated, and a SIGKILLed proxy serving from its cache with no controller.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBerthImage, NODES_JSON_IN_IMAGE } from '../helpers/berth-image.js';
import { eventually } from '../helpers/cluster.js';
import { type ComposeProject, composeProject, findCompose, run } from '../helpers/compose.js';
import {
  BUSYBOX_IMAGE,
  type DockerEngine,
  engineUnavailable,
  ensureBusyboxImage,
  ensureDockerEngine,
} from '../helpers/docker-engine.js';
import { freePortRun, get } from '../helpers/http.js';

const found = await ensureDockerEngine();
const compose = found.ok ? await findCompose() : null;
const skip = !found.ok
  ? engineUnavailable(found.reason)
  : compose === null
    ? engineUnavailable('docker-compose is not installed (apt-get install docker-compose)')
    : false;

const HOST = 'whoami.localhost';
/** Proxies this test may run at once: each takes one port of the published ranges. */
const MAX_PROXIES = 4;

interface ApiNode {
  id: string;
  name: string;
  connected: boolean;
  appliedVersion: number;
}

interface ClientLoop {
  ok: number;
  failures: string[];
  stop(): Promise<void>;
}

/** Sequential requests, a new connection each, until stopped (at most 10 minutes). */
function clientLoop(port: number): ClientLoop {
  const state: ClientLoop = { ok: 0, failures: [], stop: async () => {} };
  let running = true;
  const deadline = Date.now() + 10 * 60_000;
  const done = (async () => {
    while (running && Date.now() < deadline) {
      try {
        const res = await get(port, HOST, '/', 5000);
        if (res.status === 200) state.ok++;
        else state.failures.push(`${new Date().toISOString()} status ${res.status}`);
      } catch (err) {
        state.failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  state.stop = async () => {
    running = false;
    await done;
  };
  return state;
}

describe('deploy/compose.yaml on a real dockerd', { skip, timeout: 20 * 60_000 }, () => {
  const runId = randomBytes(4).toString('hex');
  let engine: DockerEngine;
  let project: ComposeProject;
  let dir: string;
  let httpBase: number;
  const env: NodeJS.ProcessEnv = {};

  /** `docker` CLI against the harness's engine. */
  const docker = async (args: string[]) => {
    const res = await run(['docker', ...args], env, 120_000);
    if (res.code !== 0) throw new Error(`docker ${args.join(' ')}: ${res.stderr}`);
    return res.stdout.trim();
  };
  const proxyIds = async () => (await project(['ps', '-q', 'proxy'])).split('\n').filter(Boolean).sort();
  /** The proxy container numbered 1: the one Compose keeps when it scales down. */
  const firstProxy = async () =>
    docker([
      'ps',
      '-q',
      '--no-trunc',
      '--filter',
      `label=com.docker.compose.project=${project.projectName}`,
      '--filter',
      'label=com.docker.compose.service=proxy',
      '--filter',
      'label=com.docker.compose.container-number=1',
    ]);
  const controllerId = async () => (await project(['ps', '-q', 'controller'])).trim();
  /** The controller's node list, read inside its container with the CLI (the API publishes no port). */
  const apiNodes = async (): Promise<ApiNode[]> =>
    JSON.parse(await project(['exec', '-T', 'controller', ...NODES_JSON_IN_IMAGE])) as ApiNode[];
  /** The host port a proxy container publishes for 80/tcp. */
  const httpPort = async (id: string) => {
    const out = await docker(['inspect', '-f', '{{json .NetworkSettings.Ports}}', id]);
    const ports = JSON.parse(out) as Record<string, { HostIp: string; HostPort: string }[] | null>;
    const port = Number(ports['80/tcp']?.[0]?.HostPort);
    assert.ok(port > 0, `no published port 80 on ${id}: ${out}`);
    return port;
  };
  /** The node names the controller lists as connected equal the live proxies' host names (container ids). */
  const assertListedExactly = async (ids: string[]) => {
    const want = ids.map((id) => id.slice(0, 12)).sort();
    await eventually(
      async () => {
        const nodes = await apiNodes();
        const names = nodes.map((n) => n.name).sort();
        return JSON.stringify(names) === JSON.stringify(want) && nodes.every((n) => n.connected)
          ? true
          : null;
      },
      60_000,
      async () =>
        `want ${want.join(',')}; listed ${JSON.stringify(await apiNodes().catch((e) => String(e)))}`,
    );
  };

  before(async () => {
    if (!found.ok || compose === null) return;
    engine = found.engine;
    env['DOCKER_HOST'] = engine.endpoint;
    const image = (await buildBerthImage(engine)).tag;
    await ensureBusyboxImage(engine.docker);
    dir = await mkdtemp(join(tmpdir(), 'berth-compose-'));
    httpBase = await freePortRun(2 * MAX_PROXIES);
    const httpsBase = httpBase + MAX_PROXIES;
    // Only what a user sets: the image, the socket and its group, and loopback port ranges.
    await writeFile(
      join(dir, 'test.env'),
      [
        `BERTH_IMAGE=${image}`,
        `DOCKER_SOCKET=${engine.socketPath}`,
        `DOCKER_GID=${statSync(engine.socketPath).gid}`,
        `BERTH_HTTP_PUBLISH=127.0.0.1:${httpBase}-${httpBase + MAX_PROXIES - 1}`,
        `BERTH_HTTPS_PUBLISH=127.0.0.1:${httpsBase}-${httpsBase + MAX_PROXIES - 1}`,
        '',
      ].join('\n'),
    );
    // The sample app's image cannot be pulled here: a local busybox httpd takes its place, with its labels.
    await writeFile(
      join(dir, 'override.yaml'),
      [
        'services:',
        '  whoami:',
        `    image: ${BUSYBOX_IMAGE}`,
        '    command: ["/serve"]',
        '    environment:',
        '      WHO: whoami',
        '',
      ].join('\n'),
    );
    project = composeProject(compose, {
      name: `berthtest${runId}`,
      overrides: [join(dir, 'override.yaml')],
      envFile: join(dir, 'test.env'),
      env,
    });
  });

  after(async () => {
    if (!found.ok || compose === null) return;
    if (project) {
      if (process.env['BERTH_KEEP_COMPOSE'] !== '1')
        await project(['down', '--volumes', '--remove-orphans', '--timeout', '5']).catch((err: Error) =>
          console.error(err.message),
        );
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    await engine.release();
  });

  it('comes up: controller with the socket and no port, 2 proxies, the sample app reached through each', async (t) => {
    const started = Date.now();
    await project(['up', '-d', '--no-build', '--scale', 'proxy=2'], 300_000).catch(async (err: Error) => {
      const logs = await project(['logs', '--no-color', '--tail', '40']).catch((e: Error) => e.message);
      const health = await run(
        [
          'docker',
          'inspect',
          '-f',
          '{{.Name}} {{json .State.Health}}',
          ...(await project(['ps', '-q'])).split('\n').filter(Boolean),
        ],
        env,
        30_000,
      );
      throw new Error(
        `${err.message}\n--- logs\n${logs.slice(-10_000)}\n--- health\n${health.stdout.slice(-6000)}`,
      );
    });
    t.diagnostic(`docker-compose up (controller healthy, 2 proxies): ${Date.now() - started} ms`);
    const ids = await proxyIds();
    assert.equal(ids.length, 2);
    for (const id of ids) {
      const port = await httpPort(id);
      const res = await eventually(
        async () => {
          const r = await get(port, HOST).catch(() => null);
          return r?.status === 200 ? r : null;
        },
        60_000,
        async () => (await project(['logs', '--no-color', '--tail', '40'])).slice(-8000),
      );
      assert.equal(res.body.trim(), 'whoami');
    }
    const controller = JSON.parse(await docker(['inspect', await controllerId()]))[0] as {
      HostConfig: { PortBindings: Record<string, unknown> | null };
      NetworkSettings: { Ports: Record<string, unknown[] | null> };
      Mounts: { Destination: string }[];
    };
    assert.deepEqual(
      Object.values(controller.NetworkSettings.Ports ?? {}).filter((v) => v !== null),
      [],
      'the controller publishes no port',
    );
    assert.ok(controller.Mounts.some((m) => m.Destination === '/var/run/docker.sock'));
    await assertListedExactly(ids);
  });

  it('holds no Docker socket and no controller data or ACME storage in any proxy', async () => {
    const ids = await proxyIds();
    assert.equal(ids.length, 2);
    for (const id of ids) {
      const info = JSON.parse(await docker(['inspect', id]))[0] as {
        Mounts: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
        Config: { User: string };
      };
      assert.equal(info.Config.User, '10001:10001');
      for (const m of info.Mounts) {
        assert.doesNotMatch(m.Source, /docker\.sock/, `${id} mounts ${m.Source}`);
        assert.doesNotMatch(m.Name ?? '', /controller-data/, `${id} mounts ${m.Name}`);
      }
      const destinations = info.Mounts.map((m) => `${m.Destination}${m.RW ? '' : ':ro'}`).sort();
      assert.deepEqual(destinations, ['/run/berth:ro', '/var/lib/berth']);
      const listing = await docker([
        'exec',
        id,
        'node',
        '-e',
        'console.log(require("fs").existsSync("/var/run/docker.sock"))',
      ]);
      assert.equal(listing, 'false');
    }
  });

  it('scales proxies 2 → 4 → 1 with no failed request on the surviving one; the API lists exactly the live nodes', async (t) => {
    const first = await firstProxy();
    assert.ok(first);
    const loop = clientLoop(await httpPort(first));
    try {
      await project(['up', '-d', '--no-build', '--no-recreate', '--scale', 'proxy=4'], 300_000);
      const four = await proxyIds();
      assert.equal(four.length, 4);
      for (const id of four) {
        const port = await httpPort(id);
        await eventually(
          async () => ((await get(port, HOST).catch(() => null))?.status === 200 ? true : null),
          60_000,
        );
      }
      await assertListedExactly(four);
      await project(['up', '-d', '--no-build', '--no-recreate', '--scale', 'proxy=1'], 300_000);
      const one = await proxyIds();
      assert.deepEqual(one, [first], 'the first proxy survives the scale-down');
      await assertListedExactly(one);
    } finally {
      await loop.stop();
    }
    t.diagnostic(`client loop: ${loop.ok} requests answered, ${loop.failures.length} failed`);
    assert.deepEqual(loop.failures, []);
    assert.ok(loop.ok > 10, `only ${loop.ok} requests were made`);
  });

  it('keeps serving while the controller is removed and recreated', async (t) => {
    const [proxy] = await proxyIds();
    assert.ok(proxy);
    const loop = clientLoop(await httpPort(proxy));
    const before = await controllerId();
    try {
      await project(['rm', '--stop', '--force', 'controller'], 120_000);
      await new Promise((r) => setTimeout(r, 2000));
      await project(['up', '-d', '--no-build', '--no-deps', 'controller'], 300_000);
      assert.notEqual(await controllerId(), before, 'a new controller container');
      // The new controller (same data volume, same CA) has the proxy back.
      await assertListedExactly([proxy]);
    } finally {
      await loop.stop();
    }
    t.diagnostic(`client loop: ${loop.ok} requests answered, ${loop.failures.length} failed`);
    assert.deepEqual(loop.failures, []);
  });

  it('restarts a SIGKILLed proxy, which serves from its cache while the controller is stopped', async (t) => {
    const [proxy] = await proxyIds();
    assert.ok(proxy);
    const port = await httpPort(proxy);
    await project(['stop', '--timeout', '5', 'controller'], 120_000);
    const state = async () => ({
      pid: Number(await docker(['inspect', '-f', '{{.State.Pid}}', proxy])),
      running: (await docker(['inspect', '-f', '{{.State.Running}}', proxy])) === 'true',
      restarts: Number(await docker(['inspect', '-f', '{{.RestartCount}}', proxy])),
    });
    const { pid, restarts } = await state();
    const portBefore = port;
    assert.ok(pid > 0);
    const killedAt = Date.now();
    // The test started this container: its main process is the proxy (pid 1 inside).
    process.kill(pid, 'SIGKILL');
    await eventually(async () => {
      const now = await state();
      return now.running && now.restarts > restarts ? true : null;
    }, 60_000);
    // A restarted container may take another port of the published range.
    const portAfter = await httpPort(proxy);
    t.diagnostic(`published port before the kill ${portBefore}, after the restart ${portAfter}`);
    const res = await eventually(
      async () => {
        const r = await get(portAfter, HOST).catch(() => null);
        return r?.status === 200 ? r : null;
      },
      60_000,
      async () => (await docker(['logs', '--tail', '30', proxy])).slice(-6000),
    );
    t.diagnostic(`SIGKILL → engine restart → first answer from cache: ${Date.now() - killedAt} ms`);
    assert.equal(res.body.trim(), 'whoami');
    const logs = await run(['docker', 'logs', proxy], env, 30_000);
    assert.match(logs.stdout + logs.stderr, /cache/i, 'the node says it serves its cached snapshot');
    await project(['start', 'controller'], 120_000);
    await assertListedExactly([proxy]);
  });
});
