// Pure compilation of provider parts plus static settings into a snapshot body and a status report.
import {
  type ConfigError,
  type EntryPoint,
  type FailClosed,
  type HttpConfig,
  type HttpMiddleware,
  type HttpRouter,
  type HttpService,
  isInternalRef,
  isUdpAddress,
  parseRule,
  type RuleSyntax,
  rulePriority,
  type ServersTransport,
  type Source,
  type StaticConfig,
} from '@berth/config';
import { SNAPSHOT_SCHEMA, type SnapshotBody } from '@berth/protocol';
import type { ProviderPart } from '../provider/provider-part.js';
import type {
  CompileResult,
  MiddlewareStatus,
  RouterStatus,
  ServiceStatus,
  ServiceType,
} from './compile-result.js';
import { compileTcp } from './compile-tcp.js';
import { compileUdp } from './compile-udp.js';
import { defaultEntryPoints } from './default-entry-points.js';
import { ErrorCodes } from './error-codes.js';
import { compareStrings, type Definition, type MergeResult, mergeParts, sortParts } from './merge.js';
import { isAbout, qualify, qualifyPart, qualifyTlsOptions } from './namespaces.js';
import { type Problem, resolveGraph } from './reference-graph.js';
import {
  CONFLICT,
  childServiceProblems,
  errorAt,
  graphErrors,
  internalServiceProblem,
  isBuiltinTransport,
  memberProblem,
  referenceProblem,
  transportProblem,
} from './references.js';
import {
  resolveTls,
  type TlsMaterial,
  type TlsOptionsCheck,
  tlsOptionsCheck,
  tlsOptionsTarget,
} from './resolve-tls.js';
import { blocking, ruleSyntaxOf, ruleWarning, withSyntaxInForce } from './rule-syntax.js';

export interface CompileOptions {
  /** The clock certificates are checked against (default: now). */
  now?: Date;
  /**
   * Generated default certificate, ticket keys and OCSP material. Without it the body carries no
   * `tls` section (certificates are still checked and reported).
   */
  tls?: TlsMaterial;
}

