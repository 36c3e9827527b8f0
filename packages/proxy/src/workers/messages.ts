// The IPC vocabulary between the node's primary process and its workers, with guards for what arrives.
import type { DeltaOp, ListenerInfo, NodeStats, SnapshotBody } from '@berth/protocol';
import type { ApplyResult } from '../agent/agent.js';

/** What a worker needs before it can serve; passed in its environment so it exists from the first line. */
export interface WorkerInit {
  /** Stable slot number (1..N); a replacement keeps the slot of the worker it replaces. */
  slot: number;
  logLevel: string;
  /** The primary logger's bindings (name, node...), so worker lines look like the primary's. */
  bindings: Record<string, unknown>;
  entryPointOverrides: Record<string, string>;
  closeDrainMs?: number;
  /** Sent upstream as X-Forwarded-Server. */
  nodeName?: string;
}

export const WORKER_INIT_ENV = 'BERTH_WORKER_INIT';

export type ToWorker =
  | { type: 'berth:apply'; seq: number; body: SnapshotBody }
  /** The worker's last applied body with these ops applied (a delta): a few bytes instead of the body. */
  | { type: 'berth:apply-ops'; seq: number; ops: DeltaOp[] }
  | { type: 'berth:stop' }
  | { type: 'berth:ping' }
  | { type: 'berth:metrics'; seq: number }
  | { type: 'berth:stats'; seq: number }
  /** The answer to a worker's `berth:node-metrics`: every worker's exposition merged; null when none came. */
  | { type: 'berth:node-metrics'; seq: number; text: string | null };

export type FromWorker =
  | { type: 'berth:ready' }
  | { type: 'berth:pong' }
  | { type: 'berth:applied'; seq: number; result: ApplyResult }
  | { type: 'berth:metrics'; seq: number; text: string }
  | { type: 'berth:stats'; seq: number; stats: NodeStats }
  /** An entry point whose bind was retried now listens (between applies). */
  | { type: 'berth:listeners'; listeners: ListenerInfo[] }
  /** `prometheus@internal` in this worker asks for the node's merged exposition. */
  | { type: 'berth:node-metrics'; seq: number };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export function isToWorker(v: unknown): v is ToWorker {
  if (!isRecord(v)) return false;
  if (v['type'] === 'berth:apply') return typeof v['seq'] === 'number' && isRecord(v['body']);
  if (v['type'] === 'berth:apply-ops') return typeof v['seq'] === 'number' && Array.isArray(v['ops']);
  if (v['type'] === 'berth:metrics' || v['type'] === 'berth:stats') return typeof v['seq'] === 'number';
  if (v['type'] === 'berth:node-metrics')
    return typeof v['seq'] === 'number' && (typeof v['text'] === 'string' || v['text'] === null);
  return v['type'] === 'berth:stop' || v['type'] === 'berth:ping';
}

export function isFromWorker(v: unknown): v is FromWorker {
  if (!isRecord(v)) return false;
  if (v['type'] === 'berth:ready' || v['type'] === 'berth:pong') return true;
  if (v['type'] === 'berth:metrics') return typeof v['seq'] === 'number' && typeof v['text'] === 'string';
  if (v['type'] === 'berth:stats') return typeof v['seq'] === 'number' && isRecord(v['stats']);
  if (v['type'] === 'berth:listeners') return Array.isArray(v['listeners']);
  if (v['type'] === 'berth:node-metrics') return typeof v['seq'] === 'number';
  return v['type'] === 'berth:applied' && typeof v['seq'] === 'number' && isRecord(v['result']);
}

/** A worker's answer to `berth:apply-ops` when it has no applied body the ops fit: send the body. */
export const WORKER_NO_BASE = 'BERTH_PROXY_WORKER_NO_BASE';

export function parseWorkerInit(text: string | undefined): WorkerInit | null {
  if (!text) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(v) || typeof v['slot'] !== 'number' || typeof v['logLevel'] !== 'string') return null;
  if (!isRecord(v['bindings']) || !isRecord(v['entryPointOverrides'])) return null;
  return v as unknown as WorkerInit;
}
