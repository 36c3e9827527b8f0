// The WSS endpoint nodes join: authenticates them, pushes the newest snapshot, tracks acks, nacks and liveness.
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  applyDelta,
  CLOSE_NODE_REVOKED,
  CLOSE_PROTOCOL_VERSION,
  DELTA_CAPABILITY,
  decodeNodeFrame,
  deltaBetween,
  diffSnapshot,
  type EnrollRequest,
  type EnrollResponse,
  encodeDelta,
  encodeMessage,
  encodeSnapshot,
  type HelloMessage,
  type ListenerInfo,
  MAX_ENROLL_BYTES,
  MAX_NODE_MESSAGE_BYTES,
  NODE_CHANNEL_PATH,
  NODE_ENROLL_PATH,
  type NodeMessage,
  nodeIdOfCertificate,
  PROTOCOL_VERSION,
  ProtocolErrorCodes,
  type Snapshot,
  type StatsMessage,
} from '@berth/protocol';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { NodeCsrError } from '../pki/controller-pki.js';
import type { SecretMatch } from './join-secrets.js';
import { type NodeIdentities, normalSerial } from './node-identities.js';
import type { NodeRegistry, NodeView } from './node-view.js';
import { whenApplied } from './when-applied.js';

/**
 * A delta frame up to this size goes out without encoding the full frame to compare: at worst a
 * few KiB more than a tiny snapshot's frame, and no gzip of a large body on a change's path.
 */
const SMALL_DELTA_BYTES = 4096;

export { NODE_CHANNEL_PATH };

export interface DistributorOptions {
  tls: { certPem: string; keyPem: string };
  /** The controller's CA: node certificates must be issued by it (mutual TLS). */
  caCertPem: string;
  /** The join secrets a node may enroll with (the current one, and the previous during its grace period). */
  secrets: { match(presented: string): SecretMatch };
  /** Issues, renews and revokes node certificates. */
  identities: NodeIdentities;
  logger: Logger;
  /** Interval of WebSocket pings; a node that has not answered one by the next is disconnected. */
  heartbeatMs?: number;
  /** A disconnected node stays listed (as disconnected) this long, then is forgotten. */
  nodeExpiryMs?: number;
  /** A node must say hello within this time after its TCP connection was accepted. */
  helloTimeoutMs?: number;
  /**
   * A connection must finish its TLS handshake and an authenticated WebSocket upgrade within this
   * time after the TCP accept, or it is destroyed.
   */
  preAuthTimeoutMs?: number;
  /**
   * Connections not yet authenticated, in total; over it a new connection is closed at once.
   * Default 256, or a quarter of the process's open-file limit when that is lower.
   */
  maxPreAuth?: number;
  /** Connections not yet authenticated from one source address; over it a new one is closed at once. */
  maxPreAuthPerSource?: number;
  /**
   * Refused join attempts: the first from a source address is logged in full, the rest as at most
   * one summary line per source per this interval, with their count.
   */
  rejectLogIntervalMs?: number;
  /** A source refused this many times within `rejectLogIntervalMs` gets its next refusals late. */
  rejectSlowAfter?: number;
  /** How late: a refusal past `rejectSlowAfter` is answered after this delay (a right secret never waits). */
  rejectDelayMs?: number;
  /**
   * Enrollments accepted from one source address a minute (default 60): a holder of the join
   * secret cannot mint identities and registry writes without bound. Over it: 429.
   */
  maxEnrollPerSourcePerMinute?: number;
  /**
   * Published snapshots kept in memory (default 16) as bases for deltas: a node that applies
   * deltas and last ACKed one of them gets the next version as a delta, otherwise in full.
   */
  deltaHistory?: number;
  /**
   * An earlier version of the current epoch, when a node serves one this process never published
   * (after a controller restart: the store's history). Read once per version and publish, used to
   * encode the delta from it, then dropped; undefined (or a failure) sends the full snapshot.
   */
  loadBase?: (version: number) => Promise<Snapshot | undefined>;
}

/** Refused join attempts from one source address, for aggregated logging and slowing it down. */
interface RejectTally {
  /** Refusals in the current window (for the slow-down). */
  failures: number;
  windowStart: number;
  /** Refusals not logged yet (for the next summary line). */
  unlogged: number;
  /** Of those, answered late. */
  delayed: number;
  lastNodeName: string | undefined;
  lastActivity: number;
}

/** Sources tracked for refused joins; past it, further sources are tallied together. */
const MAX_REJECT_SOURCES = 4096;

/** A TCP connection accepted on the node channel that has not completed an authenticated upgrade. */
interface PendingConn {
  source: string;
  sockets: Socket[];
  timer: NodeJS.Timeout;
  acceptedAt: number;
}

/** 256, or a quarter of the soft open-file limit (Linux) when lower, so a flood leaves fds for the rest. */
function defaultMaxPreAuth(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
    if (Number.isSafeInteger(soft) && soft > 0) return Math.max(16, Math.min(256, Math.floor(soft / 4)));
  } catch {
    // Not Linux: keep the default.
  }
  return 256;
}

const connKey = (s: Socket) => `${s.remoteAddress ?? '?'}|${s.remotePort ?? '?'}`;

/** How a version went to a node: whole, or as the changes from the version it had. */
type PushKind = 'full' | 'delta';

