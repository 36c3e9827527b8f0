// A whole proxy node: the data plane (in process, or one per worker process) plus the agent that feeds it snapshots.
//
// Start-up order is what makes a restarted node answer from its cache quickly: workers fork
// first and boot while this process reads the node id and the cache; the agent applies the
// cache as soon as one worker answers, and only then loads the WebSocket client and dials the
// controller. The primary of a worker pool never loads the data plane (nor undici).
import type { JoinToken } from '@berth/protocol';
import type { Logger } from 'pino';
import {
  Agent,
  type AgentOptions,
  type AgentRefusal,
  type AppliedStatus,
  type SnapshotApplier,
} from './agent/agent.js';
import { secureDataDir } from './agent/data-dir.js';
import { peekNodeId } from './agent/node-credentials.js';
import type { DataPlane } from './data-plane.js';
import type { MetricsServer } from './observability/metrics-server.js';
import type { WorkerPool, WorkerStatus } from './workers/worker-pool.js';

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
  /**
   * Called after every apply, when a worker is replaced or catches up (with workers), and when an
   * entry point that was retrying its bind starts listening.
   */
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
  /**
   * Settles when the node cannot go on: the controller refused its join token and it has no
   * cached snapshot to serve. Never settles otherwise. The caller closes the node and exits.
   */
  failed: Promise<AgentRefusal>;
  /** Stops serving and leaves the controller: its node list drops this node at once (the identity stays). */
  close(): Promise<void>;
}

export async function startProxyNode(opts: ProxyNodeOptions): Promise<ProxyNode> {
  const overrides = opts.entryPointOverrides ? { entryPointOverrides: opts.entryPointOverrides } : {};
  let last: AppliedStatus | null = null;
  const report = (): void => {
    if (!last || !opts.onApplied) return;
    const listeners = applier.listeners();
    opts.onApplied(pool ? { ...last, listeners, workers: pool.workers() } : { ...last, listeners });
  };
  const listenersChanged = (): void => {
    report();
    agent?.listenersChanged();
  };
  const workers = opts.workers ?? 0;
  let pool: WorkerPool | null = null;
  let dataPlane: DataPlane | null = null;
  let poolStarted: Promise<void> | null = null;
  if (workers > 0) {
    const { WorkerPool } = await import('./workers/worker-pool.js');
    pool = new WorkerPool({
      workers,
      logger: opts.logger,
      nodeName: opts.name,
      ...overrides,
      onChange: report,
      onListenersChange: listenersChanged,
    });
    // Forks now; the cache is applied as soon as the first worker answers, not after all of them.
    poolStarted = pool.start();
    poolStarted.catch(() => {});
  } else {
    const { DataPlane } = await import('./data-plane.js');
    dataPlane = new DataPlane({
      logger: opts.logger,
      nodeName: opts.name,
      ...overrides,
      onListenersChange: listenersChanged,
    });
  }
  const applier: SnapshotApplier = pool ?? (dataPlane as DataPlane);
  let agent: Agent | null = null;
  let refused: (refusal: AgentRefusal) => void = () => {};
  const failed = new Promise<AgentRefusal>((resolve) => {
    refused = resolve;
  });
  try {
    await secureDataDir(opts.dataDir, opts.logger);
    const nodeId = await peekNodeId(opts.dataDir);
    agent = new Agent({
      token: opts.token,
      name: opts.name,
      ...(nodeId ? { nodeId } : {}),
      dataDir: opts.dataDir,
      applier,
      logger: opts.logger,
      ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
      ...(opts.reconnectMaxMs ? { reconnectMaxMs: opts.reconnectMaxMs } : {}),
      statsProvider: statsProvider(pool, dataPlane),
      onApplied: (status) => {
        last = status;
        report();
      },
      onRefused: (refusal) => refused(refusal),
    });
    opts.logger.info(
      { nodeId: nodeId || undefined, controller: new URL(opts.token.url).host, workers },
      nodeId ? 'proxy node starting' : 'proxy node starting; it enrolls with the join token',
    );
    await Promise.all([agent.start(), poolStarted]);
  } catch (err) {
    await agent?.stop();
    await (pool?.close() ?? dataPlane?.close());
    throw err;
  }
  const started = agent;
  let metrics: MetricsServer | null = null;
  if (opts.metricsAddress) {
    const [{ startMetricsServer }, { mergeExpositions }] = await Promise.all([
      import('./observability/metrics-server.js'),
      import('./observability/merge-expositions.js'),
    ]);
    const source = pool
      ? { expose: async () => mergeExpositions(await (pool as WorkerPool).metricsTexts()) }
      : (dataPlane as DataPlane).metrics;
    try {
      metrics = await startMetricsServer({
        address: opts.metricsAddress,
        metrics: source,
        // `last` is set by every apply, from the cache at start or from the controller.
        health: () =>
          last
            ? {
                status: 'ok',
                version: last.appliedVersion,
                source: last.fromCache ? 'cache' : 'controller',
              }
            : { status: 'starting' },
        logger: opts.logger,
      });
    } catch (err) {
      // A bad --metrics address: nothing may stay running behind the error.
      await started.stop();
      await (pool?.close() ?? dataPlane?.close());
      throw err;
    }
  }
  return {
    get nodeId() {
      return started.nodeId;
    },
    agent: started,
    dataPlane,
    applier,
    workers: () => pool?.workers() ?? [],
    failed,
    async close() {
      // The pool first: workers that got the same signal (a process group, a cgroup) must not be
      // replaced while the agent is still stopping.
      const workersClosed = pool?.close();
      await metrics?.close();
      // A node stopped on purpose leaves the controller's node list at once; its identity stays.
      await started.stop({ leave: true });
      await (workersClosed ?? dataPlane?.close());
    },
  };
}

/** What the agent reports to the controller: merged over the workers, or the in-process data plane's. */
function statsProvider(
  pool: WorkerPool | null,
  dataPlane: DataPlane | null,
): NonNullable<AgentOptions['statsProvider']> {
  if (pool) {
    return async () => {
      const [{ mergeNodeStats }, stats] = await Promise.all([
        import('./observability/merge-node-stats.js'),
        pool.workerStats(),
      ]);
      return mergeNodeStats(stats);
    };
  }
  const plane = dataPlane as DataPlane;
  return async () => {
    const { nodeStats } = await import('./observability/node-stats.js');
    return nodeStats(plane.metrics, plane.health);
  };
}
