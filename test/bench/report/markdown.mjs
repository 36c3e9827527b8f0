// Assembles docs/bench/http.md: how to read it, the machine, the targets, one section per scenario.
import { fmtInt } from './format.mjs';
import { evaluateTargets } from './targets.mjs';

const HOW_TO_READ = `How to read this report: it is written by \`npm run bench\`, which runs Berth, HAProxy and nginx
one after the other on this machine against the same nginx backend with the same load generator (wrk),
each proxy pinned to one CPU and the load generator plus the backend pinned to the other. Every number
is the median of several rounds (spread in parentheses), because the machine is shared and noisy;
compare ratios against HAProxy rather than absolute numbers, which depend on the machine. "CPU /
request" is the proxy's own utime+stime (all its processes and threads) over the requests it
completed, the fairest single number for a proxy's efficiency. The "Saturation and noise" table tells
whether a proxy was really the bottleneck: when the load CPU is near 100% the fastest proxy's req/s is
understated. The targets come from issue 4; the profile and recommendations at the end say where
Berth's CPU goes and what to change.`;

export function renderReport({
  opts,
  env,
  startedAt,
  finishedAt,
  results,
  errors,
  scenarios,
  recommendations,
}) {
  const out = [];
  out.push('# Berth HTTP benchmark', '', HOW_TO_READ, '');
  out.push('## Machine and run', '');
  out.push(
    `- date: ${startedAt.toISOString()} → ${finishedAt.toISOString()}`,
    `- machine: ${env.machine.nproc} CPUs, ${env.machine.model}, Linux ${env.machine.kernel}`,
    `- versions: Node ${env.versions.node}, HAProxy ${env.versions.haproxy}, nginx ${env.versions.nginx}, wrk ${env.versions.wrk}`,
    `- load average (1/5/15 min) before: ${env.loadBefore}; after: ${env.loadAfter}`,
    `- pinning: proxy under test on CPU ${opts.proxyCpu}; wrk, the backend nginx and Berth's controller on CPU ${opts.loadCpu}`,
    `- rounds: ${opts.rounds} × ${opts.durationS} s per proxy (after ${opts.warmupS} s warm-up), wrk ${opts.threads} thread(s), ${opts.connections} connections; ${opts.applyRounds} snapshot applies of ${fmtInt(opts.routes)} routes${opts.quick ? '; **--quick run: numbers are indicative only**' : ''}`,
    `- command: \`npm run bench${opts.argv.length ? ` -- ${opts.argv.join(' ')}` : ''}\``,
    '',
  );
  out.push('## Targets (issue 4)', '');
  out.push('| target | measured | verdict |', '|---|---|---|');
  for (const row of evaluateTargets(results))
    out.push(`| ${row.target} | ${row.measured} | ${row.verdict} |`);
  out.push('');
  for (const s of scenarios) {
    out.push(`## ${s.title}`, '');
    if (results[s.id]) out.push(s.render(results[s.id]), '');
    else if (errors[s.id])
      out.push(`Not measured: the scenario failed: \`${errors[s.id].split('\n')[0]}\``, '');
    else out.push('Not run (not selected with `--scenarios`).', '');
  }
  if (recommendations) out.push(recommendations.trim(), '');
  out.push(
    '## How to rerun',
    '',
    '```sh',
    'sudo apt-get install -y haproxy nginx wrk   # Debian packages; util-linux provides taskset',
    'npm ci',
    'npm run bench                                # full run, about 15 minutes; rewrites this file',
    'npm run bench -- --quick                     # about 4 minutes, to check the harness',
    'npm run bench -- --rounds 7 --duration 15 --scenarios keep-alive,route-lookup',
    'npm run bench -- --render docs/bench/http.json   # rebuild this file from the saved numbers',
    'node test/bench/profile/summarise-cpuprofile.mjs <file.cpuprofile>   # any V8 CPU profile',
    '```',
    '',
    'Run it on a quiet machine (check `uptime`); the raw per-round numbers are written next to this file as JSON.',
    'The harness lives in `test/bench/` (one module per scenario in `scenarios/`, one per proxy in `targets/`).',
    '',
  );
  return out.join('\n');
}
