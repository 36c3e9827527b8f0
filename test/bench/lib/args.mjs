// Command-line flags of `npm run bench`: rounds, duration, connections, scenarios, output paths.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm run bench -- [options]

  --rounds <n>         measured rounds per configuration (default 5; --quick: 1)
  --duration <s>       seconds of load per round (default 10; --quick: 3)
  --warmup <s>         seconds of unmeasured load before the rounds of each proxy (default 3; --quick: 1)
  --connections <n>    wrk keep-alive connections (default 50)
  --threads <n>        wrk threads, all on the load generator's CPU (default 1)
  --apply-rounds <n>   10,000-route snapshots applied (default 5; --quick: 2)
  --routes <n>         the large route count (default 10000)
  --scenarios <list>   comma-separated subset of: keep-alive,node-floor,route-lookup,snapshot-apply,profile
  --quick              a short run to check the harness works; numbers are not worth quoting
  --out <file>         markdown report (default docs/bench/http.md)
  --json <file>        raw results (default: the report's path with .json)
  --proxy-cpu <n>      CPU the proxy under test is pinned to (default 1)
  --load-cpu <n>       CPU of wrk and the backend (default 0)
  --render <json>      only rewrite the report from a previous run's JSON (e.g. after editing
                       docs/bench/http-recommendations.md); measures nothing
  --help               this text
`;

export const ALL_SCENARIOS = ['keep-alive', 'node-floor', 'route-lookup', 'snapshot-apply', 'profile'];

/** Parses argv into options; throws an Error with a readable message on bad flags. */
export function parseBenchArgs(argv, root) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string' },
      'apply-rounds': { type: 'string' },
      routes: { type: 'string' },
      scenarios: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      json: { type: 'string' },
      'proxy-cpu': { type: 'string' },
      'load-cpu': { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const quick = values.quick === true;
  const int = (name, fallback, min) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} expects an integer ≥ ${min}, got '${raw}'`);
    return n;
  };
  const scenarios =
    values.scenarios === undefined ? ALL_SCENARIOS : values.scenarios.split(',').map((s) => s.trim());
  for (const s of scenarios) {
    if (!ALL_SCENARIOS.includes(s))
      throw new Error(`unknown scenario '${s}' (known: ${ALL_SCENARIOS.join(', ')})`);
  }
  const out = resolve(root, values.out ?? 'docs/bench/http.md');
  return {
    help: values.help === true,
    render: values.render === undefined ? null : resolve(root, values.render),
    quick,
    rounds: int('rounds', quick ? 1 : 5, 1),
    durationS: int('duration', quick ? 3 : 10, 1),
    warmupS: int('warmup', quick ? 1 : 3, 0),
    connections: int('connections', 50, 1),
    threads: int('threads', 1, 1),
    applyRounds: int('apply-rounds', quick ? 2 : 5, 1),
    routes: int('routes', 10_000, 11),
    scenarios,
    out,
    json: resolve(root, values.json ?? out.replace(/\.md$/, '.json')),
    proxyCpu: int('proxy-cpu', 1, 0),
    loadCpu: int('load-cpu', 0, 0),
    argv,
  };
}
