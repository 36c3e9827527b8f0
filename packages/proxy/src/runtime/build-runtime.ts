// Compiles a snapshot body into a Runtime: pure, so a bad body is rejected before anything changes.

import type { EntryPoint, HttpMiddleware, HttpRouter } from '@berth/config';
import { compileRule, parseAddress, parseRule, rulePriority } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { jsonEqual, SNAPSHOT_SCHEMA } from '@berth/protocol';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { ServerHealth } from '../health/server-health.js';
import { ALWAYS_AVAILABLE } from '../health/server-health.js';
import type { Handler, Middleware } from '../http/context.js';
import type { Forward } from '../http/forward-types.js';
import { respondText } from '../http/respond-text.js';
import type { ServiceMemo } from '../service/build-services.js';
import { buildServices, resolveName } from '../service/build-services.js';
import type { MiddlewareFactories, MiddlewareMemo } from './middleware-registry.js';
import { MiddlewareProblem, MiddlewareRegistry } from './middleware-registry.js';
import type { HostedEntry } from './router-table.js';
import { RouterTable } from './router-table.js';
import { SNAPSHOT_INVALID, SnapshotInvalid } from './snapshot-invalid.js';
import type { RouterEntry, Runtime, RuntimeProblem, ServiceRuntime } from './types.js';

export { SNAPSHOT_INVALID };

/** What the runtime's handlers need from the node; long-lived, shared by every snapshot. */
export interface RuntimeDeps {
  forward: Forward;
  health: ServerHealth;
  middlewares: MiddlewareFactories;
  logger: Logger;
  /** Uniform in [0, 1), for p2c and mirroring; injectable so tests replay. Default Math.random. */
  random?: () => number;
}

/**
 * What one build leaves for the next, so an unchanged service, middleware or router is reused
 * rather than built again (see `buildRuntime`). Only meaningful with the same deps.
 */
export interface BuildMemo {
  readonly deps: Required<RuntimeDeps>;
  readonly services: ReadonlyMap<string, ServiceMemo>;
  readonly middlewares: ReadonlyMap<string, MiddlewareMemo>;
  readonly routers: ReadonlyMap<string, RouterMemo>;
  /** Each entry point's table and the entries it was built from, in order. */
  readonly tables: ReadonlyMap<string, { entries: readonly HostedEntry[]; table: RouterTable }>;
}

/** A router as compiled, and what it became on each entry point. */
interface RouterMemo {
  config: unknown;
  compiled: CompiledRouter;
  hosted: readonly HostedMemo[];
}

/** A router's entry on one entry point, and what it was composed of. */
interface HostedMemo {
  ep: string;
  service: ServiceRuntime;
  middlewares: readonly Middleware[];
  tls: boolean;
  hosted: HostedEntry;
}

interface CompiledRouter {
  entry: Omit<RouterEntry, 'service'>;
  hosts: HostedEntry['hosts'];
  hostSuffixes: HostedEntry['hostSuffixes'];
}

export type BuildResult =
  | { ok: true; runtime: Runtime; memo: BuildMemo }
  | { ok: false; code: string; error: string };

/** Until the node wires its forwarder in, a matched request is answered 502 rather than hanging. */
const NO_FORWARD: Forward = async (ctx) => {
  ctx.log.error = 'no_forwarder';
  await respondText(ctx, 502, 'Bad Gateway\n');
  return { kind: 'error', reason: 'connect', responseStarted: false };
};

/** One object, so two builds without factories count as having the same deps. */
const NO_MIDDLEWARES: MiddlewareFactories = {};

/** Likewise for the logger, so two builds without one can share their parts. */
const NO_LOGGER = pino({ enabled: false });

function defaults(deps: Partial<RuntimeDeps>): Required<RuntimeDeps> {
  return {
    forward: deps.forward ?? NO_FORWARD,
    health: deps.health ?? ALWAYS_AVAILABLE,
    middlewares: deps.middlewares ?? NO_MIDDLEWARES,
    logger: deps.logger ?? NO_LOGGER,
    random: deps.random ?? Math.random,
  };
}

/**
 * The controller validates snapshots before publishing them; these checks are defence in
 * depth, so a body that would fail at request time is refused whole instead. A middleware that
 * cannot be built is the exception: it disables only the routers using it (`runtime.problems`).
 */
