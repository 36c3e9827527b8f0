// Wire messages between a proxy node and the controller.
import type { Snapshot } from './snapshot.js';

export const PROTOCOL_VERSION = 1;

/** What a node reports about one listener it opened for an entry point. */
export interface ListenerInfo {
  entryPoint: string;
  address: string;
}

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

/** Either side, at an interval; the peer answers with the same `seq`. Liveness is also checked with WebSocket pings. */
export interface HeartbeatMessage {
  type: 'heartbeat';
  seq: number;
  at: number;
}

export type NodeMessage = HelloMessage | AckMessage | NackMessage | HeartbeatMessage;
export type ControllerMessage = SnapshotMessage | HeartbeatMessage;
export type Message = NodeMessage | ControllerMessage;
