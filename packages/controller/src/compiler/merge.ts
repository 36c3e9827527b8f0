// Merges every provider part into one set of routers, services, middlewares, transports and TLS settings; a name defined differently twice is dropped.
import type {
  ConfigError,
  HttpMiddleware,
  HttpRouter,
  HttpService,
  ServersTransport,
  Source,
  TcpMiddleware,
  TcpRouter,
  TcpServersTransport,
  TcpService,
  TlsCertificate,
  TlsOptions,
  TlsStore,
  UdpRouter,
  UdpService,
} from '@berth/config';
import { canonicalJson } from '@berth/protocol';
import type { PartSources, ProviderPart } from '../provider/provider-part.js';
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
  /** Conflict errors: routers, services, middlewares, then transports, each sorted by name; then TCP, UDP, then TLS. */
  errors: ConfigError[];
  tcp: {
    routers: Named<TcpRouter>;
    services: Named<TcpService>;
    middlewares: Named<TcpMiddleware>;
    transports: Named<TcpServersTransport>;
  };
  udp: { routers: Named<UdpRouter>; services: Named<UdpService> };
  tls: {
    options: Named<TlsOptions>;
    stores: Named<TlsStore>;
    /** Every part's certificates in part order; the same certificate twice is kept once. */
    certificates: Array<Definition<TlsCertificate> & { path: string }>;
  };
}

/** The merge of one kind of named element: the agreed definitions and the conflicting names. */
export interface Named<T> {
  merged: Map<string, Definition<T>>;
  conflicts: Map<string, Conflict<T>>;
}

/** Orders parts so the merge never depends on the order providers reported them in. */
export function sortParts(parts: readonly ProviderPart[]): ProviderPart[] {
  // The tie-break serialises a whole part (megabytes for a big file): only for parts sharing a key.
  const ties = new Map<ProviderPart, string>();
  const tie = (part: ProviderPart): string => {
    let serial = ties.get(part);
    if (serial === undefined) {
      serial = canonicalJson(part);
      ties.set(part, serial);
    }
    return serial;
  };
  return [...parts].sort(
    (a, b) => compareStrings(a.sourceKey, b.sourceKey) || (a === b ? 0 : compareStrings(tie(a), tie(b))),
  );
}

export function mergeParts(sortedParts: readonly ProviderPart[]): MergeResult {
  const r = mergeKind(sortedParts, (part) => part.config.http.routers, 'routers', 'router', 'routers');
  const s = mergeKind(sortedParts, (part) => part.config.http.services, 'services', 'service', 'services');
  const m = mergeKind(
    sortedParts,
    (part) => part.config.http.middlewares,
    'middlewares',
    'middleware',
    'middlewares',
  );
  const t = mergeKind(
    sortedParts,
    (part) => part.config.http.serversTransports,
    'serversTransports',
    'servers transport',
    'serversTransports',
  );

  const tcp = (part: ProviderPart) => part.config.tcp;
  const tr = mergeKind(sortedParts, (p) => tcp(p)?.routers, 'tcpRouters', 'TCP router', 'routers', 'tcp');
  const ts = mergeKind(sortedParts, (p) => tcp(p)?.services, 'tcpServices', 'TCP service', 'services', 'tcp');
  const tm = mergeKind(
    sortedParts,
    (p) => tcp(p)?.middlewares,
    'tcpMiddlewares',
    'TCP middleware',
    'middlewares',
    'tcp',
  );
  const tt = mergeKind(
    sortedParts,
    (p) => tcp(p)?.serversTransports,
    'tcpServersTransports',
    'TCP servers transport',
    'serversTransports',
    'tcp',
  );
  const udp = (part: ProviderPart) => part.config.udp;
  const ur = mergeKind(sortedParts, (p) => udp(p)?.routers, 'udpRouters', 'UDP router', 'routers', 'udp');
  const us = mergeKind(sortedParts, (p) => udp(p)?.services, 'udpServices', 'UDP service', 'services', 'udp');
  const to = mergeKind(
    sortedParts,
    (p) => p.config.tls?.options,
    'tlsOptions',
    'TLS options',
    'options',
    'tls',
  );
  const tst = mergeKind(sortedParts, (p) => p.config.tls?.stores, 'tlsStores', 'TLS store', 'stores', 'tls');
  const certificates: MergeResult['tls']['certificates'] = [];
  const seenCerts = new Set<string>();
  for (const part of sortedParts) {
    (part.config.tls?.certificates ?? []).forEach((value, i) => {
      const key = canonicalJson(value);
      if (seenCerts.has(key)) return;
      seenCerts.add(key);
      const source = part.sources?.tlsCertificates?.[i];
      certificates.push({
        value,
        sourceKey: part.sourceKey,
        path: `tls.certificates.${i}`,
        ...(source === undefined ? {} : { source }),
      });
    });
  }
  return {
    routers: r.merged,
    services: s.merged,
    routerConflicts: r.conflicts,
    serviceConflicts: s.conflicts,
    middlewares: m.merged,
    middlewareConflicts: m.conflicts,
    transports: t.merged,
    transportConflicts: t.conflicts,
    errors: [
      ...r.errors,
      ...s.errors,
      ...m.errors,
      ...t.errors,
      ...tr.errors,
      ...ts.errors,
      ...tm.errors,
      ...tt.errors,
      ...ur.errors,
      ...us.errors,
      ...to.errors,
      ...tst.errors,
    ],
    tcp: { routers: tr, services: ts, middlewares: tm, transports: tt },
    udp: { routers: ur, services: us },
    tls: { options: to, stores: tst, certificates },
  };
}

