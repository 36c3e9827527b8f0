// One measured round: wrk against a proxy, with the proxy's CPU time and both CPUs' load around it.
import { busyFraction, perCpuTimes, treeCpuSeconds } from './cpu-time.mjs';
import { runWrk } from './wrk.mjs';

/**
 * CPU per request is the proxy tree's utime+stime delta over completed requests; the busy
 * fractions of the proxy's CPU and the load CPU tell whether something else competed.
 */
export async function measureRound(ctx, target, { host, durationS }) {
  const { opts } = ctx;
  const cpuBefore = treeCpuSeconds(target.pid);
  const cpusBefore = perCpuTimes();
  const startedAt = process.hrtime.bigint();
  const wrk = await runWrk({
    url: `http://127.0.0.1:${target.port}/`,
    host,
    connections: opts.connections,
    threads: opts.threads,
    durationS,
    cpu: opts.loadCpu,
  });
  const wallS = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const cpuS = treeCpuSeconds(target.pid) - cpuBefore;
  const cpusAfter = perCpuTimes();
  const good = wrk.requests - wrk.non2xx;
  return {
    ...wrk,
    proxyCpuS: cpuS,
    cpuUsPerReq: good > 0 ? (cpuS * 1e6) / good : Number.NaN,
    proxyCpuShare: cpuS / wallS,
    proxyCpuBusy: busyFraction(cpusBefore, cpusAfter, opts.proxyCpu),
    loadCpuBusy: busyFraction(cpusBefore, cpusAfter, opts.loadCpu),
  };
}

/** Unmeasured load so JITs, pools and caches are warm before the first round. */
export async function warmUp(ctx, target, host) {
  if (ctx.opts.warmupS <= 0) return;
  await runWrk({
    url: `http://127.0.0.1:${target.port}/`,
    host,
    connections: ctx.opts.connections,
    threads: ctx.opts.threads,
    durationS: ctx.opts.warmupS,
    cpu: ctx.opts.loadCpu,
  });
}
