#!/usr/bin/env node
// Controller start-up and memory as a real process (issue 13): spawn → `controller ready`, RSS after start and after edits.
//
// Usage: node test/bench/controller-start.mjs [--routes 10000] [--runs 5] [--edits 10] [--keep]
// Each run spawns `berth controller --file <dir>` with an N-route file and times from spawn to its
// `controller ready` log line ("cold": a fresh data dir; "restart": the data dir of the previous
// run, with its stored history). The first cold run then makes `--edits` one-route edits, each
// waited for until its `published snapshot` line, and reads VmRSS / VmHWM from /proc/<pid>/status
// after the start, after the edits and `--settle` seconds (default 10) later. It also prints the
// CPU the controller had used when ready, which a busy machine changes much less than the wall
// time. `BENCH_PROFILE_DIR=<dir>` adds `--cpu-prof` to the controller; `BENCH_NODE_OPTIONS`
// passes more flags to node.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadAverage, treeCpuSeconds } from './lib/cpu-time.mjs';
import { startProcess, stopProcess } from './lib/processes.mjs';
import { berthRoutesYaml, hostsFor } from './lib/routes.mjs';
import { median } from './lib/stats.mjs';

const { values: flags } = parseArgs({
  options: {
    routes: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '5' },
    edits: { type: 'string', default: '10' },
    settle: { type: 'string', default: '10' },
    keep: { type: 'boolean', default: false },
  },
});
const routes = Number(flags.routes);
const runs = Number(flags.runs);
const editCount = Number(flags.edits);
const settleSeconds = Number(flags.settle);
const berthBin = fileURLToPath(new URL('../../packages/cli/dist/src/bin.js', import.meta.url));

const dir = await mkdtemp(join(tmpdir(), 'berth-controller-start-'));
const dynamic = join(dir, 'dynamic');
await mkdir(dynamic);
const file = join(dynamic, 'routes.yml');
await writeFile(file, berthRoutesYaml(hostsFor(routes), 'http://127.0.0.1:9'));

const mib = (kb) => (kb / 1024).toFixed(0);
function memory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1]);
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Spawns a controller on `dataDir`; resolves with the process, ms to `controller ready`, and a line waiter. */
async function start(dataDir, label) {
  const waiters = new Set();
  const args = [
    berthBin,
    'controller',
    '--file',
    dynamic,
    '--entrypoint',
    'web=127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--listen',
    '127.0.0.1:0',
    '--api',
    '127.0.0.1:0',
  ];
  const prof = process.env.BENCH_PROFILE_DIR;
  if (prof) args.unshift('--cpu-prof', '--cpu-prof-dir', join(prof, label));
  const extra = process.env.BENCH_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
  args.unshift(...extra);
  const t0 = performance.now();
  const child = startProcess('controller', process.execPath, args, {
    onLine: (line) => {
      for (const w of waiters) w(line);
    },
  });
  const waitLine = (text, timeoutMs = 60_000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(on);
        reject(new Error(`no '${text}' within ${timeoutMs} ms:\n${child.output().slice(-2000)}`));
      }, timeoutMs);
      const on = (line) => {
        if (!line.includes(text)) return;
        waiters.delete(on);
        clearTimeout(timer);
        resolve(line);
      };
      waiters.add(on);
    });
  await waitLine('"controller ready"');
  const readyMs = performance.now() - t0;
  return { child, readyMs, cpuMs: treeCpuSeconds(child.pid) * 1000, waitLine };
}

const cold = [];
const coldCpu = [];
const restart = [];
const restartCpu = [];
let mem = null;
for (let run = 0; run < runs; run++) {
  const dataDir = join(dir, `data-${run}`);
  const first = await start(dataDir, `cold-${run}`);
  cold.push(first.readyMs);
  coldCpu.push(first.cpuMs);
  if (run === 0) {
    await new Promise((r) => setTimeout(r, 200));
    const afterStart = memory(first.child.pid);
    const edits = [];
    for (let i = 0; i < editCount; i++) {
      const hosts = hostsFor(routes);
      hosts[routes - 1] = `edited-${i}.bench.test`;
      const next = join(dir, `.next-${i}.yml`);
      await writeFile(next, berthRoutesYaml(hosts, 'http://127.0.0.1:9'));
      const published = first.waitLine('"published snapshot"');
      const t0 = performance.now();
      await rename(next, file);
      await published;
      edits.push(performance.now() - t0);
    }
    await new Promise((r) => setTimeout(r, 200));
    const afterEdits = memory(first.child.pid);
    // V8 gives pages back when allocation has stopped for a while (its memory reducer): what an
    // idle controller holds, as opposed to right after a compile.
    await new Promise((r) => setTimeout(r, settleSeconds * 1000));
    mem = { afterStart, afterEdits, settled: memory(first.child.pid), edits };
  }
  await stopProcess(first.child);
  const again = await start(dataDir, `restart-${run}`);
  restart.push(again.readyMs);
  restartCpu.push(again.cpuMs);
  await stopProcess(again.child);
  // The next cold run starts from the original file.
  await writeFile(file, berthRoutesYaml(hostsFor(routes), 'http://127.0.0.1:9'));
}

const fmt = (xs) => `median ${median(xs).toFixed(0)} ms (${xs.map((x) => x.toFixed(0)).join(', ')})`;
console.log(`${routes} routes, ${runs} runs, load ${loadAverage()}`);
console.log(`spawn → controller ready, fresh data dir:   wall ${fmt(cold)}; CPU ${fmt(coldCpu)}`);
console.log(`spawn → controller ready, restart (history): wall ${fmt(restart)}; CPU ${fmt(restartCpu)}`);
if (mem) {
  console.log(`RSS after start: ${mib(mem.afterStart.rss)} MiB (peak ${mib(mem.afterStart.hwm)} MiB)`);
  console.log(
    `RSS after ${editCount} one-route edits: ${mib(mem.afterEdits.rss)} MiB (peak ${mib(mem.afterEdits.hwm)} MiB); edit → published median ${median(mem.edits).toFixed(0)} ms`,
  );
  console.log(`RSS ${settleSeconds} s later, idle: ${mib(mem.settled.rss)} MiB`);
}
if (flags.keep) console.log(`kept ${dir}`);
else await rm(dir, { recursive: true, force: true });
