// The services a node provides itself (`ping@internal`, `prometheus@internal`, `noop@internal`,
// `api@internal`, `dashboard@internal`), answering as Traefik's do; built once per data plane.
import { readFileSync } from 'node:fs';
import { type InternalService, internalService } from '@berth/config';
import type { Logger } from 'pino';
import type { Balancer } from '../balancer/balancer.js';
import type { Handler, RequestContext } from '../http/context.js';
import { respondText } from '../http/respond-text.js';
import { EXPOSITION_CONTENT_TYPE } from '../observability/metrics.js';
import type { ServerTarget, ServiceRuntime } from '../runtime/types.js';
import { type ApiAnswer, apiAnswer, dashboardAnswer, type VersionInfo } from './api-routes.js';
import type { ApiView } from './api-view.js';

/** What the internal services read of the node, at request time. */
export interface InternalHooks {
  /**
   * The node's Prometheus exposition: the in-process data plane's, or in a worker the merged view
   * of every worker of the node (the same text as `--metrics` serves).
   */
  metrics(): string | Promise<string>;
  /** True once the node is shutting down: `ping@internal` then answers 503, as Traefik's does. */
  terminating(): boolean;
  /** The node's applied snapshot in Traefik's API shape; undefined before the first apply. */
  view(): ApiView | undefined;
  logger: Logger;
}

export type InternalServices = (ref: string) => ServiceRuntime | undefined;

const NEVER: Balancer<ServerTarget> = { next: () => undefined };

/** Started with the process, as Traefik's `startDate`. */
const STARTED = new Date().toISOString();

const VERSION: VersionInfo = { Version: `berth ${packageVersion()}`, Codename: 'berth', startDate: STARTED };

/** The lookup of `x@internal` references, one runtime per internal service for the data plane's life. */
export function internalServices(hooks: InternalHooks): InternalServices {
  const built = new Map<InternalService, ServiceRuntime>();
  return (ref) => {
    const name = internalService(ref);
    if (name === undefined) return undefined;
    let runtime = built.get(name);
    if (runtime === undefined) {
      runtime = {
        name: `${name}@internal`,
        kind: 'internal',
        servers: [],
        balancer: NEVER,
        passHostHeader: true,
        handler: handlerOf(name, hooks),
        available: () => true,
      };
      built.set(name, runtime);
    }
    return runtime;
  };
}

function handlerOf(name: InternalService, hooks: InternalHooks): Handler {
  const service = `${name}@internal`;
  switch (name) {
    // Traefik's noop answers 418 with no body: it sits behind redirect middlewares that answer first.
    case 'noop':
      return async (ctx) => {
        ctx.log.service = service;
        await ctx.respond(418, { 'content-length': 0 }, null);
      };
    case 'ping':
      return async (ctx) => {
        ctx.log.service = service;
        // Traefik writes the status text: `OK`, or `Service Unavailable` while terminating.
        await respondText(ctx, hooks.terminating() ? 503 : 200);
      };
    case 'prometheus':
      return async (ctx) => {
        ctx.log.service = service;
        let text: string;
        try {
          text = await hooks.metrics();
        } catch (err) {
          hooks.logger.error(
            { err: (err as Error).message },
            'cannot render metrics for prometheus@internal',
          );
          await respondText(ctx, 503, 'metrics unavailable\n');
          return;
        }
        await ctx.respond(
          200,
          { 'content-type': EXPOSITION_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) },
          ctx.req.method === 'HEAD' ? null : text,
        );
      };
    case 'api':
      return async (ctx) => {
        ctx.log.service = service;
        const prefix = ctx.req.headers['x-forwarded-prefix'];
        await send(
          ctx,
          apiAnswer(
            ctx.req.method ?? 'GET',
            ctx.target,
            hooks.view,
            VERSION,
            typeof prefix === 'string' ? prefix : undefined,
          ),
        );
      };
    case 'dashboard':
      return async (ctx) => {
        ctx.log.service = service;
        const method = ctx.req.method ?? 'GET';
        if (method !== 'GET' && method !== 'HEAD') {
          await respondText(ctx, 405, '', { allow: 'GET, HEAD' });
          return;
        }
        // Traefik mounts it behind a stripPrefix of `/dashboard`; without one the page is at `/dashboard/`.
        const path = new URL(ctx.target, 'http://node.invalid').pathname;
        await send(
          ctx,
          dashboardAnswer(path.startsWith('/dashboard/') ? path.slice('/dashboard'.length) : path),
        );
      };
  }
}

function send(ctx: RequestContext, answer: ApiAnswer): Promise<void> {
  return ctx.respond(
    answer.status,
    { 'cache-control': 'no-store', ...answer.headers, 'content-length': Buffer.byteLength(answer.body) },
    ctx.req.method === 'HEAD' || answer.body === '' ? null : answer.body,
  );
}

function packageVersion(): string {
  try {
    // dist/src/internal/ → the package root.
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    const version = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'dev';
  } catch {
    return 'dev';
  }
}