export function buildRuntime(
  body: SnapshotBody,
  deps: Partial<RuntimeDeps> = {},
  previous?: BuildMemo,
): BuildResult {
  try {
    const full = defaults(deps);
    const usable = previous !== undefined && sameDeps(previous.deps, full) ? previous : undefined;
    return { ok: true, ...build(body, full, usable) };
  } catch (err) {
    if (err instanceof SnapshotInvalid) return { ok: false, code: err.code, error: err.message };
    // A shape the checks above did not foresee: refusing it keeps the node serving the last one.
    const message = err instanceof Error ? err.message : String(err);
    deps.logger?.error({ err }, 'snapshot build failed unexpectedly');
    return { ok: false, code: SNAPSHOT_INVALID, error: `snapshot cannot be built: ${message}` };
  }
}

function sameDeps(a: Required<RuntimeDeps>, b: Required<RuntimeDeps>): boolean {
  return (
    a.forward === b.forward &&
    a.health === b.health &&
    a.middlewares === b.middlewares &&
    a.logger === b.logger &&
    a.random === b.random
  );
}

/**
 * `previous`: the memo of the live runtime's build. What did not change is reused: a service
 * (balancer, sticky table, handler: see buildServices), a middleware with its state, a router's
 * compiled rule, and the entry of a router whose service and middlewares are the same instances.
 */
function build(
  body: SnapshotBody,
  deps: Required<RuntimeDeps>,
  previous: BuildMemo | undefined,
): { runtime: Runtime; memo: BuildMemo } {
  if (!isRecord(body)) throw new SnapshotInvalid('snapshot body is not an object');
  if (body.schema !== SNAPSHOT_SCHEMA) {
    throw new SnapshotInvalid(
      `unknown snapshot schema ${String(body.schema)} (this node reads ${SNAPSHOT_SCHEMA})`,
    );
  }
  if (!isRecord(body.entryPoints)) throw new SnapshotInvalid('snapshot has no entryPoints object');
  if (!isRecord(body.http) || !isRecord(body.http.routers) || !isRecord(body.http.services)) {
    throw new SnapshotInvalid('snapshot has no http.routers and http.services objects');
  }

  const entryPoints = new Map<string, string>();
  const epMiddlewares = new Map<string, readonly string[]>();
  const epTls = new Set<string>();
  for (const [name, ep] of Object.entries(body.entryPoints) as [string, EntryPoint][]) {
    if (!isRecord(ep) || typeof ep.address !== 'string' || parseAddress(ep.address) === null) {
      throw new SnapshotInvalid(`entry point "${name}": invalid address ${JSON.stringify(ep?.address)}`);
    }
    entryPoints.set(name, ep.address);
    epMiddlewares.set(name, Array.isArray(ep.http?.middlewares) ? ep.http.middlewares : []);
    if (isRecord(ep.http?.tls)) epTls.add(name);
  }

  const serviceMemo = new Map<string, ServiceMemo>();
  const services = buildServices(body.http.services, deps, previous?.services, serviceMemo);
  const origins = new Set<string>();
  for (const service of services.values()) for (const server of service.servers) origins.add(server.origin);

  const registry = new MiddlewareRegistry(
    (isRecord(body.http.middlewares) ? body.http.middlewares : {}) as Record<string, HttpMiddleware>,
    deps.middlewares,
    deps.logger,
    previous?.middlewares,
  );
  const problems: RuntimeProblem[] = [];
  const perEntryPoint = new Map<string, HostedEntry[]>();
  for (const name of entryPoints.keys()) perEntryPoint.set(name, []);
  const allEntryPoints = [...entryPoints.keys()];
  const routerMemo = new Map<string, RouterMemo>();
  const routerConfigs = body.http.routers;
  for (const name of Object.keys(routerConfigs)) {
    const router = routerConfigs[name] as HttpRouter;
    const prev = previous?.routers.get(name);
    const same = prev !== undefined && (prev.config === router || jsonEqual(prev.config, router));
    const compiled = same ? prev.compiled : compileRouter(name, router);
    const service = routerService(name, router, services);
    const own = chain(
      name,
      Array.isArray(router.middlewares) ? router.middlewares : NONE,
      registry,
      problems,
    );
    if (own === undefined) {
      routerMemo.set(name, { config: router, compiled, hosted: [] });
      continue;
    }
    // Traefik binds a router without entryPoints to every entry point.
    const targets = router.entryPoints?.length ? router.entryPoints : allEntryPoints;
    const hostedMemo: HostedMemo[] = [];
    // The previous memo whole, when every entry it made is made again (the common case).
    let unchanged = same && prev.config === router;
    for (const ep of targets) {
      // A name that is not an entry point is skipped, as Traefik does, rather than failing the whole body.
      const list = perEntryPoint.get(ep);
      if (list === undefined) continue;
      const outer = chain(name, epMiddlewares.get(ep) ?? NONE, registry, problems);
      if (outer === undefined) continue;
      const middlewares = outer.length === 0 ? own : own.length === 0 ? outer : [...outer, ...own];
      const tls = isRecord(router.tls) || epTls.has(ep);
      const index = hostedMemo.length;
      const before = same ? prev.hosted[index] : undefined;
      let made: HostedMemo;
      if (
        before !== undefined &&
        before.ep === ep &&
        before.service === service &&
        before.tls === tls &&
        sameList(before.middlewares, middlewares)
      ) {
        made = before;
      } else {
        unchanged = false;
        const handler = wrap(middlewares, service.handler);
        const direct = middlewares.length === 0 ? service.direct : undefined;
        const hosted: HostedEntry = {
          hosts: compiled.hosts,
          hostSuffixes: compiled.hostSuffixes,
          entry: {
            ...compiled.entry,
            service: service.name,
            handler,
            ...(tls ? { tls } : {}),
            ...(direct ? { direct } : {}),
          },
        };
        made = { ep, service, middlewares, tls, hosted };
      }
      hostedMemo.push(made);
      list.push(made.hosted);
    }
    routerMemo.set(
      name,
      unchanged && prev !== undefined && prev.hosted.length === hostedMemo.length
        ? prev
        : { config: router, compiled, hosted: hostedMemo },
    );
  }

  const routers = new Map<string, RouterTable>();
  const tables = new Map<string, { entries: readonly HostedEntry[]; table: RouterTable }>();
  for (const [ep, list] of perEntryPoint) {
    list.sort(byPriority);
    // The same entries in the same order (a change to services or middlewares only): the same table.
    const before = previous?.tables.get(ep);
    const table =
      before !== undefined && sameList(before.entries, list) ? before.table : new RouterTable(list);
    routers.set(ep, table);
    tables.set(ep, { entries: list, table });
  }

  return {
    runtime: { entryPoints, routers, services, origins, problems },
    memo: { deps, services: serviceMemo, middlewares: registry.memo, routers: routerMemo, tables },
  };
}