export function compile(
  parts: readonly ProviderPart[],
  statics: StaticConfig,
  options: CompileOptions = {},
): CompileResult {
  // Every name from here on is qualified by its provider (`web@docker`), references included.
  const sorted = sortParts(parts).map(qualifyPartOnce);
  const partErrors = sorted.flatMap((part) => part.errors);
  const merged = mergeParts(sorted);
  const allEntryPoints = Object.keys(statics.entryPoints).sort(compareStrings);
  const defaults = defaultEntryPoints(statics);

  const serviceVerdicts = resolveServices(merged);
  const middlewareVerdicts = resolveMiddlewares(merged, serviceVerdicts);
  const middlewareErrors = elementErrors('middlewares', middlewareVerdicts, merged.middlewares);
  const serviceErrors = elementErrors('services', serviceVerdicts, merged.services);
  const usable = (verdicts: Map<string, Problem | null>, name: string): boolean =>
    verdicts.has(name) && verdicts.get(name) === null;

  const tlsOptionsProblem = tlsOptionsCheck(merged, partErrors);

  // Entry point middlewares run before every router's own; a broken one disables the entry point's routers.
  const entryPointErrors: ConfigError[] = [];
  /** Entry point → the code of what broke it. */
  const brokenEntryPoints = new Map<string, string>();
  const entryPoints: Record<string, EntryPoint> = {};
  for (const ep of allEntryPoints) {
    const def = statics.entryPoints[ep]!;
    const checked = checkEntryPoint(ep, def, statics, tlsOptionsProblem, middlewareVerdicts, merged);
    entryPointErrors.push(...checked.errors);
    if (checked.broken !== null) brokenEntryPoints.set(ep, checked.broken);
    entryPoints[ep] = checked.entryPoint;
  }

  /** What is wrong with a middleware a router names: its own validation error, else the graph's verdict. */
  const whyBroken = (middleware: string): ConfigError | undefined =>
    partErrors.find((e) => e.severity !== 'warning' && isAbout(e, 'http.middlewares', middleware)) ??
    middlewareErrors.get(middleware);
  const routers: Record<string, HttpRouter> = {};
  const routerStatuses: RouterStatus[] = [];
  const routerErrors: ConfigError[] = [];
  for (const name of [...merged.routers.keys(), ...merged.routerConflicts.keys()].sort(compareStrings)) {
    const conflict = merged.routerConflicts.get(name);
    if (conflict !== undefined) {
      routerStatuses.push(
        routerStatus(name, conflict.first, entryPointsOf(conflict.first.value, defaults), statics, [
          conflict.error,
        ]),
      );
      continue;
    }
    const def = merged.routers.get(name);
    if (def === undefined) continue;
    const eps = entryPointsOf(def.value, defaults);
    const errors = checkRouter(
      name,
      def,
      eps,
      statics,
      serviceVerdicts,
      middlewareVerdicts,
      tlsOptionsProblem,
    );
    for (const ep of eps) {
      const broken = brokenEntryPoints.get(ep);
      if (broken === undefined) continue;
      errors.push(
        errorAt(
          def.source,
          `http.routers.${name}.entryPoints`,
          broken,
          broken === ErrorCodes.TLS_OPTIONS_MISSING
            ? `router "${name}": entry point "${ep}" names TLS options that are not defined`
            : `router "${name}": entry point "${ep}" has a middleware that is missing or was dropped`,
        ),
      );
    }
    // Warnings (a v2 template under v3 syntax...) never take a router out; blocking errors do, unless
    // they are only about its middlewares: then it fails closed (503) instead of falling through.
    const blockingErrors = errors.filter((e) => e.severity !== 'warning');
    const closed =
      blockingErrors.length === 0 ? undefined : failClosed(name, def.value, blockingErrors, whyBroken);
    const reported =
      closed === undefined
        ? errors
        : errors.map((e) =>
            e.severity === 'warning'
              ? e
              : { ...e, message: `${e.message}; the router answers 503 (fails closed)` },
          );
    routerErrors.push(...reported);
    routerStatuses.push(routerStatus(name, def, eps, statics, reported, closed !== undefined));
    const syntax = ruleSyntaxOf(def.value, statics);
    if (!blocking(errors)) routers[name] = normaliseRouter(def.value, eps, merged, syntax);
    else if (closed !== undefined)
      routers[name] = failClosedRouter(normaliseRouter(def.value, eps, merged, syntax), closed);
  }

  const services = bodyServices(merged.services, serviceVerdicts);
  const middlewares: Record<string, HttpMiddleware> = {};
  for (const [name, def] of merged.middlewares) {
    if (usable(middlewareVerdicts, name)) middlewares[name] = def.value;
  }
  const transports: Record<string, ServersTransport> = {};
  for (const [name, def] of merged.transports) transports[name] = def.value;

  const serviceUsers = serviceUsage(routers, services);
  const middlewareUsers = middlewareUsage(routers, middlewares, entryPoints);
  // An error page service serves the routers passing through its errors middleware.
  for (const [name, middleware] of Object.entries(middlewares)) {
    const page = middleware.errors?.service;
    if (page === undefined) continue;
    for (const router of middlewareUsers.get(name) ?? []) addUser(serviceUsers, page, router);
  }

  const serviceStatuses: ServiceStatus[] = [];
  for (const name of [...merged.services.keys(), ...merged.serviceConflicts.keys()].sort(compareStrings)) {
    const conflict = merged.serviceConflicts.get(name);
    const def = conflict?.first ?? merged.services.get(name);
    if (def === undefined) continue;
    const problem = serviceErrors.get(name);
    const errors = conflict !== undefined ? [conflict.error] : problem !== undefined ? [problem] : [];
    serviceStatuses.push({
      name,
      type: serviceType(def.value),
      servers: def.value.loadBalancer?.servers.map((s) => s.url) ?? [],
      services: childServices(def.value),
      usedBy: [...(serviceUsers.get(name) ?? [])].sort(compareStrings),
      status: services[name] === undefined ? 'disabled' : 'enabled',
      errors,
      ...(def.source === undefined ? {} : { source: def.source }),
    });
  }

  const middlewareStatuses: MiddlewareStatus[] = [];
  for (const name of [...merged.middlewares.keys(), ...merged.middlewareConflicts.keys()].sort(
    compareStrings,
  )) {
    const conflict = merged.middlewareConflicts.get(name);
    const def = conflict?.first ?? merged.middlewares.get(name);
    if (def === undefined) continue;
    const problem = middlewareErrors.get(name);
    middlewareStatuses.push({
      name,
      type: Object.keys(def.value)[0] ?? 'unknown',
      usedBy: [...(middlewareUsers.get(name) ?? [])].sort(compareStrings),
      status: middlewares[name] === undefined ? 'disabled' : 'enabled',
      errors: conflict !== undefined ? [conflict.error] : problem !== undefined ? [problem] : [],
      ...(def.source === undefined ? {} : { source: def.source }),
    });
  }

  // Validation errors from providers name elements by path; attach them so each status tells the whole story.
  if (partErrors.length > 0) {
    for (const status of routerStatuses)
      status.errors.unshift(...partErrors.filter((e) => isAbout(e, 'http.routers', status.name)));
    for (const status of serviceStatuses)
      status.errors.unshift(...partErrors.filter((e) => isAbout(e, 'http.services', status.name)));
    for (const status of middlewareStatuses)
      status.errors.unshift(...partErrors.filter((e) => isAbout(e, 'http.middlewares', status.name)));
  }

  const http: HttpConfig = { routers, services };
  // Left out when empty, so configurations without them hash exactly as before these sections existed.
  if (Object.keys(middlewares).length > 0) http.middlewares = middlewares;
  if (Object.keys(transports).length > 0) http.serversTransports = transports;
  const body: SnapshotBody = { schema: SNAPSHOT_SCHEMA, entryPoints, http };
  if (statics.accessLog !== undefined) body.accessLog = statics.accessLog;
  if (statics.routeRemovalGrace !== undefined) body.routeRemovalGrace = statics.routeRemovalGrace;

  const tcp = compileTcp(merged, statics, tlsOptionsProblem, partErrors);
  if (tcp.tcp !== undefined) body.tcp = tcp.tcp;
  const udp = compileUdp(merged, statics, partErrors);
  if (udp.udp !== undefined) body.udp = udp.udp;

  // TLS material travels only when something can terminate TLS, so plain-HTTP bodies hash as before.
  const tlsInUse =
    Object.values(routers).some((r) => r.tls !== undefined) ||
    Object.values(entryPoints).some((ep) => ep.http?.tls !== undefined) ||
    Object.values(tcp.tcp?.routers ?? {}).some((r) => r.tls !== undefined) ||
    merged.tls.certificates.length > 0;
  const tls = tlsInUse
    ? resolveTls(merged, statics, options.now ?? new Date(), options.tls, partErrors)
    : { errors: [], certificates: [] };
  if (tls.tls !== undefined) body.tls = tls.tls;

  return {
    body,
    errors: [
      ...partErrors,
      ...merged.errors,
      ...middlewareErrors.values(),
      ...serviceErrors.values(),
      ...entryPointErrors,
      ...routerErrors,
      ...tcp.errors,
      ...udp.errors,
      ...tls.errors,
    ],
    routers: routerStatuses,
    services: serviceStatuses,
    middlewares: middlewareStatuses,
    tcpRouters: tcp.routers,
    tcpServices: tcp.services,
    udpRouters: udp.routers,
    udpServices: udp.services,
    certificates: tls.certificates,
  };
}

