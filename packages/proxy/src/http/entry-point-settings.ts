// An entry point's snapshot options turned into the numbers the listener applies. Pure.
import type { EntryPoint } from '@berth/config';
import { CidrSet, parseDuration } from '@berth/config';

/** Whose X-Forwarded-* and X-Real-Ip headers are believed. */
export interface ForwardedTrust {
  /** Every client is trusted (`forwardedHeaders.insecure`). */
  insecure: boolean;
  /** Trusted peers; `null` when none are configured. */
  trustedIPs: CidrSet | null;
}

export interface EntryPointSettings {
  /** Whole request (head and body) from the client; 0: none. */
  readTimeoutMs: number;
  /** Whole response to the client; 0: none. */
  writeTimeoutMs: number;
  /** Keep-alive idle time between requests. */
  idleTimeoutMs: number;
  /** Largest request head; a bigger one gets 431. */
  maxHeaderBytes: number;
  /** Most header lines in a request head (HTTP/1.1 and HTTP/2); more gets 431. */
  maxHeaderCount: number;
  /** How long requests in flight may finish when the entry point closes. */
  graceTimeoutMs: number;
  forwarded: ForwardedTrust;
  /** Streams one HTTP/2 connection may have open at once. */
  h2MaxConcurrentStreams: number;
  /** HTTP/2 liveness of connections with open streams (see h2-liveness.ts). */
  h2KeepAlive: H2KeepAlive;
  /** `http.redirections.entryPoint`: every request goes elsewhere (ACME HTTP-01 paths excepted). */
  redirect: EntryPointRedirect | null;
}

export interface H2KeepAlive {
  /** Silence from the client, with streams open, before a PING; 0: never PING. */
  intervalMs: number;
  /** How long the PING's answer may take before the connection is closed. */
  timeoutMs: number;
}

export interface EntryPointRedirect {
  scheme: string;
  /** Port of the target entry point's configured address; undefined when it has none. */
  port: string | undefined;
  permanent: boolean;
  /** Routers with a higher priority are served instead of redirected. */
  priority: number;
}

/** As Traefik: the redirecting router outranks every user router unless a priority is given. */
export const REDIRECT_DEFAULT_PRIORITY = Number.MAX_SAFE_INTEGER - 1;

export const DEFAULT_READ_TIMEOUT_MS = 60_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 180_000;
export const DEFAULT_GRACE_TIMEOUT_MS = 10_000;
/** Traefik's default; Node's own (unlimited) lets one client open streams without bound. */
export const DEFAULT_H2_MAX_CONCURRENT_STREAMS = 250;
/**
 * Envoy and Go leave HTTP/2 PINGs off unless asked; off, a vanished client's streams and their
 * upstream requests stay open for as long as the backend writes (an SSE stream: forever, since
 * every write succeeds into the kernel's buffer until TCP gives up, ~15 min). 30 s of silence,
 * then 15 s for the answer (Go's PingTimeout default) finds one within 45–75 s, for one 17-byte
 * frame each way per quiet interval.
 */
export const DEFAULT_H2_KEEP_ALIVE_INTERVAL_MS = 30_000;
export const DEFAULT_H2_KEEP_ALIVE_TIMEOUT_MS = 15_000;
/**
 * 64 KiB: Node's 16 KiB refuses the large cookies real sites send, and Traefik's 1 MiB lets one
 * client pin a megabyte per connection; HAProxy's default buffer (16 KiB) and nginx's large
 * buffers (4 × 8 KiB) sit below this, so anything they accept passes here too.
 */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024;
/**
 * HAProxy's limit (101 with the request line). Bytes alone do not bound it: 1,000 tiny headers
 * fit in 9 KB, and a backend that keeps only the first N headers (node:http, Express: 1,000)
 * would then never see the X-Forwarded-For and X-Real-Ip a proxy adds.
 */
export const DEFAULT_MAX_HEADER_COUNT = 100;

