// Route lookup cost: Berth with the target among 10 host routes versus among 10,000.
import { measureRound, warmUp } from '../lib/measure.mjs';
import { berthRoutesYaml, hostsFor, routeHost, targetIndex } from '../lib/routes.mjs';
import { ratio, summarise } from '../lib/stats.mjs';
import { fmtInt, fmtRatio, fmtUs, spread } from '../report/format.mjs';
import * as berth from '../targets/berth.mjs';

export const id = 'route-lookup';
export const title = 'Route lookup: 10 vs 10,000 routes';

export async function run(ctx) {
  const counts = [10, ctx.opts.routes];
  const started = [];
  try {
    for (const count of counts) {
      const host = routeHost(targetIndex(count));
      ctx.log(`starting Berth with ${count} routes (target ${host})`);
      const t = await berth.start(ctx, {
        host,
        routesYaml: berthRoutesYaml(hostsFor(count), ctx.backend.url),
        tag: `berth-routes-${count}`,
      });
      started.push({ count, host, t });
    }
    for (const { host, t } of started) await warmUp(ctx, t, host);
    const rounds = Object.fromEntries(counts.map((c) => [c, []]));
    for (let r = 0; r < ctx.opts.rounds; r++) {
      const order = r % 2 === 0 ? started : [...started].reverse();
      for (const { count, host, t } of order) {
        const m = await measureRound(ctx, t, { host, durationS: ctx.opts.durationS });
        rounds[count].push(m);
        ctx.log(
          `round ${r + 1}/${ctx.opts.rounds} ${count} routes: ${fmtInt(m.reqPerSec)} req/s, ${fmtUs(m.cpuUsPerReq)} CPU/req`,
        );
      }
    }
    return { counts, hosts: Object.fromEntries(started.map((s) => [s.count, s.host])), rounds };
  } finally {
    for (const { t } of started.reverse()) await t.stop();
  }
}

export function summary(result) {
  const [small, large] = result.counts;
  const cell = (c) => ({
    reqPerSec: summarise(result.rounds[c], 'reqPerSec'),
    cpuUsPerReq: summarise(result.rounds[c], 'cpuUsPerReq'),
    p99Us: summarise(result.rounds[c], 'p99Us'),
  });
  const a = cell(small);
  const b = cell(large);
  return {
    small,
    large,
    [small]: a,
    [large]: b,
    reqRatio: ratio(b.reqPerSec.median, a.reqPerSec.median),
    cpuRatio: ratio(b.cpuUsPerReq.median, a.cpuUsPerReq.median),
  };
}

export function render(result) {
  const s = summary(result);
  const lines = [
    'Every route is `` Host(`rN.bench.test`) `` with its own service (all to the same backend); ' +
      'wrk asks for the middle route. Same Berth build, same flags; only the route count differs.',
    '',
    '| routes | target host | req/s | p99 | CPU / request |',
    '|---:|---|---:|---:|---:|',
  ];
  for (const c of result.counts) {
    lines.push(
      `| ${fmtInt(c)} | \`${result.hosts[c]}\` | ${spread(s[c].reqPerSec, fmtInt)} | ${fmtUs(s[c].p99Us.median)} | ${spread(s[c].cpuUsPerReq, fmtUs)} |`,
    );
  }
  lines.push(
    '',
    `${fmtInt(s.large)} routes vs ${fmtInt(s.small)}: req/s ${fmtRatio(s.reqRatio)}, CPU per request ${fmtRatio(s.cpuRatio)}.`,
  );
  return lines.join('\n');
}