const NONE: readonly string[] = [];
const NONE_BUILT: readonly Middleware[] = [];

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The router's middlewares, or undefined (and a problem recorded) when one cannot be built. */
function chain(
  router: string,
  names: readonly string[],
  registry: MiddlewareRegistry,
  problems: RuntimeProblem[],
): readonly Middleware[] | undefined {
  if (names.length === 0) return NONE_BUILT;
  const out: Middleware[] = [];
  for (const middleware of names) {
    try {
      out.push(registry.get(middleware));
    } catch (err) {
      if (!(err instanceof MiddlewareProblem)) throw err;
      if (!problems.some((p) => p.router === router && p.middleware === middleware)) {
        problems.push({ router, middleware, code: err.code, error: err.message });
      }
      return undefined;
    }
  }
  return out;
}

/** The first middleware is the outermost: it sees the request first and the response last. */
function wrap(middlewares: readonly Middleware[], inner: Handler): Handler {
  let handler = inner;
  for (let i = middlewares.length - 1; i >= 0; i--) handler = middlewares[i]!(handler);
  return handler;
}

function compileRouter(name: string, router: HttpRouter): CompiledRouter {
  if (!isRecord(router) || typeof router.rule !== 'string')
    throw new SnapshotInvalid(`router "${name}": no rule`);
  const parsed = parseRule(router.rule);
  if (!parsed.ok) {
    const { code, message, column } = parsed.error;
    throw new SnapshotInvalid(
      `router "${name}": rule ${JSON.stringify(router.rule)}: ${message} at column ${column} (${code})`,
    );
  }
  const compiled = compileRule(parsed.ast);
  // Traefik treats priority 0 as unset, so the rule length decides.
  const priority = router.priority ? router.priority : rulePriority(router.rule);
  return {
    entry: { name, priority, match: compiled.match },
    hosts: compiled.hosts,
    hostSuffixes: compiled.hostSuffixes ?? null,
  };
}

function routerService(
  name: string,
  router: HttpRouter,
  services: ReadonlyMap<string, ServiceRuntime>,
): ServiceRuntime {
  const ref = String(router.service);
  // Most routers name their service exactly.
  const exact = services.get(ref);
  if (exact !== undefined) return exact;
  const serviceName = resolveName(ref, (key) => services.has(key));
  const runtime = serviceName === undefined ? undefined : services.get(serviceName);
  if (runtime === undefined) {
    throw new SnapshotInvalid(`router "${name}": service "${router.service}" does not exist`);
  }
  return runtime;
}

/** Highest priority first; equal priorities by router name, so every node orders them alike. */
export function byPriority(a: HostedEntry, b: HostedEntry): number {
  if (a.entry.priority !== b.entry.priority) return b.entry.priority - a.entry.priority;
  return a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> & object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
