// The HTTP server of one entry point: route each request on the runtime live at its start, then forward.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Logger } from 'pino';
import { routeRequest } from '../runtime/route-request.js';
import type { RuntimeSource } from '../runtime/runtime-switch.js';
import { forward } from './forwarder.js';
import type { PoolCache } from './pool-cache.js';
import { parseRequest } from './request-view.js';
import { sendText } from './send-text.js';

export interface EntryPointOptions {
  name: string;
  runtimes: RuntimeSource;
  pools: PoolCache;
  logger: Logger;
}

/** Traefik's default idle timeout for client connections. */
const IDLE_TIMEOUT_MS = 180_000;

export function createEntryPointServer(opts: EntryPointOptions): Server {
  const server = createServer({ keepAlive: true }, (req, res) => handle(opts, req, res));
  server.keepAliveTimeout = IDLE_TIMEOUT_MS;
  return server;
}

function handle(opts: EntryPointOptions, req: IncomingMessage, res: ServerResponse): void {
  try {
    // Read once: a swap during this request must not change where it goes.
    const runtime = opts.runtimes.current;
    const { view, target } = parseRequest(req);
    const router = runtime && routeRequest(runtime, opts.name, view);
    if (!runtime || !router) {
      sendText(res, 404, '404 page not found');
      return;
    }
    const service = runtime.services.get(router.service);
    const server = service?.balancer.next();
    if (!service || !server) {
      sendText(res, 503, 'Service Unavailable');
      return;
    }
    void forward(req, res, {
      server,
      target,
      passHostHeader: service.passHostHeader,
      clientIp: view.clientIp,
      pools: opts.pools,
      logger: opts.logger,
    }).catch((err: unknown) => fail(opts, res, err));
  } catch (err) {
    fail(opts, res, err);
  }
}

function fail(opts: EntryPointOptions, res: ServerResponse, err: unknown): void {
  opts.logger.error({ err, entryPoint: opts.name }, 'request handling failed');
  sendText(res, 500, 'Internal Server Error', { close: true });
}