/** Keys of `PartSources` that map names to sources. */
type Kind = Exclude<keyof PartSources, 'tlsCertificates'>;

type Split<T> = ReturnType<typeof split<T>>;

/**
 * The last merge of each kind and what it was made of: every part's key, mapping and sources
 * record. Providers hand over the same objects for what did not change (the file provider's
 * incremental reader reuses a whole section, a container's part stays the same object), so an
 * edit to one router merges the routers again and reuses the services' merge as it was. Merge
 * results are never mutated once made.
 */
const lastMerges = new Map<Kind, { inputs: unknown[]; result: Split<unknown> }>();

function mergeKind<T>(
  parts: readonly ProviderPart[],
  pick: (part: ProviderPart) => Record<string, T> | undefined,
  kind: Kind,
  noun: string,
  key: string,
  section: 'http' | 'tcp' | 'udp' | 'tls' = 'http',
): Split<T> {
  const inputs: unknown[] = [];
  for (const part of parts) inputs.push(part.sourceKey, pick(part), part.sources?.[kind]);
  const last = lastMerges.get(kind);
  if (
    last !== undefined &&
    last.inputs.length === inputs.length &&
    last.inputs.every((x, i) => x === inputs[i])
  )
    return last.result as Split<T>;
  const result = split(
    collect(parts, (part) => pick(part) ?? {}, kind),
    noun,
    key,
    section,
  );
  lastMerges.set(kind, { inputs, result: result as Split<unknown> });
  return result;
}

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
  kind: string,
  section: 'http' | 'tcp' | 'udp' | 'tls' = 'http',
): { merged: Map<string, Definition<T>>; conflicts: Map<string, Conflict<T>>; errors: ConfigError[] } {
  const merged = new Map<string, Definition<T>>();
  const conflicts = new Map<string, Conflict<T>>();
  const errors: ConfigError[] = [];
  for (const name of [...byName.keys()].sort(compareStrings)) {
    const defs = byName.get(name) ?? [];
    const first = defs[0];
    if (first === undefined) continue;
    // One definition (the usual case) needs no comparison.
    if (defs.length === 1 || new Set(defs.map((d) => canonicalJson(d.value))).size === 1) {
      merged.set(name, first);
      continue;
    }
    const places = defs.map((d) => describeSource(d.source, d.sourceKey)).join(' and ');
    const error: ConfigError = {
      code: ErrorCodes.CONFIG_CONFLICT,
      path: `${section}.${kind}.${name}`,
      message: `${noun} "${name}" is defined differently in ${places}; it is dropped until the definitions agree`,
      ...(first.source === undefined ? {} : { source: first.source }),
    };
    conflicts.set(name, { first, error });
    errors.push(error);
  }
  return { merged, conflicts, errors };
}
