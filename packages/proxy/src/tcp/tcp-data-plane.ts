// The TCP side of a node: router tables, services, middlewares and health of the live snapshot, and the connections they carry.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TcpConfig } from '@berth/config';
import type { Logger } from 'pino';
import type { ConnectionFacts } from '../edge/contract.js';
import { RouteConnections } from '../http/route-connections.js';
import { dialTarget, splice } from './tcp-forwarder.js';
import { TcpHealth } from './tcp-health.js';
import { buildTcpMiddleware, chainTcpAdmits, type TcpAdmit } from './tcp-middlewares.js';
import { buildTcpRouterTables, type TcpRoute, type TcpRouterTable } from './tcp-router-table.js';
import { TcpServices } from './tcp-services.js';

/** What the front door hands a routed TCP connection to. */
export interface TcpConnectionHandler {
  serve(entryPoint: string, route: TcpRoute, socket: Socket | TLSSocket, facts: ConnectionFacts): void;
}

export interface TcpDataPlaneOptions {
  logger: Logger;
}

export interface TcpUpdate {
  /** Every entry point of the snapshot (a router without entryPoints binds to all of them). */
  entryPoints: readonly string[];
  tcp: TcpConfig | undefined;
  /** Connections of a removed router are cut after this (default 30 s, as the HTTP side). */
  routeRemovalGraceMs?: number;
}

/** A snapshot's TCP side, built whole and swapped by one assignment. */
interface TcpRuntime {
  tables: Map<string, TcpRouterTable>;
  routers: Map<string, Set<string>>;
  services: TcpServices;
  middlewares: Map<string, TcpAdmit>;
  chains: Map<string, TcpAdmit | null>;
}

const DEFAULT_REMOVAL_GRACE_MS = 30_000;

export class TcpDataPlane implements TcpConnectionHandler {
  readonly #logger: Logger;
  readonly health: TcpHealth;
  #runtime: TcpRuntime;
  readonly #connections = new Map<string, RouteConnections>();

  constructor(options: TcpDataPlaneOptions) {
    this.#logger = options.logger;
    this.health = new TcpHealth(options.logger);
    this.#runtime = this.#build({ entryPoints: [], tcp: undefined }).runtime;
  }