interface NodeState {
  view: NodeView;
  ws: WebSocket | null;
  /** Version (in the current epoch) pushed and not yet answered. At most one per node. */
  inflight: { epoch: string; version: number; hash: string; kind: PushKind } | null;
  /** The node said in its hello that it applies deltas. */
  deltas: boolean;
  /** The node asked for the full snapshot (`resync`): its next push is full. */
  needsFull: boolean;
  /** Versions this node refused; never resent to it. */
  nacked: Set<string>;
  alive: boolean;
  /** Epoch ms of the disconnect, while disconnected: the entry expires `nodeExpiryMs` after it. */
  disconnectedAt: number | null;
  /** Epoch ms of the last certificate renewal on the current connection (one a minute at most). */
  renewedAt: number;
}

/** Who a connection authenticated as: what its node certificate says. */
interface PeerIdentity {
  id: string;
  serial: string;
  notAfter: string;
}

/** A node may renew its certificate at most this often. */
const RENEW_INTERVAL_MS = 60_000;

const versionKey = (epoch: string, version: number) => `${epoch}:${version}`;

interface DeltaFrame {
  /** The base's hash: a node on that version with another body gets the full snapshot. */
  hash: string;
  frame: Buffer | null;
}

export class Distributor implements NodeRegistry {
  readonly #opts: Required<
    Pick<
      DistributorOptions,
      | 'heartbeatMs'
      | 'nodeExpiryMs'
      | 'helloTimeoutMs'
      | 'preAuthTimeoutMs'
      | 'maxPreAuth'
      | 'maxPreAuthPerSource'
      | 'rejectLogIntervalMs'
      | 'rejectSlowAfter'
      | 'rejectDelayMs'
      | 'maxEnrollPerSourcePerMinute'
      | 'deltaHistory'
    >
  > &
    DistributorOptions;
  readonly #log: Logger;
  readonly #nodes = new Map<string, NodeState>();
  #server: HttpsServer | null = null;
  #wss: WebSocketServer | null = null;
  #latest: Snapshot | null = null;
  /**
   * The encoded frame of `#latest`, built once, when the first node needs the whole snapshot, and
   * sent as the same bytes to every node. Not on a change's path when every node takes a delta
   * (gzip of a 10,000-route body is tens of milliseconds).
   */
  #latestFrame: Buffer | null = null;
  /**
   * The last `deltaHistory` published snapshots of `#latest`'s epoch, by version, oldest first.
   * Each is stored as its predecessor with the changes applied, so unchanged parts are shared
   * (memory grows with what changed) and diffs between them skip shared parts without a look.
   */
  readonly #history = new Map<number, Snapshot>();
  /**
   * Delta frames to `#latest`, by base version, each encoded once for every node on that base
   * (frame null: the delta would not be smaller than the full frame, or the base is unreadable).
   */
  readonly #deltaFrames = new Map<number, DeltaFrame>();
  /** Base versions being read through `loadBase`. */
  readonly #loadingBases = new Set<number>();
  #heartbeat: NodeJS.Timeout | null = null;
  #listeners = new Set<() => void>();
  /** Accepted connections not yet authenticated, by `address|port`. */
  readonly #pending = new Map<string, PendingConn>();
  readonly #pendingBySource = new Map<string, number>();
  #shedLogged = 0;
  readonly #rejects = new Map<string, RejectTally>();
  #rejectSweep: NodeJS.Timeout | null = null;
  /** Enrollments per source address in the current minute. */
  readonly #enrollments = new Map<string, { count: number; windowStart: number }>();

