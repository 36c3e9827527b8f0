// Compiles a snapshot body into a Runtime: pure, so a bad body is rejected before anything changes.

import type { EntryPoint, HttpMiddleware, HttpRouter } from '@berth/config';
import { compileRule, parseEntryPointAddress, parseRule, rulePriority, stripProtocol } from '@berth/config';
import type { DeltaOp, SnapshotBody } from '@berth/protocol';
import { jsonEqual, SNAPSHOT_SCHEMA } from '@berth/protocol';
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { ServerHealth } from '../health/server-health.js';
import { ALWAYS_AVAILABLE } from '../health/server-health.js';
import type { Handler, Middleware } from '../http/context.js';
import { failClosedHandler } from '../http/fail-closed.js';
import type { Forward } from '../http/forward-types.js';
import { respondText } from '../http/respond-text.js';
import type { InternalServices } from '../internal/internal-services.js';
import type { ServiceMemo } from '../service/build-services.js';
import { buildServices, resolveName } from '../service/build-services.js';
import { acmeTlsAlpnAnswers } from '../tls/acme-tls-alpn.js';
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
  /** The services the node provides itself, by `x@internal` reference; default: none. */
  internal?: InternalServices;
}

/**
 * What one build leaves for the next, so an unchanged service, middleware or router is reused
 * rather than built again (see `buildRuntime`), and a delta rebuilds only what its ops name
 * (see `rebuildRuntime`). Only meaningful with the same deps.
 *
 * A delta's rebuild updates this memo, and the live runtime's maps and tables, in place when its
 * `commit` runs (at the swap): a memo belongs to one live runtime at a time.
 */
export interface BuildMemo {
  readonly deps: Required<RuntimeDeps>;
  readonly services: ReadonlyMap<string, ServiceMemo>;
  readonly middlewares: ReadonlyMap<string, MiddlewareMemo>;
  /** Every middleware the build resolved (built or not) → the references it resolved. */
  readonly middlewareRefs: ReadonlyMap<string, readonly string[]>;
  readonly routers: ReadonlyMap<string, RouterMemo>;
  /** Each entry point's table. */
  readonly tables: ReadonlyMap<string, RouterTable>;
  /** The runtime this memo built (its maps are the ones a delta updates). */
  readonly runtime: Runtime;
  /** Who names what: a change to a service or middleware finds what must be rebuilt with it. */
  readonly users: Users;
  readonly entryPoints: EntryPointInfo;
  /** The runtime's problems, by router. */
  readonly problems: ReadonlyMap<string, readonly RuntimeProblem[]>;
  /** How many servers of the runtime's services have each origin. */
  readonly origins: ReadonlyMap<string, number>;
}

interface EntryPointInfo {
  all: readonly string[];
  middlewares: ReadonlyMap<string, readonly string[]>;
  tls: ReadonlySet<string>;
  /** Names (and `@provider`-less names) of the entry points' middlewares. */
  middlewareKeys: ReadonlySet<string>;
}

/** Reverse references, by name: the service (or middleware) named → who names it. */
interface Users {
  /** Service name → services naming it (weighted, mirroring), as resolved. */
  services: NameIndex;
  /** Service reference that resolved to another name (`a@file` → `a`) → services using it. */
  servicesByRef: NameIndex;
  /** Service name → routers using it, as resolved. */
  routers: NameIndex;
  routersByRef: NameIndex;
  /** Middleware reference and its `@provider`-less form → middlewares (chains) naming it. */
  middlewares: NameIndex;
  /** Middleware reference and its `@provider`-less form → routers using it. */
  routerMiddlewares: NameIndex;
}

/** A router as compiled, and what it became on each entry point. */
interface RouterMemo {
  config: unknown;
  compiled: CompiledRouter;
  hosted: readonly HostedMemo[];
  /** The service it resolved to, and the reference it named it by. */
  service: string;
  serviceRef: string;
  /** Its own middlewares' references. */
  middlewareRefs: readonly string[];
  problems: readonly RuntimeProblem[];
}

/** A router's entry on one entry point, and what it was composed of. */
interface HostedMemo {
  ep: string;
  /** Null for a router that fails closed. */
  service: ServiceRuntime | null;
  middlewares: readonly Middleware[];
  tls: boolean;
  hosted: HostedEntry;
}

