// Builders for snapshot bodies in tests.
import type { HttpRouter, HttpService } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { SNAPSHOT_SCHEMA } from '@berth/protocol';

export function body(
  routers: Record<string, HttpRouter>,
  services: Record<string, HttpService>,
  entryPoints: Record<string, string> = { web: ':80' },
): SnapshotBody {
  return {
    schema: SNAPSHOT_SCHEMA,
    entryPoints: Object.fromEntries(
      Object.entries(entryPoints).map(([name, address]) => [name, { address }]),
    ),
    http: { routers, services },
  };
}

export function service(...urls: string[]): HttpService {
  return { loadBalancer: { servers: urls.map((url) => ({ url })) } };
}
