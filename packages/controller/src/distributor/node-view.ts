// What the controller knows about each proxy node, as the API shows it.
import type { ListenerInfo } from '@berth/protocol';

export interface NodeView {
  id: string;
  name: string;
  /** Remote address of the node's connection (`ip:port`), or of its last one. */
  address: string;
  connected: boolean;
  /** ISO 8601 time the current connection opened; null when disconnected. */
  connectedSince: string | null;
  lastSeen: string;
  appliedVersion: number;
  appliedEpoch: string | null;
  appliedHash: string | null;
  /** Version pushed and not yet acknowledged, if any. */
  pendingVersion: number | null;
  lastAck: { version: number; at: string } | null;
  lastNack: { version: number; at: string; code: string; error: string } | null;
  listeners: ListenerInfo[];
}

export interface NodeRegistry {
  list(): NodeView[];
}