interface CompiledRouter {
  entry: Omit<RouterEntry, 'service'>;
  hosts: HostedEntry['hosts'];
  hostSuffixes: HostedEntry['hostSuffixes'];
}

/** Name → names, with one name stored bare (most services have one router). */
class NameIndex {
  readonly #map = new Map<string, string | Set<string>>();

  add(key: string, name: string): void {
    const had = this.#map.get(key);
    if (had === undefined) this.#map.set(key, name);
    else if (typeof had === 'string') {
      if (had !== name) this.#map.set(key, new Set([had, name]));
    } else had.add(name);
  }

  delete(key: string, name: string): void {
    const had = this.#map.get(key);
    if (had === name) this.#map.delete(key);
    else if (typeof had === 'object') {
      had.delete(name);
      if (had.size === 0) this.#map.delete(key);
    }
  }

  addTo(key: string, out: Set<string>): void {
    const had = this.#map.get(key);
    if (typeof had === 'string') out.add(had);
    else if (had !== undefined) for (const name of had) out.add(name);
  }
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

/** Likewise without internal services: a router naming one refuses the body. */
const NO_INTERNAL: InternalServices = () => undefined;

/** Likewise for the logger, so two builds without one can share their parts. */
const NO_LOGGER = pino({ enabled: false });

function defaults(deps: Partial<RuntimeDeps>): Required<RuntimeDeps> {
  return {
    forward: deps.forward ?? NO_FORWARD,
    health: deps.health ?? ALWAYS_AVAILABLE,
    middlewares: deps.middlewares ?? NO_MIDDLEWARES,
    logger: deps.logger ?? NO_LOGGER,
    random: deps.random ?? Math.random,
    internal: deps.internal ?? NO_INTERNAL,
  };
}

/**
 * The controller validates snapshots before publishing them; these checks are defence in
 * depth, so a body that would fail at request time is refused whole instead. A middleware that
 * cannot be built is the exception: the routers using it answer 503 (`runtime.problems`).
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
    return refused(err, deps.logger);
  }
}

export type RebuildResult =
  | { ok: true; runtime: Runtime; memo: BuildMemo; commit: () => void }
  | { ok: false; code: string; error: string };

/**
 * The runtime of `body`, which is the body `memo` was built from with `ops` applied (a delta),
 * rebuilding only what the ops name: the routers, services and middlewares they set or delete,
 * whatever names those, and the routers using any of them. Nothing is changed until `commit`,
 * which updates `memo` and the live runtime's maps and tables in place (call it when swapping:
 * the returned runtime shares them). Routes exactly as `buildRuntime(body)` would.
 *
 * Undefined when the ops change anything else (entry points, transports, a whole collection,
 * a middleware an entry point applies to all its routers): build in full then.
 */
export function rebuildRuntime(
  body: SnapshotBody,
  ops: readonly DeltaOp[],
  memo: BuildMemo,
): RebuildResult | undefined {
  const scope = deltaScope(ops);
  if (scope === undefined) return undefined;
  try {
    return rebuild(body, scope, memo as MutableMemo);
  } catch (err) {
    return refused(err, memo.deps.logger);
  }
}

function refused(err: unknown, logger: Logger | undefined): { ok: false; code: string; error: string } {
  if (err instanceof SnapshotInvalid) return { ok: false, code: err.code, error: err.message };
  // A shape the checks above did not foresee: refusing it keeps the node serving the last one.
  const message = err instanceof Error ? err.message : String(err);
  logger?.error({ err }, 'snapshot build failed unexpectedly');
  return { ok: false, code: SNAPSHOT_INVALID, error: `snapshot cannot be built: ${message}` };
}

function sameDeps(a: Required<RuntimeDeps>, b: Required<RuntimeDeps>): boolean {
  return (
    a.forward === b.forward &&
    a.health === b.health &&
    a.middlewares === b.middlewares &&
    a.logger === b.logger &&
    a.random === b.random &&
    a.internal === b.internal
  );
}

interface DeltaScope {
  routers: Set<string>;
  services: Set<string>;
  middlewares: Set<string>;
}

/** The routers, services and middlewares the ops set or delete, or undefined when they touch more. */
function deltaScope(ops: readonly DeltaOp[]): DeltaScope | undefined {
  const scope: DeltaScope = { routers: new Set(), services: new Set(), middlewares: new Set() };
  for (const { path } of ops) {
    if (path.length < 3 || path[0] !== 'http') return undefined;
    const kind = path[1];
    const name = path[2] as string;
    if (kind === 'routers') scope.routers.add(name);
    else if (kind === 'services') scope.services.add(name);
    else if (kind === 'middlewares') scope.middlewares.add(name);
    else return undefined;
  }
  return scope;
}

/** The memo as this module writes it. */
type MutableMemo = {
  -readonly [K in keyof BuildMemo]: BuildMemo[K] extends ReadonlyMap<infer K2, infer V>
    ? Map<K2, V>
    : BuildMemo[K];
};

function checkShape(body: SnapshotBody): void {
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
}

function middlewaresOf(body: SnapshotBody): Record<string, HttpMiddleware> {
  return (isRecord(body.http.middlewares) ? body.http.middlewares : {}) as Record<string, HttpMiddleware>;
}

/** What each router needs to be hosted, besides its own configuration. */
interface HostContext {
  entryPoints: EntryPointInfo;
  registry: MiddlewareRegistry;
  /** The service a reference names; undefined when none. */
  service: (key: string) => ServiceRuntime | undefined;
  has: (key: string) => boolean;
  /** The node's own `x@internal` services. */
  internal: InternalServices;
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
  checkShape(body);
  const entryPoints = new Map<string, string>();
  const epMiddlewares = new Map<string, readonly string[]>();
  const epTls = new Set<string>();
  const middlewareKeys = new Set<string>();
  for (const [name, ep] of Object.entries(body.entryPoints) as [string, EntryPoint][]) {
    const parsed = isRecord(ep) && typeof ep.address === 'string' ? parseEntryPointAddress(ep.address) : null;
    if (parsed === null) {
      throw new SnapshotInvalid(`entry point "${name}": invalid address ${JSON.stringify(ep?.address)}`);
    }
    // UDP entry points are the UDP data plane's (udp/); HTTP and TCP never listen there.
    if (parsed.protocol === 'udp') continue;
    entryPoints.set(name, stripProtocol(ep.address));
    const names = Array.isArray(ep.http?.middlewares) ? ep.http.middlewares : NONE;
    epMiddlewares.set(name, names);
    for (const ref of names) for (const key of refKeys(String(ref))) middlewareKeys.add(key);
    if (isRecord(ep.http?.tls)) epTls.add(name);
  }
  const info: EntryPointInfo = {
    all: [...entryPoints.keys()],
    middlewares: epMiddlewares,
    tls: epTls,
    middlewareKeys,
  };

