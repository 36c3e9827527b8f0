// The request pipeline's contract: one context per request, handlers, and middlewares that wrap handlers.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { HttpMiddleware, RequestView } from '@berth/config';
import type { Logger } from 'pino';

/** A response body: a stream (piped with backpressure), bytes, or nothing. */
export type ResponseBody = Readable | Buffer | string | null;

/**
 * Writes the response head and body to the client. Middlewares that change responses (headers,
 * compress, buffering, retry, sticky cookies) wrap `ctx.respond` before calling `next`; the
 * innermost `respond` writes to `ctx.res`. A respond resolves when the body has been written
 * (or the client went away) and never rejects.
 */
export type Respond = (status: number, headers: OutgoingHttpHeaders, body: ResponseBody) => Promise<void>;

/** What the access log and metrics record about one request, filled in as it goes. */
export interface RequestLog {
  entryPoint: string;
  router?: string;
  service?: string;
  /** Origin (`http://10.0.0.1:8080`) of the server that answered. */
  server?: string;
  status?: number;
  /** Bytes of response body sent to the client. */
  bytesOut?: number;
  /** hrtime when the upstream response headers arrived. */
  upstreamHeadersAt?: bigint;
  /** Attempts made (retry middleware). */
  attempts?: number;
  /** Servers tried before `server` because their connection failed (load balancer redispatch). */
  redispatches?: number;
  /** A short reason when Berth itself answered (no_route, no_server, upstream_error, timeout, ...). */
  error?: string;
  /** An upgraded connection (WebSocket...): the request ends at the 101, the tunnel lives on. */
  tunnel?: TunnelLog;
}

/** What the access log records of a tunnel, written when it closes. */
export interface TunnelLog {
  /** Bytes from the client to the server after the heads; final once `closed` has resolved. */
  bytesIn: number;
  /** Bytes from the server to the client after the heads. */
  bytesOut: number;
  /** Resolves with the hrtime of the close. */
  closed: Promise<bigint>;
}

/** What the request-end hook (access log, metrics) reads about a finished request. */
export interface RequestRecord {
  readonly log: RequestLog;
  readonly startedAt: bigint;
  readonly view: RequestView;
  readonly clientIp: string;
  readonly req: { readonly method?: string | undefined; readonly url?: string | undefined };
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** What rules matched on. Path-rewriting middlewares update `view.path` together with `target`. */
  view: RequestView;
  /** Origin-form target (`/path?query`) to send upstream; middlewares may rewrite it. */
  target: string;
  /** The client address after PROXY protocol and trusted X-Forwarded-For handling. */
  clientIp: string;
  /** `http` or `https`, as the client spoke to this entry point. */
  scheme: 'http' | 'https';
  readonly startedAt: bigint;
  readonly log: RequestLog;
  respond: Respond;
  /** Request headers to add or override upstream (after hop-by-hop removal and X-Forwarded-*). */
  upstreamHeaders: Record<string, string | undefined>;
  /** Aborted when the client goes away or the request is otherwise abandoned. */
  readonly signal: AbortSignal;
  /**
   * The request body to send upstream instead of reading `req`, when a middleware (buffering)
   * has already read it; its length is then in `upstreamHeaders['content-length']`.
   */
  requestBody?: Readable;
}

/** Handles a request to the end: forwards it, or answers itself through `ctx.respond`. Never rejects. */
export type Handler = (ctx: RequestContext) => Promise<void>;

/** Wraps the next handler. Built once per snapshot and shared by every request. */
export type Middleware = (next: Handler) => Handler;

/** What a middleware factory may use while it builds. */
export interface MiddlewareBuildContext {
  /** The middleware's name in the configuration, for errors and logs. */
  name: string;
  logger: Logger;
  /** Builds another named middleware (for `chain`). */
  resolve(name: string): Middleware;
  /** The handler of a named service of the same snapshot (for `errors`); throws when there is none. */
  service(name: string): Handler;
}

/**
 * Builds a middleware from its configuration. Throws `MiddlewareConfigError` when the
 * configuration cannot work (bad regex, bad htpasswd line); the runtime then disables only the
 * routers that use it and reports the reason.
 */
export type MiddlewareFactory<K extends keyof HttpMiddleware = keyof HttpMiddleware> = (
  config: NonNullable<HttpMiddleware[K]>,
  ctx: MiddlewareBuildContext,
) => Middleware;

export class MiddlewareConfigError extends Error {
  readonly code = 'BERTH_PROXY_MIDDLEWARE_CONFIG';
}