const NO_TRUST: ForwardedTrust = { insecure: false, trustedIPs: null };

/** Settings for `ep`; a value that does not parse (validation should have caught it) keeps its default. */
export function entryPointSettings(
  ep: EntryPoint | undefined,
  all: Readonly<Record<string, EntryPoint>> = {},
): EntryPointSettings {
  const timeouts = ep?.transport?.respondingTimeouts;
  const forwarded = ep?.forwardedHeaders;
  let trust = NO_TRUST;
  if (forwarded?.insecure) trust = { insecure: true, trustedIPs: null };
  else if (forwarded?.trustedIPs?.length) {
    const { set } = CidrSet.parse(forwarded.trustedIPs);
    if (set.size > 0) trust = { insecure: false, trustedIPs: set };
  }
  const maxHeader = ep?.http?.maxHeaderBytes;
  return {
    readTimeoutMs: durationMs(timeouts?.readTimeout, DEFAULT_READ_TIMEOUT_MS),
    writeTimeoutMs: durationMs(timeouts?.writeTimeout, 0),
    idleTimeoutMs: durationMs(timeouts?.idleTimeout, DEFAULT_IDLE_TIMEOUT_MS),
    maxHeaderBytes:
      typeof maxHeader === 'number' && Number.isInteger(maxHeader) && maxHeader > 0
        ? maxHeader
        : DEFAULT_MAX_HEADER_BYTES,
    maxHeaderCount: positiveInteger(ep?.http?.maxHeaderCount) ?? DEFAULT_MAX_HEADER_COUNT,
    graceTimeoutMs: durationMs(ep?.transport?.lifeCycle?.graceTimeOut, DEFAULT_GRACE_TIMEOUT_MS),
    forwarded: trust,
    h2MaxConcurrentStreams:
      positiveInteger(ep?.http2?.maxConcurrentStreams) ?? DEFAULT_H2_MAX_CONCURRENT_STREAMS,
    h2KeepAlive: keepAlive(ep?.http2?.keepAlive),
    redirect: redirection(ep, all),
  };
}

function keepAlive(ka: { interval?: string; timeout?: string } | undefined): H2KeepAlive {
  const timeoutMs = durationMs(ka?.timeout, DEFAULT_H2_KEEP_ALIVE_TIMEOUT_MS);
  return {
    intervalMs: durationMs(ka?.interval, DEFAULT_H2_KEEP_ALIVE_INTERVAL_MS),
    timeoutMs: timeoutMs > 0 ? timeoutMs : DEFAULT_H2_KEEP_ALIVE_TIMEOUT_MS,
  };
}

function positiveInteger(value: number | undefined): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** The port of `:443`, `0.0.0.0:443` or `[::]:443`; undefined when there is none. */
function portOf(address: string): string | undefined {
  const match = /:(\d{1,5})(?:\/tcp)?$/i.exec(address);
  // `:0` (any free port, in tests) says nothing about where clients should go.
  return match?.[1] === '0' ? undefined : match?.[1];
}

function redirection(
  ep: EntryPoint | undefined,
  all: Readonly<Record<string, EntryPoint>>,
): EntryPointRedirect | null {
  const to = ep?.http?.redirections?.entryPoint;
  if (to === undefined || to.to === '') return null;
  const target = Object.hasOwn(all, to.to) ? all[to.to] : undefined;
  const port = target !== undefined ? portOf(target.address) : portOf(to.to);
  return {
    scheme: (to.scheme ?? 'https').toLowerCase(),
    port,
    permanent: to.permanent ?? true,
    priority: to.priority !== undefined && to.priority > 0 ? to.priority : REDIRECT_DEFAULT_PRIORITY,
  };
}

/** Milliseconds of a configured duration, or `fallback` when absent or unreadable. */
export function durationMs(value: string | number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value);
  return ms === null ? fallback : Math.round(ms);
}
