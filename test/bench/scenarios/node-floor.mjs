// Node's own floor on the proxy CPU: what node:http costs alone, and what a minimal undici proxy costs.
import { compareTargets } from '../lib/compare.mjs';
import { KEEP_ALIVE_HOST } from '../lib/routes.mjs';
import { summarise } from '../lib/stats.mjs';
import { fmtInt, fmtUs, spread } from '../report/format.mjs';
import { nodeHttpOk, nodeTcpPipe, nodeUndiciDispatch } from '../targets/node-baseline.mjs';

export const id = 'node-floor';
export const title = "Node's floor (reference points, not Berth)";

export async function run(ctx) {
  const host = KEEP_ALIVE_HOST;
  const { rounds, labels } = await compareTargets(ctx, [nodeTcpPipe, nodeHttpOk, nodeUndiciDispatch], host, {
    backend: ctx.backend,
    host,
  });
  return { rounds, labels };
}

export function render(result) {
  const lines = [
    'Three small scripts in `test/bench/targets/baselines/`, pinned and loaded exactly like the proxies: how much ' +
      'of a CPU Node spends per request before any Berth code runs. They bound what optimising Berth inside ' +
      'node:http can reach.',
    '',
    '| reference | req/s | p99 | CPU / request |',
    '|---|---:|---:|---:|',
  ];
  for (const [name, rounds] of Object.entries(result.rounds)) {
    lines.push(
      `| ${result.labels[name]} | ${spread(summarise(rounds, 'reqPerSec'), fmtInt)} | ${fmtUs(summarise(rounds, 'p99Us').median)} | ${spread(summarise(rounds, 'cpuUsPerReq'), fmtUs)} |`,
    );
  }
  return lines.join('\n');
}
