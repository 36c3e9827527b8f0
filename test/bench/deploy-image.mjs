#!/usr/bin/env node
// The deploy image (issue 12, test 7): its size, and `docker run … berth proxy` → first 200 served from the node's snapshot cache.
//
// Builds deploy/Dockerfile as the e2e test does (test/helpers/berth-image.ts: a base image made from
// this machine's Node, no registry), or takes `--image`. On a network of its own it runs a busybox
// backend, a controller container (file provider routing `Host: app.test` to the backend) and a
// proxy container joined with the controller's token, its data dir on a named volume. Once the
// proxy answers, the controller is stopped and the proxy container removed (the volume stays).
// Then `--runs` times: `docker run -d … proxy` with that volume and a port published on 127.0.0.1,
// polled (a new connection every few ms) until it answers 200 from the backend; the container is
// removed after each run. Prints the median and each run, split into the docker part (CLI call to
// the container's start, by the engine's StartedAt) and the node's (start to first 200).
// Needs a build (`npx tsc -b`) and a Docker engine (the test harness's own when none answers).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { buildBerthImage } from '../dist/helpers/berth-image.js';
import {
  BUSYBOX_IMAGE,
  ensureBusyboxImage,
  ensureDockerEngine,
  removeTestObjects,
} from '../dist/helpers/docker-engine.js';
import { answers200, freePort } from './lib/net.mjs';
import { max, median, min } from './lib/stats.mjs';