/**
 * Parts are immutable once a provider hands them over, and most survive a change untouched (every
 * container but one, every file but one): each is qualified once, not on every compile.
 */
const qualifiedParts = new WeakMap<ProviderPart, ProviderPart>();
function qualifyPartOnce(part: ProviderPart): ProviderPart {
  let qualified = qualifiedParts.get(part);
  if (qualified === undefined) {
    qualified = qualifyPart(part);
    qualifiedParts.set(part, qualified);
  }
  return qualified;
}

function resolveMiddlewares(
  merged: MergeResult,
  serviceVerdicts: Map<string, Problem | null>,
): Map<string, Problem | null> {
  return resolveGraph({
    names: [...merged.middlewares.keys(), ...merged.middlewareConflicts.keys()].sort(compareStrings),
    refs: (name) => merged.middlewares.get(name)?.value.chain?.middlewares ?? [],
    own: (name) => {
      if (merged.middlewareConflicts.has(name)) return CONFLICT;
      // An error page service is followed like a router's: missing or dropped, the middleware is dropped.
      const service = merged.middlewares.get(name)?.value.errors?.service;
      const problem = service === undefined ? null : referenceProblem(service, serviceVerdicts);
      return problem === null
        ? null
        : {
            code: ErrorCodes.CONFIG_SERVICE_MISSING,
            message: `middleware "${name}": errors service "${service}" ${problem}`,
          };
    },
    missing: (name, ref, why) => ({
      code: ErrorCodes.CONFIG_MIDDLEWARE_MISSING,
      message: `middleware "${name}": chain member "${ref}" ${memberProblem(ref, why)}`,
    }),
    cycle: (members) => ({
      code: ErrorCodes.CONFIG_MIDDLEWARE_CYCLE,
      message: `chains ${members.map((m) => `"${m}"`).join(', ')} include each other in a cycle; they are dropped`,
    }),
  });
}

