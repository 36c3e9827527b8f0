// Provider namespaces, as Traefik has them: every element is `name@provider`; an unqualified
// reference means the referencing element's own provider, a qualified one the provider it names.
// Parts are qualified before the merge, so the rest of the compiler (and the body nodes receive)
// deals in qualified names only.
import type {
  ConfigError,
  DynamicConfig,
  HttpRouter,
  HttpService,
  Source,
  TcpRouter,
  TcpService,
  UdpRouter,
  UdpService,
} from '@berth/config';
import type { PartSources, ProviderPart } from '../provider/provider-part.js';
import { ErrorCodes } from './error-codes.js';

/** Providers a qualifier may name. */
export const PROVIDERS: readonly string[] = ['docker', 'file', 'internal', 'swarm'];

/** The TLS options every provider shares, unqualified as in Traefik. */
export const DEFAULT_TLS_OPTIONS = 'default';

/** The provider a part's elements belong to: its own field, else its sources', else `file`. */
export function partProvider(part: ProviderPart): string {
  if (part.provider !== undefined) return part.provider;
  for (const byName of Object.values(part.sources ?? {})) {
    const first: Source | undefined = Array.isArray(byName) ? byName[0] : Object.values(byName ?? {})[0];
    if (first !== undefined) return first.provider;
  }
  return 'file';
}

/**
 * Qualified names already made, per provider: the same string object for the same name compile
 * after compile, so the maps and objects keyed by it (merge, statuses, the body) find its hash
 * already computed instead of hashing 20,000 fresh strings. Bounded: cleared when it grows large.
 */
const qualifiedNames = new Map<string, Map<string, string>>();
const QUALIFIED_NAMES_MAX = 200_000;
let qualifiedNameCount = 0;

/** `auth` from a docker element → `auth@docker`; `auth@File` → `auth@file`. */
export function qualify(ref: string, provider: string): string {
  let names = qualifiedNames.get(provider);
  if (names === undefined) {
    names = new Map();
    qualifiedNames.set(provider, names);
  }
  let out = names.get(ref);
  if (out === undefined) {
    const at = ref.lastIndexOf('@');
    out = at < 0 ? `${ref}@${provider}` : `${ref.slice(0, at)}@${ref.slice(at + 1).toLowerCase()}`;
    if (qualifiedNameCount >= QUALIFIED_NAMES_MAX) {
      qualifiedNames.clear();
      qualifiedNameCount = 0;
      names = new Map();
      qualifiedNames.set(provider, names);
    }
    names.set(ref, out);
    qualifiedNameCount++;
  }
  return out;
}

/** `web@docker` → `web` and `docker`; an unqualified name has no provider. */
export function splitQualified(name: string): { bare: string; provider?: string } {
  const at = name.lastIndexOf('@');
  return at < 0 ? { bare: name } : { bare: name.slice(0, at), provider: name.slice(at + 1) };
}

/** The end of a sentence about a reference whose qualifier names no provider; null when it does. */
export function unknownProvider(ref: string): string | null {
  const { provider } = splitQualified(ref);
  if (provider === undefined || PROVIDERS.includes(provider)) return null;
  return `is not defined: "${provider}" is no provider (providers: ${PROVIDERS.join(', ')})`;
}

/** TLS options: `default` is shared by every provider; other names are qualified like the rest. */
export function qualifyTlsOptions(ref: string, provider: string): string {
  return splitQualified(ref).bare === DEFAULT_TLS_OPTIONS ? DEFAULT_TLS_OPTIONS : qualify(ref, provider);
}

/** Servers transport: the built-in one (`default`, `default@internal`) keeps its name, the rest is qualified. */
export function qualifyTransport(ref: string, provider: string): string {
  return ref === 'default' ? ref : qualify(ref, provider);
}

/**
 * Whether a provider error (whose path names elements unqualified, as written) is about the
 * element `qualified` under `section` (`http.routers`); providers may spell schema keys as written.
 */