  const serviceMemo = new Map<string, ServiceMemo>();
  const services = buildServices(body.http.services, deps, previous?.services, serviceMemo);
  const origins = new Map<string, number>();
  for (const service of services.values()) countOrigins(origins, service, 1);

  const lookup = (ref: string): ServiceRuntime | undefined =>
    services.get(ref) ?? services.get(resolveName(ref, (key) => services.has(key)) ?? ref);
  const registry = new MiddlewareRegistry(
    middlewaresOf(body),
    deps.middlewares,
    deps.logger,
    previous?.middlewares,
    lookup,
  );
  const context: HostContext = {
    entryPoints: info,
    registry,
    service: (key) => services.get(key),
    has: (key) => services.has(key),
    internal: deps.internal,
  };
  const problems = new Map<string, readonly RuntimeProblem[]>();
  const perEntryPoint = new Map<string, HostedEntry[]>();
  for (const name of entryPoints.keys()) perEntryPoint.set(name, []);
  const routerMemo = new Map<string, RouterMemo>();
  const routerConfigs = body.http.routers;
  for (const name of Object.keys(routerConfigs)) {
    const made = hostRouter(name, routerConfigs[name] as HttpRouter, previous?.routers.get(name), context);
    routerMemo.set(name, made);
    if (made.problems.length > 0) problems.set(name, made.problems);
    for (const h of made.hosted) perEntryPoint.get(h.ep)?.push(h.hosted);
  }

