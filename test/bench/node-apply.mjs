#!/usr/bin/env node
// Issue 13: node apply time of a one-route change at N routes, through DataPlane.apply (build, swap,
// health, TLS, pools): after a full snapshot (every subtree a fresh object, as a full frame or a worker
// receives it) and after a delta (unchanged subtrees shared with the previous body, as applyDelta gives,
// and the delta's ops passed along, as the agent passes them). The whole path of a delta through the
// agent (frame → ACK) and memory across 100 of them: node-delta-path.mjs.
// Usage: node test/bench/node-apply.mjs [routes=10000]  (after `npx tsc -b`).
import { applyDelta, diffSnapshot } from '@berth/protocol';
import { DataPlane } from '@berth/proxy';
import { pino } from 'pino';
import { Cluster } from '../dist/helpers/cluster.js';
import { compiledOneRouteChange } from './lib/compiled-change.mjs';

const count = Number(process.argv[2] ?? 10_000);
const runs = 7;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const cluster = await Cluster.create();
let baseBody;
let nextBody;
try {
  [baseBody, nextBody] = (await compiledOneRouteChange(cluster, count)).map((s) => s.body);
} finally {
  await cluster.close();
}

const ops = diffSnapshot(baseBody, nextBody);
const baseText = JSON.stringify(baseBody);
const nextText = JSON.stringify(nextBody);
const overrides = Object.fromEntries(Object.keys(baseBody.entryPoints).map((n) => [n, '127.0.0.1:0']));
const plane = new DataPlane({ logger: pino({ enabled: false }), entryPointOverrides: overrides });
// Wall time, and the process's CPU time (steadier on a shared machine: another process's load
// stretches the first, hardly the second).
const cpu = [];
const timed = async (body, change) => {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  const r = await plane.apply(body, undefined, change);
  const used = process.cpuUsage(c);
  if (!r.ok) throw new Error(r.error);
  cpu.push((used.user + used.system) / 1000);
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const fullCpu = [];
const deltaCpu = [];
const first = await timed(JSON.parse(baseText));
const full = [];
const delta = [];
for (let i = 0; i < runs; i++) {
  // Full: the base then the next body, both parsed afresh (no shared objects).
  await timed(JSON.parse(baseText));
  full.push(await timed(JSON.parse(nextText)));
  fullCpu.push(cpu.at(-1));
  // Delta: the next body built on the live base with the delta's ops, and the change given (as the
  // agent gives it), so the node rebuilds only what the ops name.
  const base = JSON.parse(baseText);
  await timed(base);
  delta.push(await timed(applyDelta(base, ops), { base, ops }));
  deltaCpu.push(cpu.at(-1));
}
await plane.close();
console.log(`routes: ${count} → ${count + 1}; ops: ${ops.length}`);
console.log(
  `node apply (DataPlane.apply, median of ${runs}): first ${first.toFixed(1)} ms, one-route change as full snapshot ${median(full).toFixed(1)} ms, as delta ${median(delta).toFixed(1)} ms`,
);
console.log(
  `node apply CPU time (median): full snapshot ${median(fullCpu).toFixed(1)} ms, delta ${median(deltaCpu).toFixed(1)} ms`,
);
