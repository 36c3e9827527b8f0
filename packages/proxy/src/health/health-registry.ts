// Server health across snapshots: active checkers and passive records per (service, server URL).
import type { HttpLoadBalancer, HttpService, ServersTransport } from '@berth/config';
import type { ServerStatusReport, SnapshotBody } from '@berth/protocol';
import { jsonEqual } from '@berth/protocol';
import type { Logger } from 'pino';
import type { Agent, Dispatcher } from 'undici';
import { transportSettings } from '../http/servers-transport.js';
import { undici } from '../http/undici-loader.js';
import type { ServerTarget } from '../runtime/types.js';
import { serverConnector } from '../tls/server-name.js';
import { ActiveChecker } from './active-checker.js';
import { type ActiveSettings, type ProbeTls, resolveActive } from './active-settings.js';
import { type PassiveSettings, PassiveState, resolvePassive } from './passive-health.js';
import type { ServerHealth } from './server-health.js';

export const HEALTHCHECK_CONFIG = 'BERTH_PROXY_HEALTHCHECK_CONFIG';

export interface HealthRegistryOptions {
  logger: Logger;
  /** Epoch milliseconds; tests inject a clock to drive ejection times. */
  now?: () => number;
  /** Connections the probe agent keeps per origin. */
  probeConnections?: number;
}

interface ServerEntry {
  /** As configured, for reports and logs. */
  url: string;
  active: ActiveChecker | null;
  passive: PassiveState;
  /** When the passive state last changed to or from ejected, for `since`. */
  passiveSince: number;
  /** When this node started tracking the server. */
  addedAt: number;
}

interface ServiceEntry {
  /** Keyed by normalised URL (`URL.href`), which is what `ServerTarget.url.href` gives. */
  servers: Map<string, ServerEntry>;
  passive: PassiveSettings | null;
  /** The loadBalancer and servers transport last applied: the same again changes nothing. */
  applied: { lb: unknown; transport: unknown } | null;
}

function probeTls(transport: ServersTransport | undefined): ProbeTls {
  const tls: ProbeTls = { rejectUnauthorized: transport?.insecureSkipVerify !== true };
  const ca = transport?.rootCAs?.filter((pem) => pem.includes('-----BEGIN'));
  if (ca && ca.length > 0) tls.ca = ca;
  if (transport?.serverName) tls.servername = transport.serverName;
  if (transport?.minVersion || transport?.maxVersion || transport?.cipherSuites) {
    const { minVersion, maxVersion, ciphers } = transportSettings(transport).tls;
    if (minVersion) tls.minVersion = minVersion;
    if (maxVersion) tls.maxVersion = maxVersion;
    if (ciphers) tls.ciphers = ciphers;
  }
  return tls;
}

/**
 * Implements ServerHealth for the data plane. `update` is called with each applied snapshot:
 * checks that did not change keep running with their state; new ones start (first probe now);
 * removed ones stop. Probes use a small dedicated undici Agent, never the request pools, so a
 * saturated pool cannot make a healthy server look dead.
 */
export class HealthRegistry implements ServerHealth {
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #services = new Map<string, ServiceEntry>();
  readonly #dispatchers = new Map<string, Dispatcher>();
  readonly #agents: Agent[] = [];
  readonly #connections: number;
  #closed = false;

  constructor(options: HealthRegistryOptions) {
    this.#log = options.logger.child({ component: 'health' });
    this.#now = options.now ?? Date.now;
    this.#connections = options.probeConnections ?? 2;
  }

  isAvailable(service: string, server: ServerTarget): boolean {
    const entry = this.#services.get(service)?.servers.get(server.url.href);
    if (entry === undefined) return true;
    if (entry.active !== null && !entry.active.up) return false;
    return entry.passive.ejectedUntil === 0 || !entry.passive.isEjected(this.#now());
  }

  record(service: string, server: ServerTarget, ok: boolean): void {
    const svc = this.#services.get(service);
    if (svc?.passive == null) return;
    const entry = svc.servers.get(server.url.href);
    if (entry === undefined) return;
    const now = this.#now();
    const event = entry.passive.record(ok, now, svc.passive);
    if (event === null) return;
    entry.passiveSince = now;
    const fields = { service, server: entry.url };
    if (event.kind === 'ejected') {
      this.#log.warn(
        { ...fields, failures: event.failures, ejectMs: event.forMs, ejections: entry.passive.streak },
        'server ejected after failed requests',
      );
    } else {
      this.#log.info({ ...fields, ejections: event.ejections }, 'ejected server answered again');
    }
  }

