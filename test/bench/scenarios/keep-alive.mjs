// HTTP/1.1 keep-alive throughput, latency and CPU per request: HAProxy, nginx and Berth, one route each.

import { compareTargets } from '../lib/compare.mjs';
import { berthRoutesYaml, KEEP_ALIVE_HOST } from '../lib/routes.mjs';
import { ratio, summarise } from '../lib/stats.mjs';
import { fmtInt, fmtPct, fmtRatio, fmtUs, spread } from '../report/format.mjs';
import * as berth from '../targets/berth.mjs';
import * as haproxy from '../targets/haproxy.mjs';
import * as nginx from '../targets/nginx.mjs';

export const id = 'keep-alive';
export const title = 'HTTP/1.1 keep-alive';

const TARGETS = [haproxy, nginx, berth];

export async function run(ctx) {
  const host = KEEP_ALIVE_HOST;
  const { rounds, labels } = await compareTargets(ctx, TARGETS, host, {
    backend: ctx.backend,
    host,
    routesYaml: berthRoutesYaml([host], ctx.backend.url),
  });
  return { host, connections: ctx.opts.connections, rounds, labels };
}

/** Medians per proxy, and Berth's ratios to HAProxy. */
export function summary(result) {
  const out = {};
  for (const [name, rounds] of Object.entries(result.rounds)) {
    out[name] = {
      reqPerSec: summarise(rounds, 'reqPerSec'),
      p50Us: summarise(rounds, 'p50Us'),
      p99Us: summarise(rounds, 'p99Us'),
      cpuUsPerReq: summarise(rounds, 'cpuUsPerReq'),
      proxyCpuShare: summarise(rounds, 'proxyCpuShare'),
      proxyCpuBusy: summarise(rounds, 'proxyCpuBusy'),
      loadCpuBusy: summarise(rounds, 'loadCpuBusy'),
      errors: rounds.reduce((a, r) => a + r.non2xx + r.socketErrors, 0),
    };
  }
  const h = out.haproxy;
  for (const s of Object.values(out)) {
    s.reqRatio = h ? ratio(s.reqPerSec.median, h.reqPerSec.median) : Number.NaN;
    s.cpuRatio = h ? ratio(s.cpuUsPerReq.median, h.cpuUsPerReq.median) : Number.NaN;
    s.capacity = 1e6 / s.cpuUsPerReq.median;
    s.capacityRatio = h ? ratio(s.capacity, 1e6 / h.cpuUsPerReq.median) : Number.NaN;
  }
  return out;
}

export function render(result) {
  const s = summary(result);
  const lines = [];
  lines.push(
    `One route (\`Host: ${result.host}\`) to the backend; wrk with ${result.connections} keep-alive connections. ` +
      'Cells are the median of the rounds, with (min–max) when there were several. ' +
      "Ratios are against HAProxy's median. " +
      '"req per CPU-second" is 1 / (CPU per request): the req/s a proxy would reach with one whole CPU to itself, ' +
      'which is the fairer throughput figure when the machine is contended (see the next table).',
    '',
    '| proxy | req/s | ×HAProxy | p50 | p99 | CPU / request | ×HAProxy | req per CPU-second | ×HAProxy | errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const [name, x] of Object.entries(s)) {
    lines.push(
      `| ${result.labels[name]} | ${spread(x.reqPerSec, fmtInt)} | ${fmtRatio(x.reqRatio)} | ${fmtUs(x.p50Us.median)} | ${fmtUs(x.p99Us.median)} | ${spread(x.cpuUsPerReq, fmtUs)} | ${fmtRatio(x.cpuRatio)} | ${fmtInt(x.capacity)} | ${fmtRatio(x.capacityRatio)} | ${x.errors} |`,
    );
  }
  lines.push(
    '',
    'Saturation and noise (medians): how much of one CPU the proxy used, how busy its CPU and the load CPU were. ' +
      'A proxy below ~95% of a CPU was not the bottleneck (the load CPU was, or something else ran); ' +
      'the proxy CPU busier than the proxy itself means other processes competed for it.',
    '',
    '| proxy | proxy process CPU | proxy CPU busy | load CPU (wrk + backend) busy |',
    '|---|---:|---:|---:|',
  );
  for (const [name, x] of Object.entries(s)) {
    lines.push(
      `| ${result.labels[name]} | ${fmtPct(x.proxyCpuShare.median)} | ${fmtPct(x.proxyCpuBusy.median)} | ${fmtPct(x.loadCpuBusy.median)} |`,
    );
  }
  return lines.join('\n');
}
