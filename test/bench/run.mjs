#!/usr/bin/env node
// `npm run bench`: runs the benchmark scenarios against Berth, HAProxy and nginx, and writes the report.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs, USAGE } from './lib/args.mjs';
import { loadAverage } from './lib/cpu-time.mjs';
import { findTools, machine, toolVersions } from './lib/tools.mjs';
import { renderReport } from './report/markdown.mjs';
import * as keepAlive from './scenarios/keep-alive.mjs';
import * as nodeFloor from './scenarios/node-floor.mjs';
import * as profile from './scenarios/profile.mjs';
import * as routeLookup from './scenarios/route-lookup.mjs';
import * as snapshotApply from './scenarios/snapshot-apply.mjs';
import { startBackend } from './targets/nginx-backend.mjs';

const SCENARIOS = [keepAlive, nodeFloor, routeLookup, snapshotApply, profile];
const root = fileURLToPath(new URL('../..', import.meta.url));
const RECOMMENDATIONS = join(root, 'docs/bench/http-recommendations.md');

function log(msg) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function main() {
  let opts;
  try {
    opts = parseBenchArgs(process.argv.slice(2), root);
  } catch (err) {
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.render) return rerender(opts);
  const { paths, missing } = findTools();
  if (missing.length > 0) {
    process.stderr.write(
      `bench: missing ${missing.map((m) => m.bin).join(', ')}; the benchmark compares Berth with HAProxy and nginx under wrk.\n` +
        `Install them (Debian/Ubuntu): sudo apt-get install -y ${[...new Set(missing.map((m) => m.pkg))].join(' ')}\n`,
    );
    return 1;
  }
  const berthBin = join(root, 'packages/cli/dist/src/bin.js');
  if (!existsSync(berthBin)) {
    process.stderr.write(
      `bench: ${berthBin} is missing; build first with \`npx tsc -b\` (npm run bench does).\n`,
    );
    return 1;
  }
  const env = {
    machine: machine(),
    versions: toolVersions(paths),
    loadBefore: loadAverage(),
    loadAfter: '',
  };
  for (const cpu of [opts.proxyCpu, opts.loadCpu]) {
    if (cpu >= env.machine.nproc) {
      process.stderr.write(
        `bench: CPU ${cpu} does not exist here (nproc ${env.machine.nproc}); see --proxy-cpu/--load-cpu\n`,
      );
      return 1;
    }
  }
  if (opts.proxyCpu === opts.loadCpu)
    log('warning: proxy and load generator share a CPU; numbers will not compare');
  log(`load average ${env.loadBefore}; ${env.machine.nproc} CPUs (${env.machine.model})`);

  const tmp = await mkdtemp(join(tmpdir(), 'berth-bench-'));
  const startedAt = new Date();
  const results = {};
  const errors = {};
  let backend = null;
  try {
    backend = await startBackend({ tmp, tools: paths, opts });
    log(`backend nginx at ${backend.url}`);
    const ctx = { opts, tools: paths, tmp, backend, berthBin, log };
    for (const s of SCENARIOS) {
      if (!opts.scenarios.includes(s.id)) continue;
      log(`— ${s.title}`);
      try {
        results[s.id] = await s.run(ctx);
      } catch (err) {
        errors[s.id] = err.stack ?? String(err);
        log(`${s.id} failed: ${errors[s.id]}`);
      }
    }
  } finally {
    await backend?.stop();
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
  }
  env.loadAfter = loadAverage();
  const recommendations = existsSync(RECOMMENDATIONS) ? await readFile(RECOMMENDATIONS, 'utf8') : null;
  const report = renderReport({
    opts,
    env,
    startedAt,
    finishedAt: new Date(),
    results,
    errors,
    scenarios: SCENARIOS,
    recommendations,
  });
  await writeFile(opts.out, report);
  formatReport(opts.out);
  const finishedAt = new Date();
  await writeFile(
    opts.json,
    `${JSON.stringify({ opts: portable(opts), env, startedAt, finishedAt, results, errors }, null, 2)}\n`,
  );
  log(`wrote ${opts.out} and ${opts.json}`);
  return Object.keys(errors).length > 0 ? 1 : 0;
}

/**
 * The repository lints markdown with Biome, which aligns tables; formatting the report here keeps
 * `npm run lint` clean after a rerun. Best effort: the report is already written.
 */
function formatReport(file) {
  const biome = join(root, 'node_modules/.bin/biome');
  // Biome only formats files inside the repository; a report written elsewhere is left as is.
  if (!existsSync(biome) || relative(root, file).startsWith('..')) return;
  const r = spawnSync(biome, ['format', '--write', file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0)
    log(`could not format ${file} with biome: ${(r.stderr || r.stdout || '').trim().split('\n')[0]}`);
}

/** Options as saved in the JSON: paths relative to the repository, so the file is the same on any checkout. */
function portable(opts) {
  return { ...opts, out: relative(root, opts.out), json: relative(root, opts.json) };
}

/** Rewrites the report from a saved run: the embedded recommendations may have changed, the numbers not. */
async function rerender(opts) {
  const saved = JSON.parse(await readFile(opts.render, 'utf8'));
  const recommendations = existsSync(RECOMMENDATIONS) ? await readFile(RECOMMENDATIONS, 'utf8') : null;
  const report = renderReport({
    opts: saved.opts,
    env: saved.env,
    startedAt: new Date(saved.startedAt),
    finishedAt: new Date(saved.finishedAt ?? saved.startedAt),
    results: saved.results,
    errors: saved.errors,
    scenarios: SCENARIOS,
    recommendations,
  });
  const out = resolve(root, saved.opts.out);
  await writeFile(out, report);
  formatReport(out);
  log(`rewrote ${out} from ${opts.render}`);
  return 0;
}

// Ctrl-C: exiting runs processes.mjs's handler, which kills every process started, by pid.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${err.stack ?? err}\n`);
    process.exit(1);
  },
);
