#!/usr/bin/env node
// The Docker provider on a busy host (issue 11, traefik#13321): N labelled containers whose health checks run every second.
//
// Starts the containers on a real dockerd (the e2e harness's: its own daemon when none answers),
// waits until all are healthy, then runs the Docker provider in this process for `--seconds` and
// reports what it cost: this process's CPU, the provider's counters (events received, inspections,
// decodes, publishes), and how many events Docker emitted in the same window (the exec_* of every
// health check) that the provider's filter kept away, counted by an unfiltered watcher in a
// child process (Docker's own event log keeps only the last 256, too few to count from).
// Needs a build (`npx tsc -b`); not part of `npm test`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DockerProvider, decodeContainers, dockerodeClient } from '@berth/controller';
import {
  BUSYBOX_IMAGE,
  ensureBusyboxImage,
  ensureDockerEngine,
  removeTestObjects,
} from '../dist/helpers/docker-engine.js';

const { values } = parseArgs({
  options: {
    containers: { type: 'string', default: '100' },
    'interval-ms': { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '60' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(
    'Usage: node test/bench/docker-health-churn.mjs [--containers 100] [--interval-ms 1000] [--seconds 60]',
  );
  process.exit(0);
}
const count = Number(values.containers);
const intervalMs = Number(values['interval-ms']);
const seconds = Number(values.seconds);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs in a child: every container event Docker sends an unfiltered watcher, by action, for a while. */
const UNFILTERED_COUNTER = `
import Docker from 'dockerode';
const [socketPath, ms] = process.argv.slice(-2);
const stream = await new Docker({ socketPath }).getEvents({ filters: { type: ['container'] } });
const counts = {};
let buffer = '';
stream.on('data', (chunk) => {
  buffer += chunk.toString();
  const lines = buffer.split('\\n');
  buffer = lines.pop();
  for (const line of lines) {
    if (!line.trim()) continue;
    const action = (JSON.parse(line).Action ?? '').split(':')[0];
    counts[action] = (counts[action] ?? 0) + 1;
  }
});
setTimeout(() => { process.stdout.write(JSON.stringify(counts)); process.exit(0); }, Number(ms));
`;

const found = await ensureDockerEngine();
if (!found.ok) {
  console.error(`no Docker engine: ${found.reason}`);
  process.exit(1);
}
const { engine } = found;
const docker = engine.docker;
const runId = randomBytes(4).toString('hex');
const network = `berth-bench-${runId}`;
let provider = null;
try {
  await ensureBusyboxImage(docker);
  await docker.createNetwork({ Name: network, Labels: { 'berth-test': runId } });
  const ids = [];
  for (let i = 0; i < count; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, count - i) }, async (_, j) => {
        const n = i + j;
        const c = await docker.createContainer({
          Image: BUSYBOX_IMAGE,
          name: `berth-bench-${runId}-${n}`,
          Env: [`WHO=c${n}`],
          Labels: {
            'berth-test': runId,
            'traefik.enable': 'true',
            [`traefik.http.routers.c${n}.rule`]: `Host(\`c${n}.test\`)`,
            [`traefik.http.services.c${n}.loadbalancer.server.port`]: '80',
          },
          Healthcheck: {
            Test: ['CMD', '/bin/busybox', 'test', '-f', '/serve'],
            Interval: intervalMs * 1e6,
            Timeout: 5e9,
            Retries: 3,
          },
          HostConfig: { NetworkMode: network },
        });
        await c.start();
        return c.id;
      }),
    );
    ids.push(...batch);
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    const states = await Promise.all(ids.map((id) => docker.getContainer(id).inspect()));
    const healthy = states.filter((s) => s.State.Health?.Status === 'healthy').length;
    if (healthy === count) break;
    if (Date.now() > deadline) throw new Error(`only ${healthy}/${count} healthy after 120 s`);
    await sleep(500);
  }

  provider = new DockerProvider({
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
  });
  await provider.start();
  const routers = Object.keys(provider.current()[0]?.config.http.routers ?? {}).length;
  const startCounters = provider.status().counters;

  const counter = spawn(
    process.execPath,
    ['--input-type=module', '-e', UNFILTERED_COUNTER, engine.socketPath, String(seconds * 1000)],
    { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let counted = '';
  counter.stdout.on('data', (c) => {
    counted += c;
  });
  const counterDone = new Promise((r) => counter.on('exit', r));
  await sleep(500); // the counter subscribes before the window opens
  const before = process.cpuUsage();
  await sleep(seconds * 1000);
  const cpu = process.cpuUsage(before);
  const after = provider.status().counters;
  await counterDone;
  const emitted = JSON.parse(counted || '{}');
  const delta = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - startCounters[k]]));
  const perMinute = (x) => Math.round((x * 60) / seconds);
  const result = {
    containers: count,
    healthIntervalMs: intervalMs,
    seconds,
    routersAtStart: routers,
    startup: startCounters,
    window: delta,
    cpuMsPerMinute: perMinute((cpu.user + cpu.system) / 1000),
    dockerEventsEmittedPerMinute: Object.fromEntries(
      Object.entries(emitted).map(([k, v]) => [k, perMinute(v)]),
    ),
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  await provider?.close();
  await removeTestObjects(docker, runId);
  await engine.release();
}
