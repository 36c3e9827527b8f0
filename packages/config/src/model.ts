// The Traefik-shaped dynamic configuration and Berth's static settings, as plain data.

/** Where a piece of configuration came from: a file and line, or a container and label. */
export interface Source {
  /** Provider kind: `file`, `docker`, `internal`. */
  provider: string;
  /** File path, or container name. */
  origin: string;
  /** 1-based line in a file, when known. */
  line?: number;
  /** Docker label key, when the source is a label. */
  label?: string;
}

export interface HttpRouter {
  rule: string;
  service: string;
  entryPoints?: string[];
  middlewares?: string[];
  priority?: number;
}

export interface HttpServer {
  url: string;
  weight?: number;
}

export interface HttpLoadBalancer {
  servers: HttpServer[];
  passHostHeader?: boolean;
}

export interface HttpService {
  loadBalancer: HttpLoadBalancer;
}

export interface HttpConfig {
  routers: Record<string, HttpRouter>;
  services: Record<string, HttpService>;
}

/** The dynamic configuration one provider (or the merge of all of them) produces. */
export interface DynamicConfig {
  http: HttpConfig;
}

export interface EntryPoint {
  /** `host:port` or `:port` (all interfaces). */
  address: string;
}

/** Settings owned by the controller and pushed to every node inside each snapshot. */
export interface StaticConfig {
  entryPoints: Record<string, EntryPoint>;
}

/** One problem found in user configuration. Never thrown: collected and reported. */
export interface ConfigError {
  /** Stable code from the catalogue, e.g. `BERTH_CONFIG_RULE_SYNTAX`. */
  code: string;
  /** Dotted path of the offending element, e.g. `http.routers.web.rule`. */
  path: string;
  message: string;
  source?: Source;
}

export function emptyDynamicConfig(): DynamicConfig {
  return { http: { routers: {}, services: {} } };
}