  /**
   * Applies a snapshot's `tcp` section. Problems (bad rules, missing services...) are returned
   * for logging; the rest of the configuration still runs. Open connections of routers that still
   * exist on their entry point keep going; the others are cut after the removal grace.
   */
  update(input: TcpUpdate): { problems: string[] } {
    const { runtime, problems } = this.#build(input);
    this.#runtime = runtime;
    this.health.update(runtime.services.healthChecks);
    const grace = input.routeRemovalGraceMs ?? DEFAULT_REMOVAL_GRACE_MS;
    for (const [ep, conns] of this.#connections) {
      conns.retire((router) => this.#runtime.routers.get(ep)?.has(router) === true, grace);
    }
    return { problems };
  }

  /** The router table of an entry point (for the front door), or undefined when it has no TCP router. */
  table(entryPoint: string): TcpRouterTable | undefined {
    const table = this.#runtime.tables.get(entryPoint);
    return table && (table.tlsRoutes.length > 0 || table.plainRoutes.length > 0) ? table : undefined;
  }

  /** Every (entry point, router) of the live snapshot with its open connections, for metrics. */
  openConnections(): { entryPoint: string; router: string; open: number }[] {
    const out: { entryPoint: string; router: string; open: number }[] = [];
    for (const [entryPoint, routers] of this.#runtime.routers) {
      for (const router of routers)
        out.push({ entryPoint, router, open: this.connectionCount(entryPoint, router) });
    }
    return out;
  }

  /** Open connections of a router on an entry point. */
  connectionCount(entryPoint: string, router: string): number {
    return this.#connections.get(entryPoint)?.count(router) ?? 0;
  }

  serve(entryPoint: string, route: TcpRoute, socket: Socket | TLSSocket, facts: ConnectionFacts): void {
    const runtime = this.#runtime;
    const log = { entryPoint, router: route.name, client: facts.clientIp };
    socket.on('error', (err) =>
      this.#logger.debug({ ...log, err: err.message }, 'tcp client connection error'),
    );
    const admit = this.#chain(runtime, route);
    if (admit === null) {
      this.#logger.debug(log, 'tcp router has a middleware that does not exist: connection closed');
      socket.destroy();
      return;
    }
    const admission = admit(facts.clientIp);
    if (!admission.ok) {
      this.#logger.debug({ ...log, reason: admission.reason }, 'tcp connection refused by a middleware');
      socket.destroy();
      return;
    }
    const target = runtime.services.pick(route.service);
    if (target === undefined) {
      this.#logger.debug(
        { ...log, service: route.service },
        'tcp service has no available server: connection closed',
      );
      admission.release();
      socket.destroy();
      return;
    }
    let conns = this.#connections.get(entryPoint);
    if (!conns) {
      conns = new RouteConnections();
      this.#connections.set(entryPoint, conns);
    }
    const tracked = conns;
    let handle: { destroy(): void } = socket;
    const closable = { destroy: () => handle.destroy() };
    tracked.add(route.name, closable);
    const finish = () => {
      tracked.delete(route.name, closable);
      admission.release();
    };
    dialTarget(target, facts, this.#logger).then(
      (server) => {
        if (socket.destroyed) {
          server.destroy();
          finish();
          return;
        }
        handle = splice(
          socket,
          server,
          {
            terminationDelayMs: target.transport.terminationDelayMs,
            idleTimeoutMs: target.transport.idleTimeoutMs,
          },
          finish,
        );
      },
      (err: Error) => {
        this.#logger.debug({ ...log, server: target.address, err: err.message }, 'tcp server dial failed');
        socket.destroy();
        finish();
      },
    );
  }

  /** Cuts every connection and stops health checks. */
  close(): void {
    this.health.close();
    for (const conns of this.#connections.values()) conns.closeAll();
    this.#connections.clear();
  }

  #chain(runtime: TcpRuntime, route: TcpRoute): TcpAdmit | null {
    const cached = runtime.chains.get(route.name);
    if (cached !== undefined) return cached;
    const parts: TcpAdmit[] = [];
    let chain: TcpAdmit | null = null;
    let missing = false;
    for (const name of route.middlewares) {
      const m = runtime.middlewares.get(name);
      if (m === undefined) missing = true;
      else parts.push(m);
    }
    if (!missing) chain = chainTcpAdmits(parts);
    runtime.chains.set(route.name, chain);
    return chain;
  }

  #build(input: TcpUpdate): { runtime: TcpRuntime; problems: string[] } {
    const problems: string[] = [];
    const { tables, problems: routerProblems } = buildTcpRouterTables(input.tcp, input.entryPoints);
    for (const p of routerProblems) problems.push(`tcp.routers.${p.router}: ${p.message}`);
    const services = new TcpServices(input.tcp, (key) => this.health.isUp(key));
    for (const p of services.problems) problems.push(`tcp.services.${p.service}: ${p.message}`);
    const middlewares = new Map<string, TcpAdmit>();
    for (const [name, spec] of Object.entries(input.tcp?.middlewares ?? {})) {
      middlewares.set(name, buildTcpMiddleware(name, spec));
    }
    const routers = new Map<string, Set<string>>();
    for (const [ep, table] of tables) {
      const names = new Set<string>();
      for (const r of [...table.tlsRoutes, ...table.plainRoutes]) {
        names.add(r.name);
        if (!services.has(r.service))
          problems.push(`tcp.routers.${r.name}: service '${r.service}' does not exist`);
        for (const m of r.middlewares) {
          if (!middlewares.has(m)) problems.push(`tcp.routers.${r.name}: middleware '${m}' does not exist`);
        }
      }
      routers.set(ep, names);
    }
    return {
      runtime: { tables, routers, services, middlewares, chains: new Map() },
      problems: [...new Set(problems)],
    };
  }
}
