// Applies snapshots to a running node: compiles the runtime, reconciles listeners, swaps atomically.
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { type HttpRouter, parseAddress, parseEntryPointAddress, stripProtocol } from '@berth/config';
import { type DeltaOp, type ListenerInfo, redactSecrets, type SnapshotBody } from '@berth/protocol';
import type { Logger } from 'pino';
import type { AppliedChange } from './agent/agent.js';
import { entryPointNeedsFrontDoor, frontDoorSettings, RouterPresence } from './edge/entry-point-edge.js';
import { FrontDoor } from './edge/front-door.js';
import { DATA_PLANE_CLOSED, LISTEN_FAILED } from './errors.js';
import { HealthRegistry } from './health/health-registry.js';
import type { RequestRecord } from './http/context.js';
import type { EntryPointSettings } from './http/entry-point-settings.js';
import { durationMs, entryPointSettings } from './http/entry-point-settings.js';
import { UpstreamPools } from './http/fast/upstream.js';
import type { Forward } from './http/forward-types.js';
import { createForwarder } from './http/forwarder.js';
import { HttpEntryPoint } from './http/http-entry-point.js';
import { boundAddress, describeListenError, listen } from './http/listen.js';
import { middlewareFactories } from './http/middlewares/index.js';
import { PoolCache } from './http/pool-cache.js';
import { TransportTable } from './http/servers-transport.js';
import { type ApiView, apiView } from './internal/api-view.js';
import { type InternalServices, internalServices } from './internal/internal-services.js';
import { AccessLog } from './observability/access-log.js';
import { NodeMetrics, recordRequest } from './observability/node-metrics.js';
import type { BuildMemo } from './runtime/build-runtime.js';
import { buildRuntime, rebuildRuntime } from './runtime/build-runtime.js';
import { RuntimeSwitch, StagedRuntime } from './runtime/runtime-switch.js';
import type { Runtime } from './runtime/types.js';
import { TcpDataPlane } from './tcp/tcp-data-plane.js';
import { TlsTermination } from './tls/tls-termination.js';
import { UDP_DEFAULTS, UdpDataPlane, type UdpEntryPointSpec } from './udp/udp-data-plane.js';

export { DATA_PLANE_CLOSED, LISTEN_FAILED };

export interface DataPlaneOptions {
  logger: Logger;
  /** Entry point name → address used instead of the snapshot's, e.g. `127.0.0.1:0` in tests. */
  entryPointOverrides?: Record<string, string>;
  /** How long `close()` lets requests in flight finish before cutting connections. Default: each entry point's graceTimeOut. */
  closeDrainMs?: number;
  /** How long a listener removed by a snapshot keeps its busy connections. Default: its graceTimeOut. */
  retireDrainMs?: number;
  /** This node's name, sent as X-Forwarded-Server. */
  nodeName?: string;
  /** Called once per request when its handling is over (access log, metrics). */
  onRequestEnd?: (ctx: RequestRecord) => void;
  /** How long a pool for an origin no longer referenced stays open. Default 30 s. */
  poolGraceMs?: number;
  /**
   * Called when `listeners()` changes outside an apply: an entry point whose address was in use
   * binds on a retry.
   */
  onListenersChange?: () => void;
  /** Backoff of those retries: the first delay, doubling up to the second. Default 100 ms, 5 s. */
  bindRetryMs?: { initial: number; max: number };
  /**
   * What `prometheus@internal` serves: the node's exposition. Default: this data plane's own; a
   * worker passes the node's merged view (every worker's, as `--metrics` serves it).
   */
  nodeMetrics?: () => string | Promise<string>;
  /**
   * Serve the UDP entry points (default true). A worker pool serves them from its first worker
   * only: a client's datagrams must all reach the one process that holds its session.
   */
  udp?: boolean;
  /** Most UDP sessions held at once (default 10,000). */
  udpMaxSessions?: number;
}

export type ApplyResult =
  | { ok: true; listeners: ListenerInfo[] }
  | { ok: false; code: string; error: string };

