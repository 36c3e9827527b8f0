// `berth nodes`: the proxy nodes the controller knows, and which snapshot each serves; `berth nodes rm` removes one.
import type { NodeView } from '@berth/controller';
import { apiCall, apiGet } from '../api-client.js';
import { ago, CliError, table } from '../output.js';
import { adminOptions, adminTargetFrom, targetFrom } from './api-options.js';
import { bool, type Command } from './command.js';

interface Removed {
  id: string;
  name: string;
  revokedAt: string;
  wasConnected: boolean;
}

export const nodesCommand: Command = {
  name: 'nodes',
  summary: 'list proxy nodes with their applied snapshot version; `nodes rm NAME|ID` removes one',
  usage: '[rm NAME|ID] [options]',
  positionals: true,
  options: adminOptions,
  examples: ['berth nodes', 'berth nodes rm edge-2', 'berth nodes --json'],
  async run(v, positionals) {
    const [verb, which, ...extra] = positionals;
    if (verb === undefined) return list(v);
    if (verb !== 'rm' || which === undefined || extra.length > 0)
      throw new CliError('BERTH_CLI_USAGE', 'usage: berth nodes [rm NAME|ID]');
    return remove(v, which);
  },
};

async function list(v: Record<string, unknown>): Promise<number> {
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
    n.listeners.map((l) => `${l.entryPoint}=${l.address}${l.protocol === 'udp' ? '/udp' : ''}`).join(' ') ||
      '-',
  ]);
  process.stdout.write(
    `${table(['NAME', 'ID', 'STATE', 'ADDRESS', 'VERSION', 'UP', 'LAST NACK', 'LISTENERS'], rows)}\n`,
  );
  return 0;
}

/**
 * The node `which` names: an id, an id prefix of at least 8 characters (as `berth nodes` shows it),
 * or a name. A name two nodes share is refused with their ids; an unknown value is tried as an id.
 */
export function resolveNode(nodes: readonly Pick<NodeView, 'id' | 'name'>[], which: string): string {
  const exact = nodes.find((n) => n.id === which);
  if (exact) return exact.id;
  const byPrefix = which.length >= 8 ? nodes.filter((n) => n.id.startsWith(which)) : [];
  const byName = nodes.filter((n) => n.name === which);
  const matches = [...new Map([...byPrefix, ...byName].map((n) => [n.id, n])).values()];
  if (matches.length > 1)
    throw new CliError(
      'BERTH_CLI_AMBIGUOUS_NODE',
      `'${which}' names ${matches.length} nodes (${matches.map((n) => `${n.name} ${n.id}`).join(', ')}): give the id`,
    );
  return matches[0]?.id ?? which;
}

async function remove(v: Record<string, unknown>, which: string): Promise<number> {
  const target = adminTargetFrom(v, 'nodes rm');
  const id = resolveNode(await apiGet<NodeView[]>(target, '/api/v1/nodes'), which);
  const removed = await apiCall<Removed>(target, 'DELETE', `/api/v1/nodes/${encodeURIComponent(id)}`);
  if (bool(v, 'json')) {
    process.stdout.write(`${JSON.stringify(removed, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(
    `removed node ${removed.name || '(unnamed)'} (${removed.id})${removed.wasConnected ? '; its connection was closed' : ''}. Its certificate is refused from now on; to keep it from enrolling again with the join token, rotate the token: berth token rotate\n`,
  );
  return 0;
}