/** The last service verdicts and the merge maps they were made from (merges are reused when unchanged, see mergeKind). */
let lastServiceVerdicts: { inputs: readonly unknown[]; verdicts: Map<string, Problem | null> } | null = null;

function resolveServices(merged: MergeResult): Map<string, Problem | null> {
  const inputs = [merged.services, merged.serviceConflicts, merged.transports, merged.transportConflicts];
  if (lastServiceVerdicts?.inputs.every((x, i) => x === inputs[i])) return lastServiceVerdicts.verdicts;
  const verdicts = resolveServicesNow(merged);
  lastServiceVerdicts = { inputs, verdicts };
  return verdicts;
}

function resolveServicesNow(merged: MergeResult): Map<string, Problem | null> {
  return resolveGraph({
    names: [...merged.services.keys(), ...merged.serviceConflicts.keys()].sort(compareStrings),
    refs: (name) => {
      const service = merged.services.get(name)?.value;
      return service === undefined ? [] : childServices(service);
    },
    own: (name) => {
      if (merged.serviceConflicts.has(name)) return CONFLICT;
      const transport = merged.services.get(name)?.value.loadBalancer?.serversTransport;
      return transportProblem(`service "${name}"`, transport, merged.transports, merged.transportConflicts);
    },
    ...childServiceProblems(''),
  });
}

/** One located error per element the graph found unusable, conflicts aside (merge reported those). */
function elementErrors<T>(
  kind: 'services' | 'middlewares',
  verdicts: Map<string, Problem | null>,
  defs: Map<string, Definition<T>>,
): Map<string, ConfigError> {
  return graphErrors(`http.${kind}`, verdicts, (name) => defs.get(name)?.source);
}

/** The body's services, the same record while the merged services and their verdicts are the same. */
let lastBodyServices: {
  defs: Map<string, Definition<HttpService>>;
  verdicts: Map<string, Problem | null>;
  services: Record<string, HttpService>;
} | null = null;

