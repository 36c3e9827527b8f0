// Assembles the stats a node sends to the controller from its metrics and its health registry.
import type { NodeStats } from '@berth/protocol';
import type { HealthReporter, NodeMetrics } from './node-metrics.js';

export function nodeStats(
  metrics: NodeMetrics,
  health: HealthReporter,
  now: () => number = Date.now,
): NodeStats {
  return {
    at: Math.floor(now()),
    servers: health.report(),
    requests: metrics.requestCounts(),
    openConnections: Math.max(0, metrics.openConnections()),
  };
}