interface Listener {
  entryPoint: string;
  /** The address asked for (after overrides), compared to decide whether to rebind. */
  requested: string;
  bound: string;
  /**
   * The listening socket. It hands each connection on (today: to `http`); the HTTP server itself
   * never listens, so what sits in front of it (TLS, TCP routing) can change with a snapshot
   * without rebinding the port.
   */
  server: Server;
  http: HttpEntryPoint;
  /** Every connection `server` accepted and that is still open. */
  sockets: Set<Socket>;
  /**
   * PROXY protocol, TLS/plain detection, SNI routing; null while the entry point serves plain HTTP
   * only, whose connections then go straight to `http`. Swapped with each snapshot. `pending`
   * between binding and the swap of the snapshot that bound it: connections wait in `early`.
   */
  door: FrontDoor | null | 'pending';
  early: Socket[];
  /**
   * `retrying`: the address was in use (or not yet on this host) when the snapshot was applied;
   * every other entry point serves, and this one binds again with backoff until it listens.
   */
  state: 'bound' | 'retrying';
  /** Why the last bind failed, while retrying. */
  error: { code: string; message: string } | undefined;
  retry: { attempt: number; timer: NodeJS.Timeout | null };
  /** Set once the listener is drained: a retry in flight must not leave a socket listening. */
  retired: boolean;
}

/** Bind errors that go away by themselves (a port released by a dying process, an address being added). */
const RETRYABLE_BIND_ERRORS = new Set(['EADDRINUSE', 'EADDRNOTAVAIL']);

/** Traefik's default for how long a removed route's WebSockets and streams may go on. */
const DEFAULT_ROUTE_REMOVAL_GRACE_MS = 30_000;

/** How often a draining server's idle keep-alive connections are swept. */
const SWEEP_MS = 250;

