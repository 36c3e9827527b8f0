// Profiles Berth's node under keep-alive load with `node --cpu-prof` and summarises where the CPU goes.
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureRound, warmUp } from '../lib/measure.mjs';
import { waitFor } from '../lib/processes.mjs';
import { berthRoutesYaml, KEEP_ALIVE_HOST } from '../lib/routes.mjs';
import { profileTables, summariseProfile } from '../profile/summarise-cpuprofile.mjs';
import { fmtInt, fmtUs } from '../report/format.mjs';
import * as berth from '../targets/berth.mjs';

export const id = 'profile';
export const title = "Profile of Berth's hot path";

const TOP_N = 25;

export async function run(ctx) {
  const profDir = join(ctx.tmp, 'cpu-prof');
  await mkdir(profDir, { recursive: true });
  const host = KEEP_ALIVE_HOST;
  ctx.log('starting Berth under --cpu-prof');
  const t = await berth.start(ctx, {
    host,
    routesYaml: berthRoutesYaml([host], ctx.backend.url),
    cpuProfDir: profDir,
    tag: 'berth-prof',
  });
  let load;
  let window = null;
  try {
    await warmUp(ctx, t, host);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    load = await measureRound(ctx, t, {
      host,
      durationS: Math.max(ctx.opts.durationS, ctx.opts.quick ? 3 : 15),
    });
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    ctx.log(`profiled load: ${fmtInt(load.reqPerSec)} req/s`);
  } catch (err) {
    // What the node said is the first thing to read when the load cannot reach it.
    const exit = t.node.exitCode === null ? 'still running' : `exited with ${t.node.exitCode}`;
    throw new Error(
      `${err instanceof Error ? err.message : err}\nnode ${exit}; its last output:\n${t.node.output().slice(-3000)}`,
    );
  } finally {
    // The profile is written when the node exits normally, which SIGTERM lets it do.
    await t.stop();
  }
  const file = await waitFor(
    async () => (await readdir(profDir)).find((f) => f.endsWith('.cpuprofile')),
    15_000,
    () => `no .cpuprofile in ${profDir}; node output:\n${t.node.output().slice(-3000)}`,
  );
  // Kept outside the run's temp dir, to dig further with summarise-cpuprofile.mjs or DevTools.
  const kept = join(tmpdir(), 'berth-bench-node.cpuprofile');
  await copyFile(join(profDir, file), kept);
  ctx.log(`profile kept at ${kept}`);
  const profile = JSON.parse(await readFile(kept, 'utf8'));
  // Only the measured load; if no sample falls inside (a clock mismatch), the whole run.
  let summary = summariseProfile(profile, TOP_N, window);
  let windowed = window !== null;
  if (summary.samples === 0) {
    summary = summariseProfile(profile, TOP_N);
    windowed = false;
  }
  return { load, summary, file, windowed };
}

export function render(result) {
  return [
    `A separate node run under \`node --cpu-prof\` (sampling adds some overhead: ${fmtInt(result.load.reqPerSec)} req/s, ` +
      `${fmtUs(result.load.cpuUsPerReq)} CPU per request during the profile), one route, same wrk load, ` +
      (result.windowed
        ? 'samples of the measured load only (not start-up, warm-up or shutdown). '
        : 'samples of the whole run (start-up, warm-up, load, shutdown). ') +
      `Shares are of the non-idle CPU time of the node's main thread (${fmtInt(result.summary.samples)} samples).`,
    '',
    profileTables(result.summary, TOP_N),
  ].join('\n');
}
