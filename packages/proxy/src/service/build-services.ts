// Builds every service of a snapshot into a ServiceRuntime with its handler, children before parents.
import type {
  FailoverService,
  HighestRandomWeightService,
  HttpLoadBalancer,
  HttpService,
  MirroringService,
  WeightedService,
} from '@berth/config';
import { jsonEqual } from '@berth/protocol';
import type { Logger } from 'pino';
import type { Balancer } from '../balancer/balancer.js';
import { HighestRandomWeight } from '../balancer/highest-random-weight.js';
import { PowerOfTwoChoices } from '../balancer/power-of-two-choices.js';
import { RoundRobin } from '../balancer/round-robin.js';
import { StickySessions } from '../balancer/sticky-cookie.js';
import type { ServerHealth } from '../health/server-health.js';
import type { Forward } from '../http/forward-types.js';
import { SnapshotInvalid } from '../runtime/snapshot-invalid.js';
import type { DirectService, ServerTarget, ServiceRuntime } from '../runtime/types.js';
import { failoverHandler } from './failover-handler.js';
import { type HrwChild, highestRandomWeightHandler } from './highest-random-weight-handler.js';
import { loadBalancerHandler } from './load-balancer-handler.js';
import { mirroringHandler } from './mirroring-handler.js';
import type { WeightedChild } from './weighted-handler.js';
import { weightedHandler } from './weighted-handler.js';

export interface ServiceDeps {
  forward: Forward;
  health: ServerHealth;
  logger: Logger;
  random: () => number;
}

const NEVER: Balancer<ServerTarget> = { next: () => undefined };

const KINDS = ['loadBalancer', 'weighted', 'mirroring', 'failover', 'highestRandomWeight'] as const;

/** Weighted and mirroring services nest; a bound keeps a pathological body from exhausting the stack. */
const MAX_DEPTH = 64;

/**
 * What a build remembers of each service so the next build can reuse it: its configuration as
 * built, and the services it named (weighted, mirroring) with the runtimes they resolved to.
 */
export interface ServiceMemo {
  config: unknown;
  runtime: ServiceRuntime;
  refs: readonly (readonly [string, ServiceRuntime])[];
}

/**
 * Weighted and mirroring services are built after the services they name, depth first; a
 * missing name or a cycle refuses the body (the controller's compiler reports those first).
 *
 * `previous`: the memo of the live runtime's build. A service whose configuration is unchanged
 * (the same object, as a delta leaves it, or equal as canonical JSON) and whose named services
 * resolve to the very runtimes they did is reused whole: its balancer (round-robin position,
 * requests in flight), sticky table and handler carry over. `memo` receives this build's.
 *
 * `only` (with `live`, the live runtime's services): a delta's rebuild. Only these names are
 * built (or found deleted: absent from the result); every other name resolves to its runtime in
 * `live`, unchanged. The caller includes every service naming one of them (see BuildMemo).
 */
export function buildServices(
  config: Readonly<Record<string, HttpService>>,
  deps: ServiceDeps,
  previous?: ReadonlyMap<string, ServiceMemo>,
  memo?: Map<string, ServiceMemo>,
  only?: { names: ReadonlySet<string>; live: ReadonlyMap<string, ServiceRuntime> },
): Map<string, ServiceRuntime> {
  const built = new Map<string, ServiceRuntime>();
  const building = new Set<string>();

  const reusable = (name: string, raw: unknown): ServiceMemo | undefined => {
    const prev = previous?.get(name);
    if (prev === undefined || !(prev.config === raw || jsonEqual(prev.config, raw))) return undefined;
    for (const [ref, runtime] of prev.refs) if (get(ref, name) !== runtime) return undefined;
    return prev;
  };

  const get = (ref: string, from: string): ServiceRuntime => {
    const name = Object.hasOwn(config, ref) ? ref : resolveName(ref, (key) => Object.hasOwn(config, key));
    if (name === undefined) throw new SnapshotInvalid(`service "${from}": service "${ref}" does not exist`);
    const done = built.get(name);
    if (done) return done;
    if (only !== undefined && !only.names.has(name)) {
      const kept = only.live.get(name);
      // Unreachable when the live runtime was built from the body this delta applies to.
      if (kept === undefined) throw new SnapshotInvalid(`service "${name}" was not built`);
      return kept;
    }
    if (building.has(name)) {
      throw new SnapshotInvalid(
        `service "${from}": services reference each other in a cycle through "${name}"`,
      );
    }
    if (building.size >= MAX_DEPTH) {
      throw new SnapshotInvalid(`service "${from}": services nest deeper than ${MAX_DEPTH} levels`);
    }
    building.add(name);
    const raw = config[name];
    let entry = reusable(name, raw);
    if (entry === undefined) {
      const refs: [string, ServiceRuntime][] = [];
      const track: Lookup = (ref, from) => {
        const child = get(ref, from);
        refs.push([ref, child]);
        return child;
      };
      entry = { config: raw, runtime: buildOne(name, raw, track, deps), refs };
    }
    building.delete(name);
    built.set(name, entry.runtime);
    // The body's own object, so the next delta (which shares it) compares by identity.
    memo?.set(name, entry.config === raw ? entry : { ...entry, config: raw });
    return entry.runtime;
  };

  if (only === undefined) for (const name of Object.keys(config)) get(name, name);
  else for (const name of only.names) if (Object.hasOwn(config, name)) get(name, name);
  return built;
}

