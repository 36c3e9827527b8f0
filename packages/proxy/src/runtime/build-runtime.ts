// Compiles a snapshot body into a Runtime: pure, so a bad body is rejected before anything changes.

import type { HttpLoadBalancer, HttpRouter, HttpService } from '@berth/config';
import { compileRule, parseAddress, parseRule, rulePriority } from '@berth/config';
import type { SnapshotBody } from '@berth/protocol';
import { SNAPSHOT_SCHEMA } from '@berth/protocol';
import { RoundRobin } from '../balancer/round-robin.js';
import type { HostedEntry } from './router-table.js';
import { RouterTable } from './router-table.js';
import type { Runtime, ServerTarget, ServiceRuntime } from './types.js';

export const SNAPSHOT_INVALID = 'BERTH_PROXY_SNAPSHOT_INVALID';

export type BuildResult = { ok: true; runtime: Runtime } | { ok: false; code: string; error: string };

/** Thrown only inside this module, to leave the nested loops; never escapes `buildRuntime`. */
class Invalid extends Error {}

/**
 * The controller validates snapshots before publishing them; these checks are defence in
 * depth, so a body that would fail at request time is refused whole instead.
 */
export function buildRuntime(body: SnapshotBody): BuildResult {
  try {
    return { ok: true, runtime: build(body) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, code: SNAPSHOT_INVALID, error: err.message };
    throw err;
  }
}

function build(body: SnapshotBody): Runtime {
  if (!isRecord(body)) throw new Invalid('snapshot body is not an object');
  if (body.schema !== SNAPSHOT_SCHEMA) {
    throw new Invalid(`unknown snapshot schema ${String(body.schema)} (this node reads ${SNAPSHOT_SCHEMA})`);
  }
  if (!isRecord(body.entryPoints)) throw new Invalid('snapshot has no entryPoints object');
  if (!isRecord(body.http) || !isRecord(body.http.routers) || !isRecord(body.http.services)) {
    throw new Invalid('snapshot has no http.routers and http.services objects');
  }

  const entryPoints = new Map<string, string>();
  for (const [name, ep] of Object.entries(body.entryPoints)) {
    if (!isRecord(ep) || typeof ep.address !== 'string' || parseAddress(ep.address) === null) {
      throw new Invalid(`entry point "${name}": invalid address ${JSON.stringify(ep?.address)}`);
    }
    entryPoints.set(name, ep.address);
  }

  const services = new Map<string, ServiceRuntime>();
  const origins = new Set<string>();
  for (const [name, service] of Object.entries(body.http.services)) {
    const built = buildService(name, service);
    services.set(name, built);
    for (const server of built.servers) origins.add(server.origin);
  }

  const perEntryPoint = new Map<string, HostedEntry[]>();
  for (const name of entryPoints.keys()) perEntryPoint.set(name, []);
  for (const [name, router] of Object.entries(body.http.routers)) {
    const hosted = buildRouter(name, router, services);
    // Traefik binds a router without entryPoints to every entry point.
    const targets = router.entryPoints?.length ? router.entryPoints : [...entryPoints.keys()];
    for (const ep of targets) {
      // A name that is not an entry point is skipped, as Traefik does, rather than failing the whole body.
      perEntryPoint.get(ep)?.push(hosted);
    }
  }

  const routers = new Map<string, RouterTable>();
  for (const [ep, list] of perEntryPoint) routers.set(ep, new RouterTable(list.sort(byPriority)));

  return { entryPoints, routers, services, origins };
}

function buildService(name: string, service: HttpService): ServiceRuntime {
  const lb = (isRecord(service) ? service['loadBalancer'] : undefined) as HttpLoadBalancer | undefined;
  if (!lb || !isRecord(lb) || !Array.isArray(lb.servers)) {
    throw new Invalid(`service "${name}": no loadBalancer.servers list`);
  }
  const servers: ServerTarget[] = lb.servers.map((server, i) => {
    const where = `service "${name}": server ${i}`;
    let url: URL;
    try {
      url = new URL(server.url);
    } catch {
      throw new Invalid(`${where}: invalid url ${JSON.stringify(server.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Invalid(`${where}: unsupported scheme "${url.protocol}" (http or https)`);
    }
    const weight = server.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new Invalid(`${where}: weight must be a number >= 0`);
    }
    return { url, origin: url.origin, weight };
  });
  return {
    name,
    servers,
    balancer: new RoundRobin(servers),
    passHostHeader: lb.passHostHeader ?? true,
  };
}

function buildRouter(
  name: string,
  router: HttpRouter,
  services: ReadonlyMap<string, ServiceRuntime>,
): HostedEntry {
  if (!isRecord(router) || typeof router.rule !== 'string') throw new Invalid(`router "${name}": no rule`);
  const parsed = parseRule(router.rule);
  if (!parsed.ok) {
    const { code, message, column } = parsed.error;
    throw new Invalid(
      `router "${name}": rule ${JSON.stringify(router.rule)}: ${message} at column ${column} (${code})`,
    );
  }
  if (!services.has(router.service)) {
    throw new Invalid(`router "${name}": service "${router.service}" does not exist`);
  }
  const compiled = compileRule(parsed.ast);
  // Traefik treats priority 0 as unset, so the rule length decides.
  const priority = router.priority ? router.priority : rulePriority(router.rule);
  return { entry: { name, service: router.service, priority, match: compiled.match }, hosts: compiled.hosts };
}

/** Highest priority first; equal priorities by router name, so every node orders them alike. */
function byPriority(a: HostedEntry, b: HostedEntry): number {
  if (a.entry.priority !== b.entry.priority) return b.entry.priority - a.entry.priority;
  return a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0;
}

function isRecord(value: unknown): value is Record<string, unknown> & object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
