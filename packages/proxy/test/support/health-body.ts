// Builds snapshot bodies with load-balanced services and their health settings, for health tests.
import type { HttpHealthCheck, HttpService, PassiveHealthCheck, ServersTransport } from '@berth/config';
import { SNAPSHOT_SCHEMA, type SnapshotBody } from '@berth/protocol';

export interface ServiceSpec {
  servers: string[];
  healthCheck?: HttpHealthCheck;
  passiveHealthCheck?: PassiveHealthCheck;
  serversTransport?: string;
}

export function healthBody(
  services: Record<string, ServiceSpec>,
  serversTransports?: Record<string, ServersTransport>,
): SnapshotBody {
  const http: Record<string, HttpService> = {};
  for (const [name, spec] of Object.entries(services)) {
    http[name] = {
      loadBalancer: {
        servers: spec.servers.map((url) => ({ url })),
        ...(spec.healthCheck ? { healthCheck: spec.healthCheck } : {}),
        ...(spec.passiveHealthCheck ? { passiveHealthCheck: spec.passiveHealthCheck } : {}),
        ...(spec.serversTransport ? { serversTransport: spec.serversTransport } : {}),
      },
    };
  }
  return {
    schema: SNAPSHOT_SCHEMA,
    entryPoints: { web: { address: '127.0.0.1:0' } },
    http: { routers: {}, services: http, ...(serversTransports ? { serversTransports } : {}) },
  };
}