/** `name@provider` (Traefik's cross-provider reference) finds `name` when no key has the suffix. */
export function resolveName(ref: string, has: (name: string) => boolean): string | undefined {
  if (has(ref)) return ref;
  const at = ref.lastIndexOf('@');
  if (at > 0 && has(ref.slice(0, at))) return ref.slice(0, at);
  return undefined;
}

type Lookup = (ref: string, from: string) => ServiceRuntime;

function buildOne(name: string, raw: unknown, get: Lookup, deps: ServiceDeps): ServiceRuntime {
  if (!isRecord(raw)) throw new SnapshotInvalid(`service "${name}": not an object`);
  const service = raw as HttpService;
  const kinds = KINDS.filter((k) => service[k] !== undefined);
  if (kinds.length !== 1) {
    throw new SnapshotInvalid(`service "${name}": needs exactly one of ${KINDS.join(', ')}`);
  }
  if (service.loadBalancer) return buildLoadBalancer(name, service.loadBalancer, deps);
  if (service.weighted) return buildWeighted(name, service.weighted, get);
  if (service.failover) return buildFailover(name, service.failover, get);
  if (service.highestRandomWeight) return buildHighestRandomWeight(name, service.highestRandomWeight, get);
  return buildMirroring(name, service.mirroring as MirroringService, get, deps);
}

