// The access log: one pino JSON line per request, sampled, never with headers or the query string.
import type { AccessLogSettings } from '@berth/config';
import type { Logger } from 'pino';
import type { RequestRecord } from '../http/context.js';

/** Paths longer than this are cut, so one request cannot write an unbounded log line. */
const MAX_PATH = 2048;

export interface AccessLogLineOptions {
  /** Keep the query string in `path`; off by default because queries often carry tokens. */
  includeQuery?: boolean;
}

const ms = (ns: bigint): number => Math.round(Number(ns) / 1000) / 1000;

/**
 * Writes one line for `ctx`, unconditionally. Headers are never logged: Authorization, Cookie and
 * friends carry secrets, and the fields below say what an operator needs.
 */
export function logAccess(
  logger: Logger,
  ctx: RequestRecord,
  endedAt: bigint,
  options: AccessLogLineOptions = {},
): void {
  const log = ctx.log;
  // A tunnel's line is written when it closes (see AccessLog.write): its whole life, both ways.
  const tunnel = log.tunnel;
  const url = ctx.req.url ?? '/';
  let path = options.includeQuery ? url : (url.split('?', 1)[0] ?? '/');
  if (path.length > MAX_PATH) path = `${path.slice(0, MAX_PATH)}…`;
  logger.info(
    {
      entryPoint: log.entryPoint,
      router: log.router,
      service: log.service,
      server: log.server,
      status: log.status,
      durationMs: ms(endedAt - ctx.startedAt),
      upstreamMs: log.upstreamHeadersAt === undefined ? undefined : ms(log.upstreamHeadersAt - ctx.startedAt),
      bytesOut: tunnel === undefined ? (log.bytesOut ?? 0) : tunnel.bytesOut,
      bytesIn: tunnel?.bytesIn,
      method: ctx.req.method,
      host: ctx.view.host,
      path,
      clientIp: ctx.clientIp,
      attempts: log.attempts,
      redispatches: log.redispatches,
      error: log.error,
    },
    'access',
  );
}

/**
 * Whether to log a request: only when the snapshot enables the access log (it is off without an
 * `accessLog` section, as in Traefik); errors (5xx, or no response at all) always, the rest sampled.
 */
export function shouldLog(
  settings: AccessLogSettings | undefined,
  status: number | undefined,
  random: () => number,
): boolean {
  if (settings === undefined || settings.enabled === false) return false;
  if (status === undefined || status >= 500) return true;
  const sampling = settings.sampling ?? 1;
  if (!(sampling > 0)) return false;
  return sampling >= 1 || random() < sampling;
}

export interface AccessLogOptions extends AccessLogLineOptions {
  settings?: AccessLogSettings;
  /** For tests: a deterministic source of sampling decisions. */
  random?: () => number;
}

/** The data plane's access log; `update` takes each applied snapshot's `accessLog` settings. */
export class AccessLog {
  readonly #logger: Logger;
  readonly #random: () => number;
  readonly #line: AccessLogLineOptions;
  #settings: AccessLogSettings | undefined;

  constructor(logger: Logger, options: AccessLogOptions = {}) {
    this.#logger = logger.child({ component: 'access' });
    this.#random = options.random ?? Math.random;
    this.#settings = options.settings;
    this.#line = options.includeQuery === undefined ? {} : { includeQuery: options.includeQuery };
  }

  update(settings: AccessLogSettings | undefined): void {
    this.#settings = settings;
  }

  /**
   * Call once per request when it ends. An upgraded request (101) ends there but its tunnel
   * lives on: its line waits for the tunnel to close, so it says how long and how much.
   */
  write(ctx: RequestRecord, endedAt: bigint): void {
    if (!shouldLog(this.#settings, ctx.log.status, this.#random)) return;
    const tunnel = ctx.log.tunnel;
    if (tunnel === undefined) logAccess(this.#logger, ctx, endedAt, this.#line);
    else void tunnel.closed.then((closedAt) => logAccess(this.#logger, ctx, closedAt, this.#line));
  }
}