function bodyServices(
  defs: Map<string, Definition<HttpService>>,
  verdicts: Map<string, Problem | null>,
): Record<string, HttpService> {
  if (lastBodyServices !== null && lastBodyServices.defs === defs && lastBodyServices.verdicts === verdicts)
    return lastBodyServices.services;
  const services: Record<string, HttpService> = {};
  for (const [name, def] of defs) {
    if (verdicts.has(name) && verdicts.get(name) === null) services[name] = normaliseService(def.value);
  }
  lastBodyServices = { defs, verdicts, services };
  return services;
}

function childServices(service: HttpService): string[] {
  if (service.weighted) return service.weighted.services.map((s) => s.name);
  if (service.mirroring) return [service.mirroring.service, ...service.mirroring.mirrors.map((m) => m.name)];
  if (service.failover) return [service.failover.service, service.failover.fallback];
  if (service.highestRandomWeight) return service.highestRandomWeight.services.map((s) => s.name);
  return [];
}

function serviceType(service: HttpService): ServiceType {
  if (service.loadBalancer) return 'loadBalancer';
  if (service.weighted) return 'weighted';
  if (service.mirroring) return 'mirroring';
  if (service.failover) return 'failover';
  if (service.highestRandomWeight) return 'highestRandomWeight';
  return 'unknown';
}

/**
 * The last body router made from each (qualified) router, with what it was made of: an unchanged
 * router gives the same body object compile after compile, which the store, the hash cache and the
 * distributor's diff recognise without serialising it.
 */
const normalisedRouters = new WeakMap<
  HttpRouter,
  { entryPoints: string[]; tlsOptions: string | undefined; syntax: RuleSyntax; value: HttpRouter }
>();

/** References in the body are qualified names the body defines, so nodes look every one up as is. */
function normaliseRouter(
  router: HttpRouter,
  entryPoints: string[],
  merged: MergeResult,
  syntax: RuleSyntax,
): HttpRouter {
  const tlsOptions =
    router.tls?.options === undefined ? undefined : tlsOptionsTarget(merged, router.tls.options);
  const known = normalisedRouters.get(router);
  if (
    known !== undefined &&
    known.tlsOptions === tlsOptions &&
    known.syntax === syntax &&
    known.entryPoints.length === entryPoints.length &&
    known.entryPoints.every((ep, i) => ep === entryPoints[i])
  )
    return known.value;
  const out: HttpRouter = withSyntaxInForce({ ...router, entryPoints }, syntax);
  if (router.tls !== undefined && tlsOptions !== undefined) out.tls = { ...router.tls, options: tlsOptions };
  normalisedRouters.set(router, { entryPoints, tlsOptions, syntax, value: out });
  return out;
}

/**
 * An entry point's references: its middlewares and `http.tls.options` (either missing disables the
 * entry point's HTTP routers, so nothing is served with less protection than configured) and its
 * redirection target (a bad one drops only the redirection).
 */
