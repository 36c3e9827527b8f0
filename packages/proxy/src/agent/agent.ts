// The node's link to the controller: joins with the token, applies snapshots whole or not at all, acks or nacks, caches.
import {
  type CanonicalCache,
  CLOSE_NODE_REVOKED,
  CLOSE_PROTOCOL_VERSION,
  createNodeKeyAndCsr,
  DELTA_CAPABILITY,
  DeltaError,
  type DeltaMessage,
  type DeltaOp,
  decodeFrame,
  EnrollRefused,
  encodeMessage,
  enrollNode,
  type JoinToken,
  type ListenerInfo,
  MAX_NODE_MESSAGE_BYTES,
  NODE_CHANNEL_PATH,
  type NodeStats,
  PROTOCOL_VERSION,
  ProtocolError,
  ProtocolErrorCodes,
  SNAPSHOT_SCHEMA,
  type Snapshot,
  type SnapshotBody,
  snapshotFromDelta,
  verifySnapshot,
  verifySnapshotSignature,
} from '@berth/protocol';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { TOKEN_REFUSED } from '../errors.js';
import { backoffDelay } from './backoff.js';
import { pinnedCa, pinnedCaOnDisk } from './ca-discovery.js';
import {
  credentialsFrom,
  discardCredentials,
  loadCredentials,
  type NodeCredentials,
  saveCredentials,
} from './node-credentials.js';
import { loadCachedSnapshot, saveCachedSnapshot } from './snapshot-cache.js';

export type ApplyResult =
  | { ok: true; listeners: ListenerInfo[] }
  | { ok: false; code: string; error: string };

/** Which snapshot a body belongs to, for appliers that report what each of their parts serves. */
export interface AppliedVersion {
  version: number;
  epoch: string;
  hash: string;
}

/**
 * A body made by a delta: `base` (the body applied last) with `ops` applied, sharing what they
 * leave untouched. An applier may use it to rebuild only what changed; it must give the same
 * result as applying the body alone.
 */
export interface AppliedChange {
  base: SnapshotBody;
  ops: readonly DeltaOp[];
}

/** What the agent drives: the data plane in process, or the pool of worker processes. */
export interface SnapshotApplier {
  apply(body: SnapshotBody, version?: AppliedVersion, change?: AppliedChange): Promise<ApplyResult>;
  listeners(): ListenerInfo[];
}

export interface AgentOptions {
  /** Enrolls the node the first time (and after its certificate expired); not needed after. */
  token: JoinToken;
  name: string;
  /** The id in the node's identity file, unchecked (`peekNodeId`): what it reports before the identity is loaded. */
  nodeId?: string;
  dataDir: string;
  applier: SnapshotApplier;
  logger: Logger;
  /** The controller pings at this interval; silence for 3 intervals means the link is dead. */
  heartbeatMs?: number;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** Called after every successful apply (from the cache or the controller). */
  onApplied?: (status: AppliedStatus) => void;
  /** What the node reports to the controller (server health, request counters) while connected. */
  statsProvider?: () => NodeStats | Promise<NodeStats>;
  /** How often `statsProvider` is sent (default 5s); the first report follows the hello. */
  statsIntervalMs?: number;
  /**
   * The controller refused the join token while the node had no snapshot to serve: nothing will
   * change until someone fixes the token, so the node should stop. With a snapshot the agent
   * keeps serving it and retries instead. Also called when the node was removed
   * (`BERTH_NODE_REVOKED`), snapshot or not: the agent stops.
   */
  onRefused?: (refusal: AgentRefusal) => void;
  /** Renew the node certificate once this fraction of its validity has passed (default 0.5). */
  renewAt?: number;
  /** `stop({leave: true})` waits this long at most for the controller to confirm (default 1000). */
  leaveTimeoutMs?: number;
}

/** Why the agent gave up on the controller. */
export interface AgentRefusal {
  code: string;
  message: string;
}

export interface AppliedStatus {
  nodeId: string;
  name: string;
  appliedVersion: number;
  appliedEpoch: string;
  appliedHash: string;
  fromCache: boolean;
  listeners: ListenerInfo[];
}

export type AgentState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'stopped';

