// Runs wrk pinned to the load generator's CPU and parses its text output (wrk has no JSON mode).
import { runToEnd } from './processes.mjs';

const UNIT_TO_US = { us: 1, ms: 1000, s: 1_000_000, m: 60_000_000 };

function durationToUs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  return m ? Number(m[1]) * UNIT_TO_US[m[2]] : Number.NaN;
}

/** Pure: wrk's stdout → numbers. Exported for checking against saved output. */
export function parseWrkOutput(text) {
  const num = (re) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(text);
    return m ? durationToUs(m[1]) : Number.NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: num(/(\d+) requests in/),
    reqPerSec: num(/Requests\/sec:\s+([\d.]+)/),
    p50Us: pct(50),
    p75Us: pct(75),
    p90Us: pct(90),
    p99Us: pct(99),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/) || 0,
    socketErrors: socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
  };
}

/** One wrk run: keep-alive HTTP/1.1 GETs of `url` with the given Host header. */
export async function runWrk({ url, host, connections, threads, durationS, cpu }) {
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${durationS}s`,
    '--latency',
    '--timeout',
    '5s',
    ...(host ? ['-H', `Host: ${host}`] : []),
    url,
  ];
  const { code, output } = await runToEnd('wrk', args, { cpu, timeoutMs: (durationS + 30) * 1000 });
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${output}`);
  const parsed = parseWrkOutput(output);
  if (!Number.isFinite(parsed.requests)) throw new Error(`cannot parse wrk output:\n${output}`);
  return parsed;
}
