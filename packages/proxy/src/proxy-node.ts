// A whole proxy node: the data plane (in process, or one per worker process) plus the agent that feeds it snapshots.
import { mkdir } from 'node:fs/promises';
import type { JoinToken } from '@berth/protocol';
import type { Logger } from 'pino';
import { Agent, type AppliedStatus, type SnapshotApplier } from './agent/agent.js';
import { loadNodeId } from './agent/node-identity.js';
import { DataPlane } from './data-plane.js';
import { mergeExpositions } from './observability/merge-expositions.js';
import { mergeNodeStats } from './observability/merge-node-stats.js';
import { type MetricsServer, startMetricsServer } from './observability/metrics-server.js';
import { nodeStats } from './observability/node-stats.js';
import { WorkerPool, type WorkerStatus } from './workers/worker-pool.js';

export interface ProxyNodeOptions {
  token: JoinToken;
  name: string;
  dataDir: string;
  logger: Logger;
  /** Entry point name → address this node listens on instead of the snapshot's. */
  entryPointOverrides?: Record<string, string>;
  heartbeatMs?: number;
  reconnectMaxMs?: number;
  /** Worker processes serving traffic; 0 serves in this process. Default 0. */
  workers?: number;
  /**
   * Serve Prometheus metrics on this node-local address (`127.0.0.1:9100`). With workers, every
   * scrape gathers each worker's metrics, labelled `worker`.
   */
  metricsAddress?: string;
  /** Called after every apply, and when a worker is replaced or catches up (with workers). */
  onApplied?: (status: NodeStatus) => void;
}

export interface NodeStatus extends AppliedStatus {
  /** Present when the node runs worker processes. */
  workers?: WorkerStatus[];
}

export interface ProxyNode {
  nodeId: string;
  agent: Agent;
  /** The in-process data plane; null when worker processes serve. */
  dataPlane: DataPlane | null;
  applier: SnapshotApplier;
  /** Worker processes and what each serves; empty when serving in process. */
  workers(): WorkerStatus[];
  close(): Promise<void>;
}

export async function startProxyNode(opts: ProxyNodeOptions): Promise<ProxyNode> {
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const nodeId = await loadNodeId(opts.dataDir);
  const overrides = opts.entryPointOverrides ? { entryPointOverrides: opts.entryPointOverrides } : {};
  let last: AppliedStatus | null = null;
  const report = (): void => {
    if (!last || !opts.onApplied) return;
    opts.onApplied(pool ? { ...last, listeners: pool.listeners(), workers: pool.workers() } : last);
  };
  const workers = opts.workers ?? 0;
  const pool =
    workers > 0
      ? new WorkerPool({ workers, logger: opts.logger, nodeName: opts.name, ...overrides, onChange: report })
      : null;
  const dataPlane = pool ? null : new DataPlane({ logger: opts.logger, nodeName: opts.name, ...overrides });
  const applier: SnapshotApplier = pool ?? (dataPlane as DataPlane);
  if (pool) {
    try {
      await pool.start();
    } catch (err) {
      await pool.close();
      throw err;
    }
  }
  const agent = new Agent({
    token: opts.token,
    nodeId,
    name: opts.name,
    dataDir: opts.dataDir,
    applier,
    logger: opts.logger,
    ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.reconnectMaxMs ? { reconnectMaxMs: opts.reconnectMaxMs } : {}),
    statsProvider: pool
      ? async () => mergeNodeStats(await pool.workerStats())
      : () => nodeStats((dataPlane as DataPlane).metrics, (dataPlane as DataPlane).health),
    onApplied: (status) => {
      last = status;
      report();
    },
  });
  opts.logger.info({ nodeId, controller: new URL(opts.token.url).host, workers }, 'proxy node starting');
  await agent.start();
  let metrics: MetricsServer | null = null;
  if (opts.metricsAddress) {
    const source = pool
      ? { expose: async () => mergeExpositions(await pool.metricsTexts()) }
      : (dataPlane as DataPlane).metrics;
    metrics = await startMetricsServer({
      address: opts.metricsAddress,
      metrics: source,
      logger: opts.logger,
    });
  }
  return {
    nodeId,
    agent,
    dataPlane,
    applier,
    workers: () => pool?.workers() ?? [],
    async close() {
      // The pool first: workers that got the same signal (a process group, a cgroup) must not be
      // replaced while the agent is still stopping.
      const workersClosed = pool?.close();
      await metrics?.close();
      await agent.stop();
      await (workersClosed ?? dataPlane?.close());
    },
  };
}
