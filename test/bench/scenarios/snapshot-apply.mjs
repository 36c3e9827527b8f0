// Snapshot apply time for 10,000 routes: controller publish → node ACK, and the node's own applyMs.

import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectOk } from '../lib/net.mjs';
import { waitFor } from '../lib/processes.mjs';
import { berthRoutesYaml, hostsFor, KEEP_ALIVE_HOST, routeHost } from '../lib/routes.mjs';
import { summarise } from '../lib/stats.mjs';
import { fmtInt, fmtMs, spread } from '../report/format.mjs';
import * as berth from '../targets/berth.mjs';

export const id = 'snapshot-apply';
export const title = 'Snapshot apply: 10,000 routes';

function rssMb(pid) {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return kb / 1024;
  } catch {
    return Number.NaN;
  }
}

/** The `time` of the first JSON log line with `msg` and `version`, and the line itself. */
function findLogLine(lines, msg, version) {
  for (const l of lines) {
    if (!l.startsWith('{')) continue;
    try {
      const j = JSON.parse(l);
      if (j.msg === msg && j.version === version) return j;
    } catch {
      // not JSON
    }
  }
  return null;
}

export async function run(ctx) {
  const count = ctx.opts.routes;
  ctx.log('starting Berth with one route');
  const t = await berth.start(ctx, {
    host: KEEP_ALIVE_HOST,
    routesYaml: berthRoutesYaml([KEEP_ALIVE_HOST], ctx.backend.url),
    tag: 'berth-apply',
  });
  const rounds = [];
  let snapshotBytes = Number.NaN;
  try {
    const version = async () => (await t.api('/api/v1/snapshot')).version;
    for (let r = 0; r < ctx.opts.applyRounds; r++) {
      const before = await version();
      // Every round renames every route, so the node rebuilds the whole table, as a first apply would.
      const gen = r + 1;
      const yaml = berthRoutesYaml(hostsFor(count, gen), ctx.backend.url);
      // Written beside, then renamed in: the provider never reads a half-written file.
      const staging = join(t.routesFile, '..', '..', `routes-${gen}.yaml`);
      await writeFile(staging, yaml);
      const writtenAt = Date.now();
      await rename(staging, t.routesFile);
      const acked = await waitFor(
        async () => {
          const nodes = await t.api('/api/v1/nodes');
          const n = nodes[0];
          return n && n.appliedVersion > before && n.lastAck ? n : null;
        },
        120_000,
        () => `${t.controller.output().slice(-3000)}\n${t.node.output().slice(-3000)}`,
        10,
      );
      const seenAt = Date.now();
      const snap = await t.api('/api/v1/snapshot');
      const v = acked.appliedVersion;
      const createdAt = snap.version === v ? Date.parse(snap.createdAt) : Number.NaN;
      const applied = await waitFor(
        () => findLogLine(t.nodeLines, 'applied snapshot', v),
        10_000,
        () => t.node.output().slice(-3000),
      );
      const published = findLogLine(t.controllerLines, 'published snapshot', v);
      const m = {
        version: v,
        routers: published?.routers ?? Number.NaN,
        writeToPublishMs: published ? published.time - writtenAt : Number.NaN,
        publishToAckMs: Date.parse(acked.lastAck.at) - createdAt,
        writeToAckSeenMs: seenAt - writtenAt,
        nodeApplyMs: applied.applyMs,
        nodeRssMb: rssMb(t.pid),
      };
      rounds.push(m);
      ctx.log(
        `apply ${r + 1}/${ctx.opts.applyRounds}: v${v}, publish→ACK ${fmtMs(m.publishToAckMs)}, node applyMs ${fmtMs(m.nodeApplyMs)}`,
      );
      // Still routing afterwards: the newest table answers for one of its hosts.
      await expectOk(t.port, routeHost(count - 1, gen), 10_000);
    }
    try {
      const res = await t.api('/api/v1/snapshot/body');
      snapshotBytes = Buffer.byteLength(JSON.stringify(res));
    } catch {
      // size stays unknown
    }
  } finally {
    await t.stop();
  }
  return { count, rounds, snapshotBytes };
}

export function summary(result) {
  const keys = ['writeToPublishMs', 'publishToAckMs', 'writeToAckSeenMs', 'nodeApplyMs', 'nodeRssMb'];
  return Object.fromEntries(keys.map((k) => [k, summarise(result.rounds, k)]));
}

export function render(result) {
  const s = summary(result);
  return [
    `Each round renames all ${fmtInt(result.count)} routes (one router and one service each) in the file provider's file ` +
      `(snapshot JSON ${fmtInt(result.snapshotBytes / 1024)} KiB), so the node rebuilds its whole routing table. ` +
      'Times are medians (min–max) over the rounds.',
    '',
    '| step | time |',
    '|---|---:|',
    `| file renamed in → controller published (debounce + parse + compile + store) | ${spread(s.writeToPublishMs, fmtMs)} |`,
    `| **controller publish → node ACK** (snapshot \`createdAt\` → \`lastAck.at\` from \`/api/v1/snapshot\` and \`/api/v1/nodes\`) | ${spread(s.publishToAckMs, fmtMs)} |`,
    `| node's own \`applyMs\` (its \`applied snapshot\` log line: build runtime + swap) | ${spread(s.nodeApplyMs, fmtMs)} |`,
    `| file renamed in → ACK seen by polling the API every 10 ms | ${spread(s.writeToAckSeenMs, fmtMs)} |`,
    `| node RSS after the apply | ${spread(s.nodeRssMb, (x) => `${x.toFixed(0)} MiB`)} |`,
  ].join('\n');
}