  const routers = new Map<string, RouterTable>();
  for (const [ep, list] of perEntryPoint) {
    list.sort(byPriority);
    // The same entries in the same order (a change to services or middlewares only): the same table.
    const before = previous?.tables.get(ep);
    routers.set(ep, before !== undefined && sameList(before.hosted(), list) ? before : new RouterTable(list));
  }

  const users: Users = {
    services: new NameIndex(),
    servicesByRef: new NameIndex(),
    routers: new NameIndex(),
    routersByRef: new NameIndex(),
    middlewares: new NameIndex(),
    routerMiddlewares: new NameIndex(),
  };
  for (const [name, memo] of serviceMemo) indexService(users, name, memo, true);
  for (const [name, refs] of registry.refs) indexMiddleware(users, name, refs, true);
  for (const [name, memo] of routerMemo) indexRouter(users, name, memo, true);

  const runtime: Runtime = {
    entryPoints,
    routers,
    services,
    origins: new Set(origins.keys()),
    problems: [...problems.values()].flat(),
    ...acmeAnswers(body, previous?.runtime, deps.logger),
  };
  return {
    runtime,
    memo: {
      deps,
      services: serviceMemo,
      middlewares: registry.memo,
      middlewareRefs: new Map(registry.refs),
      routers: routerMemo,
      tables: routers,
      runtime,
      users,
      entryPoints: info,
      problems,
      origins,
    },
  };
}

function rebuild(body: SnapshotBody, scope: DeltaScope, memo: MutableMemo): RebuildResult | undefined {
  checkShape(body);
  const { users, deps } = memo;
  // Middlewares that changed, and the chains naming them (to any depth).
  const middlewares = new Set(scope.middlewares);
  for (const name of middlewares) users.middlewares.addTo(name, middlewares);
  // A middleware every router of an entry point runs: not worth a partial rebuild.
  for (const name of middlewares) if (memo.entryPoints.middlewareKeys.has(name)) return undefined;
  // Services that changed, and the weighted and mirroring services naming them.
  const services = new Set(scope.services);
  for (const name of services) {
    users.services.addTo(name, services);
    users.servicesByRef.addTo(name, services);
  }
  // A middleware calling a changed service (errors pages) must be rebuilt with the routers using it:
  // rare enough that a full build, which reuses everything else, is the simpler answer.
  if (services.size > 0 && namesChangedService(memo.middlewares, services)) return undefined;
  const routers = new Set(scope.routers);
  for (const name of services) {
    users.routers.addTo(name, routers);
    users.routersByRef.addTo(name, routers);
  }
  for (const name of middlewares) users.routerMiddlewares.addTo(name, routers);

  const live = memo.runtime.services as Map<string, ServiceRuntime>;
  const serviceMemo = new Map<string, ServiceMemo>();
  const rebuilt = buildServices(body.http.services, deps, memo.services, serviceMemo, {
    names: services,
    live,
  });
  const current = (key: string): ServiceRuntime | undefined =>
    services.has(key) ? rebuilt.get(key) : live.get(key);
  const registry = new MiddlewareRegistry(
    middlewaresOf(body),
    deps.middlewares,
    deps.logger,
    memo.middlewares,
    (ref) => current(ref) ?? current(resolveName(ref, (key) => current(key) !== undefined) ?? ref),
  );
  const context: HostContext = {
    entryPoints: memo.entryPoints,
    registry,
    service: (key) => (services.has(key) ? rebuilt.get(key) : live.get(key)),
    has: (key) => (services.has(key) ? rebuilt.has(key) : live.has(key)),
    internal: deps.internal,
  };
  const routerConfigs = body.http.routers;
  const made = new Map<string, RouterMemo | null>();
  for (const name of routers) {
    const router = Object.hasOwn(routerConfigs, name) ? routerConfigs[name] : undefined;
    const before = memo.routers.get(name);
    const after = router === undefined ? null : hostRouter(name, router, before, context);
    if (after !== (before ?? null)) made.set(name, after);
  }

  // What each table loses and gains.
  const tableChanges = new Map<string, { removed: string[]; added: HostedEntry[] }>();
  const changesOf = (ep: string) => {
    let change = tableChanges.get(ep);
    if (change === undefined) {
      change = { removed: [], added: [] };
      tableChanges.set(ep, change);
    }
    return change;
  };
  let problemsChanged = false;
  for (const [name, after] of made) {
    const before = memo.routers.get(name);
    for (const h of before?.hosted ?? NONE_HOSTED) changesOf(h.ep).removed.push(name);
    for (const h of after?.hosted ?? NONE_HOSTED) changesOf(h.ep).added.push(h.hosted);
    if ((before?.problems.length ?? 0) > 0 || (after?.problems.length ?? 0) > 0) problemsChanged = true;
  }
  for (const change of tableChanges.values()) change.added.sort(byPriority);

  let problems = memo.runtime.problems;
  if (problemsChanged) {
    const list: RuntimeProblem[] = [];
    for (const [name, own] of memo.problems) if (!made.has(name)) list.push(...own);
    for (const after of made.values()) if (after !== null) list.push(...after.problems);
    problems = list;
  }
  const runtime: Runtime = { ...memo.runtime, problems };

  const commit = (): void => {
    const origins = memo.runtime.origins as Set<string>;
    for (const name of services) {
      const before = memo.services.get(name);
      const after = serviceMemo.get(name);
      if (after === before) continue;
      if (before !== undefined) {
        indexService(users, name, before, false);
        countOrigins(memo.origins, before.runtime, -1, origins);
      }
      if (after === undefined) {
        memo.services.delete(name);
        live.delete(name);
      } else {
        memo.services.set(name, after);
        live.set(name, after.runtime);
        indexService(users, name, after, true);
        countOrigins(memo.origins, after.runtime, 1, origins);
      }
    }
    for (const name of middlewares) {
      memo.middlewares.delete(name);
      const refs = memo.middlewareRefs.get(name);
      if (refs !== undefined) indexMiddleware(users, name, refs, false);
      memo.middlewareRefs.delete(name);
    }
    for (const [name, built] of registry.memo) memo.middlewares.set(name, built);
    for (const [name, refs] of registry.refs) {
      const before = memo.middlewareRefs.get(name);
      if (before === refs) continue;
      if (before !== undefined) indexMiddleware(users, name, before, false);
      indexMiddleware(users, name, refs, true);
      memo.middlewareRefs.set(name, refs);
    }
    for (const [name, after] of made) {
      const before = memo.routers.get(name);
      if (before !== undefined) indexRouter(users, name, before, false);
      memo.problems.delete(name);
      if (after === null) memo.routers.delete(name);
      else {
        memo.routers.set(name, after);
        indexRouter(users, name, after, true);
        if (after.problems.length > 0) memo.problems.set(name, after.problems);
      }
    }
    for (const [ep, change] of tableChanges)
      memo.tables.get(ep)?.update(change.removed, change.added, byPriority);
    memo.runtime = runtime;
  };
  return { ok: true, runtime, memo, commit };
}

/** A router on every entry point it names, reusing `prev` (the live build's) when nothing changed. */
function hostRouter(
  name: string,
  router: HttpRouter,
  prev: RouterMemo | undefined,
  context: HostContext,
): RouterMemo {
  const { entryPoints, registry } = context;
  const same = prev !== undefined && (prev.config === router || jsonEqual(prev.config, router));
  const compiled = same ? prev.compiled : compileRouter(name, router);
  // Traefik binds a router without entryPoints to every entry point.
  const targets = router.entryPoints?.length ? router.entryPoints : entryPoints.all;
  const serviceRef = String(router.service);
  // The compiler's verdict: no service or middleware is looked up.
  if (isRecord(router.failClosed)) {
    const code = String(router.failClosed.code);
    return closedRouter(router, compiled, targets, serviceRef, NONE, code, NO_PROBLEMS, context);
  }
  const service = routerService(name, router, context);
  const problems: RuntimeProblem[] = [];
  const middlewareRefs = Array.isArray(router.middlewares) ? router.middlewares : NONE;
  const own = chain(name, middlewareRefs, registry, problems);
  if (own === undefined) {
    // A middleware this node cannot build: closed too, as the compiler would have it.
    const code = problems[0]?.code ?? 'BERTH_PROXY_MIDDLEWARE';
    return closedRouter(router, compiled, targets, service.name, middlewareRefs, code, problems, context);
  }
  const hostedMemo: HostedMemo[] = [];
  // The previous memo whole, when every entry it made is made again (the common case).
  let unchanged = same && prev.config === router && prev.service === service.name;
  for (const ep of targets) {
    // A name that is not an entry point is skipped, as Traefik does, rather than failing the whole body.
    const outerNames = entryPoints.middlewares.get(ep);
    if (outerNames === undefined) continue;
    const outer = chain(name, outerNames, registry, problems);
    if (outer === undefined) {
      unchanged = false;
      const code = problems[problems.length - 1]?.code ?? 'BERTH_PROXY_MIDDLEWARE';
      hostedMemo.push(
        closedEntry(ep, compiled, service.name, code, isRecord(router.tls) || entryPoints.tls.has(ep)),
      );
      continue;
    }
    const middlewares = outer.length === 0 ? own : own.length === 0 ? outer : [...outer, ...own];
    const tls = isRecord(router.tls) || entryPoints.tls.has(ep);
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
  }
  return unchanged &&
    prev !== undefined &&
    prev.hosted.length === hostedMemo.length &&
    prev.problems.length === 0 &&
    problems.length === 0
    ? prev
    : {
        config: router,
        compiled,
        hosted: hostedMemo,
        service: service.name,
        serviceRef,
        middlewareRefs,
        // Kept by 10,000 routers: one shared empty list rather than one each.
        problems: problems.length === 0 ? NO_PROBLEMS : problems,
      };
}

/** Whether a built middleware calls one of `services` (by its resolved name or the reference it used). */
function namesChangedService(
  middlewares: ReadonlyMap<string, MiddlewareMemo>,
  services: ReadonlySet<string>,
): boolean {
  for (const memo of middlewares.values()) {
    for (const [ref, runtime] of memo.services)
      if (services.has(runtime.name) || services.has(ref)) return true;
  }
  return false;
}

/** A router that answers 503 on each of its entry points (see fail-closed.ts). */
function closedRouter(
  router: HttpRouter,
  compiled: CompiledRouter,
  targets: readonly string[],
  service: string,
  middlewareRefs: readonly string[],
  code: string,
  problems: readonly RuntimeProblem[],
  context: HostContext,
): RouterMemo {
  const hosted: HostedMemo[] = [];
  for (const ep of targets) {
    if (!context.entryPoints.middlewares.has(ep)) continue;
    const tls = isRecord(router.tls) || context.entryPoints.tls.has(ep);
    hosted.push(closedEntry(ep, compiled, service, code, tls));
  }
  return {
    config: router,
    compiled,
    hosted,
    service,
    serviceRef: String(router.service),
    middlewareRefs,
    problems,
  };
}

function closedEntry(
  ep: string,
  compiled: CompiledRouter,
  service: string,
  code: string,
  tls: boolean,
): HostedMemo {
  const hosted: HostedEntry = {
    hosts: compiled.hosts,
    hostSuffixes: compiled.hostSuffixes,
    entry: { ...compiled.entry, service, handler: failClosedHandler(code), ...(tls ? { tls } : {}) },
  };
  return { ep, service: null, middlewares: NONE_BUILT, tls, hosted };
}

/** `ref` and, for `name@provider`, `name`: the keys under which a change to either finds its users. */
function refKeys(ref: string): string[] {
  const at = ref.lastIndexOf('@');
  return at > 0 ? [ref, ref.slice(0, at)] : [ref];
}

function indexService(users: Users, name: string, memo: ServiceMemo, add: boolean): void {
  for (const [ref, runtime] of memo.refs) {
    if (add) users.services.add(runtime.name, name);
    else users.services.delete(runtime.name, name);
    if (ref === runtime.name) continue;
    if (add) users.servicesByRef.add(ref, name);
    else users.servicesByRef.delete(ref, name);
  }
}

function indexMiddleware(users: Users, name: string, refs: readonly string[], add: boolean): void {
  for (const ref of refs) {
    for (const key of refKeys(ref)) {
      if (add) users.middlewares.add(key, name);
      else users.middlewares.delete(key, name);
    }
  }
}

function indexRouter(users: Users, name: string, memo: RouterMemo, add: boolean): void {
  if (add) users.routers.add(memo.service, name);
  else users.routers.delete(memo.service, name);
  if (memo.serviceRef !== memo.service) {
    if (add) users.routersByRef.add(memo.serviceRef, name);
    else users.routersByRef.delete(memo.serviceRef, name);
  }
  for (const ref of memo.middlewareRefs) {
    for (const key of refKeys(String(ref))) {
      if (add) users.routerMiddlewares.add(key, name);
      else users.routerMiddlewares.delete(key, name);
    }
  }
}

/** Counts `service`'s servers' origins in (or out of) `counts`, keeping `set` to the origins counted. */
function countOrigins(
  counts: Map<string, number>,
  service: ServiceRuntime,
  by: 1 | -1,
  set?: Set<string>,
): void {
  for (const server of service.servers) {
    const n = (counts.get(server.origin) ?? 0) + by;
    if (n > 0) {
      counts.set(server.origin, n);
      set?.add(server.origin);
    } else {
      counts.delete(server.origin);
      set?.delete(server.origin);
    }
  }
}

const NONE: readonly string[] = [];
const NONE_BUILT: readonly Middleware[] = [];
const NONE_HOSTED: readonly HostedMemo[] = [];
const NO_PROBLEMS: readonly RuntimeProblem[] = [];

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
  // The controller resolved the syntax in force: `v2` is written out, v3 is the absence of it.
  const syntax = router.ruleSyntax === 'v2' ? 'v2' : 'v3';
  const parsed = parseRule(router.rule, syntax);
  if (!parsed.ok) {
    const { code, message, column } = parsed.error;
    throw new SnapshotInvalid(
      `router "${name}": rule ${JSON.stringify(router.rule)}: ${message} at column ${column} (${code})`,
    );
  }
  const compiled = compileRule(parsed.ast, syntax);
  // Traefik treats priority 0 as unset, so the rule length decides.
  const priority = router.priority ? router.priority : rulePriority(router.rule);
  return {
    entry: { name, priority, match: compiled.match },
    hosts: compiled.hosts,
    hostSuffixes: compiled.hostSuffixes ?? null,
  };
}