function checkEntryPoint(
  ep: string,
  def: EntryPoint,
  statics: StaticConfig,
  tlsOptionsProblem: TlsOptionsCheck,
  middlewareVerdicts: Map<string, Problem | null>,
  merged: MergeResult,
): { entryPoint: EntryPoint; errors: ConfigError[]; broken: string | null } {
  // `asDefault` is the compiler's business: nodes receive explicit entry point lists.
  const bodyEntryPoint = def.asDefault === undefined ? def : withoutAsDefault(def);
  if (def.http === undefined) return { entryPoint: bodyEntryPoint, errors: [], broken: null };
  const errors: ConfigError[] = [];
  let broken: string | null = null;
  const http: NonNullable<EntryPoint['http']> = { ...def.http };
  // The static configuration belongs to no provider: an unqualified name means the file provider's.
  const listed = def.http.middlewares?.map((name) => qualify(name, 'file'));
  if (listed !== undefined) {
    for (const name of listed) {
      const problem = referenceProblem(name, middlewareVerdicts);
      if (problem === null) continue;
      broken = ErrorCodes.CONFIG_MIDDLEWARE_MISSING;
      errors.push({
        code: ErrorCodes.CONFIG_MIDDLEWARE_MISSING,
        path: `entryPoints.${ep}.http.middlewares`,
        message: `entry point "${ep}": middleware "${name}" ${problem}; the routers on this entry point are disabled`,
      });
    }
    http.middlewares = listed.filter(
      (name) => middlewareVerdicts.has(name) && middlewareVerdicts.get(name) === null,
    );
  }
  const written = def.http.tls?.options;
  const options = written === undefined ? undefined : qualifyTlsOptions(written, 'file');
  if (def.http.tls !== undefined && options !== undefined) {
    const problem = tlsOptionsProblem(options);
    if (problem === null) {
      http.tls = { ...def.http.tls, options: tlsOptionsTarget(merged, options) };
    } else {
      broken ??= ErrorCodes.TLS_OPTIONS_MISSING;
      errors.push({
        code: ErrorCodes.TLS_OPTIONS_MISSING,
        path: `entryPoints.${ep}.http.tls.options`,
        message: `entry point "${ep}": TLS options "${options}" ${problem}; the routers on this entry point are disabled`,
      });
    }
  }
  const to = def.http.redirections?.entryPoint?.to;
  if (to !== undefined && !/^:\d{1,5}$/.test(to) && statics.entryPoints[to] === undefined) {
    const known = Object.keys(statics.entryPoints).sort(compareStrings).join(', ') || 'none';
    errors.push({
      code: ErrorCodes.CONFIG_ENTRYPOINT_MISSING,
      path: `entryPoints.${ep}.http.redirections.entryPoint.to`,
      message: `entry point "${ep}": redirection target "${to}" is neither a declared entry point (declared: ${known}) nor ":port"; the redirection is dropped`,
    });
    delete http.redirections;
  }
  return { entryPoint: { ...bodyEntryPoint, http }, errors, broken };
}

function withoutAsDefault(def: EntryPoint): EntryPoint {
  const { asDefault: _, ...rest } = def;
  return rest;
}

function normaliseService(service: HttpService): HttpService {
  const lb = service.loadBalancer;
  if (lb?.serversTransport === undefined) return service;
  // The built-in transport is the default: naming it is the same as naming none.
  const { serversTransport, ...rest } = lb;
  return isBuiltinTransport(serversTransport) ? { loadBalancer: rest } : service;
}

/** Routers reaching each service, through weighted and mirroring parents too. */
function serviceUsage(
  routers: Record<string, HttpRouter>,
  services: Record<string, HttpService>,
): Map<string, Set<string>> {
  const users = new Map<string, Set<string>>();
  for (const [routerName, router] of Object.entries(routers)) {
    if (router.failClosed !== undefined) continue; // it answers 503 itself
    const service = services[router.service];
    // The usual case, a router straight to a load balancer, needs no walk.
    if (service === undefined || childServices(service).length === 0) {
      addUser(users, router.service, routerName);
      continue;
    }
    const seen = new Set<string>();
    const todo = [router.service];
    for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
      if (seen.has(name)) continue;
      seen.add(name);
      addUser(users, name, routerName);
      const service = services[name];
      if (service !== undefined) todo.push(...childServices(service));
    }
  }
  return users;
}

/** Routers passing through each middleware: their entry points', their own, and chain members. */
function middlewareUsage(
  routers: Record<string, HttpRouter>,
  middlewares: Record<string, HttpMiddleware>,
  entryPoints: Record<string, EntryPoint>,
): Map<string, Set<string>> {
  const users = new Map<string, Set<string>>();
  for (const [routerName, router] of Object.entries(routers)) {
    if (router.failClosed !== undefined) continue; // it runs no middleware
    const fromEntryPoints = (router.entryPoints ?? []).flatMap(
      (ep) => entryPoints[ep]?.http?.middlewares ?? [],
    );
    const todo = [...fromEntryPoints, ...(router.middlewares ?? [])];
    if (todo.length === 0) continue;
    const seen = new Set<string>();
    for (let name = todo.pop(); name !== undefined; name = todo.pop()) {
      if (seen.has(name)) continue;
      seen.add(name);
      addUser(users, name, routerName);
      todo.push(...(middlewares[name]?.chain?.middlewares ?? []));
    }
  }
  return users;
}