export class Agent {
  readonly #o: AgentOptions &
    Required<Pick<AgentOptions, 'heartbeatMs' | 'reconnectInitialMs' | 'reconnectMaxMs' | 'leaveTimeoutMs'>>;
  readonly #log: Logger;
  #applied: Snapshot | null = null;
  /**
   * Canonical texts of the verified bodies' routers, services... by identity: a delta's result
   * shares the untouched ones with its base, so its full-body hash re-serialises only what changed.
   */
  readonly #canonical: CanonicalCache = new WeakMap();
  #ws: WebSocket | null = null;
  #state: AgentState = 'idle';
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #watchdog: NodeJS.Timeout | null = null;
  #statsTimer: NodeJS.Timeout | null = null;
  #lastHeard = 0;
  #ca: string | null = null;
  /** ws, loaded once the cached snapshot is served: the first answers do not wait for it. */
  #WebSocket: typeof WebSocket | null = null;
  /** Applies run one at a time, in arrival order. */
  #queue: Promise<void> = Promise.resolve();
  #newest: Snapshot | DeltaMessage | null = null;
  /** The node's key and certificate; null until loaded or enrolled. */
  #creds: NodeCredentials | null = null;
  #renewTimer: NodeJS.Timeout | null = null;
  /** The key of a renewal asked for and not answered yet. */
  #renewKey: string | null = null;
  /** The newest applied snapshot not yet in the cache file, and the write under way (see #cacheLater). */
  #uncached: Snapshot | null = null;
  #caching: Promise<void> | null = null;