export class DataPlane {
  readonly #logger: Logger;
  readonly #overrides: Readonly<Record<string, string>>;
  readonly #closeDrainMs: number | undefined;
  readonly #retireDrainMs: number | undefined;
  readonly #nodeName: string;
  readonly #onRequestEnd: ((ctx: RequestRecord) => void) | undefined;
  readonly #runtimes = new RuntimeSwitch();
  /** What built the live runtime: the next build reuses its unchanged services, middlewares and routers. */
  #memo: BuildMemo | undefined;
  /** The live body (what `#memo` was built from). */
  #body: SnapshotBody | undefined;
  /** Which entry points the live body's HTTP routers are bound to (for the front doors). */
  #presence = RouterPresence.of(undefined);
  readonly #pools: PoolCache;
  /** Server connections of the raw HTTP/1.1 fast path (http/fast/). */
  readonly #fastPools = new UpstreamPools();
  /** The live snapshot's servers transports; swapped together with the runtime. */
  readonly #transportSource: { transports: TransportTable } = {
    transports: new TransportTable(undefined, undefined),
  };
  /** The forwarder every service handler uses (the Forward contract). */
  readonly forward: Forward;
  /** Active and passive health of every server; outlives snapshots. */
  readonly health: HealthRegistry;
  readonly metrics = new NodeMetrics();
  /** TCP routers, services and their connections; outlives snapshots. */
  readonly tcp: TcpDataPlane;
  /** UDP entry points and their client sessions; null when this process leaves UDP to another. */
  readonly udp: UdpDataPlane | null;
  /** TLS termination for the live snapshot's certificates and options, one terminator per entry point. */
  readonly #tls: TlsTermination;
  readonly accessLog: AccessLog;
  readonly #listeners = new Map<string, Listener>();
  /** Transports already warned about for insecureSkipVerify (once per name per process). */
  readonly #warnedInsecure = new Set<string>();
  /** Servers of removed entry points still finishing their requests. */
  readonly #draining = new Map<Listener, Promise<void>>();
  /** Applies run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** The node's own `x@internal` services, for every snapshot (see internal/). */
  readonly #internal: InternalServices;
  /** The API view of the live body, made when first asked for after each apply. */
  #view: { body: SnapshotBody; runtime: Runtime; view: ApiView } | undefined;
  readonly #onListenersChange: (() => void) | undefined;
  readonly #bindRetryMs: { initial: number; max: number };

  constructor(opts: DataPlaneOptions) {
    this.#onListenersChange = opts.onListenersChange;
    this.#bindRetryMs = opts.bindRetryMs ?? { initial: 100, max: 5_000 };
    this.#logger = opts.logger;
    this.#overrides = opts.entryPointOverrides ?? {};
    this.#closeDrainMs = opts.closeDrainMs;
    this.#retireDrainMs = opts.retireDrainMs;
    this.#nodeName = opts.nodeName ?? '';
    const userHook = opts.onRequestEnd;
    this.health = new HealthRegistry({ logger: opts.logger });
    this.metrics.watchHealth(this.health);
    // AccessLog binds its own `component`; binding it here too wrote the key twice in every line.
    this.accessLog = new AccessLog(opts.logger);
    this.#onRequestEnd = (ctx) => {
      const endedAt = process.hrtime.bigint();
      recordRequest(this.metrics, ctx, endedAt);
      this.accessLog.write(ctx, endedAt);
      userHook?.(ctx);
    };
    this.tcp = new TcpDataPlane({ logger: opts.logger.child({ component: 'tcp' }) });
    this.metrics.watchTcp(this.tcp);
    this.udp =
      opts.udp === false
        ? null
        : new UdpDataPlane({
            logger: opts.logger.child({ component: 'udp' }),
            ...(opts.udpMaxSessions === undefined ? {} : { maxSessions: opts.udpMaxSessions }),
          });
    if (this.udp !== null) this.metrics.watchUdp(this.udp);
    this.#tls = new TlsTermination({ logger: opts.logger.child({ component: 'tls' }) });
    this.#pools = new PoolCache(opts.poolGraceMs === undefined ? {} : { graceMs: opts.poolGraceMs });
    this.forward = createForwarder({
      pools: this.#pools,
      transports: this.#transportSource,
      logger: this.#logger,
    });
    const nodeMetrics = opts.nodeMetrics ?? (() => this.metrics.expose());
    this.#internal = internalServices({
      metrics: nodeMetrics,
      terminating: () => this.#closed,
      view: () => this.#apiView(),
      logger: this.#logger.child({ component: 'internal' }),
    });
  }

  /** The live snapshot as `api@internal` shows it (secrets redacted); server status read now. */
  #apiView(): ApiView | undefined {
    const body = this.#body;
    const runtime = this.#runtimes.current;
    if (body === undefined || runtime === undefined) return undefined;
    const health = this.health;
    const serverStatus = (name: string): Record<string, string> | undefined => {
      const service = runtime.services.get(name);
      if (service === undefined || service.kind !== 'loadBalancer') return undefined;
      // Keyed by the URL as configured, as Traefik does; the runtime's servers are in the same order.
      const configured = body.http.services[name]?.loadBalancer?.servers ?? [];
      const out: Record<string, string> = {};
      service.servers.forEach((server, i) => {
        // A password in the URL's userinfo stays on the node.
        out[redactSecrets(configured[i]?.url ?? server.url.href)] = health.isAvailable(name, server)
          ? 'UP'
          : 'DOWN';
      });
      return out;
    };
    // Health changes between requests: only the body's part is kept from one request to the next.
    const cached = this.#view;
    if (cached !== undefined && cached.body === body && cached.runtime === runtime) {
      return { ...cached.view, services: cached.view.services.map((s) => withStatus(s, serverStatus)) };
    }
    const view = apiView(body, { problems: runtime.problems, serverStatus });
    this.#view = { body, runtime, view };
    return view;
  }

  /**
   * All or nothing: either the new routes serve on every entry point of `body`, or the node
   * keeps serving exactly what it served before and the result says why. One exception: an
   * address in use (EADDRINUSE, e.g. still held by a dying process) does not refuse the snapshot;
   * that entry point is reported `retrying` and binds with backoff while the others serve.
   */
  /**
   * `change`: how `body` came about (a delta on the live body); the data plane then rebuilds only
   * what the delta's ops name, with the same result as building `body` whole.
   */
  apply(body: SnapshotBody, version?: { version: number }, change?: AppliedChange): Promise<ApplyResult> {
    const run = this.#queue.then(async () => {
      const result = await this.#apply(body, change);
      this.metrics.snapshotApplied(result.ok ? 'ok' : 'error', result.ok ? version?.version : undefined);
      return result;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Addresses actually bound, by entry point name; the address asked for while a bind is retried. */
  listeners(): ListenerInfo[] {
    return [...this.#listeners.values()]
      .map(
        (l): ListenerInfo =>
          l.state === 'bound'
            ? { entryPoint: l.entryPoint, address: l.bound, state: 'bound' }
            : {
                entryPoint: l.entryPoint,
                address: l.requested,
                state: 'retrying',
                ...(l.error ? { error: l.error } : {}),
              },
      )
      .concat(this.udp?.listeners() ?? [])
      .sort((a, b) => (a.entryPoint < b.entryPoint ? -1 : a.entryPoint > b.entryPoint ? 1 : 0));
  }

  /** Requests the raw HTTP/1.1 fast path has served on the live entry points (diagnostics and tests). */
  fastPathRequests(): number {
    let n = 0;
    for (const listener of this.#listeners.values()) n += listener.http.fastRequests;
    return n;
  }

  /** Stops accepting, lets requests in flight finish for a short drain, then cuts what is left. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    const listeners = [...this.#listeners.values()];
    this.#listeners.clear();
    const graceOf = (l: Listener): number => this.#closeDrainMs ?? l.http.settings.graceTimeoutMs;
    const longest = Math.max(0, ...listeners.map(graceOf));
    // Retired servers may have a long drain left; shutting down shortens it.
    const cut = setTimeout(() => {
      for (const listener of this.#draining.keys()) cutAll(listener);
    }, this.#closeDrainMs ?? longest);
    await Promise.all([...listeners.map((l) => drain(l, graceOf(l))), ...this.#draining.values()]);
    clearTimeout(cut);
    this.tcp.close();
    this.udp?.close();
    await this.health.close();
    await this.#pools.destroy();
    this.#fastPools.closeAll();
  }

  async #apply(body: SnapshotBody, change: AppliedChange | undefined): Promise<ApplyResult> {
    if (this.#closed) return { ok: false, code: DATA_PLANE_CLOSED, error: 'the data plane is closed' };
    const base = this.#body;
    // A delta on the live body, entry points untouched: rebuild only what its ops name.
    const delta =
      change !== undefined &&
      base !== undefined &&
      change.base === base &&
      this.#memo !== undefined &&
      body.entryPoints === base.entryPoints
        ? rebuildRuntime(body, change.ops, this.#memo)
        : undefined;
    const built =
      delta ??
      buildRuntime(
        body,
        {
          forward: this.forward,
          health: this.health,
          middlewares: middlewareFactories,
          logger: this.#logger,
          random: Math.random,
          internal: this.#internal,
        },
        this.#memo,
      );
    if (!built.ok) return built;
    /** Set for a delta's rebuild: the routers and services its ops name. */
    const changed = delta === undefined || change === undefined ? undefined : namesIn(change.ops);
    const runtime = built.runtime;
    for (const p of runtime.problems) {
      this.#logger.warn(
        { code: p.code, router: p.router, middleware: p.middleware },
        `router disabled: ${p.error}`,
      );
    }

    const wanted = new Map<string, string>();
    for (const [name, address] of runtime.entryPoints)
      wanted.set(name, stripProtocol(this.#overrides[name] ?? address));
    const settings = new Map<string, EntryPointSettings>();
    for (const name of runtime.entryPoints.keys())
      settings.set(name, entryPointSettings(body.entryPoints[name], body.entryPoints));
    // A delta's ops change no transport (or it would have been built in full): only services' choices.
    const transports =
      changed === undefined
        ? new TransportTable(body.http.serversTransports, body.http.services)
        : this.#transportSource.transports;
    for (const [name, t] of Object.entries(
      changed === undefined ? (body.http.serversTransports ?? {}) : {},
    )) {
      if (t.insecureSkipVerify && !this.#warnedInsecure.has(name)) {
        this.#warnedInsecure.add(name);
        this.#logger.warn(
          { code: 'BERTH_PROXY_INSECURE_SKIP_VERIFY', serversTransport: name },
          `servers transport "${name}" does not verify its servers' certificates (insecureSkipVerify): anyone on the path can impersonate them`,
        );
      }
    }

    // Bind first: until every new socket is listening (or retrying) nothing observable has changed.
    const staged = new StagedRuntime(runtime, this.#runtimes);
    const opened: Listener[] = [];
    for (const [name, address] of wanted) {
      if (this.#listeners.get(name)?.requested === address) continue;
      const result = await this.#open(name, address, staged, settings.get(name));
      if ('failed' in result) {
        await Promise.all(opened.map((l) => drain(l, 0)));
        return { ok: false, code: LISTEN_FAILED, error: result.failed };
      }
      opened.push(result);
    }
    // UDP sockets bind in the same phase: a port that cannot be had refuses the snapshot.
    const udpStage = this.udp === null ? undefined : await this.udp.stage(this.#udpWanted(body));
    if (udpStage?.ok === false) {
      await Promise.all(opened.map((l) => drain(l, 0)));
      return { ok: false, code: LISTEN_FAILED, error: udpStage.error };
    }

    if (delta?.ok) {
      // Updates the live tables and maps in place: from here on, nothing may fail.
      delta.commit();
      transports.updateServices(body.http.services, changed?.services ?? []);
    }
    this.#transportSource.transports = transports;
    this.#runtimes.swap(runtime);
    this.#memo = built.memo;
    this.#body = body;
    if (changed === undefined || base === undefined) this.#presence = RouterPresence.of(body.http.routers);
    else {
      for (const name of changed.routers) this.#presence.change(ownRouter(base, name), ownRouter(body, name));
    }
    this.health.update(body, changed?.services);
    this.metrics.retain(body);
    this.accessLog.update(body.accessLog);
    staged.commit();
    this.#pools.retain(runtime.origins, transports.keys());
    this.#fastPools.retain(runtime.origins, transports.keys());

    const retired: Listener[] = [];
    for (const listener of opened) {
      const previous = this.#listeners.get(listener.entryPoint);
      if (previous) retired.push(previous);
      this.#listeners.set(listener.entryPoint, listener);
    }
    for (const [name, listener] of this.#listeners) {
      if (!wanted.has(name)) {
        retired.push(listener);
        this.#listeners.delete(name);
        this.#tls.forget(name);
      }
    }
    const removalGrace = durationMs(body.routeRemovalGrace, DEFAULT_ROUTE_REMOVAL_GRACE_MS);
    const tcp = this.tcp.update({
      entryPoints: [...runtime.entryPoints.keys()],
      tcp: body.tcp,
      routeRemovalGraceMs: removalGrace,
    });
    for (const problem of tcp.problems) this.#logger.warn({ code: 'BERTH_PROXY_TCP_CONFIG' }, problem);
    udpStage?.commit(body.udp);
    this.#tls.apply(body);
    for (const listener of this.#listeners.values()) {
      const next = settings.get(listener.entryPoint);
      if (next) listener.http.configure(next);
      listener.http.routesChanged(removalGrace);
      listener.door = this.#frontDoor(listener, body, runtime);
      for (const socket of listener.early.splice(0)) dispatch(listener, socket);
    }
    for (const listener of opened) {
      if (listener.state === 'retrying') this.#retryLater(listener);
    }
    for (const listener of retired) {
      this.#draining.set(
        listener,
        drain(listener, this.#retireDrainMs ?? listener.http.settings.graceTimeoutMs).finally(() =>
          this.#draining.delete(listener),
        ),
      );
    }
    return { ok: true, listeners: this.listeners() };
  }

  /** The body's `/udp` entry points, addresses overridden as TCP ones are. */
  #udpWanted(body: SnapshotBody): Map<string, UdpEntryPointSpec> {
    const wanted = new Map<string, UdpEntryPointSpec>();
    for (const [name, ep] of Object.entries(body.entryPoints)) {
      if (parseEntryPointAddress(ep.address)?.protocol !== 'udp') continue;
      wanted.set(name, {
        requested: stripProtocol(this.#overrides[name] ?? ep.address),
        timeoutMs: durationMs(ep.udp?.timeout, UDP_DEFAULTS.timeoutMs),
      });
    }
    return wanted;
  }

  /** The front door `listener` needs for `body`, reusing the one it has; null for plain HTTP only. */
  #frontDoor(listener: Listener, body: SnapshotBody, runtime: Runtime): FrontDoor | null {
    const name = listener.entryPoint;
    const entryPoint = body.entryPoints[name];
    const table = this.tcp.table(name);
    if (entryPoint === undefined || !entryPointNeedsFrontDoor(name, entryPoint, body, table, this.#presence))
      return null;
    const settings = frontDoorSettings(name, entryPoint, body, table, this.#presence);
    // The challenges every TLS entry point answers (a delta touching `acme` builds in full).
    if (runtime.acmeTlsAlpn01 !== undefined) settings.acmeTlsAlpn01 = runtime.acmeTlsAlpn01;
    if (listener.door instanceof FrontDoor) {
      listener.door.update(settings);
      return listener.door;
    }
    return new FrontDoor(settings, {
      logger: this.#logger,
      tls: this.#tls.terminator(name),
      http: listener.http,
      tcp: this.tcp,
    });
  }

  async #open(
    entryPoint: string,
    requested: string,
    runtimes: StagedRuntime,
    settings: EntryPointSettings | undefined,
  ): Promise<Listener | { failed: string }> {
    const where = `entry point "${entryPoint}": cannot listen on ${requested}`;
    const address = parseAddress(requested);
    if (address === null) return { failed: `${where}: invalid address` };
    const http = new HttpEntryPoint({
      name: entryPoint,
      runtimes,
      forward: this.forward,
      transports: this.#transportSource,
      logger: this.#logger,
      nodeName: this.#nodeName,
      ...(settings ? { settings } : {}),
      ...(this.#onRequestEnd ? { onRequestEnd: this.#onRequestEnd } : {}),
      fastPools: this.#fastPools,
    });
    const sockets = new Set<Socket>();
    const listener: Listener = {
      entryPoint,
      requested,
      bound: '',
      server: null as never,
      http,
      sockets,
      door: 'pending',
      early: [],
      state: 'bound',
      error: undefined,
      retry: { attempt: 0, timer: null },
      retired: false,
    };
    // Half-open connections are TCP's business (a client's FIN must reach the server); node:http copes.
    const server = createNetServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      dispatch(listener, socket);
    });
    listener.server = server;
    try {
      await listen(server, address);
    } catch (err) {
      const message = `${where}: ${describeListenError(err)}`;
      if (!RETRYABLE_BIND_ERRORS.has(errorCode(err))) return { failed: message };
      listener.state = 'retrying';
      listener.error = { code: LISTEN_FAILED, message };
      return listener;
    }
    this.#listening(listener);
    return listener;
  }

  #listening(listener: Listener): void {
    const { server, http, entryPoint } = listener;
    // node:http tracks connections (idle sweeps, request deadlines) from its 'listening' event.
    http.server.emit('listening');
    server.on('error', (err) => this.#logger.error({ err, entryPoint }, 'listener error'));
    this.metrics.trackConnections(server, entryPoint);
    listener.bound = boundAddress(server);
    listener.state = 'bound';
    listener.error = undefined;
  }

  /** Schedules the next bind of a listener whose address was in use: 100 ms, doubling to 5 s, until it listens or is retired. */
  #retryLater(listener: Listener): void {
    const { retry } = listener;
    if (retry.attempt === 0)
      this.#logger.warn(
        { code: LISTEN_FAILED, entryPoint: listener.entryPoint, address: listener.requested },
        `${listener.error?.message ?? 'cannot listen'}; serving the other entry points and retrying`,
      );
    const delay = Math.min(
      this.#bindRetryMs.max,
      this.#bindRetryMs.initial * 2 ** Math.min(retry.attempt, 20),
    );
    retry.attempt++;
    retry.timer = setTimeout(() => {
      retry.timer = null;
      // In line with applies, so a snapshot never sees a listener change under it.
      const run = this.#queue.then(() => this.#rebind(listener));
      this.#queue = run.catch(() => {});
    }, delay);
    retry.timer.unref();
  }

  async #rebind(listener: Listener): Promise<void> {
    if (listener.retired || this.#closed || this.#listeners.get(listener.entryPoint) !== listener) return;
    const address = parseAddress(listener.requested);
    if (address === null) return;
    try {
      await listen(listener.server, address);
    } catch (err) {
      listener.error = {
        code: LISTEN_FAILED,
        message: `entry point "${listener.entryPoint}": cannot listen on ${listener.requested}: ${describeListenError(err)}`,
      };
      this.#retryLater(listener);
      return;
    }
    this.#listening(listener);
    this.#logger.info(
      {
        entryPoint: listener.entryPoint,
        address: listener.bound,
        attempts: listener.retry.attempt + 1,
      },
      'entry point listening after retrying its bind',
    );
    this.#onListenersChange?.();
  }
}

