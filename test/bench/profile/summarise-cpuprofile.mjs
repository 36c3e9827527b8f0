#!/usr/bin/env node
// Summarises a V8 .cpuprofile: top self-time functions, time by component, inclusive time of Berth code.
// Usage: node test/bench/profile/summarise-cpuprofile.mjs <file.cpuprofile> [topN | --callers <name> [depth]]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** A readable location: repo-relative for our code and dependencies, `node:` ids as they are. */
export function shortUrl(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + 1);
  const pk = url.indexOf('/packages/');
  if (pk >= 0)
    return url
      .slice(pk + 1)
      .replace('/dist/src/', '/src/')
      .replace(/\.js$/, '.ts');
  return url.replace(/^file:\/\//, '');
}

/** Which part of the stack a frame belongs to, for the "where does the time go" table. */
export function componentOf(frame) {
  const { functionName, url } = frame;
  if (SPECIAL.has(functionName)) return functionName;
  if (!url) return '(V8/native builtins)';
  const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm) return `npm: ${nm[1]}`;
  const pk = /\/packages\/([^/]+)\//.exec(url);
  if (pk) return `@berth/${pk[1]}`;
  if (url.startsWith('node:')) {
    if (/^node:(_http_|http$|internal\/http)/.test(url)) return 'node: http';
    if (/^node:(net$|internal\/stream_base_commons|internal\/net|internal\/streams|stream$)/.test(url))
      return 'node: net + streams';
    if (/^node:internal\/(timers|process\/task_queues|async_hooks|process\/)/.test(url))
      return 'node: timers + ticks';
    return 'node: other core';
  }
  return 'other';
}

function keyOf(frame) {
  const name = frame.functionName || '(anonymous)';
  return frame.url ? `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : name;
}

/**
 * Pure: the profile's JSON → aggregated tables (times in microseconds). `window` ({fromUs, toUs},
 * CLOCK_MONOTONIC µs like process.hrtime) keeps only the samples taken inside it, e.g. the load
 * phase without start-up and shutdown; V8 stamps samples with the same clock on Linux.
 */
export function summariseProfile(profile, topN = 25, window = null) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfByNode = new Map();
  const deltas = profile.timeDeltas ?? [];
  let at = profile.startTime;
  let kept = 0;
  profile.samples.forEach((id, i) => {
    at += deltas[i] ?? 0;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    kept++;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + Math.max(0, deltas[i] ?? 0));
  });

  let total = 0;
  let idle = 0;
  const self = new Map();
  const components = new Map();
  for (const [id, us] of selfByNode) {
    const frame = byId.get(id).callFrame;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const key = keyOf(frame);
    const cur = self.get(key) ?? { key, component: componentOf(frame), us: 0 };
    cur.us += us;
    self.set(key, cur);
    const comp = componentOf(frame);
    components.set(comp, (components.get(comp) ?? 0) + us);
  }

  // Inclusive time of our own functions: each sample counts once per distinct function on its stack.
  const inclusive = new Map();
  for (const [id, us] of selfByNode) {
    const seen = new Set();
    for (let cur = id, depth = 0; cur !== undefined && depth < 500; cur = parent.get(cur), depth++) {
      const frame = byId.get(cur).callFrame;
      if (!/\/packages\/[^/]+\//.test(frame.url)) continue;
      const key = keyOf(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }

  const busy = total - idle;
  const share = (us) => (busy > 0 ? us / busy : 0);
  return {
    samples: kept,
    totalUs: total,
    busyUs: busy,
    idleUs: idle,
    topSelf: [...self.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ ...e, share: share(e.us) })),
    components: [...components.entries()]
      .map(([component, us]) => ({ component, us, share: share(us) }))
      .sort((a, b) => b.us - a.us),
    berthInclusive: [...inclusive.entries()]
      .map(([key, us]) => ({ key, us, share: share(us) }))
      .sort((a, b) => b.us - a.us)
      .slice(0, topN),
  };
}

/**
 * Pure: for functions whose key contains `needle`, the most expensive call paths leading to them
 * (self time of the matching frame, by the `depth` frames above it) — to see who pays for a hot builtin.
 */
export function callersOf(profile, needle, depth = 6, topN = 10) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfByNode = new Map();
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => {
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + Math.max(0, deltas[i] ?? 0));
  });
  const paths = new Map();
  for (const [id, us] of selfByNode) {
    if (!keyOf(byId.get(id).callFrame).includes(needle)) continue;
    const chain = [];
    for (let cur = id; cur !== undefined && chain.length <= depth; cur = parent.get(cur)) {
      chain.push(keyOf(byId.get(cur).callFrame));
    }
    const key = chain.join('\n  <- ');
    paths.set(key, (paths.get(key) ?? 0) + us);
  }
  return [...paths.entries()]
    .map(([path, us]) => ({ path, us }))
    .sort((a, b) => b.us - a.us)
    .slice(0, topN);
}

function pct(x) {
  return `${(x * 100).toFixed(1)}%`;
}

/** Markdown tables for the report. */
export function profileTables(summary, topN = 25) {
  const lines = [];
  lines.push('Time by component (self time, share of non-idle CPU):', '');
  lines.push('| component | share |', '|---|---:|');
  const shown = summary.components.slice(0, 12);
  for (const c of shown) lines.push(`| ${c.component} | ${pct(c.share)} |`);
  const rest = summary.components.slice(12).reduce((a, c) => a + c.share, 0);
  if (rest > 0) lines.push(`| ${summary.components.length - 12} others | ${pct(rest)} |`);
  lines.push('', `Top ${topN} functions by self time:`, '');
  lines.push('| # | function (file:line of the compiled JS) | component | self |', '|---:|---|---|---:|');
  summary.topSelf.slice(0, topN).forEach((e, i) => {
    lines.push(`| ${i + 1} | \`${e.key}\` | ${e.component} | ${pct(e.share)} |`);
  });
  lines.push('', 'Berth functions by inclusive time (self + callees):', '');
  lines.push('| function | inclusive |', '|---|---:|');
  for (const e of summary.berthInclusive.slice(0, 15)) lines.push(`| \`${e.key}\` | ${pct(e.share)} |`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: summarise-cpuprofile.mjs <file.cpuprofile> [topN]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  if (process.argv[3] === '--callers') {
    const needle = process.argv[4] ?? '';
    for (const { path, us } of callersOf(profile, needle, Number(process.argv[5] ?? 6))) {
      console.log(`${(us / 1000).toFixed(0)} ms\n  ${path}\n`);
    }
  } else {
    const topN = Number(process.argv[3] ?? 25);
    console.log(profileTables(summariseProfile(profile, topN), topN));
  }
}
