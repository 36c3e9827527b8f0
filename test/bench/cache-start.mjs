#!/usr/bin/env node
// Static stability, timed: how long a node restarted with its controller down takes from spawn to its first 200 from the cache.
//
// One real controller and node run once so the node caches a snapshot; then the controller stays
// down and the node is spawned `--runs` times per worker setting, each time polled (a fresh
// connection every few ms, a keep-alive GET as curl and browsers send) until `Host: app.test`
// answers 200 from the backend. Besides the wall time it prints the CPU the node's process tree
// had used by then, which a busy machine changes much less.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { treeCpuSeconds } from './lib/cpu-time.mjs';
import { answers200, freePort } from './lib/net.mjs';
import { startProcess, stopProcess, waitFor } from './lib/processes.mjs';
import { max, median, min } from './lib/stats.mjs';

const USAGE = `Usage: npm run bench:cache-start -- [options]

  --runs <n>        spawns per worker setting (default 10)
  --workers <list>  comma-separated --workers values; "default" leaves the flag out (one per core)
                    (default: default,0)
  --direct          start the node through test/bench/lib/start-node.mjs (startProxyNode without
                    the CLI), to separate the node's own start from the CLI's module loading
  --help            this text
`;

const root = fileURLToPath(new URL('../..', import.meta.url));
const berthBin = join(root, 'packages/cli/dist/src/bin.js');
const directBin = fileURLToPath(new URL('./lib/start-node.mjs', import.meta.url));

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    workers: { type: 'string', default: 'default,0' },
    direct: { type: 'boolean', default: false },
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
const settings = values.workers.split(',').map((s) => s.trim());

const readJson = async (path) => {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return null;
  }
};

const dir = await mkdtemp(join(tmpdir(), 'berth-cache-start-'));
const backend = createServer((_req, res) => res.end('ok'));
await new Promise((r) => backend.listen(0, '127.0.0.1', r));
const backendUrl = `http://127.0.0.1:${backend.address().port}`;

try {
  await mkdir(join(dir, 'dynamic'));
  await writeFile(
    join(dir, 'berth.yaml'),
    'entryPoints:\n  web:\n    address: "127.0.0.1:0"\naccessLog:\n  enabled: false\nproviders:\n  file:\n    directory: ./dynamic\n',
  );
  await writeFile(
    join(dir, 'dynamic/routes.yml'),
    `http:\n  routers:\n    app:\n      rule: Host(\`app.test\`)\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: ${backendUrl}\n`,
  );
  const port = await freePort();
  const dataDir = join(dir, 'node');

  // Once with the controller: the node applies and writes its cache.
  const readyFile = join(dir, 'ready.json');
  const controller = startProcess('controller', process.execPath, [
    berthBin,
    'controller',
    '--config',
    join(dir, 'berth.yaml'),
    '--data-dir',
    join(dir, 'controller'),
    '--listen',
    '127.0.0.1:0',
    '--api',
    '127.0.0.1:0',
    '--ready-file',
    readyFile,
  ]);
  const ready = await waitFor(
    () => readJson(readyFile),
    30_000,
    () => controller.output(),
  );
  const statusFile = join(dir, 'status.json');
  const first = startProcess(
    'node',
    process.execPath,
    [berthBin, ...nodeArgs('0'), '--status-file', statusFile],
    { env: { ...process.env, BERTH_JOIN_TOKEN: ready.token } },
  );
  await waitFor(
    async () => (await readJson(statusFile))?.appliedVersion > 0,
    30_000,
    () => first.output(),
  );
  await stopProcess(first);
  await stopProcess(controller);

  const how = values.direct ? 'startProxyNode directly' : '`berth proxy`';
  console.log(`spawn → first 200 from the cache, controller down, ${runs} runs each, ${how}:`);
  for (const setting of settings) {
    const times = [];
    const cpu = [];
    for (let i = 0; i < runs; i++) {
      const run = await timeOneStart(setting, ready.token);
      times.push(run.wallMs);
      cpu.push(run.cpuMs);
    }
    const f = (v) => `${v.toFixed(0)} ms`;
    const label = setting === 'default' ? 'default workers' : `--workers ${setting}`;
    console.log(
      `  ${label.padEnd(16)} median ${f(median(times))}  min ${f(min(times))}  max ${f(max(times))}  (${times.map((t) => t.toFixed(0)).join(' ')})`,
    );
    console.log(`  ${''.padEnd(16)} CPU of the node's processes by then: median ${f(median(cpu))}`);
  }

  function nodeArgs(workers) {
    return [
      'proxy',
      '--name',
      'cache-start',
      '--data-dir',
      dataDir,
      '--entrypoint',
      `web=127.0.0.1:${port}`,
      '--reconnect-max-ms',
      '60000',
      '--log-level',
      'warn',
      ...(workers === 'default' ? [] : ['--workers', workers]),
    ];
  }

  async function timeOneStart(workers, token) {
    const argv = values.direct
      ? [directBin, ...nodeArgs(workers).slice(1)]
      : [berthBin, ...nodeArgs(workers)];
    // BENCH_PROFILE_DIR=<dir>: a V8 CPU profile of each node start (written when it is stopped).
    const prof = process.env.BENCH_PROFILE_DIR;
    if (prof) argv.unshift('--cpu-prof', '--cpu-prof-dir', prof);
    const started = performance.now();
    const node = startProcess('node', process.execPath, argv, {
      env: { ...process.env, BERTH_JOIN_TOKEN: token },
    });
    try {
      for (;;) {
        if (node.exitCode !== null)
          throw new Error(`the node exited with ${node.exitCode}:\n${node.output()}`);
        if (await answers200(port, 'cache-start')) {
          const wallMs = performance.now() - started;
          return { wallMs, cpuMs: treeCpuSeconds(node.pid) * 1000 };
        }
        if (performance.now() - started > 30_000) throw new Error(`no 200 within 30 s:\n${node.output()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    } finally {
      await stopProcess(node);
    }
  }
} finally {
  backend.close();
  await rm(dir, { recursive: true, force: true });
}