  /**
   * Applies a snapshot's health configuration. Never throws; bad settings are logged and skipped.
   * `only`: the services a delta changed (the transports did not change); the others are left
   * as they are, without a look.
   */
  update(body: SnapshotBody, only?: Iterable<string>): void {
    if (this.#closed) return;
    const transports = body.http?.serversTransports ?? {};
    const services = body.http?.services ?? {};
    if (only !== undefined) {
      for (const name of only) {
        if (!this.#updateOne(name, Object.hasOwn(services, name) ? services[name] : undefined, transports))
          this.#remove(name);
      }
      return;
    }
    const seen = new Set<string>();
    for (const name of Object.keys(services))
      if (this.#updateOne(name, services[name], transports)) seen.add(name);
    for (const name of this.#services.keys()) if (!seen.has(name)) this.#remove(name);
  }

  /** False when `service` has no health to keep (not a load balancer). */
  #updateOne(
    name: string,
    service: HttpService | undefined,
    transports: Readonly<Record<string, ServersTransport>>,
  ): boolean {
    const lb = service?.loadBalancer;
    if (lb === undefined || !Array.isArray(lb.servers)) return false;
    const transport = lb.serversTransport ? transports[lb.serversTransport] : undefined;
    const applied = this.#services.get(name)?.applied;
    if (
      applied != null &&
      (applied.lb === lb || jsonEqual(applied.lb, lb)) &&
      (applied.transport === transport || jsonEqual(applied.transport, transport))
    ) {
      // Unchanged: checkers keep running, nothing to parse again. Kept current for identity.
      applied.lb = lb;
      applied.transport = transport;
      return true;
    }
    this.#updateService(name, lb, probeTls(transport));
    const svc = this.#services.get(name);
    if (svc !== undefined) svc.applied = { lb, transport };
    return true;
  }

  #remove(name: string): void {
    const svc = this.#services.get(name);
    if (svc === undefined) return;
    for (const entry of svc.servers.values()) entry.active?.stop();
    this.#services.delete(name);
  }

  #updateService(name: string, lb: HttpLoadBalancer, tls: ProbeTls): void {
    let svc = this.#services.get(name);
    if (svc === undefined) {
      svc = { servers: new Map(), passive: null, applied: null };
      this.#services.set(name, svc);
    }
    svc.passive = lb.passiveHealthCheck ? resolvePassive(lb.passiveHealthCheck) : null;
    const present = new Set<string>();
    for (const server of lb.servers as unknown[]) {
      const url =
        typeof server === 'object' && server !== null ? (server as { url?: unknown }).url : undefined;
      if (typeof url !== 'string') continue;
      let href: string;
      try {
        href = new URL(url).href;
      } catch {
        continue;
      }
      if (present.has(href)) continue;
      present.add(href);
      let entry = svc.servers.get(href);
      if (entry === undefined) {
        const addedAt = this.#now();
        entry = { url, active: null, passive: new PassiveState(), passiveSince: 0, addedAt };
        svc.servers.set(href, entry);
      } else if (svc.passive === null && entry.passive.ejectedUntil !== 0) {
        // Passive checks were turned off: nothing may keep the server out any more.
        entry.passive = new PassiveState();
        entry.passiveSince = this.#now();
      }
      this.#updateActive(name, entry, lb, tls);
    }
    for (const [href, entry] of svc.servers) {
      if (present.has(href)) continue;
      entry.active?.stop();
      svc.servers.delete(href);
    }
  }

  #updateActive(service: string, entry: ServerEntry, lb: HttpLoadBalancer, tls: ProbeTls): void {
    const hc = lb.healthCheck;
    if (hc === undefined) {
      entry.active?.stop();
      entry.active = null;
      return;
    }
    const resolved = resolveActive(entry.url, hc);
    if (!resolved.ok) {
      this.#log.error(
        { code: HEALTHCHECK_CONFIG, service, server: entry.url, err: resolved.error },
        'health check not started',
      );
      entry.active?.stop();
      entry.active = null;
      return;
    }
    const settings: ActiveSettings = {
      ...resolved.settings,
      tls,
      key: `${resolved.settings.key}${JSON.stringify(tls)}`,
    };
    const current = entry.active;
    if (current !== null) {
      if (current.settings.key !== settings.key) current.retune(settings);
      return;
    }
    entry.active = new ActiveChecker({
      service,
      server: entry.url,
      settings,
      dispatcherFor: (s) => this.#dispatcher(s.followRedirects, s.tls ?? { rejectUnauthorized: true }),
      logger: this.#log,
      now: this.#now,
    });
    entry.active.start();
  }

  /** One agent per distinct TLS setup and redirect policy: few, and shared by every check that uses it. */
  #dispatcher(followRedirects: boolean, tls: ProbeTls): Dispatcher {
    const key = JSON.stringify([followRedirects, tls]);
    let dispatcher = this.#dispatchers.get(key);
    if (dispatcher === undefined) {
      const { Agent, interceptors } = undici();
      const agent = new Agent({
        connections: this.#connections,
        keepAliveTimeout: 4_000,
        // Never an IP as SNI (tls/server-name.ts).
        connect: serverConnector({
          rejectUnauthorized: tls.rejectUnauthorized,
          ...(tls.ca ? { ca: tls.ca } : {}),
          ...(tls.servername ? { servername: tls.servername } : {}),
          ...(tls.minVersion ? { minVersion: tls.minVersion } : {}),
          ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}),
          ...(tls.ciphers ? { ciphers: tls.ciphers } : {}),
        }),
      });
      this.#agents.push(agent);
      dispatcher = followRedirects ? agent.compose(interceptors.redirect({ maxRedirections: 5 })) : agent;
      this.#dispatchers.set(key, dispatcher);
    }
    return dispatcher;
  }

  /** Every server of every load-balanced service with its status, for the controller. */
  report(): ServerStatusReport[] {
    const now = this.#now();
    const out: ServerStatusReport[] = [];
    for (const [service, svc] of this.#services) {
      for (const entry of svc.servers.values())
        out.push({ service, url: entry.url, ...this.#status(entry, now) });
    }
    return out;
  }

  #status(entry: ServerEntry, now: number): Pick<ServerStatusReport, 'status' | 'since'> {
    const active = entry.active;
    if (active !== null && !active.up) return { status: 'down', since: Math.floor(active.since) };
    const passive = entry.passive;
    if (passive.isEjected(now)) return { status: 'ejected', since: Math.floor(passive.ejectedAt) };
    const since = Math.max(entry.addedAt, active?.since ?? 0, passive.ejectedUntil, entry.passiveSince);
    return { status: 'up', since: Math.floor(since) };
  }

  /** Stops every checker and closes the probe connections. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const svc of this.#services.values()) for (const entry of svc.servers.values()) entry.active?.stop();
    this.#services.clear();
    this.#dispatchers.clear();
    await Promise.all(this.#agents.splice(0).map((a) => a.close().catch(() => {})));
  }
}
