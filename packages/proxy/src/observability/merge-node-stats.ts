// One node report from the reports of its worker processes: traffic summed, each server at its worst.
import type { NodeStats, ServerStatusReport } from '@berth/protocol';

const SEVERITY: Record<ServerStatusReport['status'], number> = { up: 0, ejected: 1, down: 2 };

/**
 * Requests and open connections add up across workers. Every worker checks every server, so a
 * server is reported at the worst status any worker sees (a down server is down for the node).
 */
export function mergeNodeStats(parts: readonly NodeStats[], now: () => number = Date.now): NodeStats {
  const requests = new Map<string, NodeStats['requests'][number]>();
  const servers = new Map<string, ServerStatusReport>();
  let openConnections = 0;
  let at = 0;
  for (const part of parts) {
    at = Math.max(at, part.at);
    openConnections += part.openConnections;
    for (const r of part.requests) {
      const key = `${r.router}\u0000${r.service}\u0000${r.statusClass}`;
      const seen = requests.get(key);
      if (seen) seen.count += r.count;
      else requests.set(key, { ...r });
    }
    for (const s of part.servers) {
      const key = `${s.service}\u0000${s.url}`;
      const seen = servers.get(key);
      if (
        !seen ||
        SEVERITY[s.status] > SEVERITY[seen.status] ||
        (s.status === seen.status && s.since < seen.since)
      ) {
        servers.set(key, { ...s });
      }
    }
  }
  return {
    at: at || now(),
    servers: [...servers.values()],
    requests: [...requests.values()],
    openConnections,
  };
}
