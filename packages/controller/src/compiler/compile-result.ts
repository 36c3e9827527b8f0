// What one compilation produces: the body to publish plus the per-element report the API shows.
import type { ConfigError, Source } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';

export type ElementStatus = 'enabled' | 'disabled';

export interface RouterStatus {
  name: string;
  rule: string;
  service: string;
  /** The entry points the router listens on, explicit even when the configuration omitted them. */
  entryPoints: string[];
  /** The router's own middlewares, as configured (entry point middlewares are not repeated here). */
  middlewares: string[];
  /** Effective priority: the configured one, else the rule's default. */
  priority: number;
  status: ElementStatus;
  errors: ConfigError[];
  source?: Source;
}

export type ServiceType = 'loadBalancer' | 'weighted' | 'mirroring' | 'unknown';

export interface ServiceStatus {
  name: string;
  type: ServiceType;
  servers: string[];
  /** Child services of a weighted or mirroring service. */
  services: string[];
  /** Enabled routers that send traffic to this service, directly or through weighted/mirroring parents. */
  usedBy: string[];
  status: ElementStatus;
  errors: ConfigError[];
  source?: Source;
}

export interface MiddlewareStatus {
  name: string;
  /** The kind (`stripPrefix`, `chain`, ...). */
  type: string;
  /** Enabled routers whose requests pass through it: directly, by a chain, or by their entry point. */
  usedBy: string[];
  status: ElementStatus;
  errors: ConfigError[];
  source?: Source;
}

export interface CompileResult {
  /** Only valid elements; the same input in any order gives the same `hashBody`. */
  body: SnapshotBody;
  /** Every problem, the providers' first, then the compiler's. */
  errors: ConfigError[];
  /** Enabled and disabled routers, sorted by name. */
  routers: RouterStatus[];
  services: ServiceStatus[];
  middlewares: MiddlewareStatus[];
}