const USAGE = `Usage: npm run bench:deploy-image -- [options]

  --runs <n>        timed starts of the proxy container from its cache (default 3)
  --image <tag>     measure this image instead of building deploy/Dockerfile on the test base
  --workers <n>     pass --workers to the proxy (default: left out, one worker per core)
  --help            this text
`;

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    image: { type: 'string' },
    workers: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer, got ${values.runs}`);

const BERTH = ['node', '/app/packages/cli/bin/berth.js'];
const MiB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const found = await ensureDockerEngine();
if (!found.ok) {
  console.error(`no Docker engine: ${found.reason}`);
  process.exit(1);
}
const { engine } = found;
const { docker } = engine;
const runId = randomBytes(4).toString('hex');
const prefix = `berth-bench-${runId}`;
const label = `berth-test=${runId}`;
const network = `${prefix}-net`;
const volume = `${prefix}-cache`;
const controllerName = `${prefix}-controller`;
const proxyName = `${prefix}-proxy`;
const dir = await mkdtemp(join(tmpdir(), 'berth-deploy-image-'));
// Read by the controller's user (10001) through a read-only bind mount.
await chmod(dir, 0o755);

/** The docker CLI on the harness's engine; resolves stdout, rejects with stderr. */
async function dockerCli(args, timeout = 60_000) {
  try {
    const { stdout } = await promisify(execFile)('docker', args, {
      env: { ...process.env, DOCKER_HOST: engine.endpoint },
      timeout,
    });
    return stdout.trim();
  } catch (err) {
    throw new Error(`docker ${args.join(' ')}: ${err.stderr?.trim() || err.message}`);
  }
}

/** The last lines a container wrote (stdout and stderr), for error messages. */
const logsOf = async (name) => {
  try {
    const { stdout, stderr } = await promisify(execFile)('docker', ['logs', '--tail', '40', name], {
      env: { ...process.env, DOCKER_HOST: engine.endpoint },
    });
    return `----- ${name}\n${stdout}${stderr}`;
  } catch (err) {
    return `----- ${name}: ${err.message}`;
  }
};
const bothLogs = async () => `${await logsOf(controllerName)}\n${await logsOf(proxyName)}`;

try {
  let tag = values.image;
  let baseImage = null;
  if (tag === undefined) {
    const built = performance.now();
    const image = await buildBerthImage(engine);
    tag = image.tag;
    baseImage = image.baseImage;
    console.log(
      `${tag}: ${image.built ? `built in ${((performance.now() - built) / 1000).toFixed(0)} s` : 'reused'} on ${image.baseImage}`,
    );
  }
  const info = await docker.getImage(tag).inspect();
  const parent = baseImage === null ? null : (await docker.getImage(baseImage).inspect()).Size;
  console.log(
    `image size: ${(info.Size / MiB).toFixed(1)} MiB${parent === null ? '' : ` (base ${(parent / MiB).toFixed(1)} MiB, Berth's layers ${((info.Size - parent) / MiB).toFixed(1)} MiB)`}`,
  );

  await ensureBusyboxImage(docker);
  await dockerCli(['network', 'create', '--label', label, network]);
  await dockerCli(['volume', 'create', '--label', label, volume]);
  await dockerCli([
    'run',
    '-d',
    '--name',
    `${prefix}-app`,
    '--network',
    network,
    '--label',
    label,
    '-e',
    'WHO=app',
    BUSYBOX_IMAGE,
  ]);
  const appIp = await dockerCli([
    'inspect',
    '-f',
    `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
    `${prefix}-app`,
  ]);
  await writeFile(
    join(dir, 'dynamic.yaml'),
    `http:\n  routers:\n    app:\n      rule: Host(\`app.test\`)\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: http://${appIp}:80\n`,
  );
  await dockerCli([
    'run',
    '-d',
    '--name',
    controllerName,
    '--network',
    network,
    '--label',
    label,
    '-v',
    `${dir}:/cfg:ro`,
    tag,
    'controller',
    '--data-dir',
    '/var/lib/berth',
    '--listen',
    '0.0.0.0:7443',
    '--advertise',
    `${controllerName}:7443`,
    '--entrypoint',
    'web=:8080',
    '--file',
    '/cfg/dynamic.yaml',
  ]);
  const token = await until(
    () =>
      dockerCli(['exec', controllerName, ...BERTH, 'token', '--data-dir', '/var/lib/berth']).catch(() => ''),
    30_000,
    () => logsOf(controllerName),
    'the controller wrote no join token',
  );

  // Once with the controller: the node applies the snapshot and writes its cache on the volume.
  const port = await freePort();
  await startProxy(port, token);
  await until(
    () => answers200(port, 'deploy-image-bench'),
    60_000,
    bothLogs,
    'the joined proxy never answered 200',
  );
  await dockerCli(['stop', '-t', '10', controllerName]);
  await dockerCli(['stop', '-t', '10', proxyName]);
  await dockerCli(['rm', proxyName]);

  const workers = values.workers === undefined ? 'default workers' : `--workers ${values.workers}`;
  console.log(`docker run … proxy → first 200 from the cache, controller stopped, ${workers}, ${runs} runs:`);
  const total = [];
  const engineMs = [];
  const nodeMs = [];
  for (let i = 0; i < runs; i++) {
    const runPort = await freePort();
    const started = Date.now();
    await startProxy(runPort, token);
    await until(
      () => answers200(runPort, 'deploy-image-bench'),
      60_000,
      () => logsOf(proxyName),
      'no 200 from the cache',
    );
    const answered = Date.now();
    const startedAt = Date.parse(await dockerCli(['inspect', '-f', '{{.State.StartedAt}}', proxyName]));
    total.push(answered - started);
    engineMs.push(startedAt - started);
    nodeMs.push(answered - startedAt);
    await dockerCli(['rm', '-f', proxyName]);
  }
  const f = (v) => `${v.toFixed(0)} ms`;
  const each = (xs) => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(
    `  total        median ${f(median(total))}  min ${f(min(total))}  max ${f(max(total))}  (${each(total)})`,
  );
  console.log(
    `  docker part  median ${f(median(engineMs))}  (docker run → container started: ${each(engineMs)})`,
  );
  console.log(`  node part    median ${f(median(nodeMs))}  (container started → first 200: ${each(nodeMs)})`);

  // What starting any container costs on this engine, for scale: busybox `true`, and node printing
  // berth's version (the CLI loads no more than its command table for that).
  const plain = [];
  const version = [];
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    await dockerCli([
      'run',
      '--rm',
      '--network',
      'none',
      '--label',
      label,
      BUSYBOX_IMAGE,
      '/bin/busybox',
      'true',
    ]);
    plain.push(performance.now() - t);
    t = performance.now();
    await dockerCli(['run', '--rm', '--network', 'none', '--label', label, tag, '--version']);
    version.push(performance.now() - t);
  }
  console.log(`  for scale    docker run --rm busybox true: median ${f(median(plain))} (${each(plain)})`);
  console.log(
    `               docker run --rm <image> --version: median ${f(median(version))} (${each(version)})`,
  );

  async function startProxy(hostPort, joinToken) {
    await dockerCli([
      'run',
      '-d',
      '--name',
      proxyName,
      '--network',
      network,
      '--label',
      label,
      '-v',
      `${volume}:/var/lib/berth`,
      '-e',
      `BERTH_JOIN_TOKEN=${joinToken}`,
      '-p',
      `127.0.0.1:${hostPort}:8080`,
      tag,
      'proxy',
      '--name',
      'bench-node',
      '--data-dir',
      '/var/lib/berth',
      '--reconnect-max-ms',
      '60000',
      '--log-level',
      'warn',
      ...(values.workers === undefined ? [] : ['--workers', values.workers]),
    ]);
  }
} finally {
  await removeTestObjects(docker, runId).catch(() => {});
  await dockerCli(['volume', 'rm', '-f', volume]).catch(() => {});
  await rm(dir, { recursive: true, force: true });
  await engine.release();
}

/** Polls `probe` (every 5 ms, or as often as it returns) until it gives a truthy value; bounded. */
async function until(probe, timeoutMs, logs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms:\n${await logs()}`);
    await sleep(5);
  }
}
