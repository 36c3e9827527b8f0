#!/usr/bin/env node
// Control plane at scale (issue 13): one real controller, N simulated nodes running the real agent, timed per one-route change, restart and stall.
//
// For each (nodes, routes) pair: a controller (`berth controller --file <dir>`) starts on a fresh
// data dir with an N-route file; N node agents (control-plane/sim-nodes.mjs, spread over a few
// worker processes, each node from its own 127.x.y.z address) enroll and apply. Then:
// - change: `--changes` times, one route's host is edited and the file renamed into place (t0);
//   timed until every node has sent its ack of the new version;
// - stall: one node stops reading its socket; `--stall-changes` more changes, timed for the others;
// - restart: SIGTERM the controller, start it again on the same data dir and ports; timed until
//   every node has reconnected and is in sync again (its hello carries the current version, or
//   its ack of what the controller sends).
// Controller CPU comes from /proc/<pid>/stat, its memory from /proc/<pid>/status.
import { fork } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAverage, treeCpuSeconds } from './lib/cpu-time.mjs';
import { freePort } from './lib/net.mjs';
import { startProcess, stopProcess, waitFor } from './lib/processes.mjs';
import { berthRoutesYaml, hostsFor } from './lib/routes.mjs';
import { max, median } from './lib/stats.mjs';

const USAGE = `Usage: npm run bench:control-plane -- [options]

  --nodes <list>          simulated node counts (default 1,10,100)
  --routes <list>         route counts (default 10,1000,10000)
  --skip <list>           nodes×routes pairs to leave out, e.g. 500x10000 (default none)
  --changes <n>           one-route changes timed per pair (default 10)
  --stall-changes <n>     changes timed with one node stalled (default 5; 0 skips the scenario)
  --no-restart            skip the controller restart
  --join-timeout <s>      how long N nodes may take to join before the pair is given up (default 180)
  --join-rate <n/s>       start the nodes at this rate (all workers together) instead of all at once
  --workers <n>           worker processes for the simulated nodes (default 2)
  --heartbeat-ms <ms>     the controller's heartbeat and the agents' (default: theirs, 5000)
  --controller-cpu <n>    pin the controller to this CPU with taskset (default: not pinned)
  --node-dirs <dir>       where the simulated nodes keep identity and cache (default /dev/shm when it
                          exists: N nodes sharing one disk would time that disk's fsyncs, not the nodes)
  --controller-dir <dir>  where the controller's data dir goes (default: the OS temp dir, a disk here)
  --out <file>            markdown report (default docs/bench/control-plane.md; --no-report: none)
  --json <file>           raw results (default: the report's path with .json)
  --no-report             print the results only
  --render <json,...>     rewrite the report from previous runs' JSON (merged); measures nothing
  --help                  this text

Environment: BENCH_PROFILE_DIR=<dir> writes V8 CPU profiles of the controller and the workers
there (summarise with test/bench/profile/summarise-cpuprofile.mjs); BENCH_AGENT_LOG_LEVEL=info
prints the agents' logs; BENCH_CONTROLLER_LOG=<file> keeps the controller's.
`;

const root = fileURLToPath(new URL('../..', import.meta.url));
const berthBin = join(root, 'packages/cli/dist/src/bin.js');
const workerBin = fileURLToPath(new URL('./control-plane/sim-nodes.mjs', import.meta.url));
// Wall-clock ms, the one clock the harness, its workers and the controller's log lines share:
// performance.timeOrigin is fixed at each process's start and drifts apart across processes here.
const now = () => Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1,10,100' },
    routes: { type: 'string', default: '10,1000,10000' },
    skip: { type: 'string', default: '' },
    changes: { type: 'string', default: '10' },
    'stall-changes': { type: 'string', default: '5' },
    'no-restart': { type: 'boolean', default: false },
    workers: { type: 'string', default: '2' },
    'heartbeat-ms': { type: 'string' },
    'join-timeout': { type: 'string', default: '180' },
    'join-rate': { type: 'string', default: '0' },
    'node-dirs': { type: 'string' },
    'controller-dir': { type: 'string' },
    'controller-cpu': { type: 'string' },
    out: { type: 'string', default: 'docs/bench/control-plane.md' },
    json: { type: 'string' },
    'no-report': { type: 'boolean', default: false },
    render: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const ints = (name) =>
  values[name].split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: '${s}' is not a positive integer`);
    return n;
  });
const int = (name, min) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} expects an integer ≥ ${min}`);
  return n;
};
const opts = {
  nodes: ints('nodes'),
  routes: ints('routes'),
  skip: new Set(values.skip.split(',').filter(Boolean)),
  changes: int('changes', 1),
  stallChanges: int('stall-changes', 0),
  restart: !values['no-restart'],
  workers: int('workers', 1),
  controllerCpu: values['controller-cpu'],
  nodeDirs: values['node-dirs'] ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir()),
  controllerDir: values['controller-dir'] ?? tmpdir(),
  joinRate: int('join-rate', 0),
  joinTimeoutMs: int('join-timeout', 1) * 1000,
  heartbeatMs: values['heartbeat-ms'] === undefined ? undefined : int('heartbeat-ms', 100),
};
const outPath = resolve(root, values.out);
const jsonPath = values.json ? resolve(root, values.json) : outPath.replace(/\.md$/, '.json');

