// Merges every provider part into one set of routers, services, middlewares and transports; a name defined differently twice is dropped.
import type {
  ConfigError,
  HttpMiddleware,
  HttpRouter,
  HttpService,
  ServersTransport,
  Source,
} from '@berth/config';
import { canonicalJson } from '@berth/protocol';
import type { ProviderPart } from '../provider/provider-part.js';
import { describeSource } from './describe-source.js';
import { ErrorCodes } from './error-codes.js';

export interface Definition<T> {
  value: T;
  sourceKey: string;
  source?: Source;
}

export interface Conflict<T> {
  /** The first definition in part order, shown in the status report. */
  first: Definition<T>;
  error: ConfigError;
}

export interface MergeResult {
  routers: Map<string, Definition<HttpRouter>>;
  services: Map<string, Definition<HttpService>>;
  routerConflicts: Map<string, Conflict<HttpRouter>>;
  serviceConflicts: Map<string, Conflict<HttpService>>;
  middlewares: Map<string, Definition<HttpMiddleware>>;
  middlewareConflicts: Map<string, Conflict<HttpMiddleware>>;
  transports: Map<string, Definition<ServersTransport>>;
  transportConflicts: Map<string, Conflict<ServersTransport>>;
  /** Conflict errors: routers, services, middlewares, then transports, each sorted by name. */
  errors: ConfigError[];
}

/** Orders parts so the merge never depends on the order providers reported them in. */
export function sortParts(parts: readonly ProviderPart[]): ProviderPart[] {
  const keyed = parts.map((part) => ({ part, tie: canonicalJson(part) }));
  keyed.sort((a, b) => compareStrings(a.part.sourceKey, b.part.sourceKey) || compareStrings(a.tie, b.tie));
  return keyed.map((k) => k.part);
}

export function mergeParts(sortedParts: readonly ProviderPart[]): MergeResult {
  const routers = collect(sortedParts, (part) => part.config.http.routers, 'routers');
  const services = collect(sortedParts, (part) => part.config.http.services, 'services');
  const middlewares = collect(sortedParts, (part) => part.config.http.middlewares ?? {}, 'middlewares');
  const transports = collect(
    sortedParts,
    (part) => part.config.http.serversTransports ?? {},
    'serversTransports',
  );
  const r = split(routers, 'router', 'routers');
  const s = split(services, 'service', 'services');
  const m = split(middlewares, 'middleware', 'middlewares');
  const t = split(transports, 'servers transport', 'serversTransports');
  return {
    routers: r.merged,
    services: s.merged,
    routerConflicts: r.conflicts,
    serviceConflicts: s.conflicts,
    middlewares: m.merged,
    middlewareConflicts: m.conflicts,
    transports: t.merged,
    transportConflicts: t.conflicts,
    errors: [...r.errors, ...s.errors, ...m.errors, ...t.errors],
  };
}

type Kind = 'routers' | 'services' | 'middlewares' | 'serversTransports';

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function collect<T>(
  parts: readonly ProviderPart[],
  pick: (part: ProviderPart) => Record<string, T>,
  kind: Kind,
): Map<string, Definition<T>[]> {
  const byName = new Map<string, Definition<T>[]>();
  for (const part of parts) {
    for (const [name, value] of Object.entries(pick(part))) {
      const source = part.sources?.[kind]?.[name];
      const def: Definition<T> =
        source === undefined
          ? { value, sourceKey: part.sourceKey }
          : { value, sourceKey: part.sourceKey, source };
      const list = byName.get(name);
      if (list === undefined) byName.set(name, [def]);
      else list.push(def);
    }
  }
  return byName;
}

function split<T>(
  byName: Map<string, Definition<T>[]>,
  noun: string,
  kind: Kind,
): { merged: Map<string, Definition<T>>; conflicts: Map<string, Conflict<T>>; errors: ConfigError[] } {
  const merged = new Map<string, Definition<T>>();
  const conflicts = new Map<string, Conflict<T>>();
  const errors: ConfigError[] = [];
  for (const name of [...byName.keys()].sort(compareStrings)) {
    const defs = byName.get(name) ?? [];
    const first = defs[0];
    if (first === undefined) continue;
    const distinct = new Set(defs.map((d) => canonicalJson(d.value)));
    if (distinct.size === 1) {
      merged.set(name, first);
      continue;
    }
    const places = defs.map((d) => describeSource(d.source, d.sourceKey)).join(' and ');
    const error: ConfigError = {
      code: ErrorCodes.CONFIG_CONFLICT,
      path: `http.${kind}.${name}`,
      message: `${noun} "${name}" is defined differently in ${places}; it is dropped until the definitions agree`,
      ...(first.source === undefined ? {} : { source: first.source }),
    };
    conflicts.set(name, { first, error });
    errors.push(error);
  }
  return { merged, conflicts, errors };
}
