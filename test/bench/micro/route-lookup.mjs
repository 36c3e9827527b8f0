#!/usr/bin/env node
import { SNAPSHOT_SCHEMA } from '@berth/protocol';
// In-process route lookup and runtime build timings through @berth/proxy's public API, as JSON on stdout.
// Usage: node test/bench/micro/route-lookup.mjs <count>...   (run pinned, like the proxies)
import { buildRuntime, routeRequest } from '@berth/proxy';

const BATCH = 1_000_000;
const BATCHES = 5;

function body(count) {
  const routers = {};
  const services = {};
  for (let i = 0; i < count; i++) {
    routers[`r${i}`] = { rule: `Host(\`r${i}.bench.test\`)`, service: `s${i}`, entryPoints: ['web'] };
    services[`s${i}`] = { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } };
  }
  return {
    schema: SNAPSHOT_SCHEMA,
    entryPoints: { web: { address: '127.0.0.1:0' } },
    http: { routers, services },
  };
}

function view(host) {
  return { host, path: '/', method: 'GET', headers: { host }, query: '', clientIp: '127.0.0.1' };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Nanoseconds per routeRequest() call, median of several batches after a warm-up batch. */
function lookupNs(runtime, req, expectFound) {
  const found = routeRequest(runtime, 'web', req);
  if (Boolean(found) !== expectFound) throw new Error(`lookup of ${req.host}: expected found=${expectFound}`);
  const batches = [];
  for (let b = 0; b <= BATCHES; b++) {
    let hits = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) if (routeRequest(runtime, 'web', req)) hits++;
    const ns = Number(process.hrtime.bigint() - t0) / BATCH;
    if (hits !== (expectFound ? BATCH : 0)) throw new Error('lookup result changed between calls');
    if (b > 0) batches.push(ns);
  }
  return median(batches);
}

const out = [];
for (const count of process.argv.slice(2).map(Number)) {
  const b = body(count);
  const builds = [];
  let runtime;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const r = buildRuntime(b);
    builds.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!r.ok) throw new Error(`buildRuntime refused ${count} routes: ${r.code} ${r.error}`);
    runtime = r.runtime;
  }
  out.push({
    count,
    buildMs: median(builds),
    hitNs: lookupNs(runtime, view(`r${Math.floor(count / 2)}.bench.test`), true),
    missNs: lookupNs(runtime, view('absent.bench.test'), false),
  });
}
process.stdout.write(`${JSON.stringify(out)}\n`);
