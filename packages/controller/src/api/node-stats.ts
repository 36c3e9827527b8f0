// What the API derives from the nodes' latest stats: per-node summaries and per-service server health (pure).
import type { NodeStatsView, NodeView } from '../distributor/node-view.js';

export interface NodeSummary {
  /** ISO 8601 time the node took the numbers (its clock). */
  at: string;
  receivedAt: string;
  /** Requests answered since the node started. */
  requests: number;
  /** Of which 5xx. */
  serverErrors: number;
  openConnections: number;
  servers: { up: number; down: number; ejected: number };
}

/** An item of `GET /api/v1/nodes`: the node's view with a summary of its stats instead of all of them. */
export type NodeListItem = Omit<NodeView, 'stats'> & { stats?: NodeSummary };

export interface ServerHealthView {
  url: string;
  status: 'up' | 'down' | 'ejected';
  since: string;
}

/** One node's view of one service's servers. */
export interface NodeServiceHealth {
  nodeId: string;
  nodeName: string;
  connected: boolean;
  /** ISO 8601 time of the stats this comes from. */
  at: string;
  servers: ServerHealthView[];
}

export interface NodeStatsReply {
  nodeId: string;
  nodeName: string;
  at: string;
  receivedAt: string;
  openConnections: number;
  servers: (ServerHealthView & { service: string })[];
  requests: NodeStatsView['requests'];
}

const iso = (ms: number): string => {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
};

export function summarize(stats: NodeStatsView): NodeSummary {
  let requests = 0;
  let serverErrors = 0;
  for (const r of stats.requests) {
    requests += r.count;
    if (r.statusClass === '5xx') serverErrors += r.count;
  }
  const servers = { up: 0, down: 0, ejected: 0 };
  for (const s of stats.servers) servers[s.status]++;
  return {
    at: iso(stats.at),
    receivedAt: stats.receivedAt,
    requests,
    serverErrors,
    openConnections: stats.openConnections,
    servers,
  };
}

export function listItem(node: NodeView): NodeListItem {
  const { stats, ...rest } = node;
  return stats === undefined ? rest : { ...rest, stats: summarize(stats) };
}

export function statsReply(node: NodeView & { stats: NodeStatsView }): NodeStatsReply {
  const { stats } = node;
  return {
    nodeId: node.id,
    nodeName: node.name,
    at: iso(stats.at),
    receivedAt: stats.receivedAt,
    openConnections: stats.openConnections,
    servers: stats.servers.map((s) => ({
      service: s.service,
      url: s.url,
      status: s.status,
      since: iso(s.since),
    })),
    requests: stats.requests,
  };
}

/** Service name → each reporting node's view of its servers, nodes in the registry's order. */
export function healthByService(nodes: readonly NodeView[]): Map<string, NodeServiceHealth[]> {
  const out = new Map<string, NodeServiceHealth[]>();
  for (const node of nodes) {
    const stats = node.stats;
    if (stats === undefined) continue;
    const perService = new Map<string, NodeServiceHealth>();
    for (const s of stats.servers) {
      let entry = perService.get(s.service);
      if (entry === undefined) {
        entry = {
          nodeId: node.id,
          nodeName: node.name,
          connected: node.connected,
          at: iso(stats.at),
          servers: [],
        };
        perService.set(s.service, entry);
        let list = out.get(s.service);
        if (list === undefined) {
          list = [];
          out.set(s.service, list);
        }
        list.push(entry);
      }
      entry.servers.push({ url: s.url, status: s.status, since: iso(s.since) });
    }
  }
  return out;
}
