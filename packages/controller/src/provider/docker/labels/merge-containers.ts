// Traefik's cross-container merge: replicas of one service pool their servers; a router, middleware or
// service two containers define differently is dropped, with an error naming both.
import type { ConfigError, DynamicConfig, HttpService, Source, TcpService, UdpService } from '@berth/config';
import { canonicalJson } from '@berth/protocol';
import type { PartSources } from '../../provider-part.js';
import type { DecodedContainer } from './decode-container.js';
import { DockerErrorCodes } from './error-codes.js';

type SourcesKey = Exclude<keyof PartSources, 'tlsCertificates'>;

interface Collection {
  path: string;
  noun: string;
  sources: SourcesKey;
  pick: (config: DynamicConfig) => Record<string, unknown> | undefined;
  /** For services: equal apart from their servers means replicas, whose servers are pooled. */
  pool?: (defs: unknown[]) => unknown | undefined;
}

const COLLECTIONS: readonly Collection[] = [
  { path: 'http.routers', noun: 'router', sources: 'routers', pick: (c) => c.http.routers },
  {
    path: 'http.services',
    noun: 'service',
    sources: 'services',
    pick: (c) => c.http.services,
    pool: poolServices,
  },
  { path: 'http.middlewares', noun: 'middleware', sources: 'middlewares', pick: (c) => c.http.middlewares },
  {
    path: 'http.serversTransports',
    noun: 'servers transport',
    sources: 'serversTransports',
    pick: (c) => c.http.serversTransports,
  },
  { path: 'tcp.routers', noun: 'TCP router', sources: 'tcpRouters', pick: (c) => c.tcp?.routers },
  {
    path: 'tcp.services',
    noun: 'TCP service',
    sources: 'tcpServices',
    pick: (c) => c.tcp?.services,
    pool: poolServices,
  },
  {
    path: 'tcp.middlewares',
    noun: 'TCP middleware',
    sources: 'tcpMiddlewares',
    pick: (c) => c.tcp?.middlewares,
  },
  { path: 'udp.routers', noun: 'UDP router', sources: 'udpRouters', pick: (c) => c.udp?.routers },
  {
    path: 'udp.services',
    noun: 'UDP service',
    sources: 'udpServices',
    pick: (c) => c.udp?.services,
    pool: poolServices,
  },
  { path: 'tls.options', noun: 'TLS options', sources: 'tlsOptions', pick: (c) => c.tls?.options },
  { path: 'tls.stores', noun: 'TLS store', sources: 'tlsStores', pick: (c) => c.tls?.stores },
];

/** Mutates the decoded containers in place; they are in Traefik's order (sorted by container). */
export function mergeContainers(decoded: readonly DecodedContainer[], provider = 'docker'): void {
  for (const col of COLLECTIONS) {
    const byName = new Map<string, DecodedContainer[]>();
    for (const d of decoded) {
      for (const name of Object.keys(col.pick(d.config) ?? {})) {
        const list = byName.get(name);
        if (list === undefined) byName.set(name, [d]);
        else list.push(d);
      }
    }
    for (const [name, owners] of byName) {
      if (owners.length < 2) continue;
      const defs = owners.map((d) => (col.pick(d.config) as Record<string, unknown>)[name]);
      const distinct = new Set(defs.map((v) => canonicalJson(v)));
      if (distinct.size === 1) continue;
      const pooled = col.pool?.(defs);
      if (pooled !== undefined) {
        // defineProperty: a name like `__proto__` stays a plain key.
        for (const d of owners)
          Object.defineProperty(col.pick(d.config), name, {
            value: pooled,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        continue;
      }
      const first = owners[0] as DecodedContainer;
      // Tasks of one Swarm service share its name: each name once.
      const names = [...new Set(owners.map((d) => `"${d.container.name}"`))];
      const nouns = provider === 'swarm' ? 'services' : 'containers';
      const source: Source = first.sources[col.sources]?.[name] ?? {
        provider,
        origin: first.container.name,
      };
      const error: ConfigError = {
        code: DockerErrorCodes.CONFLICT,
        path: `${col.path}.${name}`,
        message: `${col.noun} "${name}" is defined differently by ${nouns} ${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}; it is dropped until the definitions agree`,
        source,
      };
      first.errors.push(error);
      for (const d of owners) {
        delete (col.pick(d.config) as Record<string, unknown>)[name];
        delete d.sources[col.sources]?.[name];
      }
    }
  }
}

/**
 * Replicas' definitions of one service (HTTP, TCP or UDP) as one, their servers pooled without
 * duplicates; undefined when they differ in more than their servers.
 */
function poolServices(defs: unknown[]): unknown | undefined {
  const services = defs as (HttpService | TcpService | UdpService)[];
  if (services.some((s) => s.loadBalancer === undefined)) return undefined;
  const key = (s: HttpService | TcpService | UdpService) =>
    canonicalJson({ ...s, loadBalancer: { ...s.loadBalancer, servers: [] } });
  if (new Set(services.map(key)).size !== 1) return undefined;
  const first = services[0] as HttpService | TcpService | UdpService;
  const seen = new Set<string>();
  const servers = services
    .flatMap((s): unknown[] => s.loadBalancer?.servers ?? [])
    .filter((srv) => {
      const k = canonicalJson(srv);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  return { ...first, loadBalancer: { ...first.loadBalancer, servers } };
}
