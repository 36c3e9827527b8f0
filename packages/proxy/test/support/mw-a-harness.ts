// Runs part-A middlewares behind a real loopback server, with a RequestContext built as the entry point would.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { HttpMiddleware } from '@berth/config';
import { pino } from 'pino';
import type {
  Handler,
  Middleware,
  MiddlewareBuildContext,
  MiddlewareFactory,
  RequestContext,
  Respond,
} from '../../src/http/context.js';
import { parseRequest } from '../../src/http/request-view.js';

export const silentLogger = pino({ level: 'silent' });

export function buildContext(name = 'test'): MiddlewareBuildContext {
  return {
    name,
    logger: silentLogger,
    resolve: (other) => {
      throw new Error(`no middleware ${other} in this test`);
    },
    service: (other) => {
      throw new Error(`no service ${other} in this test`);
    },
  };
}

/** Builds one middleware from its factory and configuration. */
export function build<K extends keyof HttpMiddleware>(
  factory: MiddlewareFactory<K>,
  config: NonNullable<HttpMiddleware[K]>,
): Middleware {
  return factory(config, buildContext());
}

export interface HarnessOptions {
  scheme?: 'http' | 'https';
  /** Overrides the client address (otherwise the socket peer, 127.0.0.1). */
  clientIp?: string;
  /** The handler after the middleware; default: `echo`. */
  terminal?: Handler;
}

function respondTo(req: IncomingMessage, res: ServerResponse): Respond {
  return async (status, headers, body) => {
    if (res.headersSent || res.destroyed) return;
    const head: OutgoingHttpHeaders = { ...headers };
    // An answer given before the request body was read leaves bytes on the socket.
    if (!req.complete) head['connection'] = 'close';
    res.writeHead(status, head);
    if (body instanceof Readable) {
      await pipeline(body, res).catch(() => undefined);
      return;
    }
    await new Promise<void>((resolve) => res.end(body ?? undefined, () => resolve()));
  };
}

/** A context around a real request and response, as the entry point builds it. */
export function contextFor(
  req: IncomingMessage,
  res: ServerResponse,
  opts: HarnessOptions = {},
): RequestContext {
  const { view, target } = parseRequest(req);
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  if (opts.clientIp !== undefined) view.clientIp = opts.clientIp;
  return {
    req,
    res,
    view,
    target,
    clientIp: opts.clientIp ?? view.clientIp,
    scheme: opts.scheme ?? 'http',
    startedAt: process.hrtime.bigint(),
    log: { entryPoint: 'test' },
    respond: respondTo(req, res),
    upstreamHeaders: {},
    signal: abort.signal,
  };
}

export interface Echo {
  method: string;
  target: string;
  path: string;
  upstreamHeaders: Record<string, string | null>;
}

/**
 * Stands in for the service: answers 200 with what would go upstream, as JSON. A request header
 * `x-echo-response-headers` (JSON) gives headers the "backend" answers with.
 */
export const echo: Handler = async (ctx) => {
  const upstreamHeaders: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(ctx.upstreamHeaders)) upstreamHeaders[k] = v ?? null;
  const body: Echo = { method: ctx.view.method, target: ctx.target, path: ctx.view.path, upstreamHeaders };
  const extra = ctx.req.headers['x-echo-response-headers'];
  const headers: OutgoingHttpHeaders =
    typeof extra === 'string' ? (JSON.parse(extra) as OutgoingHttpHeaders) : {};
  ctx.req.resume();
  await ctx.respond(200, { 'content-type': 'application/json', ...headers }, JSON.stringify(body));
};

export interface Harness {
  port: number;
  close(): Promise<void>;
}

/** A loopback server that runs `middlewares` (outermost first) before the terminal handler. */
export async function startHarness(
  middlewares: Middleware | Middleware[],
  opts: HarnessOptions = {},
): Promise<Harness> {
  const list = Array.isArray(middlewares) ? middlewares : [middlewares];
  let handler: Handler = opts.terminal ?? echo;
  for (let i = list.length - 1; i >= 0; i--) handler = (list[i] as Middleware)(handler);
  const server = createServer((req, res) => {
    const ctx = contextFor(req, res, opts);
    handler(ctx).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(599).end(String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