function addUser(users: Map<string, Set<string>>, name: string, router: string): void {
  const set = users.get(name);
  if (set === undefined) users.set(name, new Set([router]));
  else set.add(router);
}

/** Traefik semantics: no (or an empty) list means the default entry points. Sorted and unique, since order means nothing. */
function entryPointsOf(router: HttpRouter, defaults: string[]): string[] {
  const listed = router.entryPoints;
  if (listed === undefined || listed.length === 0) return defaults;
  return [...new Set(listed)].sort(compareStrings);
}

function checkRouter(
  name: string,
  def: Definition<HttpRouter>,
  entryPoints: string[],
  statics: StaticConfig,
  serviceVerdicts: Map<string, Problem | null>,
  middlewareVerdicts: Map<string, Problem | null>,
  tlsOptionsProblem: TlsOptionsCheck,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const at = (path: string, code: string, message: string): void => {
    errors.push(errorAt(def.source, path, code, message));
  };
  const router = def.value;
  const syntax = ruleSyntaxOf(router, statics);
  const parsed = parsedRule(router, syntax);
  if (!parsed.ok) {
    const { code, message, column } = parsed.error;
    at(
      `http.routers.${name}.rule`,
      code,
      `router "${name}": rule ${JSON.stringify(router.rule)}${syntax === 'v2' ? ' (ruleSyntax v2)' : ''}: ${message} (column ${column})`,
    );
  }
  for (const warning of parsed.ok ? (parsed.warnings ?? []) : []) {
    errors.push(
      ruleWarning(
        def.source,
        `http.routers.${name}.rule`,
        `router "${name}": rule ${JSON.stringify(router.rule)}: ${warning.message}`,
        warning.code,
      ),
    );
  }
  const serviceProblem = isInternalRef(router.service)
    ? internalServiceProblem(router.service)
    : referenceProblem(router.service, serviceVerdicts);
  if (serviceProblem !== null) {
    at(
      `http.routers.${name}.service`,
      ErrorCodes.CONFIG_SERVICE_MISSING,
      `router "${name}": service "${router.service}" ${serviceProblem}`,
    );
  }
  for (const middleware of router.middlewares ?? []) {
    const problem = referenceProblem(middleware, middlewareVerdicts);
    if (problem === null) continue;
    at(
      `http.routers.${name}.middlewares`,
      ErrorCodes.CONFIG_MIDDLEWARE_MISSING,
      `router "${name}": middleware "${middleware}" ${problem}`,
    );
  }
  const options = router.tls?.options;
  const optionsProblem = options === undefined ? null : tlsOptionsProblem(options);
  if (optionsProblem !== null) {
    at(
      `http.routers.${name}.tls.options`,
      ErrorCodes.TLS_OPTIONS_MISSING,
      `router "${name}": TLS options "${options}" ${optionsProblem}`,
    );
  }
  if (entryPoints.length === 0) {
    at(
      `http.routers.${name}.entryPoints`,
      ErrorCodes.CONFIG_ENTRYPOINT_MISSING,
      `router "${name}": no entry points are declared in the static configuration`,
    );
  }
  for (const ep of entryPoints) {
    const declared = statics.entryPoints[ep];
    if (declared === undefined) {
      const known = Object.keys(statics.entryPoints).sort(compareStrings).join(', ') || 'none';
      at(
        `http.routers.${name}.entryPoints`,
        ErrorCodes.CONFIG_ENTRYPOINT_MISSING,
        `router "${name}": entry point "${ep}" is not declared (declared: ${known})`,
      );
    } else if (isUdpAddress(declared.address)) {
      at(
        `http.routers.${name}.entryPoints`,
        ErrorCodes.CONFIG_ENTRYPOINT_PROTOCOL,
        `router "${name}": entry point "${ep}" listens on UDP (${declared.address}); only UDP routers can use it`,
      );
    }
  }
  return errors;
}

