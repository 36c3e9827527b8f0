// UDP entry points: one socket each, a session per client address with its own upstream socket, idle sessions closed.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { parseAddress, type UdpConfig } from '@berth/config';
import type { ListenerInfo } from '@berth/protocol';
import type { Logger } from 'pino';
import { UDP_SESSIONS_FULL } from '../errors.js';
import { buildUdpPickers, type UdpRoute, type UdpTarget, udpRoutes } from './udp-services.js';

export const UDP_DEFAULTS = {
  /** Traefik's `entryPoints.x.udp.timeout` default. */
  timeoutMs: 3_000,
  /** Sessions the node keeps at once (each holds an upstream socket); past it new clients are dropped. */
  maxSessions: 10_000,
  /** Datagrams a new session holds while its upstream socket connects. */
  queuedDatagrams: 64,
} as const;

export interface UdpDataPlaneOptions {
  logger: Logger;
  maxSessions?: number;
}

/** One UDP entry point as asked for by a snapshot (after overrides). */
export interface UdpEntryPointSpec {
  /** `host:port` without `/udp`. */
  requested: string;
  timeoutMs: number;
}

export type UdpStage =
  | { ok: true; commit(udp: UdpConfig | undefined): void; abort(): void }
  | { ok: false; error: string };

interface Session {
  key: string;
  address: string;
  port: number;
  upstream: Socket;
  target: UdpTarget;
  lastActive: number;
  /** Datagrams from the client until the upstream socket is connected; null once it is. */
  queue: Buffer[] | null;
  closed: boolean;
}

interface UdpListener {
  entryPoint: string;
  requested: string;
  bound: string;
  socket: Socket;
  sessions: Map<string, Session>;
  timeoutMs: number;
  sweep: NodeJS.Timeout | null;
  /** Swapped by each snapshot; undefined while no router serves the entry point (datagrams dropped). */
  route: UdpRoute | undefined;
}

/**
 * Each client address:port is a session, as in Traefik: the first datagram picks a server by the
 * route's weighted round robin and opens a connected upstream socket, so only that server's
 * replies reach the client, sent back from the entry point's socket. A session is closed after
 * `udp.timeout` without a datagram either way, when the node holds `maxSessions`, new clients wait.
 */
export class UdpDataPlane {
  readonly #logger: Logger;
  readonly #maxSessions: number;
  readonly #listeners = new Map<string, UdpListener>();
  /** Sessions of every listener; the cap is per node, as each session holds a socket. */
  #sessions = 0;
  /** Set while the cap is reached, so the log line comes once per episode, not per datagram. */
  #full = false;
  #closed = false;

  constructor(opts: UdpDataPlaneOptions) {
    this.#logger = opts.logger;
    this.#maxSessions = opts.maxSessions ?? UDP_DEFAULTS.maxSessions;
  }

  /**
   * Binds every entry point `wanted` adds or moves to another address; nothing serving changes
   * until `commit`, and `abort` closes what was bound. Fails on the first socket that cannot bind.
   */
  async stage(wanted: ReadonlyMap<string, UdpEntryPointSpec>): Promise<UdpStage> {
    const opened: UdpListener[] = [];
    for (const [name, spec] of wanted) {
      if (this.#listeners.get(name)?.requested === spec.requested) continue;
      try {
        opened.push(await this.#open(name, spec));
      } catch (err) {
        for (const l of opened) l.socket.close();
        const why = err instanceof Error ? err.message : String(err);
        return { ok: false, error: `entry point "${name}": cannot listen on ${spec.requested}/udp: ${why}` };
      }
    }
    return {
      ok: true,
      abort: () => {
        for (const l of opened) l.socket.close();
      },
      commit: (udp) => this.#commit(wanted, opened, udp),
    };
  }

  #commit(
    wanted: ReadonlyMap<string, UdpEntryPointSpec>,
    opened: UdpListener[],
    udp: UdpConfig | undefined,
  ): void {
    for (const listener of opened) {
      const previous = this.#listeners.get(listener.entryPoint);
      if (previous !== undefined) this.#retire(previous);
      this.#listeners.set(listener.entryPoint, listener);
    }
    for (const [name, listener] of this.#listeners) {
      if (wanted.has(name)) continue;
      this.#retire(listener);
      this.#listeners.delete(name);
    }
    const routes = udpRoutes(udp, this.#listeners.keys(), buildUdpPickers(udp));
    for (const listener of this.#listeners.values()) {
      const timeoutMs = wanted.get(listener.entryPoint)?.timeoutMs ?? UDP_DEFAULTS.timeoutMs;
      if (timeoutMs !== listener.timeoutMs || listener.sweep === null) {
        listener.timeoutMs = timeoutMs;
        this.#schedule(listener);
      }
      listener.route = routes.get(listener.entryPoint);
      // A session lives on while its entry point still routes to its server; the others end now,
      // and the client's next datagram starts a session on what the new snapshot routes to.
      for (const session of listener.sessions.values()) {
        if (listener.route?.picker.addresses.has(session.target.address) !== true)
          this.#end(listener, session);
      }
    }
  }

  /** Addresses bound, by entry point, marked `udp`. */
  listeners(): ListenerInfo[] {
    return [...this.#listeners.values()].map((l) => ({
      entryPoint: l.entryPoint,
      address: l.bound,
      state: 'bound',
      protocol: 'udp',
    }));
  }

