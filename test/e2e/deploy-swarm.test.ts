// Issue 12: deploy/stack.yaml, unedited, on a single-node swarm the test creates: the join token made
// with `berth token init` into a Swarm secret, the controller on the manager with the Swarm provider,
// a global proxy with host-mode ports answering for the labelled sample service.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBerthImage, NODES_JSON_IN_IMAGE, REPO_ROOT } from '../helpers/berth-image.js';
import { eventually } from '../helpers/cluster.js';
import { run } from '../helpers/compose.js';
import {
  BUSYBOX_IMAGE,
  engineUnavailable,
  ensureBusyboxImage,
  ensureDockerEngine,
  ensureSwarmEngine,
  type SwarmEngine,
} from '../helpers/docker-engine.js';
import { freePortRun, get } from '../helpers/http.js';

const found = await ensureSwarmEngine();
const skip = found.ok ? false : engineUnavailable(found.reason);

const HOST = 'whoami.localhost';

describe('deploy/stack.yaml on a real single-node swarm', { skip, timeout: 15 * 60_000 }, () => {
  const runId = randomBytes(4).toString('hex');
  const stack = `berthtest${runId}`;
  const secret = `berth-test-join-${runId}`;
  let engine: SwarmEngine;
  let dir: string;
  let httpPort: number;
  const env: NodeJS.ProcessEnv = {};

  /** `docker` CLI against the swarm engine; throws with its output unless it exits 0. */
  const docker = async (args: string[], timeoutMs = 120_000) => {
    const res = await run(['docker', ...args], env, timeoutMs);
    if (res.code !== 0) throw new Error(`docker ${args.join(' ')} exited with ${res.code}: ${res.stderr}`);
    return res.stdout.trim();
  };
  const serviceLogs = async (service: string) =>
    (
      await run(['docker', 'service', 'logs', '--tail', '40', `${stack}_${service}`], env, 30_000)
    ).stdout.slice(-6000);

  before(async () => {
    if (!found.ok) return;
    engine = found.engine;
    env['DOCKER_HOST'] = engine.endpoint;
    await ensureBusyboxImage(engine.docker);
    // Built on the harness's plain engine, then loaded here, as one would ship it to a swarm.
    const plain = await ensureDockerEngine();
    if (!plain.ok) throw new Error(plain.reason);
    const image = await buildBerthImage(plain.engine);
    const savedDir = await mkdtemp(join(tmpdir(), 'berth-image-'));
    try {
      const saved = join(savedDir, 'image.tar');
      const save = await run(
        ['docker', 'save', '-o', saved, image.tag],
        { DOCKER_HOST: plain.engine.endpoint },
        300_000,
      );
      if (save.code !== 0) throw new Error(`docker save: ${save.stderr}`);
      await docker(['load', '-i', saved], 300_000);
    } finally {
      await rm(savedDir, { recursive: true, force: true });
      await plain.engine.release();
    }
    env['BERTH_IMAGE'] = image.tag;
    dir = await mkdtemp(join(tmpdir(), 'berth-stack-'));
    httpPort = await freePortRun(2);
    Object.assign(env, {
      DOCKER_SOCKET: engine.socketPath,
      DOCKER_GID: String(statSync(engine.socketPath).gid),
      BERTH_HTTP_PORT: String(httpPort),
      BERTH_HTTPS_PORT: String(httpPort + 1),
      BERTH_JOIN_SECRET: secret,
    });
    // The sample app's image cannot be pulled here: a local busybox httpd takes its place, with its labels.
    await writeFile(
      join(dir, 'override.yaml'),
      [
        'version: "3.8"',
        'services:',
        '  whoami:',
        `    image: ${BUSYBOX_IMAGE}`,
        // The image's own /serve may be missing from an older import of the same tag on this engine.
        '    command: ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /www && echo $$WHO > /www/index.html && exec /bin/busybox httpd -f -p 80 -h /www"]',
        '    environment:',
        '      WHO: whoami',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    if (!found.ok) return;
    await run(['docker', 'stack', 'rm', stack], env, 60_000).catch(() => {});
    // Tasks go first, then their networks and volumes can.
    await eventually(
      async () =>
        (await docker(['ps', '-aq', '--filter', `label=com.docker.stack.namespace=${stack}`])) === ''
          ? true
          : null,
      60_000,
    ).catch(() => {});
    for (const args of [
      ['secret', 'rm', secret],
      ['volume', 'rm', `${stack}_controller-data`],
      ['volume', 'rm', `${stack}_proxy-cache`],
    ])
      await run(['docker', ...args], env, 30_000).catch(() => {});
    await eventually(
      async () =>
        (await run(['docker', 'network', 'rm', 'berth-apps', `${stack}_control`], env, 30_000)).code === 0
          ? true
          : null,
      30_000,
    ).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
    await engine.release();
  });

  it('token init into a Swarm secret, stack deploy: the global proxy routes the sample service', async (t) => {
    const volume = `${stack}_controller-data`;
    await docker(['volume', 'create', volume]);
    // The README's command: `berth token init` in the image, on the controller's volume, into a secret.
    const init = await docker([
      'run',
      '--rm',
      '--network',
      'none',
      '-v',
      `${volume}:/var/lib/berth`,
      env['BERTH_IMAGE'] as string,
      'token',
      'init',
      '--advertise',
      'controller:7443',
      '--data-dir',
      '/var/lib/berth',
    ]);
    const token = init.split('\n').find((l) => l.startsWith('berth1.'));
    assert.ok(token, init);
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    await docker(['secret', 'create', secret, tokenFile]);

    const started = Date.now();
    await docker(
      [
        'stack',
        'deploy',
        '-c',
        join(REPO_ROOT, 'deploy', 'stack.yaml'),
        '-c',
        join(dir, 'override.yaml'),
        stack,
      ],
      180_000,
    );
    const res = await eventually(
      async () => {
        const r = await get(httpPort, HOST).catch(() => null);
        return r?.status === 200 ? r : null;
      },
      180_000,
      async () =>
        `no answer on 127.0.0.1:${httpPort}\n--- controller\n${await serviceLogs('controller')}\n--- proxy\n${await serviceLogs('proxy')}\n${await docker(['stack', 'ps', '--no-trunc', stack])}`,
    );
    t.diagnostic(`stack deploy → first routed answer: ${Date.now() - started} ms`);
    assert.equal(res.body.trim(), 'whoami');

    // The proxy task: the secret as its token, no socket, no controller data.
    const proxyContainer = (
      await docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${stack}_proxy`])
    ).split('\n')[0];
    assert.ok(proxyContainer);
    const info = JSON.parse(await docker(['inspect', proxyContainer]))[0] as {
      Mounts: { Source: string; Destination: string; Name?: string }[];
      Config: { User: string };
    };
    assert.equal(info.Config.User, '10001:10001');
    assert.deepEqual(
      info.Mounts.map((m) => m.Destination),
      ['/var/lib/berth'],
      JSON.stringify(info.Mounts),
    );
    // The controller used the token init made: the node enrolled with the secret's token.
    const nodes = JSON.parse(
      await docker([
        'exec',
        (
          await docker(['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${stack}_controller`])
        ).split('\n')[0] as string,
        ...NODES_JSON_IN_IMAGE,
      ]),
    ) as { name: string; connected: boolean }[];
    assert.equal(nodes.filter((n) => n.connected).length, 1, JSON.stringify(nodes));
  });
});
