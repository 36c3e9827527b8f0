// What the controller knows about each proxy node, as the API shows it.
import type { ListenerInfo, NodeStats } from '@berth/protocol';

/** The latest `stats` a node sent, as received. */
export interface NodeStatsView extends NodeStats {
  /** ISO 8601 time the controller received it (`at` is the node's own clock). */
  receivedAt: string;
}

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
  /** The node certificate of its current (or last) connection: serial (hex) and expiry (ISO 8601). */
  certificate: { serial: string; expiresAt: string } | null;
  /** Absent until the node reports; kept (and shown as last known) after it disconnects. */
  stats?: NodeStatsView;
}

export interface NodeRegistry {
  list(): NodeView[];
}