  /** Open sessions by entry point and the router serving it (`berth_udp_sessions`). */
  openSessions(): { entryPoint: string; router: string; open: number }[] {
    return [...this.#listeners.values()]
      .filter((l) => l.sessions.size > 0 || l.route !== undefined)
      .map((l) => ({ entryPoint: l.entryPoint, router: l.route?.router ?? '', open: l.sessions.size }));
  }

  /** Open client sessions across every UDP entry point. */
  sessionCount(): number {
    return this.#sessions;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of this.#listeners.values()) this.#retire(listener);
    this.#listeners.clear();
  }

  async #open(entryPoint: string, spec: UdpEntryPointSpec): Promise<UdpListener> {
    const parsed = parseAddress(spec.requested);
    if (parsed === null) throw new Error('invalid address');
    const { host, port } = parsed;
    // `:port` means every interface: IPv6 with IPv4 mapped where the host has IPv6, else IPv4.
    let socket: Socket;
    try {
      socket = await bind(host === '' ? '::' : host, port);
    } catch (err) {
      if (host !== '') throw err;
      socket = await bind('0.0.0.0', port);
    }
    const info = socket.address();
    const listener: UdpListener = {
      entryPoint,
      requested: spec.requested,
      bound: info.family === 'IPv6' ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`,
      socket,
      sessions: new Map(),
      timeoutMs: spec.timeoutMs,
      sweep: null,
      route: undefined,
    };
    socket.on('message', (msg, rinfo) => this.#fromClient(listener, msg, rinfo));
    socket.on('error', (err) => this.#logger.warn({ err, entryPoint }, 'udp entry point socket error'));
    return listener;
  }

  #fromClient(listener: UdpListener, msg: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}|${rinfo.port}`;
    let session = listener.sessions.get(key);
    if (session === undefined) {
      const route = listener.route;
      if (route === undefined) return;
      if (this.#sessions >= this.#maxSessions) {
        if (!this.#full) {
          this.#full = true;
          this.#logger.warn(
            {
              code: UDP_SESSIONS_FULL,
              entryPoint: listener.entryPoint,
              sessions: this.#sessions,
            },
            `UDP sessions at the cap of ${this.#maxSessions}: datagrams from new clients are dropped until sessions time out`,
          );
        }
        return;
      }
      const target = route.picker.next();
      if (target === undefined) return;
      session = this.#start(listener, key, rinfo, target);
    }
    session.lastActive = performance.now();
    if (session.queue !== null) {
      if (session.queue.length < UDP_DEFAULTS.queuedDatagrams) session.queue.push(msg);
      return;
    }
    session.upstream.send(msg, ignore);
  }

  #start(listener: UdpListener, key: string, rinfo: RemoteInfo, target: UdpTarget): Session {
    const upstream = createSocket(target.host.includes(':') ? 'udp6' : 'udp4');
    const session: Session = {
      key,
      address: rinfo.address,
      port: rinfo.port,
      upstream,
      target,
      lastActive: performance.now(),
      queue: [],
      closed: false,
    };
    listener.sessions.set(key, session);
    this.#sessions++;
    upstream.on('message', (reply) => {
      session.lastActive = performance.now();
      listener.socket.send(reply, session.port, session.address, ignore);
    });
    // A name that does not resolve, an unreachable server: the session ends, the next datagram retries.
    upstream.on('error', (err) => {
      this.#logger.debug(
        { err, entryPoint: listener.entryPoint, server: target.address },
        'udp session error',
      );
      this.#end(listener, session);
    });
    upstream.connect(target.port, target.host, () => {
      if (session.closed) return;
      const queued = session.queue ?? [];
      session.queue = null;
      for (const datagram of queued) upstream.send(datagram, ignore);
    });
    return session;
  }

  #end(listener: UdpListener, session: Session): void {
    if (session.closed) return;
    session.closed = true;
    if (listener.sessions.get(session.key) === session) listener.sessions.delete(session.key);
    this.#sessions--;
    if (this.#sessions < this.#maxSessions) this.#full = false;
    try {
      session.upstream.close();
    } catch {
      // Already closed by an error.
    }
  }

  /** Idle sessions are found by a sweep every tenth of the timeout, as Traefik's ticker does. */
  #schedule(listener: UdpListener): void {
    if (listener.sweep !== null) clearInterval(listener.sweep);
    listener.sweep = setInterval(
      () => {
        const deadline = performance.now() - listener.timeoutMs;
        for (const session of listener.sessions.values()) {
          if (session.lastActive <= deadline) this.#end(listener, session);
        }
      },
      Math.max(10, Math.floor(listener.timeoutMs / 10)),
    );
    listener.sweep.unref();
  }

  #retire(listener: UdpListener): void {
    if (listener.sweep !== null) clearInterval(listener.sweep);
    listener.sweep = null;
    for (const session of listener.sessions.values()) this.#end(listener, session);
    try {
      listener.socket.close();
    } catch {
      // Already closed.
    }
  }
}

/** `exclusive`: in a cluster worker the socket is this process's own, never shared through the primary. */
function bind(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const onError = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

function ignore(): void {}
