// Route lookup cost: Berth with the target among 10 host routes versus among 10,000.
import { fileURLToPath } from 'node:url';
import { measureRound, warmUp } from '../lib/measure.mjs';
import { runToEnd } from '../lib/processes.mjs';
import { berthRoutesYaml, hostsFor, routeHost, targetIndex } from '../lib/routes.mjs';
import { ratio, summarise } from '../lib/stats.mjs';
import { fmtInt, fmtRatio, fmtUs, spread } from '../report/format.mjs';
import * as berth from '../targets/berth.mjs';

export const id = 'route-lookup';
export const title = 'Route lookup: 10 vs 10,000 routes';

/** In-process lookups through @berth/proxy's API on the proxy CPU: no sockets, so far less noise. */
async function micro(ctx, counts) {
  const script = fileURLToPath(new URL('../micro/route-lookup.mjs', import.meta.url));
  const { code, output } = await runToEnd(process.execPath, [script, ...counts.map(String)], {
    cpu: ctx.opts.proxyCpu,
    timeoutMs: 300_000,
  });
  if (code !== 0) throw new Error(`micro/route-lookup.mjs exited with ${code}: ${output.slice(-2000)}`);
  return JSON.parse(output.trim().split('\n').pop());
}

export async function run(ctx) {
  const counts = [10, ctx.opts.routes];
  let lookups = null;
  try {
    lookups = await micro(ctx, counts);
    for (const l of lookups) ctx.log(`in-process: ${l.count} routes, ${l.hitNs.toFixed(0)} ns per lookup`);
  } catch (err) {
    // The API it uses may move during refactors; the end-to-end part still runs.
    ctx.log(`in-process lookup benchmark failed: ${err.message}`);
  }
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
    return { counts, hosts: Object.fromEntries(started.map((s) => [s.count, s.host])), rounds, lookups };
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
  const lookup = (c) => result.lookups?.find((l) => l.count === c);
  return {
    small,
    large,
    [small]: a,
    [large]: b,
    reqRatio: ratio(b.reqPerSec.median, a.reqPerSec.median),
    cpuRatio: ratio(b.cpuUsPerReq.median, a.cpuUsPerReq.median),
    lookupRatio: ratio(lookup(large)?.hitNs, lookup(small)?.hitNs),
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
  if (result.lookups) {
    lines.push(
      '',
      'In process, on the proxy CPU (`test/bench/micro/route-lookup.mjs`: `buildRuntime()` then ' +
        "`routeRequest()` in a loop through `@berth/proxy`'s public API; median of 5 batches of 1,000,000 lookups):",
      '',
      '| routes | build the runtime | lookup, route found | lookup, no route (404) |',
      '|---:|---:|---:|---:|',
    );
    for (const l of result.lookups) {
      lines.push(
        `| ${fmtInt(l.count)} | ${l.buildMs.toFixed(1)} ms | ${l.hitNs.toFixed(0)} ns | ${l.missNs.toFixed(0)} ns |`,
      );
    }
  }
  return lines.join('\n');
}
