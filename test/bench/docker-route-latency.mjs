#!/usr/bin/env node
// Issue 11, done when 8: container start → a proxy node routing to it, one at a time and in a burst.
//
// A controller in this process with the Docker provider (Traefik's label decoder) and one `berth proxy` node
// as a child process, on the test harness's dockerd. Sequential: `--starts` containers started one
// after another; for each, the time from Docker's own start event (its timestamp) and from the
// start request to the node's first 200 for the container's Host (polled every ~2 ms). Burst:
// `--burst` containers created first, then started by `docker start` child processes at once;
// the time until the node has applied a snapshot with all of them (then each is checked once),
// how many decodes, publishes and snapshots that took, and this process's CPU meanwhile (the
// controller, not the starting, which the docker CLI children do). Needs a build (`npx tsc -b`).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { DockerProvider, decodeContainers, dockerodeClient, startController } from '@berth/controller';
import { pino } from 'pino';
import {
  BUSYBOX_IMAGE,
  ensureBusyboxImage,
  ensureDockerEngine,
  removeTestObjects,
} from '../dist/helpers/docker-engine.js';
import { freePort, probe } from './lib/net.mjs';
import { startProcess, stopProcess } from './lib/processes.mjs';

const { values } = parseArgs({
  options: {
    starts: { type: 'string', default: '50' },
    burst: { type: 'string', default: '200' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('Usage: node test/bench/docker-route-latency.mjs [--starts 50] [--burst 200]');
  process.exit(0);
}
const starts = Number(values.starts);
const burst = Number(values.burst);
const root = fileURLToPath(new URL('../..', import.meta.url));
const berthBin = join(root, 'packages/cli/dist/src/bin.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

const found = await ensureDockerEngine();
if (!found.ok) {
  console.error(`no Docker engine: ${found.reason}`);
  process.exit(1);
}
const { engine } = found;
const docker = engine.docker;
const runId = randomBytes(4).toString('hex');
const network = `berth-bench-${runId}`;
const dir = await mkdtemp(join(tmpdir(), 'berth-bench-docker-'));
let controller = null;
let node = null;
let events = null;
try {
  await ensureBusyboxImage(docker);
  await docker.createNetwork({ Name: network, Labels: { 'berth-test': runId } });
  const logger = pino(
    { level: 'warn' },
    pino.destination({ dest: join(dir, 'controller.log'), sync: false }),
  );
  const provider = new DockerProvider({
    settings: {
      endpoint: engine.endpoint,
      exposedByDefault: false,
      constraints: '',
      defaultRule: 'Host(`{{ normalize .Name }}`)',
      network: '',
      useBindPortIP: false,
      allowEmptyServices: false,
      prefixes: ['traefik', 'berth'],
    },
    decode: decodeContainers,
    client: dockerodeClient({ kind: 'socket', socketPath: engine.socketPath }),
    logger,
  });
  controller = await startController({
    dataDir: join(dir, 'controller'),
    listen: '127.0.0.1:0',
    api: '127.0.0.1:0',
    logger,
    providers: [provider],
  });
  const port = await freePort();
  const statusFile = join(dir, 'node-status.json');
  node = startProcess(
    'node',
    process.execPath,
    [
      berthBin,
      'proxy',
      '--name',
      'n1',
      '--data-dir',
      join(dir, 'node'),
      '--entrypoint',
      `web=127.0.0.1:${port}`,
      '--workers',
      '0',
      '--status-file',
      statusFile,
    ],
    { env: { ...process.env, BERTH_JOIN_TOKEN: controller.joinToken } },
  );
  const nodeVersion = async () => {
    try {
      return JSON.parse(await readFile(statusFile, 'utf8')).appliedVersion ?? 0;
    } catch {
      return 0;
    }
  };
  for (let i = 0; (await nodeVersion()) === 0; i++) {
    if (i > 300) throw new Error(`node did not apply a snapshot:\n${node.output()}`);
    await sleep(100);
  }

  // Docker's own start times, by container id.
  const startedAt = new Map();
  events = await docker.getEvents({ filters: { type: ['container'], event: ['start'] } });
  let buffer = '';
  events.on('data', (chunk) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const e = JSON.parse(line);
      startedAt.set(e.Actor?.ID ?? e.id, e.timeNano / 1e6);
    }
  });

  const create = (name, host) =>
    docker.createContainer({
      Image: BUSYBOX_IMAGE,
      name: `berth-bench-${runId}-${name}`,
      Env: [`WHO=${name}`],
      Labels: {
        'berth-test': runId,
        'traefik.enable': 'true',
        [`traefik.http.routers.${name}.rule`]: `Host(\`${host}\`)`,
        [`traefik.http.services.${name}.loadbalancer.server.port`]: '80',
      },
      HostConfig: { NetworkMode: network },
    });

  const fromEvent = [];
  const fromRequest = [];
  for (let i = 0; i < starts; i++) {
    const host = `s${i}.test`;
    const c = await create(`s${i}`, host);
    const requested = Date.now();
    await c.start();
    let routed = 0;
    for (let tries = 0; tries < 5000; tries++) {
      const r = await probe(port, host).catch(() => ({ status: 0 }));
      if (r.status === 200) {
        routed = Date.now();
        break;
      }
      await sleep(2);
    }
    if (routed === 0) throw new Error(`${host} never routed`);
    for (let w = 0; w < 100 && !startedAt.has(c.id); w++) await sleep(10);
    fromEvent.push(routed - (startedAt.get(c.id) ?? Number.NaN));
    fromRequest.push(routed - requested);
  }
  const sortedEvent = [...fromEvent].sort((a, b) => a - b);
  const sortedRequest = [...fromRequest].sort((a, b) => a - b);

  // Burst: all created first, then started at once by docker CLI children (8 of them).
  const ids = [];
  for (let i = 0; i < burst; i += 16) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(16, burst - i) }, (_, j) => create(`b${i + j}`, `b${i + j}.test`)),
    );
    ids.push(...batch.map((c) => c.id));
  }
  const before = {
    counters: provider.status().counters,
    version: controller.store.current?.version ?? 0,
    cpu: process.cpuUsage(),
  };
  const t0 = Date.now();
  const slices = Array.from({ length: 8 }, (_, k) => ids.filter((_, i) => i % 8 === k)).filter(
    (s) => s.length,
  );
  const starting = Promise.all(
    slices.map((slice) => promisify(execFile)('docker', ['-H', engine.endpoint, 'start', ...slice])),
  );
  const wanted = starts + burst;
  let allIn = 0;
  for (let i = 0; ; i++) {
    const current = controller.store.current;
    if (current && Object.keys(current.body.http.routers).length >= wanted) {
      allIn = current.version;
      break;
    }
    if (i > 6000) throw new Error('the burst never reached the snapshot');
    await sleep(20);
  }
  for (let i = 0; (await nodeVersion()) < allIn; i++) {
    if (i > 3000) throw new Error('the node never applied the burst');
    await sleep(20);
  }
  const routedAll = Date.now();
  const cpu = process.cpuUsage(before.cpu);
  await starting;
  const lastStart = Math.max(...ids.map((id) => startedAt.get(id) ?? 0));
  let failures = 0;
  for (let i = 0; i < burst; i++) {
    const r = await probe(port, `b${i}.test`).catch(() => ({ status: 0 }));
    if (r.status !== 200) failures++;
  }
  const after = provider.status().counters;
  const result = {
    sequential: {
      starts,
      fromDockerEventMs: {
        p50: pct(sortedEvent, 50),
        p99: pct(sortedEvent, 99),
        max: sortedEvent.at(-1),
      },
      fromStartRequestMs: {
        p50: pct(sortedRequest, 50),
        p99: pct(sortedRequest, 99),
        max: sortedRequest.at(-1),
      },
    },
    burst: {
      containers: burst,
      firstStartToAllRoutedMs: routedAll - t0,
      lastStartEventToAllRoutedMs: Math.round(routedAll - lastStart),
      notAnswering200: failures,
      decodes: after.decodes - before.counters.decodes,
      publishes: after.publishes - before.counters.publishes,
      inspects: after.inspects - before.counters.inspects,
      snapshots: allIn - before.version,
      controllerCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    },
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  events?.destroy?.();
  await stopProcess(node);
  await controller?.close();
  await removeTestObjects(docker, runId);
  await engine.release();
  await rm(dir, { recursive: true, force: true });
}