function routerService(name: string, router: HttpRouter, context: HostContext): ServiceRuntime {
  const ref = String(router.service);
  // Most routers name their service exactly.
  const exact = context.service(ref);
  if (exact !== undefined) return exact;
  const internal = context.internal(ref);
  if (internal !== undefined) return internal;
  const serviceName = resolveName(ref, context.has);
  const runtime = serviceName === undefined ? undefined : context.service(serviceName);
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

/**
 * The body's ACME answers: HTTP-01 by entry point and token, TLS-ALPN-01 by domain (contexts
 * taken over from `previous` when unchanged). A malformed entry is skipped: it can only fail its
 * own order, never the snapshot. A delta touching `acme` is never rebuilt partially (deltaScope),
 * so every change to the answers comes through here.
 */
function acmeAnswers(
  body: SnapshotBody,
  previous: Runtime | undefined,
  logger: Logger,
): Pick<Runtime, 'acmeHttp01' | 'acmeTlsAlpn01'> {
  const acme = isRecord(body.acme) ? body.acme : undefined;
  const tlsAlpn01 = acmeTlsAlpnAnswers(acme?.tlsAlpn01, previous?.acmeTlsAlpn01, logger);
  return {
    ...acmeHttp01Answers(acme),
    ...(tlsAlpn01.size === 0 ? {} : { acmeTlsAlpn01: tlsAlpn01 }),
  };
}

function acmeHttp01Answers(acme: SnapshotBody['acme']): Pick<Runtime, 'acmeHttp01'> {
  const list = Array.isArray(acme?.http01) ? acme.http01 : [];
  const byEntryPoint = new Map<string, Map<string, string>>();
  for (const a of list as unknown[]) {
    if (!isRecord(a)) continue;
    const { entryPoint, token, keyAuthorization } = a;
    if (typeof entryPoint !== 'string' || typeof keyAuthorization !== 'string') continue;
    if (typeof token !== 'string' || !ACME_TOKEN.test(token)) continue;
    const tokens = byEntryPoint.get(entryPoint) ?? new Map<string, string>();
    tokens.set(token, keyAuthorization);
    byEntryPoint.set(entryPoint, tokens);
  }
  return byEntryPoint.size === 0 ? {} : { acmeHttp01: byEntryPoint };
}

/** RFC 8555 tokens are base64url; anything else could never be asked for. */
const ACME_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
