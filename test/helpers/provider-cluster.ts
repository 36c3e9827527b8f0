// An in-process controller running one provider (Docker, Swarm) with its log in a file, and a real proxy node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ControllerHandle, type Provider, startController } from '@berth/controller';
import { type Logger, pino } from 'pino';
import { Cluster, TEST_HEARTBEAT_MS } from './cluster.js';

export interface ProviderCluster<P extends Provider> {
  cluster: Cluster;
  provider: P;
  controller: ControllerHandle;
  /** The `web` port of node `node-1`. */
  port: number;
  /** Where the controller (and the provider) log, JSON lines. */
  logFile: string;
}

/** Starts the controller with the provider `make` builds on the controller's logger, then node `node-1`. */
export async function startProviderCluster<P extends Provider>(
  make: (logger: Logger) => P,
): Promise<ProviderCluster<P>> {
  const cluster = await Cluster.create();
  const logFile = join(cluster.dir, 'controller.log');
  const logger = pino({ level: 'info' }, pino.destination({ dest: logFile, sync: true }));
  const provider = make(logger);
  const controller = await startController({
    dataDir: join(cluster.dir, 'controller'),
    listen: '127.0.0.1:0',
    api: '127.0.0.1:0',
    heartbeatMs: TEST_HEARTBEAT_MS,
    logger,
    providers: [provider],
  });
  await cluster.startNode('node-1', { token: controller.joinToken });
  return { cluster, provider, controller, port: await cluster.webPort('node-1'), logFile };
}

/** The controller's log so far ('' before it has one), for failure messages. */
export function readLog(logFile: string): string {
  try {
    return readFileSync(logFile, 'utf8');
  } catch {
    return '';
  }
}