/** Nearest-rank percentile. */
function pct(xs, p) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Node i's source address: 127.0.1.2, 127.0.1.3, … (never 127.0.0.1, where the controller listens). */
const addressOf = (i) => `127.0.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`;

function controllerMemory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  } catch {
    return { rssMiB: Number.NaN, peakMiB: Number.NaN };
  }
}

/** Temporary directories in use, removed even when the harness is interrupted. */
const liveDirs = new Set();
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
    // 'exit' stops the controller (lib/processes.mjs); the workers exit when their channel closes.
    process.exit(130);
  });

async function runPair(nodeCount, routeCount) {
  const dir = await mkdtemp(join(opts.controllerDir, 'berth-cp-bench-'));
  const nodeDir = await mkdtemp(join(opts.nodeDirs, 'berth-cp-nodes-'));
  liveDirs.add(dir).add(nodeDir);
  const dynamic = join(dir, 'dynamic');
  const routesFile = join(dynamic, 'routes.yml');
  const readyFile = join(dir, 'ready.json');
  const backendUrl = 'http://127.0.0.1:9';
  const hosts = hostsFor(routeCount);
  const published = [];
  // Source addresses of the nodes as the controller saw them (its 'node joined' lines).
  const sources = new Set();
  const workers = [];
  let controller = null;
  const result = { nodes: nodeCount, routes: routeCount, changes: [], stalled: [], restart: null };
  // Per node: every hello/ack/nack/frame event, in order.
  const events = Array.from({ length: nodeCount }, () => []);
  const waiters = new Set();
  const onEvent = (e) => {
    events[e.node].push(e);
    for (const w of waiters) w();
  };
  const until = (check, timeoutMs, what) =>
    new Promise((resolve, reject) => {
      const done = () => {
        if (check()) {
          waiters.delete(done);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(done);
        reject(new Error(`${what}: not within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(done);
      done();
    });

  const [listenPort, apiPort] = [await freePort(), await freePort()];
  const startController = () => {
    const args = [
      berthBin,
      'controller',
      '--file',
      dynamic,
      '--entrypoint',
      'web=127.0.0.1:0',
      '--data-dir',
      join(dir, 'controller'),
      '--listen',
      `127.0.0.1:${listenPort}`,
      '--api',
      `127.0.0.1:${apiPort}`,
      '--ready-file',
      readyFile,
      ...(opts.heartbeatMs === undefined ? [] : ['--heartbeat-ms', String(opts.heartbeatMs)]),
    ];
    const prof = process.env.BENCH_PROFILE_DIR;
    if (prof) args.unshift('--cpu-prof', '--cpu-prof-dir', join(prof, 'controller'));
    return startProcess('controller', process.execPath, args, {
      ...(opts.controllerCpu === undefined ? {} : { cpu: opts.controllerCpu }),
      onLine: (line) => {
        const joined = line.includes('"node joined"');
        if (!joined && !line.includes('"published snapshot"') && !line.includes('"controller ready"')) return;
        try {
          const m = JSON.parse(line);
          if (joined) {
            sources.add(String(m.remote).replace(/:\d+$/, ''));
            return;
          }
          if (m.msg === 'published snapshot') published.push({ version: m.version, t: m.time });
          else published.push({ ready: true, t: m.time, version: m.version });
        } catch {
          // not a log line
        }
      },
    });
  };
  const readJson = async (path) => JSON.parse(await readFile(path, 'utf8'));
  const ask = (w, cmd, reply, extra = {}) =>
    new Promise((resolve) => {
      const on = (m) => {
        if (m.type === reply) {
          w.proc.off('message', on);
          resolve(m);
        }
      };
      w.proc.on('message', on);
      w.proc.send({ cmd, ...extra });
    });
  const counters = async () => {
    const replies = await Promise.all(workers.map((w) => ask(w, 'counters', 'counters')));
    const bytesIn = new Map();
    for (const r of replies) for (const n of r.nodes) bytesIn.set(n.node, n.bytesIn);
    return {
      bytesIn,
      buildTimes: replies.flatMap((r) => r.buildTimes),
      workerRssMiB: replies.map((r) => r.rssBytes / 2 ** 20),
      workerCpuMs: replies.reduce((a, r) => a + r.cpuMs, 0),
    };
  };
  /**
   * The newest version node i is known to serve, and since when: its last ack, or a later hello
   * (a node that applied a snapshot while its link dropped says so in its next hello, and the
   * controller sends it nothing more).
   */
  const syncedVersion = (i) => {
    let best = { version: 0, t: Number.NaN };
    for (const e of events[i])
      if ((e.kind === 'ack' || e.kind === 'hello') && (e.version ?? 0) > best.version)
        best = { version: e.version, t: e.t };
    return best;
  };
  const firstAfter = (i, kind, t, pred = () => true) =>
    events[i].find((e) => e.kind === kind && e.t >= t && pred(e)) ?? null;

  try {
    await mkdir(dynamic, { recursive: true });
    await writeFile(routesFile, berthRoutesYaml(hosts, backendUrl));
    controller = startController();
    const ready = await waitFor(
      () => readJson(readyFile).catch(() => null),
      60_000,
      () => controller.output().slice(-4000),
    );

    // The simulated nodes, spread over the workers, all started at once.
    const workerCount = Math.min(opts.workers, nodeCount);
    const joinStart = now();
    for (let w = 0; w < workerCount; w++) {
      const first = Math.floor((w * nodeCount) / workerCount);
      const count = Math.floor(((w + 1) * nodeCount) / workerCount) - first;
      const proc = fork(workerBin, [], {
        ...(process.env.BENCH_PROFILE_DIR
          ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', join(process.env.BENCH_PROFILE_DIR, 'nodes')] }
          : {}),
        env: {
          ...process.env,
          ...(opts.heartbeatMs === undefined ? {} : { BENCH_HEARTBEAT_MS: String(opts.heartbeatMs) }),
        },
        stdio: ['ignore', process.env.BENCH_AGENT_LOG_LEVEL ? 'inherit' : 'ignore', 'pipe', 'ipc'],
      });
      let stderr = '';
      proc.stderr.on('data', (c) => {
        if (stderr.length < 1e6) stderr += c;
      });
      proc.on('message', (m) => {
        if (m.type === 'event') onEvent(m);
      });
      const worker = { proc, first, count, stderr: () => stderr };
      workers.push(worker);
      proc.send({
        cmd: 'start',
        token: ready.token,
        first,
        count,
        dir: nodeDir,
        startEveryMs: opts.joinRate > 0 ? (1000 * workerCount) / opts.joinRate : 0,
        addressOf: Array.from({ length: count }, (_v, k) => addressOf(first + k)),
      });
    }
    const describeWorkers = () => workers.map((w) => w.stderr().slice(-2000)).join('\n');
    const allAcked = (version) => events.every((_e, i) => syncedVersion(i).version >= version);
    const version0 = published.at(-1)?.version ?? 1;
    const progress = setInterval(() => {
      const count = (kind) => events.filter((ev) => ev.some((e) => e.kind === kind)).length;
      console.log(
        `    … ${((now() - joinStart) / 1000).toFixed(0)} s: ${count('hello')} connected, ${count('frame')} got a snapshot, ${count('ack')} acked`,
      );
    }, 10_000);
    await until(() => allAcked(version0), opts.joinTimeoutMs, 'every node joined')
      .catch((err) => {
        throw new Error(`${err.message}\n${describeWorkers()}\n${controller.output().slice(-3000)}`);
      })
      .finally(() => clearInterval(progress));
    const joinAcks = events.map((_e, i) => syncedVersion(i).t - joinStart);
    const fullFrames = events.map((ev) => ev.find((e) => e.kind === 'frame')?.frameBytes ?? Number.NaN);
    const c0 = await counters();
    result.join = {
      allMs: max(joinAcks),
      p50Ms: pct(joinAcks, 50),
      fullFrameBytes: median(fullFrames),
      bytesInPerNode: median([...c0.bytesIn.values()]),
      buildMs: median(c0.buildTimes.map((b) => b.ms)),
      sourceAddresses: sources.size,
    };
    console.log(
      `  ${nodeCount} nodes × ${routeCount} routes joined: all applied ${result.join.allMs.toFixed(0)} ms after start, full snapshot frame ${result.join.fullFrameBytes} B, ${sources.size} source addresses`,
    );

    let gen = 0;
    const oneChange = async (exclude = new Set()) => {
      gen++;
      const i = (gen * 7919) % routeCount;
      hosts[i] = `r${i}.c${gen}.bench.test`;
      const text = berthRoutesYaml(hosts, backendUrl);
      const tmp = join(dir, 'routes.yml.tmp');
      await writeFile(tmp, text);
      const before = await counters();
      const cpuBefore = treeCpuSeconds(controller.pid);
      const prevVersion = published.at(-1)?.version ?? 0;
      const t0 = now();
      await rename(tmp, routesFile);
      const counted = events.map((_e, n) => n).filter((n) => !exclude.has(n));
      let version = 0;
      await until(
        () => {
          const p = published.findLast((x) => !x.ready && x.version > prevVersion);
          if (!p) return false;
          version = p.version;
          return counted.every((n) => syncedVersion(n).version >= version);
        },
        120_000,
        `change ${gen} acked by every node`,
      );
      const tDone = now();
      const cpuAfter = treeCpuSeconds(controller.pid);
      const after = await counters();
      const synced = (n) =>
        events[n].find((e) => (e.kind === 'ack' || e.kind === 'hello') && e.t >= t0 && e.version >= version);
      const acks = counted.map((n) => synced(n).t - t0);
      const handling = counted.map((n) => {
        const ack = synced(n);
        if (ack.kind !== 'ack') return Number.NaN;
        const frame = [...events[n]].reverse().find((e) => e.kind === 'frame' && e.t <= ack.t && e.t >= t0);
        return frame ? ack.t - frame.t : Number.NaN;
      });
      const frames = counted.map((n) =>
        events[n]
          .filter((e) => e.kind === 'frame' && e.t >= t0 && e.t <= tDone)
          .reduce((a, e) => a + e.frameBytes, 0),
      );
      const bytesIn = counted.map((n) => (after.bytesIn.get(n) ?? 0) - (before.bytesIn.get(n) ?? 0));
      const pub = published.find((x) => !x.ready && x.version === version);
      const reconnects = events.flat().filter((e) => e.kind === 'hello' && e.t >= t0 && e.t <= tDone).length;
      const mem = controllerMemory(controller.pid);
      return {
        version,
        reconnects,
        allAppliedMs: tDone - t0,
        nodeP50Ms: pct(acks, 50),
        nodeP99Ms: pct(acks, 99),
        savedToPublishedMs: pub ? pub.t - t0 : Number.NaN,
        publishedToAllMs: pub ? max(acks) - (pub.t - t0) : Number.NaN,
        nodeHandlingMs: median(handling),
        frameBytesPerNode: median(frames),
        bytesInPerNode: median(bytesIn),
        controllerCpuMs: (cpuAfter - cpuBefore) * 1000,
        controllerRssMiB: mem.rssMiB,
        controllerPeakMiB: mem.peakMiB,
        buildMs: median(after.buildTimes.map((b) => b.ms)),
        // The simulated nodes' CPU, less the runtime builds (one a worker, not one a node), per node.
        agentCpuMsPerNode:
          (after.workerCpuMs - before.workerCpuMs - after.buildTimes.reduce((a, b) => a + b.ms, 0)) /
          nodeCount,
        workerRssMiB: after.workerRssMiB,
      };
    };

    for (let k = 0; k < opts.changes; k++) {
      result.changes.push(await oneChange());
      await sleep(300);
    }
    const ch = result.changes;
    console.log(
      `    change → all applied p50 ${pct(
        ch.map((c) => c.allAppliedMs),
        50,
      ).toFixed(
        0,
      )} ms, controller CPU ${median(ch.map((c) => c.controllerCpuMs)).toFixed(0)} ms, ${median(ch.map((c) => c.frameBytesPerNode))} B a node`,
    );

    if (opts.stallChanges > 0 && nodeCount > 1) {
      const stalledNode = 0;
      const holder = workers.find((w) => stalledNode >= w.first && stalledNode < w.first + w.count);
      const st = await ask(holder, 'stall', 'stalled', { node: stalledNode, on: true });
      if (!st.ok) throw new Error('cannot stall node 0: no socket');
      for (let k = 0; k < opts.stallChanges; k++) {
        result.stalled.push(await oneChange(new Set([stalledNode])));
        await sleep(300);
      }
      await ask(holder, 'stall', 'stalled', { node: stalledNode, on: false });
      const latest = published.findLast((x) => !x.ready)?.version ?? 0;
      const patience = 30_000 + 2 * max(result.changes.map((c) => c.allAppliedMs));
      const caughtUp = await until(
        () => syncedVersion(stalledNode).version >= latest,
        patience,
        'stalled node',
      )
        .then(() => true)
        .catch(() => false);
      result.stalledNodeCaughtUp = caughtUp;
      console.log(
        `    with node 0 stalled: others all applied p50 ${pct(
          result.stalled.map((c) => c.allAppliedMs),
          50,
        ).toFixed(0)} ms; it caught up after: ${caughtUp}`,
      );
    }

    if (opts.restart) {
      const latest = published.findLast((x) => !x.ready)?.version ?? 0;
      // A node still behind (the stalled one) is left out of the restart's figures.
      const behind = await until(() => allAcked(latest), 30_000, 'every node on the latest version')
        .then(() => 0)
        .catch(() => events.filter((_e, i) => syncedVersion(i).version < latest).length);
      const tStop = now();
      await stopProcess(controller);
      const stoppedMs = now() - tStop;
      await rm(readyFile, { force: true });
      const tSpawn = now();
      controller = startController();
      await waitFor(
        () => readJson(readyFile).catch(() => null),
        60_000,
        () => controller.output().slice(-4000),
        10,
      );
      const readyLog = published.findLast((x) => x.ready);
      const tReady = readyLog?.t ?? now();
      // In sync: a hello carrying the current version, or else the ack of what the controller sends.
      const syncedAt = (i) => {
        const hello = firstAfter(i, 'hello', tSpawn);
        if (!hello) return null;
        if (hello.version >= latest) return hello.t;
        return firstAfter(i, 'ack', hello.t)?.t ?? null;
      };
      await until(() => events.every((_e, i) => syncedAt(i) !== null), 120_000, 'every node back in sync');
      const back = events.map((_e, i) => syncedAt(i) - tReady);
      result.restart = {
        stopMs: stoppedMs,
        spawnToReadyMs: tReady - tSpawn,
        p50Ms: pct(back, 50),
        p99Ms: pct(back, 99),
        maxMs: max(back),
        resent: events.filter((_e, i) => firstAfter(i, 'frame', tSpawn) !== null).length,
        behindBefore: behind,
      };
      console.log(
        `    restart: ready ${result.restart.spawnToReadyMs.toFixed(0)} ms after spawn; nodes in sync p50 ${result.restart.p50Ms.toFixed(0)} / p99 ${result.restart.p99Ms.toFixed(0)} / max ${result.restart.maxMs.toFixed(0)} ms after ready`,
      );
    }
    const nacks = events.flat().filter((e) => e.kind === 'nack');
    result.nacks = nacks.length;
    if (nacks.length > 0) result.firstNack = nacks[0];
    return result;
  } finally {
    await Promise.all(
      workers.map(async (w) => {
        if (w.proc.exitCode !== null || w.proc.signalCode !== null) return;
        const exited = new Promise((r) => w.proc.once('exit', r));
        try {
          w.proc.send({ cmd: 'stop' });
        } catch {
          // its channel is gone already
        }
        const timer = setTimeout(() => {
          try {
            process.kill(w.proc.pid, 'SIGKILL');
          } catch {
            // gone
          }
        }, 5000);
        await exited;
        clearTimeout(timer);
      }),
    );
    await stopProcess(controller);
    if (process.env.BENCH_CONTROLLER_LOG && controller)
      await writeFile(process.env.BENCH_CONTROLLER_LOG, controller.output());
    await rm(dir, { recursive: true, force: true });
    await rm(nodeDir, { recursive: true, force: true });
    liveDirs.delete(dir);
    liveDirs.delete(nodeDir);
  }
}

// ---------------------------------------------------------------- report

const fmt = (v, digits = 0) =>
  Number.isFinite(v)
    ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';
const kb = (b) =>
  Number.isFinite(b)
    ? `${(b / 1024).toLocaleString('en-US', { maximumFractionDigits: b < 10_240 ? 1 : 0 })} KiB`
    : '–';

function summarise(r) {
  const ch = r.changes;
  const all = ch.map((c) => c.allAppliedMs);
  const stalled = r.stalled.map((c) => c.allAppliedMs);
  return {
    allP50: pct(all, 50),
    allP99: pct(all, 99),
    nodeP50: median(ch.map((c) => c.nodeP50Ms)),
    nodeP99: median(ch.map((c) => c.nodeP99Ms)),
    savedToPublished: median(ch.map((c) => c.savedToPublishedMs)),
    publishedToAll: median(ch.map((c) => c.publishedToAllMs)),
    handling: median(ch.map((c) => c.nodeHandlingMs)),
    build: median(ch.map((c) => c.buildMs)),
    agentCpu: median(ch.map((c) => c.agentCpuMsPerNode)),
    frame: median(ch.map((c) => c.frameBytesPerNode)),
    bytesIn: median(ch.map((c) => c.bytesInPerNode)),
    cpu: median(ch.map((c) => c.controllerCpuMs)),
    rss: max(ch.map((c) => c.controllerRssMiB)),
    peak: max(ch.map((c) => c.controllerPeakMiB)),
    reconnects: ch.reduce((a, c) => a + (c.reconnects ?? 0), 0),
    stalledP50: pct(stalled, 50),
    stalledAdded: stalled.length > 0 ? pct(stalled, 50) - pct(all, 50) : Number.NaN,
  };
}

function table(head, rows) {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---:').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function render(data) {
  const rows = data.results.map((r) => ({ r, s: summarise(r) }));
  const latency = table(
    [
      'nodes',
      'routes',
      'changes',
      'change → all applied p50 / p99, ms',
      'per node p50 / p99, ms',
      'saved → published, ms',
      'published → last ack, ms',
      'node: frame → ack, ms',
      'reconnects during the changes',
    ],
    rows.map(({ r, s }) => [
      r.nodes,
      fmt(r.routes),
      r.changes.length,
      `${fmt(s.allP50)} / ${fmt(s.allP99)}`,
      `${fmt(s.nodeP50)} / ${fmt(s.nodeP99)}`,
      fmt(s.savedToPublished),
      fmt(s.publishedToAll),
      fmt(s.handling, 1),
      s.reconnects,
    ]),
  );
  const cost = table(
    [
      'nodes',
      'routes',
      'full snapshot frame',
      'a change, a node: frame / on the socket',
      'controller CPU a change, ms',
      'controller RSS / peak, MiB',
      'runtime build, ms',
      'agent CPU a node a change, ms',
    ],
    rows.map(({ r, s }) => [
      r.nodes,
      fmt(r.routes),
      kb(r.join.fullFrameBytes),
      `${kb(s.frame)} / ${kb(s.bytesIn)}`,
      fmt(s.cpu),
      `${fmt(s.rss)} / ${fmt(s.peak)}`,
      fmt(s.build, 1),
      fmt(s.agentCpu, 1),
    ]),
  );
  const recovery = table(
    [
      'nodes',
      'routes',
      'join: start → all applied, ms',
      'one node stalled: others p50, ms (added)',
      'stalled node in sync again',
      'restart: SIGTERM → exit, ms',
      'spawn → ready, ms',
      'ready → all in sync p50 / p99 / max, ms',
      'nodes sent a snapshot again',
      'nacks',
    ],
    rows.map(({ r, s }) => {
      const rs = r.restart;
      return [
        r.nodes,
        fmt(r.routes),
        fmt(r.join.allMs),
        r.stalled.length
          ? `${fmt(s.stalledP50)} (${s.stalledAdded >= 0 ? '+' : ''}${fmt(s.stalledAdded)})`
          : '–',
        r.stalled.length ? (r.stalledNodeCaughtUp ? 'yes' : 'not within 30 s') : '–',
        rs ? fmt(rs.stopMs) : '–',
        rs ? fmt(rs.spawnToReadyMs) : '–',
        rs ? `${fmt(rs.p50Ms)} / ${fmt(rs.p99Ms)} / ${fmt(rs.maxMs)}` : '–',
        rs ? rs.resent : '–',
        r.nacks,
      ];
    }),
  );
  return { latency, cost, recovery };
}

async function writeReport(data) {
  const tables = render(data);
  const template = await readFile(new URL('./control-plane/report.md', import.meta.url), 'utf8');
  const notes = await readFile(join(root, 'docs/bench/control-plane-notes.md'), 'utf8').catch(() => '');
  const failures = (data.failures ?? [])
    .map((f) => `- ${f.nodes} nodes × ${fmt(f.routes)} routes: ${f.error.split('\n')[0]}`)
    .join('\n');
  const text = template
    .replace('{{notes}}', notes.trim())
    .replace('{{failures}}', failures || '- none')
    .replace(
      '{{dirs}}',
      `controller data dir under \`${data.dirs?.controller ?? '?'}\`, nodes' under \`${data.dirs?.nodes ?? '?'}\``,
    )
    .replace('{{machine}}', data.machine)
    .replace('{{date}}', data.date)
    .replace('{{argv}}', (data.runs ?? [data]).map((r) => r.argv.join(' ') || '(defaults)').join('`, `'))
    .replace('{{latency}}', tables.latency)
    .replace('{{cost}}', tables.cost)
    .replace('{{recovery}}', tables.recovery);
  await writeFile(outPath, text);
  await writeFile(jsonPath, `${JSON.stringify(data, null, 2)}\n`);
  console.log(`wrote ${outPath} and ${jsonPath}`);
}

if (values.render) {
  // Several runs (e.g. the 10,000-route pairs with fewer changes) merge into one report.
  const runs = await Promise.all(
    values.render.split(',').map(async (f) => JSON.parse(await readFile(resolve(root, f.trim()), 'utf8'))),
  );
  const merged = {
    ...runs[0],
    argv: runs.flatMap((r) => r.argv),
    // Each run's flags, listed one by one in the report.
    runs: runs.flatMap((r) => r.runs ?? [{ argv: r.argv, date: r.date, machine: r.machine }]),
    results: runs.flatMap((r) => r.results),
    failures: runs.flatMap((r) => r.failures ?? []),
  };
  await writeReport(merged);
  process.exit(0);
}

const data = {
  date: new Date().toISOString(),
  dirs: { controller: opts.controllerDir, nodes: opts.nodeDirs },
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average at start ${loadAverage()}`,
  argv: process.argv.slice(2),
  results: [],
};
console.log(`control plane bench: ${data.machine}`);
for (const routes of opts.routes) {
  for (const nodes of opts.nodes) {
    if (opts.skip.has(`${nodes}x${routes}`)) continue;
    const started = now();
    try {
      data.results.push(await runPair(nodes, routes));
    } catch (err) {
      console.log(`    FAILED: ${err.message.split('\n')[0]}`);
      data.failures = [...(data.failures ?? []), { nodes, routes, error: err.message.slice(0, 4000) }];
    }
    if (!values['no-report']) await writeFile(jsonPath, `${JSON.stringify(data, null, 2)}\n`);
    console.log(`    (${((now() - started) / 1000).toFixed(0)} s)`);
  }
}
const tables = render(data);
console.log(`\n${tables.latency}\n\n${tables.cost}\n\n${tables.recovery}`);
if (!values['no-report']) await writeReport(data);
