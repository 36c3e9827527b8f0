// The glue between acme-client's HTTP layer (one axios instance per process) and Berth's orders.
// acme-client turns every CA problem into a plain Error with the detail text only, and loses a
// connection error entirely; the interceptors here record, per order (AsyncLocalStorage), the last
// problem document the CA sent (type, status, Retry-After) and whether a request got no answer, so
// failures can be classified with stable codes. They also give each order its resolver's HTTPS
// trust (caCertificates) and a request timeout.
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Agent, request as httpsRequest } from 'node:https';
import * as acme from 'acme-client';

export interface AcmeProblem {
  /** `urn:ietf:params:acme:error:...`, or null when the CA sent no type. */
  type: string | null;
  detail: string;
  status: number;
  retryAfterMs: number | null;
}

export interface AcmeCallContext {
  agent: Agent | undefined;
  timeoutMs: number;
  /** The problem in the CA's last answer; cleared by a later good answer. */
  lastProblem: AcmeProblem | null;
  /** The request sent and not answered yet (`POST url`); set when the CA could not be reached. */
  inFlight: string | null;
}

const calls = new AsyncLocalStorage<AcmeCallContext>();
let installed = false;

interface AxiosLikeConfig {
  url?: string;
  method?: string;
  timeout?: number;
  httpsAgent?: unknown;
}

interface AxiosLikeResponse {
  status: number;
  headers: Record<string, unknown>;
  data: unknown;
}

function install(): void {
  if (installed) return;
  installed = true;
  // acme-client retries a failed request itself, up to 5 times with 5 s × n waits, blocking the
  // order for over a minute per request; Berth's renewal plan owns retries (backoff, Retry-After),
  // so the library answers at once. Berth is the only user of acme-client in its process.
  const defaults = acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number } };
  if (defaults.acmeSettings) defaults.acmeSettings.retryMaxAttempts = 0;
  acme.axios.interceptors.request.use((config) => {
    const ctx = calls.getStore();
    if (ctx) {
      const c = config as AxiosLikeConfig;
      if (ctx.agent) c.httpsAgent = ctx.agent;
      c.timeout = ctx.timeoutMs;
      ctx.inFlight = `${(c.method ?? 'get').toUpperCase()} ${c.url ?? ''}`;
    }
    return config;
  });
  acme.axios.interceptors.response.use((response) => {
    const ctx = calls.getStore();
    if (ctx) {
      ctx.inFlight = null;
      ctx.lastProblem = problemOf(response as AxiosLikeResponse);
    }
    return response;
  });
}

/** Runs `fn` (acme-client calls) with `ctx` recording what the CA answered. */
export function withAcmeCalls<T>(ctx: AcmeCallContext, fn: () => Promise<T>): Promise<T> {
  install();
  return calls.run(ctx, fn);
}

/** The problem an answer carries: an error document, or an object whose status is `invalid`. */
export function problemOf(response: AxiosLikeResponse): AcmeProblem | null {
  const data = (response.data ?? null) as Record<string, unknown> | null;
  const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
  if (response.status >= 400) {
    const type = data && typeof data['type'] === 'string' ? data['type'] : null;
    const detail = data && typeof data['detail'] === 'string' ? data['detail'] : `HTTP ${response.status}`;
    return { type, detail, status: response.status, retryAfterMs };
  }
  if (data && typeof data === 'object' && data['status'] === 'invalid') {
    // A challenge carries `error`; an authorization carries it on its failed challenge.
    const challenges = Array.isArray(data['challenges'])
      ? (data['challenges'] as Record<string, unknown>[])
      : [];
    const error = (data['error'] ?? challenges.find((c) => c['error'])?.['error']) as
      | Record<string, unknown>
      | undefined;
    return {
      type: typeof error?.['type'] === 'string' ? error['type'] : null,
      detail: typeof error?.['detail'] === 'string' ? error['detail'] : 'status invalid',
      status: response.status,
      retryAfterMs,
    };
  }
  return null;
}

/** Retry-After as seconds or an HTTP date, in ms from now; null when absent or unreadable. */
export function parseRetryAfter(header: unknown, now = Date.now()): number | null {
  if (typeof header !== 'string' || header.trim() === '') return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** Why the CA's directory cannot be fetched, or null when it can (used after a request got no answer). */
export function probeDirectory(
  url: string,
  agent: Agent | undefined,
  timeoutMs: number,
): Promise<string | null> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      url,
      { method: 'GET', timeout: timeoutMs, ...(agent ? { agent } : {}) },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200 ? null : `the directory answered HTTP ${res.statusCode}`);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code ? `${err.code}: ${err.message}` : err.message),
    );
    req.end();
  });
}
