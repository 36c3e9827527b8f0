// Active health check configuration resolved against one server: what to probe, how often, what counts as healthy.
import { type HttpHealthCheck, parseDuration } from '@berth/config';
import { parseStatusSpec, type StatusMatcher } from './status-spec.js';

/** TLS options of probes to https servers, from the service's `serversTransport`. */
export interface ProbeTls {
  /** PEM text of the CAs to trust instead of the system's. */
  ca?: string[];
  servername?: string;
  rejectUnauthorized: boolean;
  /** The transport's TLS versions and suites, so a probe connects as requests do. */
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
}

export interface ActiveSettings {
  /** `http`: a request whose status decides; `grpc`: grpc.health.v1.Health/Check over HTTP/2. */
  mode: 'http' | 'grpc';
  url: URL;
  method: string;
  headers: Record<string, string>;
  intervalMs: number;
  /** Interval while the server is down. */
  unhealthyIntervalMs: number;
  timeoutMs: number;
  followRedirects: boolean;
  healthy: StatusMatcher;
  tls?: ProbeTls;
  /** Equal keys mean equal settings: an unchanged check keeps running untouched. */
  key: string;
}

/** Traefik's defaults. */
export const ACTIVE_DEFAULTS = { intervalMs: 30_000, timeoutMs: 5_000 } as const;
/** A zero or tiny interval would turn a probe loop into a busy loop. */
const MIN_INTERVAL_MS = 10;

export type ActiveResolve = { ok: true; settings: ActiveSettings } | { ok: false; error: string };

function durationOr(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  return ms === null ? fallback : ms;
}

export function resolveActive(serverUrl: string, hc: HttpHealthCheck): ActiveResolve {
  const healthy = parseStatusSpec(hc.status);
  if (healthy === null) return { ok: false, error: `invalid expected status "${hc.status}"` };
  let url: URL;
  try {
    const server = new URL(serverUrl);
    // An `h2c://` server's origin is "null" to URL parsing: probe it at its plain-http address.
    url = new URL(hc.path ?? '/', server.protocol === 'h2c:' ? `http://${server.host}` : server.origin);
    // `h2c` (Traefik's plain-text gRPC) is plain http to URL parsing.
    const scheme = hc.scheme?.replace(/:$/, '');
    if (scheme) url.protocol = `${scheme === 'h2c' ? 'http' : scheme}:`;
    if (hc.port !== undefined) url.port = String(hc.port);
  } catch {
    return { ok: false, error: `cannot build a probe URL from ${JSON.stringify(serverUrl)}` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { ok: false, error: `unsupported probe scheme "${url.protocol}"` };
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(hc.headers ?? {})) headers[name.toLowerCase()] = String(value);
  if (hc.hostname) headers['host'] = hc.hostname;
  const intervalMs = Math.max(MIN_INTERVAL_MS, durationOr(hc.interval, ACTIVE_DEFAULTS.intervalMs));
  const unhealthyIntervalMs = Math.max(MIN_INTERVAL_MS, durationOr(hc.unhealthyInterval, intervalMs));
  const timeoutMs = Math.max(1, durationOr(hc.timeout, ACTIVE_DEFAULTS.timeoutMs));
  const method = (hc.method ?? 'GET').toUpperCase();
  const followRedirects = hc.followRedirects ?? true;
  const sortedHeaders = Object.entries(headers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const mode = hc.mode ?? 'http';
  const key = JSON.stringify([
    mode,
    url.href,
    method,
    sortedHeaders,
    intervalMs,
    unhealthyIntervalMs,
    timeoutMs,
    followRedirects,
    hc.status ?? '',
  ]);
  return {
    ok: true,
    settings: {
      mode,
      url,
      method,
      headers,
      intervalMs,
      unhealthyIntervalMs,
      timeoutMs,
      followRedirects,
      healthy,
      key,
    },
  };
}
