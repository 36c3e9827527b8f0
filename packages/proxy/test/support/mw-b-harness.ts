// A small pipeline for middleware tests: a loopback server that runs one middleware before a stand-in handler.
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pino } from 'pino';
import type {
  Handler,
  Middleware,
  MiddlewareBuildContext,
  RequestContext,
  ResponseBody,
} from '../../src/http/context.js';
import { parseRequest } from '../../src/http/request-view.js';

export const silent = pino({ level: 'silent' });

export function buildContext(name = 'test', others: Record<string, Middleware> = {}): MiddlewareBuildContext {
  return {
    name,
    logger: silent,
    resolve(other) {
      const m = others[other];
      if (!m) throw new Error(`no middleware ${other}`);
      return m;
    },
    service(other) {
      throw new Error(`no service ${other}`);
    },
  };
}

/** The innermost respond, as the entry point will have it: writes head and body to `res`. */
export function writeResponse(res: ServerResponse): RequestContext['respond'] {
  return async (status: number, headers: OutgoingHttpHeaders, body: ResponseBody) => {
    if (res.destroyed) {
      if (body instanceof Readable) body.destroy();
      return;
    }
    res.writeHead(status, headers);
    if (body === null) {
      res.end();
      return;
    }
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      res.end(body);
      return;
    }
    try {
      await pipeline(body, res);
    } catch {
      res.destroy();
    }
  };
}

export function makeContext(req: IncomingMessage, res: ServerResponse): RequestContext {
  const { view, target } = parseRequest(req);
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  return {
    req,
    res,
    view,
    target,
    clientIp: view.clientIp,
    scheme: 'http',
    startedAt: process.hrtime.bigint(),
    log: { entryPoint: 'web' },
    respond: writeResponse(res),
    upstreamHeaders: {},
    signal: abort.signal,
  };
}

export interface Harness {
  port: number;
  server: Server;
  /** Every context that went through, in arrival order. */
  contexts: RequestContext[];
  close(): Promise<void>;
}

/** Serves `middleware(handler)` on 127.0.0.1 with a listen(0) port. */
export async function serve(middleware: Middleware, handler: Handler): Promise<Harness> {
  const pipelineHandler = middleware(handler);
  const contexts: RequestContext[] = [];
  const server = createServer((req, res) => {
    const ctx = makeContext(req, res);
    contexts.push(ctx);
    void pipelineHandler(ctx);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    contexts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A stand-in for the forwarder: sends the request to `origin` with node:http, using
 * `ctx.requestBody` when set, and answers an upstream failure as the real one does
 * (`ctx.log.error` set, then 502 through `ctx.respond`).
 */
export function standInForward(origin: string): Handler {
  return (ctx) =>
    new Promise<void>((resolve) => {
      const url = new URL(origin);
      const headers: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(ctx.req.headers)) {
        if (v !== undefined && k !== 'connection' && k !== 'transfer-encoding') headers[k] = v;
      }
      for (const [k, v] of Object.entries(ctx.upstreamHeaders)) {
        if (v === undefined) delete headers[k];
        else headers[k] = v;
      }
      const upstream = request(
        { host: url.hostname, port: url.port, method: ctx.req.method, path: ctx.target, headers },
        (up) => {
          const out: OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(up.headers)) {
            if (v !== undefined && k !== 'connection' && k !== 'transfer-encoding' && k !== 'keep-alive')
              out[k] = v;
          }
          ctx.log.server = origin;
          void ctx.respond(up.statusCode ?? 502, out, up).then(resolve);
        },
      );
      upstream.on('error', () => {
        ctx.log.error = 'upstream_error';
        void ctx
          .respond(502, { 'content-type': 'text/plain', 'content-length': 12 }, 'Bad Gateway\n')
          .then(resolve);
      });
      const body = ctx.requestBody ?? ctx.req;
      body.pipe(upstream);
    });
}
