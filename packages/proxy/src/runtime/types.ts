// The immutable routing state one snapshot compiles to; requests read it, nothing mutates it but balancers.
import type { RuleMatcher } from '@berth/config';
import type { Balancer } from '../balancer/balancer.js';
import type { Handler } from '../http/context.js';
import type { RouterTable } from './router-table.js';

/** One upstream server of a service. */
export interface ServerTarget {
  url: URL;
  /** `scheme://host:port`, the key connection pools are shared by. */
  origin: string;
  weight: number;
}

export interface ServiceRuntime {
  name: string;
  servers: readonly ServerTarget[];
  balancer: Balancer<ServerTarget>;
  /** Forward the client's Host header (Traefik's default) rather than the server's. */
  passHostHeader: boolean;
}

/** A router as an entry point's table holds it. */
export interface RouterEntry {
  name: string;
  service: string;
  priority: number;
  match: RuleMatcher;
  /** The router's middlewares and service composed; absent: the entry point balances and forwards itself. */
  handler?: Handler;
}

export interface Runtime {
  /** Entry point name → address from the snapshot (`host:port`, `:port`). */
  entryPoints: ReadonlyMap<string, string>;
  /** Entry point name → its routers, highest priority first. */
  routers: ReadonlyMap<string, RouterTable>;
  services: ReadonlyMap<string, ServiceRuntime>;
  /** Every server origin the services reference, so unused connection pools can be retired. */
  origins: ReadonlySet<string>;
}