export function isAbout(error: ConfigError, section: string, qualified: string): boolean {
  const { bare, provider } = splitQualified(qualified);
  if (provider !== undefined && error.source !== undefined && error.source.provider !== provider)
    return false;
  const prefix = `${section}.`;
  if (error.path.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return false;
  const rest = error.path.slice(prefix.length);
  if (!rest.startsWith(bare)) return false;
  const after = rest.slice(bare.length);
  return after === '' || after.startsWith('.') || after.startsWith('[');
}

/**
 * Elements qualified before, by element object: a provider that hands over the same element
 * objects for what did not change (the file provider's incremental parse, an unchanged
 * container) gets the same qualified objects, so the compiled body shares them and the store and
 * distributor skip them by identity. Elements are immutable once handed over.
 */
const qualifiedElements = new WeakMap<object, { path: string; provider: string; value: unknown }>();

function qualifiedElement<T>(value: T, path: string, provider: string, map: (value: T) => T): T {
  if (typeof value !== 'object' || value === null) return map(value);
  const known = qualifiedElements.get(value);
  if (known !== undefined && known.path === path && known.provider === provider) return known.value as T;
  const out = map(value);
  qualifiedElements.set(value, { path, provider, value: out });
  return out;
}

/**
 * Whole mappings renamed before (a part's routers, its services...), by mapping object and the
 * sources record that came with it: a provider that hands over the same mapping when none of its
 * elements changed gets the same renamed mapping and sources. Only renamings without errors.
 */
const renamedKinds = new WeakMap<
  object,
  { path: string; provider: string; from: object | undefined; out: object; to: Record<string, Source> }
>();

/**
 * The part with every element name qualified by its provider, and every reference resolved to a
 * qualified name. A name that itself contains `@` cannot be told from a reference: it is dropped
 * with an error.
 */
export function qualifyPart(part: ProviderPart): ProviderPart {
  const provider = partProvider(part);
  const q = (ref: string) => qualify(ref, provider);
  const errors: ConfigError[] = [...part.errors];
  const c = part.config;
  const sources: Partial<Record<Exclude<keyof PartSources, 'tlsCertificates'>, Record<string, Source>>> = {};

  /** Renames one kind's keys (and its sources), dropping names with `@`. */
  function rename<T>(
    elements: Record<string, T> | undefined,
    kind: Exclude<keyof PartSources, 'tlsCertificates'>,
    path: string,
    noun: string,
    map: (value: T) => T,
    name: (key: string) => string = q,
  ): Record<string, T> | undefined {
    if (elements === undefined) return undefined;
    const from = part.sources?.[kind];
    const known = renamedKinds.get(elements);
    if (known !== undefined && known.path === path && known.provider === provider && known.from === from) {
      if (from !== undefined) sources[kind] = known.to;
      return known.out as Record<string, T>;
    }
    const errorsBefore = errors.length;
    const out: Record<string, T> = {};
    const to: Record<string, Source> = {};
    for (const [key, value] of Object.entries(elements)) {
      const source = from?.[key];
      if (key.includes('@')) {
        errors.push({
          code: ErrorCodes.CONFIG_NAME_INVALID,
          path: `${path}.${key}`,
          message: `${noun} "${key}": a name cannot contain "@", which qualifies a name by its provider; it is dropped`,
          ...(source === undefined ? {} : { source }),
        });
        continue;
      }
      const qualified = name(key);
      out[qualified] = qualifiedElement(value, path, provider, map);
      if (source !== undefined) to[qualified] = source;
    }
    if (from !== undefined) sources[kind] = to;
    if (errors.length === errorsBefore) renamedKinds.set(elements, { path, provider, from, out, to });
    return out;
  }

  const httpRouter = (r: HttpRouter): HttpRouter => {
    const out: HttpRouter = { ...r, service: q(r.service) };
    if (r.middlewares !== undefined) out.middlewares = r.middlewares.map(q);
    if (r.tls?.options !== undefined)
      out.tls = { ...r.tls, options: qualifyTlsOptions(r.tls.options, provider) };
    return out;
  };
  const httpService = (s: HttpService): HttpService => {
    if (s.weighted) {
      const services = s.weighted.services.map((x) => ({ ...x, name: q(x.name) }));
      return { ...s, weighted: { ...s.weighted, services } };
    }
    if (s.mirroring) {
      const m = s.mirroring;
      const mirrors = m.mirrors.map((x) => ({ ...x, name: q(x.name) }));
      return { ...s, mirroring: { ...m, service: q(m.service), mirrors } };
    }
    if (s.failover) {
      const f = s.failover;
      return { ...s, failover: { ...f, service: q(f.service), fallback: q(f.fallback) } };
    }
    if (s.highestRandomWeight) {
      const services = s.highestRandomWeight.services.map((x) => ({ ...x, name: q(x.name) }));
      return { ...s, highestRandomWeight: { ...s.highestRandomWeight, services } };
    }
    const transport = s.loadBalancer?.serversTransport;
    if (s.loadBalancer === undefined || transport === undefined) return s;
    return {
      ...s,
      loadBalancer: { ...s.loadBalancer, serversTransport: qualifyTransport(transport, provider) },
    };
  };
  const tcpRouter = (r: TcpRouter): TcpRouter => {
    const out: TcpRouter = { ...r, service: q(r.service) };
    if (r.middlewares !== undefined) out.middlewares = r.middlewares.map(q);
    if (r.tls?.options !== undefined)
      out.tls = { ...r.tls, options: qualifyTlsOptions(r.tls.options, provider) };
    return out;
  };
  const tcpService = (s: TcpService): TcpService => {
    if (s.weighted)
      return { ...s, weighted: { services: s.weighted.services.map((x) => ({ ...x, name: q(x.name) })) } };
    const transport = s.loadBalancer?.serversTransport;
    if (s.loadBalancer === undefined || transport === undefined) return s;
    return {
      ...s,
      loadBalancer: { ...s.loadBalancer, serversTransport: qualifyTransport(transport, provider) },
    };
  };
  const udpRouter = (r: UdpRouter): UdpRouter => ({ ...r, service: q(r.service) });
  const udpService = (s: UdpService): UdpService =>
    s.weighted
      ? { ...s, weighted: { services: s.weighted.services.map((x) => ({ ...x, name: q(x.name) })) } }
      : s;
  const same = <T>(x: T): T => x;

  const config: DynamicConfig = {
    http: {
      routers: rename(c.http.routers, 'routers', 'http.routers', 'router', httpRouter) ?? {},
      services: rename(c.http.services, 'services', 'http.services', 'service', httpService) ?? {},
    },
  };
  const middlewares = rename(c.http.middlewares, 'middlewares', 'http.middlewares', 'middleware', (m) =>
    m.chain !== undefined
      ? { ...m, chain: { ...m.chain, middlewares: m.chain.middlewares.map(q) } }
      : m.errors !== undefined
        ? { ...m, errors: { ...m.errors, service: q(m.errors.service) } }
        : m,
  );
  if (middlewares !== undefined) config.http.middlewares = middlewares;
  const transports = rename(
    c.http.serversTransports,
    'serversTransports',
    'http.serversTransports',
    'servers transport',
    same,
  );
  if (transports !== undefined) config.http.serversTransports = transports;
  if (c.tcp !== undefined) {
    const tcp: NonNullable<DynamicConfig['tcp']> = {
      routers: rename(c.tcp.routers, 'tcpRouters', 'tcp.routers', 'TCP router', tcpRouter) ?? {},
      services: rename(c.tcp.services, 'tcpServices', 'tcp.services', 'TCP service', tcpService) ?? {},
    };
    const tm = rename(c.tcp.middlewares, 'tcpMiddlewares', 'tcp.middlewares', 'TCP middleware', same);
    if (tm !== undefined) tcp.middlewares = tm;
    const tt = rename(
      c.tcp.serversTransports,
      'tcpServersTransports',
      'tcp.serversTransports',
      'TCP servers transport',
      same,
    );
    if (tt !== undefined) tcp.serversTransports = tt;
    config.tcp = tcp;
  }
  if (c.udp !== undefined) {
    config.udp = {
      routers: rename(c.udp.routers, 'udpRouters', 'udp.routers', 'UDP router', udpRouter) ?? {},
      services: rename(c.udp.services, 'udpServices', 'udp.services', 'UDP service', udpService) ?? {},
    };
  }
  if (c.tls !== undefined) {
    const tls: NonNullable<DynamicConfig['tls']> = { ...c.tls };
    const options = rename(c.tls.options, 'tlsOptions', 'tls.options', 'TLS options', same, (key) =>
      qualifyTlsOptions(key, provider),
    );
    if (options !== undefined) tls.options = options;
    config.tls = tls;
  }
  const out: ProviderPart = { ...part, provider, config, errors };
  if (part.sources !== undefined) {
    out.sources = {
      ...part.sources,
      routers: sources.routers ?? {},
      services: sources.services ?? {},
      ...sources,
    };
  }
  return out;
}