function buildLoadBalancer(name: string, lb: HttpLoadBalancer, deps: ServiceDeps): ServiceRuntime {
  if (!isRecord(lb) || !Array.isArray(lb.servers)) {
    throw new SnapshotInvalid(`service "${name}": no loadBalancer.servers list`);
  }
  const servers: ServerTarget[] = lb.servers.map((server, i) => {
    const where = `service "${name}": server ${i}`;
    if (!isRecord(server)) throw new SnapshotInvalid(`${where}: not an object`);
    let url: URL;
    try {
      url = new URL(server.url);
    } catch {
      throw new SnapshotInvalid(`${where}: invalid url ${JSON.stringify(server.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'h2c:') {
      throw new SnapshotInvalid(`${where}: unsupported scheme "${url.protocol}" (http, https or h2c)`);
    }
    const weight = server.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new SnapshotInvalid(`${where}: weight must be a number >= 0`);
    }
    // `h2c:` is not a special scheme to URL parsing: its `origin` is "null".
    return { url, origin: url.protocol === 'h2c:' ? `h2c://${url.host}` : url.origin, weight };
  });
  // Traefik hashes each server's URL as written, not as URL parsing normalises it.
  const written = new Map(servers.map((server, i) => [server, String(lb.servers[i]?.url)]));
  const balancer: Balancer<ServerTarget> =
    lb.strategy === 'p2c'
      ? new PowerOfTwoChoices(
          servers.filter((s) => s.weight > 0),
          { random: deps.random },
        )
      : lb.strategy === 'hrw'
        ? new HighestRandomWeight(servers, (server) => written.get(server) ?? server.url.href)
        : new RoundRobin(servers);
  const cookie = lb.sticky?.cookie;
  const sticky =
    cookie === undefined ? undefined : new StickySessions(name, cookie, servers, (server) => server.url.href);
  const passHostHeader = lb.passHostHeader ?? true;
  const { health } = deps;
  const available = (server: ServerTarget): boolean => health.isAvailable(name, server);
  // The fast path picks without a request context, so without the client key hrw needs.
  const direct: DirectService | undefined =
    sticky === undefined && lb.strategy !== 'hrw' && servers.every((s) => s.url.protocol === 'http:')
      ? {
          name,
          passHostHeader,
          serversTransport: lb.serversTransport,
          pick: (besides) =>
            balancer.next(besides === undefined ? available : (s) => available(s) && !besides.includes(s)),
          done: (server, ok) => {
            balancer.release?.(server);
            if (ok !== undefined) health.record(name, server, ok);
          },
        }
      : undefined;
  return {
    name,
    kind: 'loadBalancer',
    ...(direct === undefined ? {} : { direct }),
    servers,
    balancer,
    passHostHeader,
    handler: loadBalancerHandler({
      service: name,
      servers,
      balancer,
      sticky,
      passHostHeader,
      serversTransport: lb.serversTransport,
      forward: deps.forward,
      health,
    }),
    available: () => servers.some((server) => server.weight > 0 && health.isAvailable(name, server)),
  };
}

function buildWeighted(name: string, weighted: WeightedService, get: Lookup): ServiceRuntime {
  if (!isRecord(weighted) || !Array.isArray(weighted.services)) {
    throw new SnapshotInvalid(`service "${name}": no weighted.services list`);
  }
  const children: WeightedChild[] = weighted.services.map((child, i) => {
    if (!isRecord(child) || typeof child.name !== 'string') {
      throw new SnapshotInvalid(`service "${name}": weighted service ${i}: no name`);
    }
    const weight = child.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new SnapshotInvalid(`service "${name}": weighted service ${i}: weight must be a number >= 0`);
    }
    return { name: child.name, weight, service: get(child.name, name) };
  });
  const cookie = weighted.sticky?.cookie;
  const sticky =
    cookie === undefined ? undefined : new StickySessions(name, cookie, children, (child) => child.name);
  return {
    name,
    kind: 'weighted',
    servers: [],
    balancer: NEVER,
    passHostHeader: true,
    handler: weightedHandler({ service: name, children, sticky }),
    available: () => children.some((child) => child.weight > 0 && child.service.available()),
  };
}

function buildFailover(name: string, failover: FailoverService, get: Lookup): ServiceRuntime {
  if (!isRecord(failover) || typeof failover.service !== 'string' || typeof failover.fallback !== 'string') {
    throw new SnapshotInvalid(`service "${name}": failover needs service and fallback`);
  }
  const main = get(failover.service, name);
  const fallback = get(failover.fallback, name);
  return {
    name,
    kind: 'failover',
    servers: [],
    balancer: NEVER,
    passHostHeader: main.passHostHeader,
    handler: failoverHandler({ service: name, main, fallback }),
    // Down only when both are: what Traefik reports to a parent that checks health.
    available: () => main.available() || fallback.available(),
  };
}

function buildHighestRandomWeight(
  name: string,
  hrw: HighestRandomWeightService,
  get: Lookup,
): ServiceRuntime {
  if (!isRecord(hrw) || !Array.isArray(hrw.services)) {
    throw new SnapshotInvalid(`service "${name}": no highestRandomWeight.services list`);
  }
  const children: HrwChild[] = hrw.services.map((child, i) => {
    if (!isRecord(child) || typeof child.name !== 'string') {
      throw new SnapshotInvalid(`service "${name}": highestRandomWeight service ${i}: no name`);
    }
    const weight = child.weight ?? 1;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new SnapshotInvalid(
        `service "${name}": highestRandomWeight service ${i}: weight must be a number >= 0`,
      );
    }
    return { name: child.name, weight, service: get(child.name, name) };
  });
  return {
    name,
    kind: 'highestRandomWeight',
    servers: [],
    balancer: NEVER,
    passHostHeader: true,
    handler: highestRandomWeightHandler({ service: name, children }),
    available: () => children.some((child) => child.weight > 0 && child.service.available()),
  };
}

function buildMirroring(
  name: string,
  mirroring: MirroringService,
  get: Lookup,
  deps: ServiceDeps,
): ServiceRuntime {
  if (!isRecord(mirroring) || typeof mirroring.service !== 'string') {
    throw new SnapshotInvalid(`service "${name}": no mirroring.service`);
  }
  const main = get(mirroring.service, name);
  const mirrors = (Array.isArray(mirroring.mirrors) ? mirroring.mirrors : []).map((mirror, i) => {
    if (!isRecord(mirror) || typeof mirror.name !== 'string') {
      throw new SnapshotInvalid(`service "${name}": mirror ${i}: no name`);
    }
    const percent = mirror.percent ?? 0;
    if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
      throw new SnapshotInvalid(`service "${name}": mirror ${i}: percent must be between 0 and 100`);
    }
    return { name: mirror.name, percent, handler: get(mirror.name, name).handler };
  });
  return {
    name,
    kind: 'mirroring',
    servers: [],
    balancer: NEVER,
    passHostHeader: main.passHostHeader,
    handler: mirroringHandler({
      service: name,
      main: main.handler,
      mirrors,
      mirrorBody: mirroring.mirrorBody ?? true,
      maxBodySize: mirroring.maxBodySize ?? -1,
      random: deps.random,
      logger: deps.logger,
    }),
    available: () => main.available(),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> & object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
