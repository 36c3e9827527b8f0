// Compiles the merged `tcp.*` section: cross-references checked, broken elements dropped with located errors.
import type {
  ConfigError,
  RuleSyntax,
  StaticConfig,
  TcpConfig,
  TcpMiddleware,
  TcpRouter,
  TcpServersTransport,
  TcpService,
} from '@berth/config';
import { isUdpAddress, parseTcpRule, rulePriority } from '@berth/config';
import type { TcpRouterStatus, TcpServiceStatus } from './compile-result.js';
import { defaultEntryPoints } from './default-entry-points.js';
import { ErrorCodes } from './error-codes.js';
import { compareStrings, type MergeResult } from './merge.js';
import { isAbout, unknownProvider } from './namespaces.js';
import { resolveGraph } from './reference-graph.js';
import {
  CONFLICT,
  childServiceProblems,
  errorAt,
  graphErrors,
  isBuiltinTransport,
  referenceProblem,
  transportProblem,
} from './references.js';
import { type TlsOptionsCheck, tlsOptionsTarget } from './resolve-tls.js';
import { blocking, ruleSyntaxOf, ruleWarning, withSyntaxInForce } from './rule-syntax.js';

export interface TcpCompilation {
  /** Undefined when nothing TCP is usable, so bodies without TCP hash as before. */
  tcp?: TcpConfig;
  errors: ConfigError[];
  routers: TcpRouterStatus[];
  services: TcpServiceStatus[];
}

