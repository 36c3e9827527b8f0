// `berth nodes`: the proxy nodes the controller knows, and which snapshot each serves.
import type { NodeView } from '@berth/controller';
import { apiGet } from '../api-client.js';
import { ago, table } from '../output.js';
import { apiOptions, targetFrom } from './api-options.js';
import { bool, type Command } from './command.js';

export const nodesCommand: Command = {
  name: 'nodes',
  summary: 'list proxy nodes with their applied snapshot version',
  options: apiOptions,
  async run(v) {
    const target = targetFrom(v, 'nodes');
    const [nodes, snap] = await Promise.all([
      apiGet<NodeView[]>(target, '/api/v1/nodes'),
      apiGet<{ version: number }>(target, '/api/v1/snapshot').catch(() => ({ version: 0 })),
    ]);
    if (bool(v, 'json')) {
      process.stdout.write(`${JSON.stringify(nodes, null, 2)}\n`);
      return 0;
    }
    const rows = nodes.map((n) => [
      n.name,
      n.id.slice(0, 8),
      n.connected ? 'connected' : 'gone',
      n.address,
      `${n.appliedVersion}${n.appliedVersion === snap.version ? '' : ` (latest ${snap.version})`}`,
      ago(n.connectedSince),
      n.lastNack ? `nack v${n.lastNack.version}: ${n.lastNack.code} ${n.lastNack.error}` : '-',
      n.listeners.map((l) => `${l.entryPoint}=${l.address}`).join(' ') || '-',
    ]);
    process.stdout.write(
      `${table(['NAME', 'ID', 'STATE', 'ADDRESS', 'VERSION', 'UP', 'LAST NACK', 'LISTENERS'], rows)}\n`,
    );
    return 0;
  },
};
