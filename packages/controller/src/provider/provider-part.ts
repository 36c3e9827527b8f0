// What every provider hands the compiler: one part per source (a file, a container), plain data only.
import type { ConfigError, DynamicConfig, Source } from '@berth/config';

/** Where each router and service of a part was defined, by name; lets reports point at a line or label. */
export interface PartSources {
  routers: Record<string, Source>;
  services: Record<string, Source>;
  middlewares?: Record<string, Source>;
  serversTransports?: Record<string, Source>;
  tcpRouters?: Record<string, Source>;
  tcpServices?: Record<string, Source>;
  tcpMiddlewares?: Record<string, Source>;
  tcpServersTransports?: Record<string, Source>;
  udpRouters?: Record<string, Source>;
  udpServices?: Record<string, Source>;
  tlsOptions?: Record<string, Source>;
  tlsStores?: Record<string, Source>;
  /** By index in `tls.certificates`. */
  tlsCertificates?: Source[];
}

export interface ProviderPart {
  /** Stable identity of the source, e.g. the absolute file path; parts are merged in this order. */
  sourceKey: string;
  /** Only the elements that validated; invalid ones are described in `errors`. */
  config: DynamicConfig;
  errors: ConfigError[];
  sources?: PartSources;
  /**
   * The provider whose namespace the elements belong to (`file`, `docker`): `web` here is
   * `web@docker` to everyone else. Absent: the provider its sources name, else `file`.
   */
  provider?: string;
}

export type PartsListener = (parts: ProviderPart[]) => void;

/** A source of dynamic configuration (file now, Docker later) the controller can run side by side. */
export interface Provider {
  readonly name: string;
  /** Reads the initial state; resolves once the first parts have been delivered. */
  start(): Promise<void>;
  close(): Promise<void>;
  /** Called with the full, current list of parts after every effective change; returns an unsubscribe. */
  onChange(listener: PartsListener): () => void;
  current(): ProviderPart[];
}
