// A whole proxy node: the data plane plus the agent that feeds it snapshots.
import { mkdir } from 'node:fs/promises';
import type { JoinToken } from '@berth/protocol';
import type { Logger } from 'pino';
import { Agent, type AppliedStatus } from './agent/agent.js';
import { loadNodeId } from './agent/node-identity.js';
import { DataPlane } from './data-plane.js';

export interface ProxyNodeOptions {
  token: JoinToken;
  name: string;
  dataDir: string;
  logger: Logger;
  /** Entry point name → address this node listens on instead of the snapshot's. */
  entryPointOverrides?: Record<string, string>;
  heartbeatMs?: number;
  reconnectMaxMs?: number;
  onApplied?: (status: AppliedStatus) => void;
}

export interface ProxyNode {
  nodeId: string;
  agent: Agent;
  dataPlane: DataPlane;
  close(): Promise<void>;
}

export async function startProxyNode(opts: ProxyNodeOptions): Promise<ProxyNode> {
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const nodeId = await loadNodeId(opts.dataDir);
  const dataPlane = new DataPlane({
    logger: opts.logger,
    nodeName: opts.name,
    ...(opts.entryPointOverrides ? { entryPointOverrides: opts.entryPointOverrides } : {}),
  });
  const agent = new Agent({
    token: opts.token,
    nodeId,
    name: opts.name,
    dataDir: opts.dataDir,
    applier: dataPlane,
    logger: opts.logger,
    ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.reconnectMaxMs ? { reconnectMaxMs: opts.reconnectMaxMs } : {}),
    ...(opts.onApplied ? { onApplied: opts.onApplied } : {}),
  });
  opts.logger.info({ nodeId, controller: new URL(opts.token.url).host }, 'proxy node starting');
  await agent.start();
  return {
    nodeId,
    agent,
    dataPlane,
    async close() {
      await agent.stop();
      await dataPlane.close();
    },
  };
}