export function compileTcp(
  merged: MergeResult,
  statics: StaticConfig,
  tlsOptionsProblem: TlsOptionsCheck,
  partErrors: readonly ConfigError[],
): TcpCompilation {
  const { routers: mr, services: ms, middlewares: mm, transports: mt } = merged.tcp;
  const allEntryPoints = Object.keys(statics.entryPoints)
    .filter((ep) => !isUdpAddress(statics.entryPoints[ep]!.address))
    .sort(compareStrings);
  const defaults = defaultEntryPoints(statics);

  const serviceVerdicts = resolveGraph({
    names: [...ms.merged.keys(), ...ms.conflicts.keys()].sort(compareStrings),
    refs: (name) => (ms.merged.get(name)?.value.weighted?.services ?? []).map((s) => s.name),
    own: (name) => {
      if (ms.conflicts.has(name)) return CONFLICT;
      const transport = ms.merged.get(name)?.value.loadBalancer?.serversTransport;
      return transportProblem(`TCP service "${name}"`, transport, mt.merged, mt.conflicts);
    },
    ...childServiceProblems('TCP '),
  });
  const serviceErrors = graphErrors('tcp.services', serviceVerdicts, (name) => ms.merged.get(name)?.source);

  const routers: Record<string, TcpRouter> = {};
  const routerStatuses: TcpRouterStatus[] = [];
  const routerErrors: ConfigError[] = [];
  for (const name of [...mr.merged.keys(), ...mr.conflicts.keys()].sort(compareStrings)) {
    const conflict = mr.conflicts.get(name);
    const def = conflict?.first ?? mr.merged.get(name);
    if (def === undefined) continue;
    const router = def.value;
    const eps =
      router.entryPoints === undefined || router.entryPoints.length === 0
        ? defaults
        : [...new Set(router.entryPoints)].sort(compareStrings);
    const errors: ConfigError[] = [];
    if (conflict !== undefined) errors.push(conflict.error);
    else {
      const at = (path: string, code: string, message: string) =>
        errors.push(errorAt(def.source, `tcp.routers.${name}.${path}`, code, message));
      // Providers pass a rule either syntax accepts; the syntax in force is only known here.
      const syntax = ruleSyntaxOf(router, statics);
      const parsed = parseTcpRule(router.rule, syntax);
      if (!parsed.ok) {
        const { code, message, column } = parsed.error;
        at(
          'rule',
          code,
          `TCP router "${name}": rule ${JSON.stringify(router.rule)}${syntax === 'v2' ? ' (ruleSyntax v2)' : ''}: ${message} (column ${column})`,
        );
      }
      for (const warning of parsed.ok ? (parsed.warnings ?? []) : []) {
        errors.push(
          ruleWarning(
            def.source,
            `tcp.routers.${name}.rule`,
            `TCP router "${name}": rule ${JSON.stringify(router.rule)}: ${warning.message}`,
            warning.code,
          ),
        );
      }
      const serviceProblem = referenceProblem(router.service, serviceVerdicts);
      if (serviceProblem !== null) {
        at(
          'service',
          ErrorCodes.CONFIG_SERVICE_MISSING,
          `TCP router "${name}": service "${router.service}" ${serviceProblem}`,
        );
      }
      for (const middleware of router.middlewares ?? []) {
        if (mm.merged.has(middleware)) continue;
        const why = mm.conflicts.has(middleware)
          ? 'was dropped because its definitions conflict'
          : (unknownProvider(middleware) ?? 'is not defined');
        at(
          'middlewares',
          ErrorCodes.CONFIG_MIDDLEWARE_MISSING,
          `TCP router "${name}": middleware "${middleware}" ${why}`,
        );
      }
      if (eps.length === 0) {
        at(
          'entryPoints',
          ErrorCodes.CONFIG_ENTRYPOINT_MISSING,
          `TCP router "${name}": no entry points are declared in the static configuration`,
        );
      }
      for (const ep of eps) {
        const declared = statics.entryPoints[ep];
        if (declared !== undefined && isUdpAddress(declared.address)) {
          at(
            'entryPoints',
            ErrorCodes.CONFIG_ENTRYPOINT_PROTOCOL,
            `TCP router "${name}": entry point "${ep}" listens on UDP (${declared.address}); only UDP routers can use it`,
          );
          continue;
        }
        if (declared !== undefined) continue;
        at(
          'entryPoints',
          ErrorCodes.CONFIG_ENTRYPOINT_MISSING,
          `TCP router "${name}": entry point "${ep}" is not declared (declared: ${allEntryPoints.join(', ') || 'none'})`,
        );
      }
      const options = router.tls?.options;
      const optionsProblem = options === undefined ? null : tlsOptionsProblem(options);
      if (optionsProblem !== null) {
        at(
          'tls.options',
          ErrorCodes.TLS_OPTIONS_MISSING,
          `TCP router "${name}": TLS options "${options}" ${optionsProblem}`,
        );
      }
    }
    routerErrors.push(...errors.filter((e) => e !== conflict?.error));
    const status: TcpRouterStatus = {
      name,
      rule: router.rule,
      service: router.service,
      entryPoints: eps,
      middlewares: router.middlewares ?? [],
      priority:
        router.priority !== undefined && router.priority > 0 ? router.priority : rulePriority(router.rule),
      tls: router.tls === undefined ? 'none' : router.tls.passthrough === true ? 'passthrough' : 'terminate',
      status: blocking(errors) ? 'disabled' : 'enabled',
      errors: [...partErrors.filter((e) => isAbout(e, 'tcp.routers', name)), ...errors],
      ...(def.source === undefined ? {} : { source: def.source }),
    };
    if (router.tls !== undefined && router.tls.passthrough !== true) {
      status.tlsOptions = tlsOptionsTarget(merged, router.tls.options ?? 'default');
    }
    routerStatuses.push(status);
    if (!blocking(errors))
      routers[name] = normaliseRouter(router, eps, merged, ruleSyntaxOf(router, statics));
  }

  const services: Record<string, TcpService> = {};
  for (const [name, def] of ms.merged) {
    if (serviceVerdicts.get(name) === null) services[name] = normaliseService(def.value);
  }
  const usedBy = serviceUsage(routers, services);
  const serviceStatuses: TcpServiceStatus[] = [];
  for (const name of [...ms.merged.keys(), ...ms.conflicts.keys()].sort(compareStrings)) {
    const conflict = ms.conflicts.get(name);
    const def = conflict?.first ?? ms.merged.get(name);
    if (def === undefined) continue;
    const problem = serviceErrors.get(name);
    const own = conflict !== undefined ? [conflict.error] : problem !== undefined ? [problem] : [];
    serviceStatuses.push({
      name,
      type: def.value.loadBalancer ? 'loadBalancer' : def.value.weighted ? 'weighted' : 'unknown',
      servers: def.value.loadBalancer?.servers.map((s) => s.address) ?? [],
      services: def.value.weighted?.services.map((s) => s.name) ?? [],
      usedBy: [...(usedBy.get(name) ?? [])].sort(compareStrings),
      status: services[name] === undefined ? 'disabled' : 'enabled',
      errors: [...partErrors.filter((e) => isAbout(e, 'tcp.services', name)), ...own],
      ...(def.source === undefined ? {} : { source: def.source }),
    });
  }

  const middlewares: Record<string, TcpMiddleware> = {};
  for (const [name, def] of mm.merged) middlewares[name] = def.value;
  const transports: Record<string, TcpServersTransport> = {};
  for (const [name, def] of mt.merged) transports[name] = def.value;

  const errors = [...serviceErrors.values(), ...routerErrors];
  const empty =
    Object.keys(routers).length === 0 &&
    Object.keys(services).length === 0 &&
    Object.keys(middlewares).length === 0 &&
    Object.keys(transports).length === 0;
  if (empty) return { errors, routers: routerStatuses, services: serviceStatuses };
  const tcp: TcpConfig = { routers, services };
  if (Object.keys(middlewares).length > 0) tcp.middlewares = middlewares;
  if (Object.keys(transports).length > 0) tcp.serversTransports = transports;
  return { tcp, errors, routers: routerStatuses, services: serviceStatuses };
}

function normaliseRouter(
  router: TcpRouter,
  entryPoints: string[],
  merged: MergeResult,
  syntax: RuleSyntax,
): TcpRouter {
  const out: TcpRouter = withSyntaxInForce({ ...router, entryPoints }, syntax);
  if (router.tls?.options !== undefined)
    out.tls = { ...router.tls, options: tlsOptionsTarget(merged, router.tls.options) };
  return out;
}

function normaliseService(service: TcpService): TcpService {
  const lb = service.loadBalancer;
  if (lb?.serversTransport === undefined) return service;
  const { serversTransport, ...rest } = lb;
  return isBuiltinTransport(serversTransport) ? { loadBalancer: rest } : service;
}

/** Routers using each service, through weighted parents too. */
function serviceUsage(
  routers: Record<string, TcpRouter>,
  services: Record<string, TcpService>,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [router, def] of Object.entries(routers)) {
    const queue = [def.service];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const name = queue.pop()!;
      if (seen.has(name)) continue;
      seen.add(name);
      const users = out.get(name) ?? new Set<string>();
      out.set(name, users);
      users.add(router);
      for (const child of services[name]?.weighted?.services ?? []) queue.push(child.name);
    }
  }
  return out;
}