/**
 * Stops accepting at once, closes keep-alive connections as soon as they go idle, and after
 * `graceMs` cuts the connections still busy (upgraded ones included, which the server no
 * longer tracks). Resolves when the server is fully closed.
 */
function drain(listener: Listener, graceMs: number): Promise<void> {
  const { server, http } = listener;
  listener.retired = true;
  if (listener.retry.timer) clearTimeout(listener.retry.timer);
  listener.retry.timer = null;
  return new Promise((resolve) => {
    http.drainFast();
    const sweep = setInterval(() => {
      http.server.closeIdleConnections();
      http.drainFast();
    }, SWEEP_MS);
    // HTTP/2 sessions get a GOAWAY: streams in flight finish, no new ones start.
    http.closeHttp2();
    const deadline = setTimeout(() => cutAll(listener), graceMs);
    // Resolves once every connection the listening socket accepted has closed.
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      http.server.close(noop);
      resolve();
    });
    http.server.closeIdleConnections();
    if (graceMs <= 0) cutAll(listener);
  });
}

/** Hands a new connection to the listener's front door, its HTTP server, or the wait list. */
function dispatch(listener: Listener, socket: Socket): void {
  const door = listener.door;
  if (door === 'pending') listener.early.push(socket);
  else if (door === null) listener.http.accept(socket);
  else door.handle(socket);
}

