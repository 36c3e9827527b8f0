// Pure compilation of provider parts plus static settings into a snapshot body and a status report.
import {
  type ConfigError,
  type HttpRouter,
  type HttpService,
  parseRule,
  rulePriority,
  type Source,
  type StaticConfig,
} from '@berth/config';
import { SNAPSHOT_SCHEMA, type SnapshotBody } from '@berth/protocol';
import type { ProviderPart } from '../provider/provider-part.js';
import type { CompileResult, RouterStatus, ServiceStatus } from './compile-result.js';
import { ErrorCodes } from './error-codes.js';
import { compareStrings, type Definition, mergeParts, sortParts } from './merge.js';

export function compile(parts: readonly ProviderPart[], statics: StaticConfig): CompileResult {
  const sorted = sortParts(parts);
  const partErrors = sorted.flatMap((part) => part.errors);
  const merged = mergeParts(sorted);
  const allEntryPoints = Object.keys(statics.entryPoints).sort(compareStrings);

  const routers: Record<string, HttpRouter> = {};
  const routerStatuses: RouterStatus[] = [];
  const routerErrors: ConfigError[] = [];

  for (const name of [...merged.routers.keys(), ...merged.routerConflicts.keys()].sort(compareStrings)) {
    const conflict = merged.routerConflicts.get(name);
    if (conflict !== undefined) {
      routerStatuses.push(
        routerStatus(name, conflict.first, entryPointsOf(conflict.first.value, allEntryPoints), [
          conflict.error,
        ]),
      );
      continue;
    }
    const def = merged.routers.get(name);
    if (def === undefined) continue;
    const entryPoints = entryPointsOf(def.value, allEntryPoints);
    const errors = checkRouter(name, def, entryPoints, statics, merged.services, merged.serviceConflicts);
    routerErrors.push(...errors);
    routerStatuses.push(routerStatus(name, def, entryPoints, errors));
    if (errors.length === 0) routers[name] = { ...def.value, entryPoints };
  }

  const services: Record<string, HttpService> = {};
  const serviceStatuses: ServiceStatus[] = [];
  for (const name of [...merged.services.keys(), ...merged.serviceConflicts.keys()].sort(compareStrings)) {
    const conflict = merged.serviceConflicts.get(name);
    const def = conflict?.first ?? merged.services.get(name);
    if (def === undefined) continue;
    if (conflict === undefined) services[name] = def.value;
    const usedBy = Object.keys(routers).filter((r) => routers[r]?.service === name);
    serviceStatuses.push({
      name,
      servers: def.value.loadBalancer?.servers.map((s) => s.url) ?? [],
      usedBy,
      status: conflict === undefined ? 'enabled' : 'disabled',
      errors: conflict === undefined ? [] : [conflict.error],
      ...(def.source === undefined ? {} : { source: def.source }),
    });
  }

  // Validation errors from providers name elements by path; attach them so each status tells the whole story.
  for (const status of routerStatuses)
    status.errors.unshift(...errorsAbout(partErrors, 'routers', status.name));
  for (const status of serviceStatuses)
    status.errors.unshift(...errorsAbout(partErrors, 'services', status.name));

  const body: SnapshotBody = {
    schema: SNAPSHOT_SCHEMA,
    entryPoints: statics.entryPoints,
    http: { routers, services },
  };
  return {
    body,
    errors: [...partErrors, ...merged.errors, ...routerErrors],
    routers: routerStatuses,
    services: serviceStatuses,
  };
}

/** Traefik semantics: no (or an empty) list means every entry point. Sorted and unique, since order means nothing. */
function entryPointsOf(router: HttpRouter, all: string[]): string[] {
  const listed = router.entryPoints;
  if (listed === undefined || listed.length === 0) return all;
  return [...new Set(listed)].sort(compareStrings);
}

function checkRouter(
  name: string,
  def: Definition<HttpRouter>,
  entryPoints: string[],
  statics: StaticConfig,
  services: Map<string, Definition<HttpService>>,
  serviceConflicts: Map<string, unknown>,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const at = (path: string, code: string, message: string): void => {
    errors.push({ code, path, message, ...(def.source === undefined ? {} : { source: def.source }) });
  };
  const router = def.value;
  const parsed = parseRule(router.rule);
  if (!parsed.ok) {
    const { code, message, column } = parsed.error;
    at(
      `http.routers.${name}.rule`,
      code,
      `router "${name}": rule ${JSON.stringify(router.rule)}: ${message} (column ${column})`,
    );
  }
  if (!services.has(router.service)) {
    const why = serviceConflicts.has(router.service)
      ? 'was dropped because its definitions conflict'
      : 'is not defined';
    at(
      `http.routers.${name}.service`,
      ErrorCodes.CONFIG_SERVICE_MISSING,
      `router "${name}": service "${router.service}" ${why}`,
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
    if (statics.entryPoints[ep] === undefined) {
      const known = Object.keys(statics.entryPoints).sort(compareStrings).join(', ') || 'none';
      at(
        `http.routers.${name}.entryPoints`,
        ErrorCodes.CONFIG_ENTRYPOINT_MISSING,
        `router "${name}": entry point "${ep}" is not declared (declared: ${known})`,
      );
    }
  }
  return errors;
}

function routerStatus(
  name: string,
  def: Definition<HttpRouter>,
  entryPoints: string[],
  errors: ConfigError[],
): RouterStatus {
  const router = def.value;
  const source: Source | undefined = def.source;
  return {
    name,
    rule: router.rule,
    service: router.service,
    entryPoints,
    priority: effectivePriority(router),
    status: errors.length === 0 ? 'enabled' : 'disabled',
    errors: [...errors],
    ...(source === undefined ? {} : { source }),
  };
}

/** Traefik treats 0 as "not set": the default priority comes from the rule. */
function effectivePriority(router: HttpRouter): number {
  return router.priority !== undefined && router.priority > 0 ? router.priority : rulePriority(router.rule);
}

function errorsAbout(
  errors: readonly ConfigError[],
  kind: 'routers' | 'services',
  name: string,
): ConfigError[] {
  const prefix = `http.${kind}.${name}`;
  return errors.filter((e) => {
    const head = e.path.slice(0, prefix.length);
    const rest = e.path.slice(prefix.length);
    // Providers may report schema keys as written (`HTTP.Routers.`); names themselves are case-sensitive.
    return (
      head.slice(0, `http.${kind}.`.length).toLowerCase() === `http.${kind}.` &&
      head.slice(`http.${kind}.`.length) === name &&
      (rest === '' || rest.startsWith('.') || rest.startsWith('['))
    );
  });
}
