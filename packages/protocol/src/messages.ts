// Wire messages between a proxy node and the controller.
import type { DeltaOp } from './delta.js';
import type { Snapshot, SnapshotSignature } from './snapshot.js';

/** 2: nodes connect with their own certificate (mutual TLS) after enrolling with the join token. */
export const PROTOCOL_VERSION = 2;

/**
 * WebSocket close code the controller uses when a node's hello names another protocol version;
 * the reason is `BERTH_PROTOCOL_VERSION: controller speaks <n>`.
 */
export const CLOSE_PROTOCOL_VERSION = 4002;

/** WebSocket close code when the node was removed (`berth nodes rm`); the reason is `BERTH_NODE_REVOKED`. */
export const CLOSE_NODE_REVOKED = 4003;

/** What a node reports about one listener it opened for an entry point. */
export interface ListenerInfo {
  entryPoint: string;
  address: string;
  /**
   * `bound` (the default when absent): the node serves this entry point. `retrying`: the address
   * could not be bound (e.g. EADDRINUSE); the node keeps every other entry point serving and
   * retries this one with backoff.
   */
  state?: 'bound' | 'retrying';
  /** Why the last bind failed, when `state` is `retrying`: a stable code and a message. */
  error?: { code: string; message: string };
  /** `udp` for a UDP entry point (`:53/udp`); absent: TCP. */
  protocol?: 'udp';
}

/**
 * Capability a node names in its hello when it applies `delta` messages. Capabilities came without
 * a protocol version change: a controller that predates them ignores the field and sends full
 * snapshots; a node that does not name one gets full snapshots.
 */
export const DELTA_CAPABILITY = 'delta';

/** node → controller, first message after the WebSocket opens. */
export interface HelloMessage {
  type: 'hello';
  protocol: number;
  nodeId: string;
  name: string;
  /** Version of the snapshot the node serves now (0 when none), with its epoch. */
  appliedVersion: number;
  appliedEpoch: string | null;
  appliedHash: string | null;
  listeners: ListenerInfo[];
  /** What this node understands beyond the protocol version, e.g. `DELTA_CAPABILITY`. */
  capabilities?: string[];
}

export interface AckMessage {
  type: 'ack';
  epoch: string;
  version: number;
  hash: string;
  listeners: ListenerInfo[];
}

export interface NackMessage {
  type: 'nack';
  epoch: string;
  version: number;
  /** Stable code, e.g. `BERTH_PROXY_LISTEN`. */
  code: string;
  error: string;
}

export interface SnapshotMessage {
  type: 'snapshot';
  snapshot: Snapshot;
}

/**
 * controller → node: the snapshot `version` as the changes from `baseVersion`, which the node
 * ACKed (or named in its hello) in the same epoch. The node applies `ops` to the body of its
 * applied snapshot, checks that the result hashes to `hash` and that `signature` (the signature of
 * the full resulting snapshot) verifies, and serves it as it would the full snapshot.
 */
export interface DeltaMessage {
  type: 'delta';
  epoch: string;
  baseVersion: number;
  /** Hash of the base body: a node serving another body of that version asks for the full snapshot. */
  baseHash: string;
  version: number;
  hash: string;
  createdAt: string;
  signature: SnapshotSignature;
  ops: DeltaOp[];
}

/**
 * node → controller: the delta `version` pushed to it does not fit what it serves (another base,
 * a result whose hash or signature does not check): it applied nothing and wants the full snapshot.
 */
export interface ResyncMessage {
  type: 'resync';
  epoch: string;
  version: number;
  /** Stable code of what failed, e.g. `BERTH_PROTOCOL_HASH_MISMATCH`. */
  code: string;
  reason: string;
}

/** Either side, at an interval; the peer answers with the same `seq`. Liveness is also checked with WebSocket pings. */
export interface HeartbeatMessage {
  type: 'heartbeat';
  seq: number;
  at: number;
}

/** Health of one upstream server as one node sees it. */
export interface ServerStatusReport {
  service: string;
  /** The server URL as configured. */
  url: string;
  /** `down`: the active check fails; `ejected`: passive checks took it out for a while. */
  status: 'up' | 'down' | 'ejected';
  /** Epoch milliseconds of the last change of `status`. */
  since: number;
}

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

/** Requests answered since the node started (cumulative, so a lost message loses nothing). */
export interface RequestCount {
  /** Empty when no router matched. */
  router: string;
  /** Empty when no service was chosen. */
  service: string;
  statusClass: StatusClass;
  count: number;
}

/** What a node measures about its own traffic and upstreams. */
export interface NodeStats {
  /** Epoch milliseconds when the node took these numbers. */
  at: number;
  servers: ServerStatusReport[];
  requests: RequestCount[];
  /** Client connections open on every entry point now. */
  openConnections: number;
}

/** node → controller, every few seconds while connected. */
export interface StatsMessage extends NodeStats {
  type: 'stats';
}

/**
 * node → controller: the node's listeners changed between snapshots (an entry point whose bind
 * was being retried now listens). Hello and ack carry them otherwise.
 */
export interface ListenersMessage {
  type: 'listeners';
  listeners: ListenerInfo[];
}

/**
 * node → controller: a certificate request for a new key of this node, sent when half of the
 * current certificate's validity has passed. The controller answers with `certificate`.
 */
export interface RenewMessage {
  type: 'renew';
  /** PKCS#10 request (PEM) for the node's new key. */
  csr: string;
}

/**
 * node → controller, last message of a node that stops on purpose (SIGTERM, scale-down): the
 * controller drops it from its node list at once instead of listing it as disconnected until
 * `--node-expiry-ms`. Its identity stays valid: a restart rejoins with it. Added without a
 * protocol version change: a controller that predates it closes the (already closing) connection
 * over an unknown message, which costs one warning in its log and nothing else.
 */
export interface LeaveMessage {
  type: 'leave';
}

/** controller → node: the renewed node certificate (PEM), for the key of the last `renew`. */
export interface CertificateMessage {
  type: 'certificate';
  certificate: string;
}

export type NodeMessage =
  | HelloMessage
  | AckMessage
  | NackMessage
  | HeartbeatMessage
  | StatsMessage
  | ListenersMessage
  | RenewMessage
  | LeaveMessage
  | ResyncMessage;
export type ControllerMessage = SnapshotMessage | DeltaMessage | HeartbeatMessage | CertificateMessage;
export type Message = NodeMessage | ControllerMessage;