function cutAll(listener: Listener): void {
  listener.http.closeHttp2(true);
  listener.http.server.closeAllConnections();
  listener.http.connections.closeAll();
  for (const socket of listener.sockets) socket.destroy();
}

function noop(): void {}

/** A service of the API view with its servers' status as of now. */
function withStatus(
  service: Record<string, unknown>,
  serverStatus: (name: string) => Record<string, string> | undefined,
): Record<string, unknown> {
  if (service.serverStatus === undefined) return service;
  return { ...service, serverStatus: serverStatus(String(service.name)) ?? {} };
}

/** The routers and services a delta's ops set or delete, by name. */
function namesIn(ops: readonly DeltaOp[]): { routers: Set<string>; services: Set<string> } {
  const names = { routers: new Set<string>(), services: new Set<string>() };
  for (const { path } of ops) {
    if (path[0] !== 'http' || path.length < 3) continue;
    if (path[1] === 'routers') names.routers.add(path[2] as string);
    else if (path[1] === 'services') names.services.add(path[2] as string);
  }
  return names;
}

function ownRouter(body: SnapshotBody, name: string): HttpRouter | undefined {
  const routers = body.http.routers;
  return Object.hasOwn(routers, name) ? routers[name] : undefined;
}

function errorCode(err: unknown): string {
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  return typeof code === 'string' ? code : '';
}