  constructor(opts: DistributorOptions) {
    this.#opts = {
      heartbeatMs: 5000,
      nodeExpiryMs: 10 * 60_000,
      helloTimeoutMs: 10_000,
      preAuthTimeoutMs: 5000,
      maxPreAuth: defaultMaxPreAuth(),
      maxPreAuthPerSource: 16,
      rejectLogIntervalMs: 60_000,
      rejectSlowAfter: 10,
      rejectDelayMs: 1000,
      maxEnrollPerSourcePerMinute: 60,
      deltaHistory: 16,
      ...opts,
    };
    this.#log = opts.logger.child({ component: 'distributor' });
  }

  /** Starts the WSS server; resolves with the bound address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer({
      cert: this.#opts.tls.certPem,
      key: this.#opts.tls.keyPem,
      minVersion: 'TLSv1.2',
      // Nodes present the certificate the CA issued them; enrollment comes without one. The
      // upgrade decides (a missing or bad certificate is answered in HTTP, with a code).
      requestCert: true,
      rejectUnauthorized: false,
      ca: this.#opts.caCertPem,
    });
    // Node → controller messages are small JSON texts: bounded (ws checks the size before it
    // buffers a frame), and never compressed (snapshots, controller → node, are gzip'd frames of
    // their own, so permessage-deflate buys nothing and would let a node inflate a bomb).
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_NODE_MESSAGE_BYTES,
      perMessageDeflate: false,
    });
    server.on('request', (req, res) => {
      if (
        req.method === 'POST' &&
        new URL(req.url ?? '/', 'https://controller').pathname === NODE_ENROLL_PATH
      ) {
        this.#onEnroll(req, res);
        return;
      }
      res.writeHead(426, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ code: 'BERTH_UPGRADE_REQUIRED', message: 'this port only serves the node channel' }),
      );
    });
    // Pre-authentication limits apply from the TCP accept, before any TLS work.
    server.on('connection', (socket: Socket) => this.#onAccept(socket));
    server.on('secureConnection', (socket: Socket) => {
      const pending = this.#pending.get(connKey(socket));
      if (pending) pending.sockets.push(socket);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#onUpgrade(wss, req, socket, head),
    );
    server.on('tlsClientError', (err, socket) => {
      this.#log.debug(
        { err: err.message, remote: socket.remoteAddress },
        'TLS handshake failed on node channel',
      );
    });
    this.#server = server;
    this.#wss = wss;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#heartbeat = setInterval(() => this.#beat(), this.#opts.heartbeatMs);
    this.#heartbeat.unref();
    this.#rejectSweep = setInterval(() => this.#flushRejects(false), this.#opts.rejectLogIntervalMs);
    this.#rejectSweep.unref();
    return server.address() as AddressInfo;
  }

  /** Makes `snapshot` the newest; every node gets it as soon as it has nothing unacknowledged. */
  publish(snapshot: Snapshot): void {
    if (this.#latest && this.#latest.epoch === snapshot.epoch && this.#latest.version >= snapshot.version)
      return;
    const previous = this.#latest;
    let kept = snapshot;
    if (previous && previous.epoch === snapshot.epoch) {
      // Canonically the published body; physically the previous one with the changes applied.
      kept = { ...snapshot, body: applyDelta(previous.body, diffSnapshot(previous.body, snapshot.body)) };
    } else {
      this.#history.clear();
    }
    this.#history.set(kept.version, kept);
    for (const version of this.#history.keys()) {
      if (this.#history.size <= this.#opts.deltaHistory) break;
      this.#history.delete(version);
    }
    this.#deltaFrames.clear();
    this.#latest = kept;
    this.#latestFrame = null;
    for (const node of this.#nodes.values()) this.#maybePush(node);
  }

  /**
   * What to send a node for `#latest`: a delta when it applies them and serves a kept version of
   * this epoch (the one it ACKed, or named in its hello) and did not ask for the full snapshot;
   * the full snapshot otherwise, or when the delta would be no smaller.
   */
  #frameFor(node: NodeState, latest: Snapshot): { frame: Buffer; kind: PushKind } | 'loading' {
    const v = node.view;
    const full = (): { frame: Buffer; kind: PushKind } => ({ frame: this.#fullFrame(latest), kind: 'full' });
    // A delta carries the signature of the snapshot it makes: an unsigned one (tests) goes whole.
    if (!node.deltas || node.needsFull || v.appliedEpoch !== latest.epoch || latest.signature === undefined)
      return full();
    if (v.appliedVersion >= latest.version) return full();
    let made = this.#deltaFrames.get(v.appliedVersion);
    if (made === undefined) {
      const base = this.#history.get(v.appliedVersion);
      if (base === undefined) {
        const load = this.#opts.loadBase;
        if (load === undefined) return full();
        this.#fetchBase(load, v.appliedVersion, latest);
        return 'loading';
      }
      made = this.#deltaFrame(base, latest);
    }
    return made.frame === null || made.hash !== v.appliedHash ? full() : { frame: made.frame, kind: 'delta' };
  }

  /** The delta frame from `base` to `latest`, encoded once for every node on that base. */
  #deltaFrame(base: Snapshot, latest: Snapshot): DeltaFrame {
    const encoded = encodeDelta(deltaBetween(base, latest));
    // A small delta is sent without a look at the full frame; a large one only when smaller.
    const frame =
      encoded.length <= SMALL_DELTA_BYTES || encoded.length < this.#fullFrame(latest).length ? encoded : null;
    const made = { hash: base.hash, frame };
    this.#deltaFrames.set(base.version, made);
    return made;
  }

  /**
   * Reads a base this process does not keep (`loadBase`), encodes the delta from it, and pushes
   * to the nodes that waited for it. One read per version at a time; a newer publish meanwhile
   * only means the nodes are looked at again.
   */
  #fetchBase(
    load: (version: number) => Promise<Snapshot | undefined>,
    version: number,
    latest: Snapshot,
  ): void {
    if (this.#loadingBases.has(version)) return;
    this.#loadingBases.add(version);
    void load(version)
      .catch((err: unknown) => {
        this.#log.warn(
          { version, err: (err as Error).message },
          'cannot read a stored version; full snapshot',
        );
        return undefined;
      })
      .then((base) => {
        this.#loadingBases.delete(version);
        if (this.#latest === latest && !this.#deltaFrames.has(version)) {
          const usable = base !== undefined && base.epoch === latest.epoch && base.version === version;
          if (usable) this.#deltaFrame(base, latest);
          else this.#deltaFrames.set(version, { hash: '', frame: null });
        }
        for (const node of this.#nodes.values()) this.#maybePush(node);
      });
  }

  #fullFrame(latest: Snapshot): Buffer {
    this.#latestFrame ??= encodeSnapshot(latest);
    return this.#latestFrame;
  }

  list(): NodeView[] {
    return [...this.#nodes.values()]
      .map((n) => ({ ...n.view, listeners: [...n.view.listeners] }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /**
   * Resolves once every connected node serves `version` of `epoch` or a later one (an ACME
   * challenge carried by that version is then answered wherever the CA looks); rejects naming the
   * node that refused it, or the nodes still behind when `signal` aborts.
   */
  whenApplied(epoch: string, version: number, signal: AbortSignal): Promise<void> {
    return whenApplied(this, epoch, version, signal);
  }

  /** Called after any node state change (for tests and for waiting on convergence). */
  onChange(cb: () => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  async close(): Promise<void> {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#rejectSweep) clearInterval(this.#rejectSweep);
    this.#flushRejects(true);
    for (const node of this.#nodes.values()) node.ws?.terminate();
    this.#wss?.close();
    for (const [key, pending] of this.#pending) {
      for (const s of pending.sockets) s.destroy();
      this.#release(key);
    }
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Counts a new connection against the pre-auth caps and arms its deadline, or closes it at once. */
  #onAccept(socket: Socket): void {
    const source = socket.remoteAddress ?? '?';
    const fromSource = this.#pendingBySource.get(source) ?? 0;
    if (this.#pending.size >= this.#opts.maxPreAuth || fromSource >= this.#opts.maxPreAuthPerSource) {
      socket.on('error', () => {});
      socket.destroy();
      // One line per second at most: a flood must not become a log flood.
      const now = Date.now();
      if (now - this.#shedLogged >= 1000) {
        this.#shedLogged = now;
        this.#log.warn(
          {
            code: 'BERTH_NODE_CHANNEL_BUSY',
            remote: source,
            pending: this.#pending.size,
            pendingFromSource: fromSource,
          },
          'too many unauthenticated connections on the node channel; closing new ones at once',
        );
      }
      return;
    }
    const key = connKey(socket);
    const pending: PendingConn = {
      source,
      sockets: [socket],
      acceptedAt: Date.now(),
      timer: setTimeout(() => {
        this.#log.debug({ remote: key }, 'node channel connection not authenticated in time; closing');
        for (const s of pending.sockets) s.destroy();
        this.#release(key);
      }, this.#opts.preAuthTimeoutMs),
    };
    pending.timer.unref();
    this.#pending.set(key, pending);
    this.#pendingBySource.set(source, fromSource + 1);
    socket.once('close', () => this.#release(key));
  }

  /** The connection closed or authenticated: it no longer counts against the pre-auth caps. */
  #release(key: string): PendingConn | null {
    const pending = this.#pending.get(key);
    if (!pending) return null;
    clearTimeout(pending.timer);
    this.#pending.delete(key);
    const left = (this.#pendingBySource.get(pending.source) ?? 1) - 1;
    if (left > 0) this.#pendingBySource.set(pending.source, left);
    else this.#pendingBySource.delete(pending.source);
    return pending;
  }

  #changed(): void {
    for (const cb of this.#listeners) cb();
  }

  #onUpgrade(wss: WebSocketServer, req: IncomingMessage, socket: Socket, head: Buffer): void {
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    // node:http hands an upgrade's socket over without an error listener (Node 24 and later): a
    // client resetting the connection must not take the controller down.
    socket.on('error', (err) => this.#log.debug({ remote, err: err.message }, 'node channel socket error'));
    const claimedName = String(req.headers['x-berth-node-name'] ?? '').slice(0, 128);
    const refuse = (status: number, code: string, message: string) => {
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ code, message })}`,
      );
    };
    const url = new URL(req.url ?? '/', 'https://controller');
    if (url.pathname !== NODE_CHANNEL_PATH) {
      refuse(404, 'BERTH_NOT_FOUND', `no node channel at ${url.pathname}`);
      return;
    }
    const peer = this.#peerIdentity(socket as TLSSocket);
    if (!peer.ok) {
      const delayMs = this.#tallyReject(socket.remoteAddress ?? '?', remote, claimedName, peer.reason);
      const answer = () => refuse(peer.status, peer.code, peer.message);
      // A source that keeps failing waits for its answer; the wait counts against its pre-auth caps.
      if (delayMs > 0) setTimeout(answer, delayMs).unref();
      else answer();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const pending = this.#release(connKey(socket));
      this.#onConnection(ws, remote, pending?.acceptedAt ?? Date.now(), peer.identity);
    });
  }

  /** The node a connection's client certificate names, or why it cannot be accepted. */
  #peerIdentity(
    socket: TLSSocket,
  ):
    | { ok: true; identity: PeerIdentity }
    | { ok: false; status: number; code: string; message: string; reason: string } {
    const cert = socket.getPeerX509Certificate?.();
    if (!cert)
      return {
        ok: false,
        status: 401,
        code: ProtocolErrorCodes.NodeCertRequired,
        message: `connect with the node certificate from enrollment (POST ${NODE_ENROLL_PATH} with the join token)`,
        reason: 'no node certificate',
      };
    if (!socket.authorized) {
      const expired = String(socket.authorizationError) === 'CERT_HAS_EXPIRED';
      return {
        ok: false,
        status: 401,
        code: expired ? ProtocolErrorCodes.NodeCertExpired : ProtocolErrorCodes.NodeCertRejected,
        message: expired
          ? 'the node certificate has expired; enroll again with the join token'
          : 'the node certificate is not issued by this controller',
        reason: `node certificate refused: ${String(socket.authorizationError)}`,
      };
    }
    const id = nodeIdOfCertificate(cert);
    if (id === null)
      return {
        ok: false,
        status: 401,
        code: ProtocolErrorCodes.NodeCertRejected,
        message: 'the certificate is not a node certificate',
        reason: 'not a node certificate',
      };
    if (this.#opts.identities.isRevoked(id))
      return {
        ok: false,
        status: 403,
        code: ProtocolErrorCodes.NodeRevoked,
        message: `node ${id} was removed from this controller; enroll it again (new identity) to bring it back`,
        reason: `removed node ${id}`,
      };
    return {
      ok: true,
      identity: {
        id,
        serial: normalSerial(cert.serialNumber),
        notAfter: new Date(cert.validTo).toISOString(),
      },
    };
  }

  /**
   * `POST /v1/enroll`: the join secret as bearer, `{name, csr}` as body. Answers the node's first
   * certificate under a fresh node id. The connection stays under the pre-auth caps and deadline.
   */
  #onEnroll(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    const claimedName = String(req.headers['x-berth-node-name'] ?? '').slice(0, 128);
    const reply = (status: number, body: object) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(body));
    };
    const auth = String(req.headers.authorization ?? '');
    const presented = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const match = this.#opts.secrets.match(presented);
    if (match === null) {
      req.resume();
      const delayMs = this.#tallyReject(
        socket.remoteAddress ?? '?',
        remote,
        claimedName,
        presented ? 'wrong secret' : 'no secret',
      );
      const answer = () =>
        reply(401, { code: ProtocolErrorCodes.TokenRejected, message: 'join token rejected' });
      if (delayMs > 0) setTimeout(answer, delayMs).unref();
      else answer();
      return;
    }
    if (!this.#enrollAllowed(socket.remoteAddress ?? '?')) {
      req.resume();
      this.#log.warn(
        { code: ProtocolErrorCodes.EnrollRate, remote, node: claimedName || undefined },
        'enrollment refused: too many from this address in a minute',
      );
      res.setHeader('retry-after', '60');
      reply(429, {
        code: ProtocolErrorCodes.EnrollRate,
        message: `at most ${this.#opts.maxEnrollPerSourcePerMinute} enrollments a minute from one address`,
      });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ENROLL_BYTES) {
        reply(413, {
          code: ProtocolErrorCodes.EnrollInvalid,
          message: `enrollment requests are at most ${MAX_ENROLL_BYTES} bytes`,
        });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_ENROLL_BYTES) return;
      let body: Partial<EnrollRequest>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Partial<EnrollRequest>;
      } catch {
        body = {};
      }
      const name = typeof body.name === 'string' ? body.name : '';
      if (!name || name.length > 128 || typeof body.csr !== 'string') {
        reply(400, {
          code: ProtocolErrorCodes.EnrollInvalid,
          message: 'an enrollment is JSON {"name": "<1-128 characters>", "csr": "<PEM certificate request>"}',
        });
        return;
      }
      this.#opts.identities.enroll(name, body.csr, socket.remoteAddress ?? '?').then(
        ({ identity, certPem }) => {
          this.#log.info(
            {
              nodeId: identity.id,
              node: name,
              remote,
              serial: identity.serial,
              notAfter: identity.notAfter,
              secret: match,
            },
            'node enrolled',
          );
          reply(201, { nodeId: identity.id, certificate: certPem } satisfies EnrollResponse);
        },
        (err: unknown) => {
          const bad = err instanceof NodeCsrError;
          this.#log.warn(
            { code: ProtocolErrorCodes.EnrollInvalid, remote, node: name, err: (err as Error).message },
            'enrollment refused',
          );
          reply(bad ? 400 : 500, {
            code: ProtocolErrorCodes.EnrollInvalid,
            message: bad ? (err as Error).message : 'cannot issue a node certificate',
          });
        },
      );
    });
  }

  /** Counts an enrollment from `source` against its per-minute allowance. */
  #enrollAllowed(source: string): boolean {
    const now = Date.now();
    let w = this.#enrollments.get(source);
    if (!w || now - w.windowStart >= 60_000) {
      // Bounded: sources whose minute is over are forgotten before a new one is tracked.
      if (!w && this.#enrollments.size >= MAX_REJECT_SOURCES)
        for (const [k, v] of this.#enrollments)
          if (now - v.windowStart >= 60_000) this.#enrollments.delete(k);
      if (!w && this.#enrollments.size >= MAX_REJECT_SOURCES) return false;
      w = { count: 0, windowStart: now };
      this.#enrollments.set(source, w);
    }
    w.count++;
    return w.count <= this.#opts.maxEnrollPerSourcePerMinute;
  }

  /**
   * Removes a node: its certificate is refused from now on, its live connection is closed (4003),
   * its entry is dropped. Null when no node and no identity has this id.
   */
  async revoke(
    id: string,
  ): Promise<{ id: string; name: string; revokedAt: string; wasConnected: boolean } | null> {
    const node = this.#nodes.get(id);
    const known = this.#opts.identities.get(id);
    if (!node && !known) return null;
    const identity = await this.#opts.identities.revoke(id, node?.view.name ?? known?.name ?? '', null);
    const wasConnected = node?.ws !== null && node?.ws !== undefined;
    if (node) {
      node.ws?.close(CLOSE_NODE_REVOKED, ProtocolErrorCodes.NodeRevoked);
      this.#nodes.delete(id);
    }
    this.#log.warn(
      { code: ProtocolErrorCodes.NodeRevoked, nodeId: id, node: identity.name, wasConnected },
      'node removed: its certificate is refused from now on',
    );
    this.#changed();
    return { id, name: identity.name, revokedAt: identity.revokedAt ?? '', wasConnected };
  }

  /**
   * Counts a refused join attempt: logs the first from a source in full (who, never what they
   * sent), the rest in summary lines. Returns how long to hold the refusal back.
   */
  #tallyReject(source: string, remote: string, claimedName: string, reason: string): number {
    const now = Date.now();
    const key = this.#rejects.has(source) || this.#rejects.size < MAX_REJECT_SOURCES ? source : 'other';
    let tally = this.#rejects.get(key);
    if (!tally) {
      tally = {
        failures: 0,
        windowStart: now,
        unlogged: 0,
        delayed: 0,
        lastNodeName: undefined,
        lastActivity: now,
      };
      this.#rejects.set(key, tally);
      this.#log.warn(
        {
          code: ProtocolErrorCodes.TokenRejected,
          remote,
          nodeName: claimedName || undefined,
          reason,
        },
        `refused a node: ${reason}`,
      );
    } else {
      tally.unlogged++;
    }
    if (now - tally.windowStart > this.#opts.rejectLogIntervalMs) {
      tally.windowStart = now;
      tally.failures = 0;
    }
    tally.failures++;
    tally.lastActivity = now;
    tally.lastNodeName = claimedName || undefined;
    if (tally.failures <= this.#opts.rejectSlowAfter) return 0;
    if (tally.unlogged > 0) tally.delayed++;
    return this.#opts.rejectDelayMs;
  }

  /** One summary line per source with refusals not logged yet; forgets sources gone quiet. */
  #flushRejects(all: boolean): void {
    const now = Date.now();
    for (const [source, tally] of this.#rejects) {
      if (tally.unlogged > 0) {
        this.#log.warn(
          {
            code: ProtocolErrorCodes.TokenRejected,
            remote: source,
            count: tally.unlogged,
            delayed: tally.delayed,
            lastNodeName: tally.lastNodeName,
          },
          `refused ${tally.unlogged} more join attempts from ${source} since the last line (${tally.delayed} answered late)`,
        );
        tally.unlogged = 0;
        tally.delayed = 0;
      } else if (all || now - tally.lastActivity > 2 * this.#opts.rejectLogIntervalMs) {
        this.#rejects.delete(source);
      }
    }
  }

  #onConnection(ws: WebSocket, remote: string, acceptedAt: number, peer: PeerIdentity): void {
    let node: NodeState | null = null;
    // The hello deadline counts from the TCP accept, not from the upgrade.
    const helloTimer = setTimeout(
      () => {
        this.#log.warn({ remote }, 'node sent no hello in time; closing');
        ws.terminate();
      },
      Math.max(0, acceptedAt + this.#opts.helloTimeoutMs - Date.now()),
    );

    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        this.#log.warn({ remote, code: ProtocolErrorCodes.BadFrame }, 'binary frame from node; closing');
        ws.close(1003, 'text frames only');
        return;
      }
      const decoded = decodeNodeFrame(data as Buffer, false);
      if (!decoded.ok) {
        this.#log.warn({ remote, code: decoded.code, err: decoded.error }, 'bad frame from node; closing');
        ws.close(1008, decoded.code);
        return;
      }
      const msg = decoded.message as NodeMessage;
      const violation = (message: string) => {
        this.#log.warn(
          { remote, code: ProtocolErrorCodes.Violation, nodeId: node?.view.id, type: msg.type },
          `${message}; closing`,
        );
        ws.close(1008, ProtocolErrorCodes.Violation);
      };
      if (msg.type === 'hello') {
        if (node) {
          violation('node sent a second hello on one connection');
          return;
        }
        clearTimeout(helloTimer);
        if (msg.nodeId !== peer.id) {
          violation(`hello names node ${msg.nodeId.slice(0, 64)}, the certificate node ${peer.id}`);
          return;
        }
        if (msg.protocol !== PROTOCOL_VERSION) {
          this.#log.warn(
            { remote, code: ProtocolErrorCodes.VersionMismatch, protocol: msg.protocol, nodeId: msg.nodeId },
            `node speaks protocol version ${msg.protocol}, this controller ${PROTOCOL_VERSION}; closing`,
          );
          ws.close(
            CLOSE_PROTOCOL_VERSION,
            `${ProtocolErrorCodes.VersionMismatch}: controller speaks ${PROTOCOL_VERSION}`,
          );
          return;
        }
        node = this.#onHello(ws, msg, remote, peer);
        return;
      }
      if (!node) {
        violation(`node sent '${msg.type}' before hello`);
        return;
      }
      // Another connection took this node id over: this one speaks for nobody any more.
      if (node.ws !== ws) {
        violation(`'${msg.type}' on a superseded connection`);
        return;
      }
      node.alive = true;
      node.view.lastSeen = new Date().toISOString();
      switch (msg.type) {
        case 'ack':
          this.#onAck(node, msg.epoch, msg.version, msg.hash, msg.listeners);
          break;
        case 'nack':
          this.#onNack(node, msg.epoch, msg.version, msg.code, msg.error);
          break;
        case 'resync':
          this.#onResync(node, msg.epoch, msg.version, msg.code, msg.reason);
          break;
        case 'heartbeat':
          ws.send(encodeMessage({ type: 'heartbeat', seq: msg.seq, at: Date.now() }));
          break;
        case 'stats':
          this.#onStats(node, msg);
          break;
        case 'renew':
          this.#onRenew(node, ws, msg.csr);
          break;
        case 'leave':
          this.#onLeave(node, ws, remote);
          break;
        case 'listeners':
          // An entry point the node was retrying to bind now listens (or the other way round).
          node.view.listeners = msg.listeners;
          this.#log.info(
            { nodeId: node.view.id, name: node.view.name, listeners: msg.listeners },
            'node listeners changed',
          );
          this.#changed();
          break;
      }
    });
    ws.on('pong', () => {
      if (node) {
        node.alive = true;
        node.view.lastSeen = new Date().toISOString();
      }
    });
    ws.on('error', (err) => {
      // Too large, compressed (RSV1) or otherwise invalid frames end here; ws closes the connection.
      const code = (err as Error & { code?: string }).code;
      if (code?.startsWith('WS_ERR_'))
        this.#log.warn({ remote, err: err.message, wsCode: code }, 'invalid frame from node; closing');
      else this.#log.debug({ remote, err: err.message }, 'node connection error');
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (node && node.ws === ws) {
        node.ws = null;
        node.inflight = null;
        node.view.connected = false;
        node.view.connectedSince = null;
        node.view.pendingVersion = null;
        node.disconnectedAt = Date.now();
        this.#log.info({ nodeId: node.view.id, node: node.view.name, remote }, 'node disconnected');
        this.#changed();
      }
    });
  }

  #onHello(ws: WebSocket, msg: HelloMessage, remote: string, peer: PeerIdentity): NodeState {
    let node = this.#nodes.get(msg.nodeId);
    if (node?.ws && node.ws !== ws) {
      // The node reconnected before we noticed its old connection died.
      node.ws.terminate();
    }
    const now = new Date().toISOString();
    if (!node) {
      node = {
        view: {
          id: msg.nodeId,
          name: msg.name,
          address: remote,
          connected: true,
          connectedSince: now,
          lastSeen: now,
          appliedVersion: 0,
          appliedEpoch: null,
          appliedHash: null,
          pendingVersion: null,
          lastAck: null,
          lastNack: null,
          listeners: [],
          certificate: null,
        },
        ws,
        inflight: null,
        deltas: false,
        needsFull: false,
        nacked: new Set(),
        alive: true,
        disconnectedAt: null,
        renewedAt: 0,
      };
      this.#nodes.set(msg.nodeId, node);
    }
    node.ws = ws;
    node.alive = true;
    node.inflight = null;
    node.deltas = msg.capabilities?.includes(DELTA_CAPABILITY) ?? false;
    node.needsFull = false;
    node.disconnectedAt = null;
    Object.assign(node.view, {
      name: msg.name,
      address: remote,
      connected: true,
      connectedSince: now,
      lastSeen: now,
      appliedVersion: msg.appliedVersion,
      appliedEpoch: msg.appliedEpoch,
      appliedHash: msg.appliedHash,
      pendingVersion: null,
      listeners: msg.listeners,
      certificate: { serial: peer.serial, expiresAt: peer.notAfter },
    });
    node.renewedAt = 0;
    this.#log.info(
      { nodeId: msg.nodeId, node: msg.name, remote, appliedVersion: msg.appliedVersion },
      'node joined',
    );
    this.#maybePush(node);
    this.#changed();
    return node;
  }

  /**
   * The node stops on purpose (SIGTERM, a scale-down): its entry goes at once, not after
   * `nodeExpiryMs` as a disconnected one. Its identity stays valid, so a restart rejoins with it.
   */
  #onLeave(node: NodeState, ws: WebSocket, remote: string): void {
    // The close that follows is no disconnect to record.
    node.ws = null;
    node.inflight = null;
    if (this.#nodes.get(node.view.id) === node) this.#nodes.delete(node.view.id);
    this.#log.info({ nodeId: node.view.id, node: node.view.name, remote }, 'node left');
    ws.close(1000, 'left');
    this.#changed();
  }

  /** A version the node answers must be the one pushed to it; anything else changes nothing. */
  #answersInflight(node: NodeState, kind: string, epoch: string, version: number, hash?: string): boolean {
    const pushed = node.inflight;
    if (
      pushed &&
      pushed.epoch === epoch &&
      pushed.version === version &&
      (hash === undefined || pushed.hash === hash)
    )
      return true;
    this.#log.warn(
      {
        code: ProtocolErrorCodes.Violation,
        nodeId: node.view.id,
        node: node.view.name,
        version,
        pushed: pushed?.version ?? null,
      },
      `node sent ${kind} for a snapshot that was not pushed to it; ignored`,
    );
    return false;
  }

  #onAck(node: NodeState, epoch: string, version: number, hash: string, listeners: ListenerInfo[]): void {
    if (!this.#answersInflight(node, 'an ack', epoch, version, hash)) return;
    const at = new Date().toISOString();
    const kind = node.inflight?.kind;
    node.inflight = null;
    Object.assign(node.view, {
      appliedVersion: version,
      appliedEpoch: epoch,
      appliedHash: hash,
      pendingVersion: null,
      lastAck: { version, at },
      listeners,
    });
    this.#log.info({ nodeId: node.view.id, node: node.view.name, version, kind }, 'node applied snapshot');
    this.#maybePush(node);
    this.#changed();
  }

  #onNack(node: NodeState, epoch: string, version: number, code: string, error: string): void {
    if (!this.#answersInflight(node, 'a nack', epoch, version)) return;
    node.inflight = null;
    node.nacked.add(versionKey(epoch, version));
    node.view.pendingVersion = null;
    node.view.lastNack = { version, at: new Date().toISOString(), code, error };
    this.#log.warn(
      { nodeId: node.view.id, node: node.view.name, version, code, err: error },
      'node refused snapshot',
    );
    this.#maybePush(node);
    this.#changed();
  }

  /**
   * The node could not use the delta pushed to it (another base, a result that fails its hash or
   * signature): it applied nothing, and gets the same version in full. Not a NACK: the version
   * itself may be fine.
   */
  #onResync(node: NodeState, epoch: string, version: number, code: string, reason: string): void {
    if (!this.#answersInflight(node, 'a resync', epoch, version)) return;
    const kind = node.inflight?.kind;
    node.inflight = null;
    node.view.pendingVersion = null;
    node.needsFull = true;
    this.#log.warn(
      { nodeId: node.view.id, node: node.view.name, version, kind, code, err: reason },
      'node asked for the full snapshot',
    );
    this.#maybePush(node);
    this.#changed();
  }

  /** A new certificate for the node's new key, on its own authenticated connection; one a minute at most. */
  #onRenew(node: NodeState, ws: WebSocket, csr: string): void {
    const now = Date.now();
    if (now - node.renewedAt < RENEW_INTERVAL_MS) {
      this.#log.warn(
        { nodeId: node.view.id, node: node.view.name },
        'node asked to renew again within a minute; ignored',
      );
      return;
    }
    node.renewedAt = now;
    this.#opts.identities.renew(node.view.id, node.view.name, csr).then(
      ({ identity, certPem }) => {
        if (node.ws !== ws) return;
        ws.send(encodeMessage({ type: 'certificate', certificate: certPem }));
        node.view.certificate = { serial: identity.serial, expiresAt: identity.notAfter };
        this.#changed();
        this.#log.info(
          {
            nodeId: node.view.id,
            node: node.view.name,
            serial: identity.serial,
            notAfter: identity.notAfter,
          },
          'renewed node certificate',
        );
      },
      (err: unknown) =>
        this.#log.warn(
          { code: ProtocolErrorCodes.EnrollInvalid, nodeId: node.view.id, err: (err as Error).message },
          'cannot renew node certificate',
        ),
    );
  }

  #onStats(node: NodeState, msg: StatsMessage): void {
    node.view.stats = {
      at: msg.at,
      servers: msg.servers,
      requests: msg.requests,
      openConnections: msg.openConnections,
      receivedAt: new Date().toISOString(),
    };
    this.#changed();
  }

  /** Sends the newest snapshot unless one is in flight, the node has it, or the node refused it. */
  #maybePush(node: NodeState): void {
    const latest = this.#latest;
    const ws = node.ws;
    if (!latest || !ws || node.inflight) return;
    const v = node.view;
    if (v.appliedEpoch === latest.epoch && v.appliedHash === latest.hash) return;
    // A node claiming a higher version in this epoch is not skipped: the controller's word wins.
    if (node.nacked.has(versionKey(latest.epoch, latest.version))) return;
    const push = this.#frameFor(node, latest);
    // Its base is being read: the read's end looks at this node again.
    if (push === 'loading') return;
    if (push.kind === 'full') node.needsFull = false;
    node.inflight = { epoch: latest.epoch, version: latest.version, hash: latest.hash, kind: push.kind };
    node.view.pendingVersion = latest.version;
    ws.send(push.frame, { binary: true }, (err) => {
      if (err) this.#log.debug({ nodeId: v.id, err: err.message }, 'snapshot send failed');
    });
  }

  #beat(): void {
    const now = Date.now();
    let forgot = false;
    for (const [id, node] of this.#nodes) {
      const ws = node.ws;
      if (!ws) {
        if (node.disconnectedAt !== null && now - node.disconnectedAt >= this.#opts.nodeExpiryMs) {
          this.#nodes.delete(id);
          forgot = true;
          this.#log.info(
            { nodeId: id, node: node.view.name, disconnectedMs: now - node.disconnectedAt },
            'forgot a node disconnected too long',
          );
        }
        continue;
      }
      if (!node.alive) {
        this.#log.warn(
          { nodeId: node.view.id, node: node.view.name },
          'node missed heartbeats; disconnecting',
        );
        ws.terminate();
        continue;
      }
      node.alive = false;
      ws.ping();
    }
    if (forgot) this.#changed();
  }
}
