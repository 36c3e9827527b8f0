// Compiles the merged `udp.*` section: entry points (UDP only), services and weighted trees checked, broken elements dropped.
import {
  type ConfigError,
  isUdpAddress,
  type StaticConfig,
  type UdpConfig,
  type UdpRouter,
  type UdpService,
} from '@berth/config';
import type { UdpRouterStatus, UdpServiceStatus } from './compile-result.js';
import { ErrorCodes } from './error-codes.js';
import { compareStrings, type MergeResult } from './merge.js';
import { isAbout } from './namespaces.js';
import { resolveGraph } from './reference-graph.js';
import { CONFLICT, childServiceProblems, errorAt, graphErrors, referenceProblem } from './references.js';

export interface UdpCompilation {
  /** Undefined when nothing UDP is usable, so bodies without UDP hash as before. */
  udp?: UdpConfig;
  errors: ConfigError[];
  routers: UdpRouterStatus[];
  services: UdpServiceStatus[];
}

/** The entry points whose address ends in `/udp`, sorted. */
export function udpEntryPoints(statics: StaticConfig): string[] {
  return Object.keys(statics.entryPoints)
    .filter((name) => isUdpAddress(statics.entryPoints[name]!.address))
    .sort(compareStrings);
}

export function compileUdp(
  merged: MergeResult,
  statics: StaticConfig,
  partErrors: readonly ConfigError[],
): UdpCompilation {
  const { routers: mr, services: ms } = merged.udp;
  const udpEps = udpEntryPoints(statics);

  const serviceVerdicts = resolveGraph({
    names: [...ms.merged.keys(), ...ms.conflicts.keys()].sort(compareStrings),
    refs: (name) => (ms.merged.get(name)?.value.weighted?.services ?? []).map((s) => s.name),
    own: (name) => (ms.conflicts.has(name) ? CONFLICT : null),
    ...childServiceProblems('UDP '),
  });
  const serviceErrors = graphErrors('udp.services', serviceVerdicts, (name) => ms.merged.get(name)?.source);

  const routers: Record<string, UdpRouter> = {};
  const routerStatuses: UdpRouterStatus[] = [];
  const routerErrors: ConfigError[] = [];
  for (const name of [...mr.merged.keys(), ...mr.conflicts.keys()].sort(compareStrings)) {
    const conflict = mr.conflicts.get(name);
    const def = conflict?.first ?? mr.merged.get(name);
    if (def === undefined) continue;
    const router = def.value;
    // Traefik: a UDP router without entry points is on every UDP entry point.
    const eps =
      router.entryPoints === undefined || router.entryPoints.length === 0
        ? udpEps
        : [...new Set(router.entryPoints)].sort(compareStrings);
    const errors: ConfigError[] = [];
    if (conflict !== undefined) errors.push(conflict.error);
    else {
      const at = (path: string, code: string, message: string) =>
        errors.push(errorAt(def.source, `udp.routers.${name}.${path}`, code, message));
      const serviceProblem = referenceProblem(router.service, serviceVerdicts);
      if (serviceProblem !== null)
        at(
          'service',
          ErrorCodes.CONFIG_SERVICE_MISSING,
          `UDP router "${name}": service "${router.service}" ${serviceProblem}`,
        );
      if (eps.length === 0)
        at(
          'entryPoints',
          ErrorCodes.CONFIG_ENTRYPOINT_MISSING,
          `UDP router "${name}": no UDP entry point is declared in the static configuration (an address like ":53/udp")`,
        );
      for (const ep of eps) {
        const declared = statics.entryPoints[ep];
        if (declared === undefined)
          at(
            'entryPoints',
            ErrorCodes.CONFIG_ENTRYPOINT_MISSING,
            `UDP router "${name}": entry point "${ep}" is not declared (UDP entry points: ${udpEps.join(', ') || 'none'})`,
          );
        else if (!isUdpAddress(declared.address))
          at(
            'entryPoints',
            ErrorCodes.CONFIG_ENTRYPOINT_PROTOCOL,
            `UDP router "${name}": entry point "${ep}" listens on TCP (${declared.address}); a UDP router needs an address ending in "/udp"`,
          );
      }
    }
    routerErrors.push(...errors.filter((e) => e !== conflict?.error));
    routerStatuses.push({
      name,
      service: router.service,
      entryPoints: eps,
      status: errors.length === 0 ? 'enabled' : 'disabled',
      errors: [...partErrors.filter((e) => isAbout(e, 'udp.routers', name)), ...errors],
      ...(def.source === undefined ? {} : { source: def.source }),
    });
    if (errors.length === 0) routers[name] = { ...router, entryPoints: eps };
  }

  // Traefik serves one UDP router per entry point, the greatest name; the others are told so.
  const owner = new Map<string, string>();
  for (const name of Object.keys(routers).sort(compareStrings).reverse()) {
    for (const ep of routers[name]!.entryPoints ?? []) {
      const first = owner.get(ep);
      if (first === undefined) {
        owner.set(ep, name);
        continue;
      }
      const warning: ConfigError = {
        ...errorAt(
          mr.merged.get(name)?.source,
          `udp.routers.${name}.entryPoints`,
          ErrorCodes.CONFIG_UDP_ROUTER_SHADOWED,
          `UDP router "${name}": entry point "${ep}" serves one UDP router, "${first}" (the greatest name, as Traefik picks); this one gets no datagrams there`,
        ),
        severity: 'warning',
      };
      routerErrors.push(warning);
      routerStatuses.find((s) => s.name === name)?.errors.push(warning);
    }
  }

  const services: Record<string, UdpService> = {};
  for (const [name, def] of ms.merged) if (serviceVerdicts.get(name) === null) services[name] = def.value;
  const usedBy = serviceUsage(routers, services);
  const serviceStatuses: UdpServiceStatus[] = [];
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
      errors: [...partErrors.filter((e) => isAbout(e, 'udp.services', name)), ...own],
      ...(def.source === undefined ? {} : { source: def.source }),
    });
  }

  const errors = [...serviceErrors.values(), ...routerErrors];
  if (Object.keys(routers).length === 0 && Object.keys(services).length === 0)
    return { errors, routers: routerStatuses, services: serviceStatuses };
  return { udp: { routers, services }, errors, routers: routerStatuses, services: serviceStatuses };
}

/** Routers using each service, through weighted parents too. */
function serviceUsage(
  routers: Record<string, UdpRouter>,
  services: Record<string, UdpService>,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [router, def] of Object.entries(routers)) {
    const queue = [def.service];
    const seen = new Set<string>();
    for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
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
