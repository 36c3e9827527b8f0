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
  /** Effective priority: the configured one, else the rule's default. */
  priority: number;
  status: ElementStatus;
  errors: ConfigError[];
  source?: Source;
}

export interface ServiceStatus {
  name: string;
  servers: string[];
  /** Enabled routers that send traffic to this service. */
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
}