/** A rule's parse, once per router object: unchanged routers are the same objects from one compile to the next. */
const parsedRules = new WeakMap<HttpRouter, { syntax: RuleSyntax; parsed: ReturnType<typeof parseRule> }>();
function parsedRule(router: HttpRouter, syntax: RuleSyntax): ReturnType<typeof parseRule> {
  const known = parsedRules.get(router);
  if (known !== undefined && known.syntax === syntax) return known.parsed;
  const parsed = parseRule(router.rule, syntax);
  parsedRules.set(router, { syntax, parsed });
  return parsed;
}

/**
 * Beyond Traefik: a router whose middleware cannot be built (missing, invalid, a basicAuth whose
 * users are unusable) stays in the table and answers 503, so the requests it was written for never
 * reach another router without the auth or allow-list it names. Only when its middlewares (and
 * possibly its service) are the trouble: a router whose rule or entry points are wrong cannot be
 * placed at all.
 */
function failClosed(
  name: string,
  router: HttpRouter,
  errors: readonly ConfigError[],
  whyBroken: (middleware: string) => ConfigError | undefined,
): FailClosed | undefined {
  const middlewaresPath = `http.routers.${name}.middlewares`;
  const servicePath = `http.routers.${name}.service`;
  if (!errors.every((e) => e.path === middlewaresPath || e.path === servicePath)) return undefined;
  const first = errors.find((e) => e.path === middlewaresPath);
  if (first === undefined) return undefined;
  // The middleware's own validation error says what is wrong with it (`users[1]` of a basicAuth...).
  const broken = (router.middlewares ?? []).find((m) => first.message.includes(`middleware "${m}"`));
  const cause = broken === undefined ? undefined : whyBroken(broken);
  return cause === undefined
    ? { code: first.code, message: first.message }
    : {
        code: cause.code,
        message: cause.message.startsWith(`middleware "${broken}"`)
          ? `router "${name}": ${cause.message}`
          : `router "${name}": middleware "${broken}": ${cause.message}`,
      };
}

/** The body's form of a failed-closed router: placed as written, nothing behind it. */
function failClosedRouter(router: HttpRouter, closed: FailClosed): HttpRouter {
  const { middlewares: _, ...placed } = router;
  return { ...placed, failClosed: closed };
}

function routerStatus(
  name: string,
  def: Definition<HttpRouter>,
  entryPoints: string[],
  statics: StaticConfig,
  errors: ConfigError[],
  closed = false,
): RouterStatus {
  const router = def.value;
  const source: Source | undefined = def.source;
  return {
    name,
    rule: router.rule,
    service: router.service,
    entryPoints,
    // As the nodes route: a router with `tls`, or on an entry point with `http.tls`, answers only over TLS there.
    tlsEntryPoints: entryPoints.filter(
      (ep) => router.tls !== undefined || statics.entryPoints[ep]?.http?.tls !== undefined,
    ),
    middlewares: router.middlewares ?? [],
    priority: effectivePriority(router),
    status: blocking(errors) ? 'disabled' : 'enabled',
    ...(closed ? { failClosed: true } : {}),
    errors: [...errors],
    ...(source === undefined ? {} : { source }),
  };
}

/** Traefik treats 0 as "not set": the default priority comes from the rule. */
function effectivePriority(router: HttpRouter): number {
  return router.priority !== undefined && router.priority > 0 ? router.priority : rulePriority(router.rule);
}