  constructor(opts: AgentOptions) {
    this.#o = {
      heartbeatMs: 5000,
      reconnectInitialMs: 250,
      reconnectMaxMs: 3000,
      leaveTimeoutMs: 1000,
      ...opts,
    };
    this.#log = opts.logger.child({ component: 'agent' });
  }

  get state(): AgentState {
    return this.#state;
  }

  get applied(): Snapshot | null {
    return this.#applied;
  }

  /** The id the controller issued this node; '' before its first enrollment. */
  get nodeId(): string {
    return this.#creds?.nodeId ?? this.#o.nodeId ?? '';
  }

  /** Serves the cached snapshot, if any, then connects (and keeps reconnecting) to the controller. */
  async start(): Promise<void> {
    const caOnDisk = await pinnedCaOnDisk(this.#o.dataDir, this.#o.token.caFingerprint);
    const cached = await loadCachedSnapshot(this.#o.dataDir, caOnDisk);
    if (!cached.ok) {
      this.#log.error(
        { code: cached.code, err: cached.error, keptAs: cached.keptAs },
        'refusing the snapshot cache; serving nothing until the controller answers',
      );
    } else if (cached.snapshot) {
      const result = await this.#o.applier.apply(cached.snapshot.body, versionOf(cached.snapshot));
      if (result.ok) {
        this.#applied = cached.snapshot;
        this.#notify(cached.snapshot, true, result.listeners);
        this.#log.info(
          { version: cached.snapshot.version, epoch: cached.snapshot.epoch, listeners: result.listeners },
          'serving the cached snapshot until the controller answers',
        );
      } else {
        this.#log.error({ code: result.code, err: result.error }, 'cannot apply the cached snapshot');
      }
    }
    this.#connect();
  }

  /**
   * Stops for good. With `leave`, a connected agent first tells the controller this node is
   * leaving, so the controller drops it from its node list at once instead of listing it as
   * disconnected, and waits for the controller to close the connection (at most `leaveTimeoutMs`).
   */
  async stop(opts: { leave?: boolean } = {}): Promise<void> {
    const connected = this.#state === 'connected';
    this.#state = 'stopped';
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#watchdog) clearInterval(this.#watchdog);
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    this.#stopStats();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      if (opts.leave && connected && ws.readyState === ws.OPEN) await this.#leave(ws);
      ws.terminate();
    }
    await this.#queue;
    await this.#caching;
  }

  /** Sends `leave` and a normal close; resolves when the controller has closed too, or after the timeout. */
  #leave(ws: WebSocket): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#log.warn(
          { timeoutMs: this.#o.leaveTimeoutMs },
          'the controller did not confirm the leave in time; stopping anyway',
        );
        resolve();
      }, this.#o.leaveTimeoutMs);
      ws.once('close', () => {
        clearTimeout(timer);
        this.#log.info({ nodeId: this.nodeId }, 'left the controller');
        resolve();
      });
      // Frames go out in order: the controller reads the leave before the close.
      ws.send(encodeMessage({ type: 'leave' }));
      ws.close(1000, 'leaving');
    });
  }

  /**
   * The applier's listeners changed outside an apply (an entry point whose bind was retried now
   * listens): the controller hears it at once, or with the next hello.
   */
  listenersChanged(): void {
    const ws = this.#ws;
    if (ws === null || ws.readyState !== ws.OPEN || this.#state !== 'connected') return;
    ws.send(encodeMessage({ type: 'listeners', listeners: this.#o.applier.listeners() }));
  }

  #notify(snapshot: Snapshot, fromCache: boolean, listeners: ListenerInfo[]): void {
    this.#o.onApplied?.({
      nodeId: this.nodeId,
      name: this.#o.name,
      appliedVersion: snapshot.version,
      appliedEpoch: snapshot.epoch,
      appliedHash: snapshot.hash,
      fromCache,
      listeners,
    });
  }

  /** The controller removed this node: nothing to retry, the node stops. */
  #revoked(): void {
    if (this.#state === 'stopped') return;
    const controller = this.#o.token.url;
    const message = `the controller at ${controller} removed this node (berth nodes rm); its identity is refused. To bring it back, delete ${this.#o.dataDir}/node-identity.json and start it with a join token`;
    this.#log.error({ code: ProtocolErrorCodes.NodeRevoked, controller, nodeId: this.nodeId }, message);
    this.#state = 'stopped';
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    this.#o.onRefused?.({ code: ProtocolErrorCodes.NodeRevoked, message });
  }

  #scheduleReconnect(reason: string, tokenRefused = false): void {
    if (this.#state === 'stopped') return;
    const controller = this.#o.token.url;
    if (tokenRefused && this.#applied === null) {
      const message = `the controller at ${controller} refused this node's join token (401) and there is no cached snapshot to serve; check \`berth token\` on that controller`;
      this.#log.error({ code: TOKEN_REFUSED, controller }, message);
      this.#state = 'stopped';
      this.#o.onRefused?.({ code: TOKEN_REFUSED, message });
      return;
    }
    const delay = backoffDelay(this.#attempt++, {
      initialMs: this.#o.reconnectInitialMs,
      maxMs: this.#o.reconnectMaxMs,
    });
    this.#state = 'waiting';
    if (tokenRefused) {
      this.#log.error(
        { code: TOKEN_REFUSED, controller, retryInMs: delay, attempt: this.#attempt },
        `the controller at ${controller} refused this node's join token (401); serving the last snapshot and retrying; check \`berth token\` on that controller`,
      );
    } else {
      this.#log.info(
        { reason, retryInMs: delay, attempt: this.#attempt },
        'controller unreachable; serving last snapshot',
      );
    }
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #connect(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'connecting';
    const url = new URL(this.#o.token.url);
    void (async () => {
      try {
        this.#WebSocket ??= (await import('ws')).default;
        this.#ca ??= await pinnedCa(this.#o.dataDir, url, this.#o.token.caFingerprint);
        if (this.#creds === null) {
          const loaded = await loadCredentials(this.#o.dataDir, this.#ca);
          if (loaded.problem)
            this.#log.warn(
              { code: 'BERTH_PROXY_IDENTITY_REJECTED', problem: loaded.problem },
              `setting the node identity aside (${loaded.problem}); enrolling again with the join token`,
            );
          this.#creds = loaded.creds ?? (await this.#enroll(this.#ca));
        }
      } catch (err) {
        if (err instanceof EnrollRefused && err.code === ProtocolErrorCodes.TokenRejected) {
          this.#scheduleReconnect('join token refused', true);
          return;
        }
        const code =
          err instanceof ProtocolError || err instanceof EnrollRefused ? err.code : 'BERTH_AGENT_CONNECT';
        if (code === ProtocolErrorCodes.CaMismatch)
          this.#log.error({ code, err: (err as Error).message }, 'refusing the controller');
        else if (err instanceof EnrollRefused)
          this.#log.error(
            { code, status: err.status, err: err.message },
            'the controller refused the enrollment',
          );
        this.#scheduleReconnect((err as Error).message);
        return;
      }
      if (this.#state === 'stopped') return;
      this.#open(url, this.#ca, this.#creds, this.#WebSocket);
    })();
  }

  /** Trades the join secret for this node's first certificate, for a key made here. */
  async #enroll(ca: string): Promise<NodeCredentials> {
    const { keyPem, csrPem } = await createNodeKeyAndCsr(this.#o.name);
    const { nodeId, certificate } = await enrollNode({
      url: this.#o.token.url,
      ca,
      secret: this.#o.token.secret,
      name: this.#o.name,
      csrPem,
    });
    const checked = credentialsFrom(nodeId, keyPem, certificate, ca);
    if (!checked.ok)
      throw new ProtocolError(
        ProtocolErrorCodes.BadFrame,
        `the enrollment answer is unusable: ${checked.problem}`,
      );
    await saveCredentials(this.#o.dataDir, checked.creds);
    this.#log.info(
      { nodeId, expiresAt: new Date(checked.creds.notAfter).toISOString() },
      'enrolled with the controller: this node has its own certificate now',
    );
    return checked.creds;
  }

  /** Asks for a new certificate (for a new key) once `renewAt` of the current one's validity has passed. */
  #scheduleRenewal(ws: WebSocket, creds: NodeCredentials): void {
    if (this.#renewTimer) clearTimeout(this.#renewTimer);
    const at = creds.notBefore + (creds.notAfter - creds.notBefore) * (this.#o.renewAt ?? 0.5);
    // Timers hold at most ~24.8 days; a later renewal is looked at again then.
    const delay = Math.min(Math.max(0, at - Date.now()), 2 ** 31 - 1);
    this.#renewTimer = setTimeout(() => {
      if (ws !== this.#ws || ws.readyState !== ws.OPEN) return;
      if (Date.now() < at) {
        this.#scheduleRenewal(ws, creds);
        return;
      }
      void createNodeKeyAndCsr(this.#o.name).then(({ keyPem, csrPem }) => {
        if (ws.readyState !== ws.OPEN) return;
        this.#renewKey = keyPem;
        ws.send(encodeMessage({ type: 'renew', csr: csrPem }));
        // Unanswered (the controller was busy or refused): ask again in a while on this link.
        this.#renewTimer = setTimeout(() => this.#scheduleRenewal(ws, creds), 5 * 60_000);
        this.#renewTimer.unref();
      });
    }, delay);
    this.#renewTimer.unref();
  }

  async #onCertificate(ws: WebSocket, certPem: string): Promise<void> {
    const key = this.#renewKey;
    const ca = this.#ca;
    const current = this.#creds;
    if (key === null || ca === null || current === null) return;
    const checked = credentialsFrom(current.nodeId, key, certPem, ca);
    if (!checked.ok) {
      this.#log.warn({ problem: checked.problem }, 'ignoring a renewed certificate');
      return;
    }
    this.#renewKey = null;
    this.#creds = checked.creds;
    try {
      await saveCredentials(this.#o.dataDir, checked.creds);
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'cannot store the renewed node certificate');
    }
    this.#log.info(
      { nodeId: current.nodeId, expiresAt: new Date(checked.creds.notAfter).toISOString() },
      'renewed the node certificate',
    );
    this.#scheduleRenewal(ws, checked.creds);
  }

  #open(url: URL, ca: string, creds: NodeCredentials, WebSocketClass: typeof WebSocket): void {
    const endpoint = new URL(NODE_CHANNEL_PATH, url);
    const ws = new WebSocketClass(endpoint, {
      ca,
      cert: creds.certPem,
      key: creds.keyPem,
      headers: { 'x-berth-node-name': this.#o.name },
      handshakeTimeout: 10_000,
      maxPayload: 64 * 1024 * 1024,
      perMessageDeflate: false,
    });
    this.#ws = ws;
    let refused = false;
    let revoked = false;
    ws.on('unexpected-response', (_req, res) => {
      refused = true;
      if (res.statusCode === 403) {
        revoked = true;
      } else if (res.statusCode === 401) {
        // The certificate is not accepted (expired, or from a controller that forgot it): the
        // next attempt enrolls again with the join token.
        this.#log.warn(
          { status: 401, nodeId: creds.nodeId },
          'the controller refused this node certificate; enrolling again with the join token',
        );
        if (this.#creds === creds) this.#creds = null;
        void discardCredentials(this.#o.dataDir);
      } else {
        this.#log.error({ status: res.statusCode }, 'the controller refused the connection');
      }
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      this.#state = 'connected';
      this.#attempt = 0;
      this.#lastHeard = Date.now();
      this.#log.info({ controller: url.host }, 'connected to controller');
      const a = this.#applied;
      ws.send(
        encodeMessage({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          nodeId: creds.nodeId,
          name: this.#o.name,
          appliedVersion: a?.version ?? 0,
          appliedEpoch: a?.epoch ?? null,
          appliedHash: a?.hash ?? null,
          listeners: this.#o.applier.listeners(),
          capabilities: [DELTA_CAPABILITY],
        }),
      );
      this.#startWatchdog(ws);
      this.#startStats(ws);
      this.#scheduleRenewal(ws, creds);
    });
    ws.on('ping', () => {
      this.#lastHeard = Date.now();
    });
    ws.on('message', (data, isBinary) => {
      this.#lastHeard = Date.now();
      const decoded = decodeFrame(data as Buffer, isBinary);
      if (!decoded.ok) {
        this.#log.warn({ code: decoded.code, err: decoded.error }, 'bad frame from controller');
        return;
      }
      const msg = decoded.message;
      if (msg.type === 'snapshot') this.#enqueue(ws, msg.snapshot);
      else if (msg.type === 'delta') this.#enqueue(ws, msg);
      else if (msg.type === 'certificate') void this.#onCertificate(ws, msg.certificate);
    });
    ws.on('error', (err) => {
      if (!refused) this.#log.debug({ err: err.message }, 'controller connection error');
    });
    ws.on('close', (code, reason) => {
      if (code === CLOSE_NODE_REVOKED) revoked = true;
      if (code === CLOSE_PROTOCOL_VERSION) {
        this.#log.error(
          {
            code: ProtocolErrorCodes.VersionMismatch,
            controller: url.host,
            protocol: PROTOCOL_VERSION,
            reason: reason.toString().slice(0, 200),
          },
          `the controller at ${url.host} speaks another protocol version than this node (${PROTOCOL_VERSION}); upgrade one of them. Serving the last snapshot and retrying`,
        );
      } else if (code === 1008 || code === 1003 || code === 1009) {
        this.#log.warn(
          { controller: url.host, closeCode: code, reason: reason.toString().slice(0, 200) },
          'the controller closed the connection over a message from this node',
        );
      }
      if (this.#ws === ws) this.#ws = null;
      if (this.#watchdog) clearInterval(this.#watchdog);
      if (this.#renewTimer) clearTimeout(this.#renewTimer);
      this.#stopStats();
      if (revoked) this.#revoked();
      else this.#scheduleReconnect(refused ? 'refused' : 'connection closed');
    });
  }

  #startWatchdog(ws: WebSocket): void {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = setInterval(() => {
      if (Date.now() - this.#lastHeard > 3 * this.#o.heartbeatMs) {
        this.#log.warn('controller silent for 3 heartbeats; reconnecting');
        ws.terminate();
      }
    }, this.#o.heartbeatMs);
    this.#watchdog.unref();
  }

  #startStats(ws: WebSocket): void {
    const provider = this.#o.statsProvider;
    this.#stopStats();
    if (provider === undefined) return;
    let tooBigLogged = false;
    const send = () => {
      if (ws.readyState !== ws.OPEN) return;
      // Workers answer over IPC, so gathering may take a moment; the link may be gone by then.
      Promise.resolve()
        .then(provider)
        .then(
          (stats: NodeStats) => {
            if (ws.readyState !== ws.OPEN) return;
            const frame = encodeMessage({ type: 'stats', ...stats });
            // The controller closes the connection on a larger message: skip this report instead.
            if (Buffer.byteLength(frame) > MAX_NODE_MESSAGE_BYTES) {
              if (!tooBigLogged)
                this.#log.warn(
                  { code: 'BERTH_PROXY_STATS_TOO_LARGE', bytes: Buffer.byteLength(frame) },
                  `stats for the controller exceed ${MAX_NODE_MESSAGE_BYTES} bytes; not sent`,
                );
              tooBigLogged = true;
              return;
            }
            ws.send(frame);
          },
          (err: unknown) =>
            this.#log.warn({ err: (err as Error).message }, 'cannot gather stats for the controller'),
        );
    };
    send();
    this.#statsTimer = setInterval(send, this.#o.statsIntervalMs ?? 5000);
    this.#statsTimer.unref();
  }

  #stopStats(): void {
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#statsTimer = null;
  }

  /** Keeps only the newest pending snapshot: a slow apply never builds a queue of stale ones. */
  #enqueue(ws: WebSocket, item: Snapshot | DeltaMessage): void {
    this.#newest = item;
    this.#queue = this.#queue.then(async () => {
      if (this.#newest !== item) return;
      if ('type' in item) await this.#handleDelta(ws, item);
      else await this.#handle(ws, item);
    });
  }

  /**
   * A delta builds the next snapshot on the applied one. When it does not fit (another base) or
   * its result fails the hash or the signature check, nothing is applied: the node asks for the
   * full snapshot and keeps serving what it has.
   */
  async #handleDelta(ws: WebSocket, delta: DeltaMessage): Promise<void> {
    // A delta left over from a closed link has no one to answer; the new link starts in full or from the hello.
    if (ws !== this.#ws) return;
    const resync = (code: string, reason: string) => {
      this.#log.warn(
        {
          version: delta.version,
          baseVersion: delta.baseVersion,
          applied: this.#applied?.version ?? 0,
          code,
          err: reason,
        },
        'cannot use the delta; asking the controller for the full snapshot',
      );
      if (ws.readyState === ws.OPEN)
        ws.send(
          encodeMessage({
            type: 'resync',
            epoch: delta.epoch,
            version: delta.version,
            code,
            reason: reason.slice(0, 1024),
          }),
        );
    };
    const current = this.#applied;
    if (current === null) {
      resync(ProtocolErrorCodes.DeltaBase, 'this node serves no snapshot to apply a delta to');
      return;
    }
    const started = process.hrtime.bigint();
    let snapshot: Snapshot;
    try {
      snapshot = snapshotFromDelta(current, delta);
    } catch (err) {
      // DeltaError, or anything odd in the ops: never let it break the apply queue.
      resync(ProtocolErrorCodes.DeltaBase, err instanceof DeltaError ? err.message : String(err));
      return;
    }
    const problem = this.#verify(snapshot);
    if (problem) {
      resync(problem.code, problem.error);
      return;
    }
    const verifyMs = Number(process.hrtime.bigint() - started) / 1e6;
    await this.#install(ws, snapshot, 'delta', verifyMs, { base: current.body, ops: delta.ops });
  }

  /** Why `snapshot` cannot be trusted (its hash, its signature), or null. */
  #verify(snapshot: Snapshot): { code: string; error: string } | null {
    if (!verifySnapshot(snapshot, this.#canonical))
      return { code: ProtocolErrorCodes.HashMismatch, error: 'snapshot body does not match its hash' };
    // #ca is set before any connection opens: it is the CA the join token pins.
    const signed =
      this.#ca === null
        ? { ok: false as const, error: 'no pinned CA' }
        : verifySnapshotSignature(snapshot, this.#ca);
    if (!signed.ok)
      return { code: ProtocolErrorCodes.SnapshotSignature, error: `snapshot refused: ${signed.error}` };
    return null;
  }

  async #handle(ws: WebSocket, snapshot: Snapshot): Promise<void> {
    const send = (msg: Parameters<typeof encodeMessage>[0]) => {
      if (ws.readyState === ws.OPEN) ws.send(encodeMessage(msg));
    };
    const nack = (code: string, error: string) => {
      this.#log.warn(
        { version: snapshot.version, code, err: error },
        'refusing snapshot; keeping the previous one',
      );
      send({ type: 'nack', epoch: snapshot.epoch, version: snapshot.version, code, error });
    };
    const current = this.#applied;
    if (current && current.epoch === snapshot.epoch) {
      if (current.hash === snapshot.hash && current.version === snapshot.version) {
        send({
          type: 'ack',
          epoch: current.epoch,
          version: current.version,
          hash: current.hash,
          listeners: this.#o.applier.listeners(),
        });
        return;
      }
      if (snapshot.version < current.version) {
        if (ws !== this.#ws) {
          this.#log.info(
            { version: snapshot.version, applied: current.version },
            'ignoring an older snapshot',
          );
          return;
        }
        // The controller sends only its current snapshot on a live link: its word wins over what
        // this node serves (which it may never have issued, e.g. a cache from another controller store).
        this.#log.warn(
          { version: snapshot.version, applied: current.version },
          "the controller's snapshot is older than the one served; applying the controller's",
        );
      }
    }
    const started = process.hrtime.bigint();
    const problem = this.#verify(snapshot);
    if (problem) {
      nack(problem.code, problem.error);
      return;
    }
    await this.#install(ws, snapshot, 'full', Number(process.hrtime.bigint() - started) / 1e6);
  }

  /** Serves a verified snapshot (or NACKs it), caches it and ACKs: the same for a full one and a delta's. */
  async #install(
    ws: WebSocket,
    snapshot: Snapshot,
    kind: 'full' | 'delta',
    verifyMs: number,
    change?: AppliedChange,
  ): Promise<void> {
    const send = (msg: Parameters<typeof encodeMessage>[0]) => {
      if (ws.readyState === ws.OPEN) ws.send(encodeMessage(msg));
    };
    const nack = (code: string, error: string) => {
      this.#log.warn(
        { version: snapshot.version, kind, code, err: error },
        'refusing snapshot; keeping the previous one',
      );
      send({ type: 'nack', epoch: snapshot.epoch, version: snapshot.version, code, error });
    };
    if (snapshot.body.schema !== SNAPSHOT_SCHEMA) {
      nack(
        'BERTH_PROXY_SCHEMA',
        `snapshot schema ${snapshot.body.schema} is not supported by this node (supports ${SNAPSHOT_SCHEMA})`,
      );
      return;
    }
    const started = process.hrtime.bigint();
    const result = await this.#o.applier.apply(snapshot.body, versionOf(snapshot), change);
    if (!result.ok) {
      nack(result.code, result.error);
      return;
    }
    this.#applied = snapshot;
    this.#notify(snapshot, false, result.listeners);
    const applyMs = Number(process.hrtime.bigint() - started) / 1e6;
    this.#log.info(
      {
        version: snapshot.version,
        epoch: snapshot.epoch,
        kind,
        verifyMs,
        applyMs,
        listeners: result.listeners,
      },
      'applied snapshot',
    );
    send({
      type: 'ack',
      epoch: snapshot.epoch,
      version: snapshot.version,
      hash: snapshot.hash,
      listeners: result.listeners,
    });
    this.#cacheLater(snapshot);
  }

  /**
   * Writes the applied snapshot to the cache after the ACK: the node serves it already, and the
   * write (serialising and syncing a body of megabytes) no longer delays what the controller
   * hears. Snapshots applied while a write is under way are coalesced: only the newest is written
   * next. The write itself stays atomic (writeFileAtomic); `stop()` waits for it.
   */
  #cacheLater(snapshot: Snapshot): void {
    this.#uncached = snapshot;
    this.#caching ??= (async () => {
      for (let next = this.#uncached; next !== null; next = this.#uncached) {
        this.#uncached = null;
        try {
          await saveCachedSnapshot(this.#o.dataDir, next);
        } catch (err) {
          this.#log.error({ err: (err as Error).message }, 'cannot write the snapshot cache');
        }
      }
      this.#caching = null;
    })();
  }
}

function versionOf(s: Snapshot): AppliedVersion {
  return { version: s.version, epoch: s.epoch, hash: s.hash };
}
